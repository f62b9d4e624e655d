use anyhow::Context;
use clap::Args;
use daybook_core::flatten::{FlattenConfig, MapMode};
use daybook_core::steps::flatten::flatten_export;
use daybook_local::FsStore;
use std::path::PathBuf;

#[derive(Args)]
pub struct FlattenArgs {
    /// The export folder: the one holding manifest-files.json.
    #[arg(long)]
    export: PathBuf,
    /// Key attribute(s), repeated on every row; give --key once per attribute.
    #[arg(long = "key", required_unless_present = "config")]
    keys: Vec<String>,
    /// The lake folder (`<root>/lake`, which `daybook load` and `query` read): the tables go to
    /// `<out>/<source>/<table>/dt=…/run=…/` (`_items` for the scalars).
    #[arg(long)]
    out: PathBuf,
    /// The source's name, the first part of its tables' names (`lake.search_queries_items`);
    /// default: the config's `source`, else `search_queries`, as the demo's marts read it.
    #[arg(long)]
    source: Option<String>,
    /// A flatten config (JSON) declaring keys, column and array types; overrides --key.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Maps inside lists as JSON text or as struct columns.
    #[arg(long, value_enum, default_value = "json")]
    maps: MapsArg,
    /// Partition date (default: yesterday, UTC).
    #[arg(long, value_parser = super::run_date)]
    date: Option<chrono::NaiveDate>,
    /// Run id in the `run=` folder (default: a new job id).
    #[arg(long)]
    job_id: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Above this share of items quarantined the run publishes nothing (0 to 1; default the
    /// config's, 0.5).
    #[arg(long)]
    max_quarantined_share: Option<f64>,
    /// Print the full report as JSON instead of a summary.
    #[arg(long)]
    json: bool,
}

/// The source a flatten without a config writes: what `daybook generate dynamodb-export` makes.
const DEFAULT_SOURCE: &str = "search_queries";

#[derive(Clone, Copy, clap::ValueEnum)]
enum MapsArg {
    Json,
    Struct,
}

pub async fn run(args: FlattenArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<FlattenConfig>(&text)
                .with_context(|| format!("parsing the flatten config {}", path.display()))?
        }
        None => FlattenConfig::new(DEFAULT_SOURCE, args.keys.clone()),
    };
    if let Some(source) = &args.source {
        config.source = source.clone();
    }
    if args.config.is_none() {
        config.maps = match args.maps {
            MapsArg::Json => MapMode::Json,
            MapsArg::Struct => MapMode::Struct,
        };
    }
    if let Some(share) = args.max_quarantined_share {
        config.max_quarantined_share = share;
    }
    let date = args.date.unwrap_or_else(super::yesterday);
    let job_id = super::export::job_id(args.job_id.clone(), date);
    let workers = super::export::workers(args.workers);
    let input = FsStore::new(&args.export);
    let (output, layout) = super::export::lake_output(&args.out, &config.source, date, &job_id)?;
    let started = std::time::Instant::now();
    let report = flatten_export(&input, &output, &config, "", &layout, workers).await?;
    let seconds = started.elapsed().as_secs_f64();
    super::export::print_report(&report, seconds, &args.out, args.json, "items")
}
