use anyhow::Context;
use clap::{Args, Subcommand};
use daybook_generate::dynamodb::{ExportSpec, write_search_export};
use daybook_generate::segment::{SegmentSpec, write_segment_logs};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Generate {
    /// A DynamoDB export to S3 (DYNAMODB_JSON) of search-query items: manifest-files.json and data/*.json.gz.
    DynamodbExport(DynamodbExportArgs),
    /// Segment S3-destination files (segment-logs/<source-id>/<epoch-ms>/*.gz) of a bookshop's visitors.
    Segment(SegmentArgs),
    /// A bookshop's database as a SQLite file: customers, categories, products, orders, order_items, deliveries.
    Rds(RdsArgs),
}

#[derive(Args)]
pub struct RdsArgs {
    /// The SQLite file to write (replaced if it exists).
    #[arg(long)]
    out: PathBuf,
    /// Days of order history, ending on --date.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    days: u32,
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    orders_per_day: u32,
    /// Random seed: the same seed gives the same orders.
    #[arg(long, default_value_t = 11)]
    seed: u64,
    /// The last day of orders (default: yesterday, UTC).
    #[arg(long, value_parser = super::run_date)]
    date: Option<chrono::NaiveDate>,
}

#[derive(Args)]
pub struct SegmentArgs {
    /// How many events (about 1 KB of JSON each).
    #[arg(long, default_value_t = 10_000)]
    events: u64,
    /// The folder to write segment-logs/ into.
    #[arg(long)]
    out: PathBuf,
    /// Random seed: the same seed gives the same events.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Batch folders over the day (Segment writes about one an hour).
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    batches: u32,
    /// Files per batch folder.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    files_per_batch: u32,
    /// The day the events happened (default: yesterday, UTC).
    #[arg(long, value_parser = super::run_date)]
    date: Option<chrono::NaiveDate>,
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
    #[arg(long, default_value_t = 8, value_parser = files_count)]
    files: usize,
    /// The day the queries happened (default: yesterday, UTC).
    #[arg(long, value_parser = super::run_date)]
    date: Option<chrono::NaiveDate>,
}

pub async fn run(command: Generate) -> anyhow::Result<()> {
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
        Generate::Rds(args) => {
            let started = std::time::Instant::now();
            let spec = daybook_rds::shop::ShopSpec {
                last_day: args.date.unwrap_or_else(super::yesterday),
                days: args.days,
                orders_per_day: args.orders_per_day,
                seed: args.seed,
            };
            let counts = daybook_rds::shop::write_shop_sqlite(&args.out, &spec)
                .with_context(|| format!("writing the shop database {}", args.out.display()))?;
            println!(
                "wrote {} customers, {} products, {} orders with {} items to {} in {:.1}s (export it with: daybook export rds --url sqlite://{} --table orders --out DIR)",
                counts.customers,
                counts.products,
                counts.orders,
                counts.order_items,
                args.out.display(),
                started.elapsed().as_secs_f64(),
                args.out.display()
            );
            Ok(())
        }
        Generate::Segment(args) => {
            let started = std::time::Instant::now();
            let spec = SegmentSpec {
                events: args.events,
                date: args.date.unwrap_or_else(super::yesterday),
                batches: args.batches,
                files_per_batch: args.files_per_batch,
                seed: args.seed,
            };
            let written = write_segment_logs(&args.out, &spec)
                .with_context(|| format!("writing Segment files to {}", args.out.display()))?;
            println!(
                "wrote {} events in {} files ({:.1} MB JSON, {:.1} MB gzip) to {} in {:.1}s",
                written.events,
                written.files.len(),
                written.bytes_json as f64 / 1e6,
                written.bytes_gzip as f64 / 1e6,
                written.prefix.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}

/// An export of at least one file (DynamoDB writes one for an empty table too).
fn files_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=100_000).contains(&n) => Ok(n),
        _ => Err(format!("{text:?}: give 1 to 100000 files")),
    }
}
