use anyhow::Context;
use clap::{Args, Subcommand};
use daybook_core::lake::PartitionLayout;
use daybook_core::segment::{DaySelection, SegmentConfig};
use daybook_core::steps::publish::ExportReport;
use daybook_core::store::ObjectStore;
use daybook_local::FsStore;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum Export {
    /// Segment S3-destination files (gzip JSON lines) to one table per call type and per track event.
    Segment(SegmentArgs),
    /// Tables of a PostgreSQL, MySQL or SQLite database, whole or from the last run's watermark.
    Rds(RdsArgs),
}

#[derive(Args)]
pub struct RdsArgs {
    /// postgres://user:password@host:port/db, mysql://… or sqlite://path.
    #[arg(long, env = "DAYBOOK_RDS_URL")]
    url: String,
    /// A table to export (schema.table allowed); give --table once per table.
    #[arg(long = "table", required = true)]
    tables: Vec<String>,
    /// Export only rows above the last run's highest value of this column (applies to every --table).
    #[arg(long)]
    watermark: Option<String>,
    /// A SELECT to export instead of the whole table (only with a single --table, which names the output).
    #[arg(long)]
    query: Option<String>,
    /// The lake folder (`<root>/lake`, which `daybook load` and `query` read): the tables go to
    /// `<out>/<source>/<table>/dt=…/run=…/`; the watermarks are kept in <out>/.daybook/state.
    #[arg(long)]
    out: PathBuf,
    /// The source's name, the first part of its tables' names (`lake.shop_orders`).
    #[arg(long, default_value = "shop")]
    source: String,
    /// A PEM file to verify the server's certificate and host name against (the RDS global bundle).
    #[arg(long)]
    ssl_root_cert: Option<String>,
    /// Partition date (default: yesterday, UTC).
    #[arg(long, value_parser = super::run_date)]
    date: Option<chrono::NaiveDate>,
    /// Run id in the `run=` folders (default: a new job id).
    #[arg(long)]
    job_id: Option<String>,
    /// Print the full report as JSON instead of a summary.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct SegmentArgs {
    /// A folder of Segment files: every *.gz below it, batch time from its `<epoch-ms>/` folder.
    #[arg(long)]
    input: PathBuf,
    /// The lake folder (`<root>/lake`, which `daybook load` and `query` read): the tables go to
    /// `<out>/<source>/<table>/dt=…/run=…/`.
    #[arg(long)]
    out: PathBuf,
    /// The source's name, the first part of its tables' names (`lake.segment_pages`).
    #[arg(long, default_value = "segment")]
    source: String,
    /// Only this day's events (the daily run); without it every day found is written.
    #[arg(long, value_parser = super::run_date)]
    date: Option<chrono::NaiveDate>,
    /// IANA time zone the days are cut in.
    #[arg(long, default_value = "UTC")]
    timezone: String,
    /// Run id in the `run=` folders (default: a new job id).
    #[arg(long)]
    job_id: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Above this share of lines quarantined the run publishes nothing (0 to 1; default 0.5).
    #[arg(long)]
    max_quarantined_share: Option<f64>,
    /// Print the full report as JSON instead of a summary.
    #[arg(long)]
    json: bool,
}

pub async fn run(command: Export) -> anyhow::Result<()> {
    match command {
        Export::Segment(args) => segment(args).await,
        Export::Rds(args) => rds(args).await,
    }
}

async fn rds(args: RdsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.query.is_none() || args.tables.len() == 1,
        "--query exports one table: give a single --table to name it"
    );
    let tables = args
        .tables
        .iter()
        .map(|table| {
            let mut export = daybook_core::relational::TableExport::new(table);
            export.watermark = args.watermark.clone();
            export.query = args.query.clone();
            export
        })
        .collect();
    let source = daybook_core::relational::RdsSource {
        source: args.source.clone(),
        url: Some(args.url.clone()),
        secret_arn: None,
        ssl_root_cert: args.ssl_root_cert.clone(),
        tables,
        row_group_rows: 65_536,
    };
    // Names first: a table that cannot be exported is said before any connection is made.
    source.check_names().map_err(anyhow::Error::msg)?;
    let date = args.date.unwrap_or_else(super::yesterday);
    let job_id = job_id(args.job_id.clone(), date);
    let ca =
        match &args.ssl_root_cert {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                anyhow::anyhow!("reading the CA bundle --ssl-root-cert {path}: {e}")
            })?),
            None => None,
        };
    let (output, layout) = lake_output(&args.out, &args.source, date, &job_id)?;
    let db = daybook_rds::Database::connect(&args.url, ca.as_deref()).await?;
    let state = daybook_local::state::FileStateStore::new(&args.out.join(".daybook/state"));
    let started = std::time::Instant::now();
    let report = daybook_rds::export_tables(&db, &output, &state, &source, &layout).await?;
    db.close().await;
    print_report(
        &report,
        started.elapsed().as_secs_f64(),
        &args.out,
        args.json,
        "rows",
    )
}

async fn segment(args: SegmentArgs) -> anyhow::Result<()> {
    let mut config = SegmentConfig::new("");
    config.timezone = args.timezone.clone();
    if let Some(share) = args.max_quarantined_share {
        config.max_quarantined_share = share;
    }
    let input = FsStore::new(&args.input);
    let keys: Vec<String> = input
        .list("")
        .await
        .with_context(|| format!("listing {}", args.input.display()))?
        .into_iter()
        .filter(|k| k.ends_with(".gz") || k.ends_with(".json") || k.ends_with(".jsonl"))
        .collect();
    anyhow::ensure!(
        !keys.is_empty(),
        "{} holds no Segment files (*.gz); point --input at the folder the S3 destination writes, segment-logs/<source-id>/",
        args.input.display()
    );
    let date = args.date.unwrap_or_else(super::yesterday);
    let days = args.date.map_or(DaySelection::All, DaySelection::Only);
    let job_id = job_id(args.job_id.clone(), date);
    let (output, layout) = lake_output(&args.out, &args.source, date, &job_id)?;
    let started = std::time::Instant::now();
    let report = daybook_core::steps::segment::export_keys(
        &input,
        &output,
        &config,
        &keys,
        days,
        &layout,
        workers(args.workers),
    )
    .await?;
    print_report(
        &report,
        started.elapsed().as_secs_f64(),
        &args.out,
        args.json,
        "events",
    )
}

/// Where an export writes for `--out <folder>`: a store at the folder's parent and the layout
/// `<folder>/<source>/<table>/dt=…/run=…/`, so `--out <root>/lake` gives keys as the pipeline's
/// (`lake/<source>/…`), which `daybook load --root <root>` registers.
pub fn lake_output(
    out: &Path,
    source: &str,
    date: chrono::NaiveDate,
    job_id: &str,
) -> anyhow::Result<(FsStore, PartitionLayout)> {
    let folder = out
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--out {} names no folder: give the lake folder, such as daybook-demo/lake",
                out.display()
            )
        })?;
    daybook_core::store::check_key(source, false)
        .ok()
        .filter(|_| !source.contains('/'))
        .ok_or_else(|| {
            anyhow::anyhow!("--source {source:?} is not a plain name: use letters, digits and _")
        })?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    Ok((
        FsStore::new(&parent).with_scratch_in(folder),
        PartitionLayout::in_folder(folder, source, date, job_id),
    ))
}

pub fn job_id(given: Option<String>, date: chrono::NaiveDate) -> String {
    given.unwrap_or_else(|| {
        daybook_core::steps::job::new_job_id(date, chrono::Utc::now(), rand::random())
    })
}

pub fn workers(given: Option<usize>) -> usize {
    given.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    })
}

pub fn print_report(
    report: &ExportReport,
    seconds: f64,
    out: &Path,
    json: bool,
    what: &str,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    println!(
        "exported {} {what} ({} written) in {:.2}s ({:.0} {what}/s) → {}",
        report.items_read,
        report.items_written,
        seconds,
        report.items_read as f64 / seconds.max(1e-9),
        out.display()
    );
    for (name, count) in &report.counts {
        println!("  {name}: {count}");
    }
    for table in &report.tables {
        println!(
            "  {:<28} {:>10} rows  {}",
            table.table, table.rows, table.run_prefix
        );
    }
    if report.quarantined > 0 {
        println!(
            "  {} records quarantined with their reasons in {}",
            report.quarantined,
            report
                .quarantine_key
                .as_deref()
                // Keys are the lake folder's parent's, as the layout has them.
                .map(|k| {
                    let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
                    parent
                        .unwrap_or(Path::new("."))
                        .join(k)
                        .display()
                        .to_string()
                })
                .unwrap_or_default()
        );
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(())
}
