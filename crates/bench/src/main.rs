//! `daybook-bench generate` writes the benchmark's export once; `daybook-bench flatten` times
//! the flattener over it in a fresh process, so peak RSS is the flattener's own.

use anyhow::Context;
use clap::{Parser, Subcommand};
use daybook_core::flatten::export::{ExportFile, MANIFEST_FILES, parse_manifest, sample_items};
use daybook_core::flatten::{FlattenConfig, FlattenPlan, SAMPLE_ITEMS, flatten_export_files};
use daybook_core::lake::PartitionLayout;
use daybook_generate::dynamodb::{ExportSpec, write_search_export};
use std::path::{Path, PathBuf};

mod rds;
mod report;
mod segment;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "daybook-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the benchmark export (skipped when one with the same item count is there).
    Generate {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        items: u64,
        #[arg(long, default_value_t = 8)]
        files: usize,
    },
    /// Write the Segment benchmark files (skipped when the same number of events is there).
    GenerateSegment {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
    },
    /// Export the Segment files and print events/s, input MB/s and peak RSS.
    Segment {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Export one table of a database to Parquet and print rows/s and peak RSS.
    Rds {
        #[arg(long)]
        url: String,
        #[arg(long)]
        table: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Render a built report again (its `report.json`) and a 100,000-row workbook; print the
    /// times and peak RSS.
    Report {
        #[arg(long)]
        data: PathBuf,
    },
    /// Flatten the export and print items/s, rows/s, input MB/s and peak RSS.
    Flatten {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        workers: Option<usize>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Generate { dir, items, files } => generate(&dir, items, files),
        Command::Flatten { dir, out, workers } => flatten(&dir, &out, workers),
        Command::Rds { url, table, out } => rds::export(&url, &table, &out),
        Command::GenerateSegment { dir, events } => segment::generate(&dir, events),
        Command::Segment { dir, out, workers } => segment::export(&dir, &out, workers),
        Command::Report { data } => report::report(&data),
    }
}

fn generate(dir: &Path, items: u64, files: usize) -> anyhow::Result<()> {
    let summary = dir.join("manifest-summary.json");
    if let Ok(text) = std::fs::read_to_string(&summary) {
        let existing: serde_json::Value = serde_json::from_str(&text)?;
        if existing["itemCount"].as_u64() == Some(items)
            && parse_manifest(
                &std::fs::read_to_string(dir.join(MANIFEST_FILES))?,
                "manifest",
            )?
            .len()
                == files
        {
            println!("reusing the export in {} ({items} items)", dir.display());
            return Ok(());
        }
    }
    let started = Instant::now();
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("a valid date");
    let export = write_search_export(
        dir,
        &ExportSpec {
            items,
            files,
            date,
            seed: 42,
        },
    )
    .with_context(|| format!("writing the export to {}", dir.display()))?;
    println!(
        "generated {items} items in {files} files, {:.0} MB gzip, in {:.1}s",
        export.bytes_gzip as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub(crate) fn worker_count(workers: Option<usize>) -> usize {
    workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    })
}

fn flatten(dir: &Path, out: &Path, workers: Option<usize>) -> anyhow::Result<()> {
    let workers = worker_count(workers);
    let _ = std::fs::remove_dir_all(out);
    let started = Instant::now();
    let manifest = std::fs::read_to_string(dir.join(MANIFEST_FILES))
        .with_context(|| format!("reading {}", dir.join(MANIFEST_FILES).display()))?;
    let files: Vec<ExportFile> = parse_manifest(&manifest, MANIFEST_FILES)?
        .into_iter()
        .map(|entry| ExportFile {
            label: entry.relative_path(),
            path: dir.join(entry.relative_path()),
            expected_items: entry.item_count,
        })
        .collect();
    let config = FlattenConfig::new("search_queries", vec!["query_id".into()]);
    let plan = FlattenPlan::resolve(&config, &sample_items(&files, SAMPLE_ITEMS))
        .map_err(anyhow::Error::msg)?;
    let layout = PartitionLayout::folder(
        chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("a valid date"),
        "bench",
    );
    let outcome = flatten_export_files(&plan, &files, &layout, out, workers)?;
    let seconds = started.elapsed().as_secs_f64();
    let input_bytes: u64 = outcome.inputs.iter().map(|i| i.bytes).sum();
    let gzip_bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(&f.path).ok())
        .map(|m| m.len())
        .sum();
    let output_bytes: u64 = outcome
        .tables
        .iter()
        .flat_map(|t| &t.files)
        .map(|f| f.bytes)
        .sum();
    let rows = outcome.output_rows();
    println!(
        "flatten: {} items, {} files, {} workers",
        outcome.items_read,
        files.len(),
        workers
    );
    println!("  wall time      {seconds:.2} s");
    println!(
        "  items/s        {:.0}",
        outcome.items_read as f64 / seconds
    );
    println!(
        "  output rows/s  {:.0} ({rows} rows in {} tables)",
        rows as f64 / seconds,
        outcome.tables.len()
    );
    println!(
        "  input MB/s     {:.0} ({:.0} MB of JSON, {:.0} MB gzip)",
        input_bytes as f64 / 1e6 / seconds,
        input_bytes as f64 / 1e6,
        gzip_bytes as f64 / 1e6
    );
    println!(
        "  output         {:.0} MB of Snappy Parquet",
        output_bytes as f64 / 1e6
    );
    println!(
        "  peak RSS       {:.0} MiB",
        peak_rss_kib()? as f64 / 1024.0
    );
    println!("  quarantined    {}", outcome.quarantined);
    anyhow::ensure!(
        outcome.warnings.is_empty(),
        "the run had warnings: {:?}",
        outcome.warnings
    );
    Ok(())
}

/// The process's peak resident set (VmHWM), from /proc.
pub(crate) fn peak_rss_kib() -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/self/status")
}
