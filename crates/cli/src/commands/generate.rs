use anyhow::Context;
use clap::{Args, Subcommand};
use daybook_generate::dynamodb::{ExportSpec, write_search_export};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Generate {
    /// A DynamoDB export to S3 (DYNAMODB_JSON) of search-query items: manifest-files.json and data/*.json.gz.
    DynamodbExport(DynamodbExportArgs),
}

#[derive(Args)]
pub struct DynamodbExportArgs {
    /// How many items.
    #[arg(long, default_value_t = 10_000)]
    items: u64,
    /// The export folder to write (it will hold manifest-files.json).
    #[arg(long)]
    out: PathBuf,
    /// Random seed: the same seed gives the same items.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How many data files, written in parallel.
    #[arg(long, default_value_t = 8)]
    files: usize,
    /// The day the queries happened (default: yesterday, UTC).
    #[arg(long)]
    date: Option<chrono::NaiveDate>,
}

pub fn run(command: Generate) -> anyhow::Result<()> {
    match command {
        Generate::DynamodbExport(args) => {
            let started = std::time::Instant::now();
            let spec = ExportSpec {
                items: args.items,
                files: args.files,
                date: args.date.unwrap_or_else(super::yesterday),
                seed: args.seed,
            };
            let export = write_search_export(&args.out, &spec)
                .with_context(|| format!("writing the export to {}", args.out.display()))?;
            println!(
                "wrote {} items in {} files ({:.1} MB gzip) to {} in {:.1}s",
                export.items,
                spec.files,
                export.bytes_gzip as f64 / 1e6,
                export.folder.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}
