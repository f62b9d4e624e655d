//! `daybook demo`: a generated day (and, with `--history-days`, the days before it) through the
//! real state machine on embedded adapters, on the demo's config (`examples/daybook.json`).

pub mod chat_standin;
pub mod deliver;

use crate::adapters::callbacks::AutoAnswer;
use crate::adapters::paths::LocalPaths;
use crate::services::runs::{
    RunError, StartOptions, auto_answer, run_daily_report, run_input, start_daily_report,
};
use chrono::NaiveDate;
use daybook_asl::{CallbackWaiter, Observer};
use daybook_core::config::PipelineConfig;
use daybook_core::steps::start::{DEFAULT_CONFIG_KEY, StartInput};
use daybook_generate::dynamodb::{ExportSpec, write_search_export};
use daybook_generate::segment::{SegmentSpec, write_segment_logs};
use daybook_rds::shop::{ShopSpec, write_shop_sqlite};
use daybook_report::send::Delivery;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The demo shop's SQLite database, below the local root.
pub const SHOP_DATABASE: &str = "sources/shop.sqlite";

/// The demo's pipeline: `examples/daybook.json`, which is also the example a user copies. It is
/// compiled in, so the demo needs no file beside the binary.
pub const DEMO_CONFIG_JSON: &str = include_str!("../../../../examples/daybook.json");

pub fn demo_config() -> PipelineConfig {
    serde_json::from_str(DEMO_CONFIG_JSON).expect("examples/daybook.json is a pipeline config")
}

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub root: PathBuf,
    pub date: NaiveDate,
    pub items: u64,
    pub files: usize,
    pub seed: u64,
    pub manual_approval: bool,
    pub job_id: String,
    /// Values for the config's variables (`--var name=value`).
    pub variables: BTreeMap<String, Value>,
    /// Chats the report also goes to, on stand-ins on this machine (`--deliver`).
    pub deliver: Vec<deliver::DemoChat>,
}

#[derive(Debug)]
pub struct DemoOutcome {
    pub job_id: String,
    pub output: Value,
    /// What was sent; none when the report's `send_when` did not hold (`not_sent` says why).
    pub delivery: Option<Delivery>,
    pub not_sent: Option<String>,
    pub report_html: PathBuf,
    pub report_xlsx: PathBuf,
    /// The email in the outbox, when one was sent.
    pub email: Option<PathBuf>,
    /// What the chat stand-ins received (`--deliver`), under `deliveries/`.
    pub posted: Vec<PathBuf>,
}

/// Writes the demo config (unless one is there) and a generated export for the date.
pub fn prepare(options: &DemoOptions) -> Result<(), RunError> {
    let setup = |path: &Path, e: &dyn std::fmt::Display| RunError::Setup {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let config_path = options.root.join(DEFAULT_CONFIG_KEY);
    if !config_path.exists() {
        std::fs::create_dir_all(config_path.parent().expect("config has a folder"))
            .map_err(|e| setup(&config_path, &e))?;
        let text = serde_json::to_string_pretty(&demo_config()).expect("config serialises");
        std::fs::write(&config_path, text).map_err(|e| setup(&config_path, &e))?;
    }
    let export = options
        .root
        .join(format!("exports/search_queries/{}", options.date));
    // Each day its own data, so that comparisons with earlier days show moves.
    let seed = options.seed ^ u64::from(chrono::Datelike::num_days_from_ce(&options.date) as u32);
    let items = day_items(options.items, options.date, options.seed);
    let spec = ExportSpec {
        items,
        files: options.files,
        date: options.date,
        seed,
    };
    write_search_export(&export, &spec).map_err(|e| setup(&export, &e))?;
    let mut segment = SegmentSpec::new(items, options.date);
    segment.seed = seed;
    write_segment_logs(&options.root, &segment).map_err(|e| setup(&options.root, &e))?;
    let marker = options.root.join(DEMO_MARKER);
    let generated =
        serde_json::json!({ "items": options.items, "files": options.files, "seed": options.seed });
    std::fs::create_dir_all(marker.parent().expect("the marker has a folder"))
        .and_then(|()| std::fs::write(&marker, generated.to_string()))
        .map_err(|e| setup(&marker, &e))?;
    Ok(())
}

/// Where a demo root keeps how its days are generated, so that a backfill there generates the
/// days it is asked for as the demo does.
const DEMO_MARKER: &str = ".daybook/demo.json";

/// Generates `date`'s sources in a demo root that does not have them yet (a backfill of days the
/// demo never made); `false` when the root is not a demo's, which then reads its own sources.
pub fn prepare_day(root: &Path, date: NaiveDate) -> Result<bool, RunError> {
    let Ok(text) = std::fs::read_to_string(root.join(DEMO_MARKER)) else {
        return Ok(false);
    };
    if root.join(format!("exports/search_queries/{date}")).exists() {
        return Ok(true);
    }
    let generated: Value = serde_json::from_str(&text).map_err(|e| RunError::Setup {
        path: root.join(DEMO_MARKER).display().to_string(),
        message: format!("not the demo's settings: {e}"),
    })?;
    let number = |name: &str| generated[name].as_u64().unwrap_or_default();
    prepare(&DemoOptions {
        root: root.to_path_buf(),
        date,
        items: number("items"),
        files: number("files").max(1) as usize,
        seed: number("seed"),
        manual_approval: false,
        job_id: String::new(),
        variables: BTreeMap::new(),
        deliver: vec![],
    })?;
    Ok(true)
}

/// The items generated for `date`: `items` on a weekday, fewer at the weekend, and a few
/// percent either way from day to day, so that a day compares with the day before and with
/// last week as real days do.
pub fn day_items(items: u64, date: NaiveDate, seed: u64) -> u64 {
    use chrono::Datelike;
    let weekday = match date.weekday() {
        chrono::Weekday::Sat => 0.82,
        chrono::Weekday::Sun => 0.78,
        chrono::Weekday::Fri => 0.95,
        _ => 1.0,
    };
    let mix =
        (u64::from(date.num_days_from_ce() as u32) ^ seed).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let noise = 0.97 + (mix >> 40) as f64 / (1u64 << 24) as f64 * 0.06;
    ((items as f64) * weekday * noise).round().max(1.0) as u64
}

/// Writes the shop's database (30 days of orders up to the date) unless it is there already.
pub fn prepare_shop(options: &DemoOptions) -> Result<(), RunError> {
    let path = options.root.join(SHOP_DATABASE);
    std::fs::create_dir_all(path.parent().expect("the database has a folder")).map_err(|e| {
        RunError::Setup {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    })?;
    let spec = ShopSpec {
        last_day: options.date,
        days: 30,
        orders_per_day: 200,
        seed: options.seed,
    };
    write_shop_sqlite(&path, &spec).map_err(|e| RunError::Setup {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(())
}

/// Runs the `days` days before the demo's date, oldest first, through the same state machine
/// with `build_report` false: each day's sources are generated and exported and its marts
/// built, so that trends, WAU/MAU and comparisons with the day before and last week have
/// days to read. Nothing is emailed. `on_day` hears of each day as it ends (its date, its
/// number, the count, the seconds it took).
pub async fn run_history(
    options: &DemoOptions,
    days: u32,
    mut on_day: impl FnMut(NaiveDate, u32, u32, f64),
) -> Result<(), RunError> {
    let quiet: Observer = Arc::new(|_| {});
    for back in (1..=days).rev() {
        let started = std::time::Instant::now();
        let Some(date) = options
            .date
            .checked_sub_days(chrono::Days::new(back.into()))
        else {
            continue;
        };
        let day = DemoOptions {
            date,
            ..options.clone()
        };
        prepare(&day)?;
        prepare_shop(&day)?;
        let job_id = daybook_core::steps::job::new_job_id(
            date,
            chrono::Utc::now(),
            rand::random::<u32>() ^ back,
        );
        let input = run_input(StartInput {
            date: Some(date),
            started_by: Some("daybook demo (history)".into()),
            build_report: Some(false),
            variables: options.variables.clone(),
            ..Default::default()
        });
        // No approval is asked for: the run ends after the marts.
        let waiter: Arc<dyn CallbackWaiter> = Arc::new(AutoAnswer::new(auto_answer(false)));
        run_daily_report(&options.root, &job_id, input, waiter, quiet.clone()).await?;
        on_day(date, days - back + 1, days, started.elapsed().as_secs_f64());
    }
    Ok(())
}

pub async fn run_demo(options: &DemoOptions, observer: Observer) -> Result<DemoOutcome, RunError> {
    prepare(options)?;
    prepare_shop(options)?;
    let chats = if options.deliver.is_empty() {
        None
    } else {
        Some(deliver::set_up(&options.root, &options.deliver).await?)
    };
    let paths = LocalPaths::new(&options.root);
    let start = StartOptions {
        root: options.root.clone(),
        date: options.date,
        job_id: options.job_id.clone(),
        started_by: "daybook demo".into(),
        variables: options.variables.clone(),
        manual_approval: options.manual_approval,
    };
    let output = start_daily_report(&start, observer).await?;
    let (delivery, not_sent) = if output["wanted"] == Value::Bool(false) {
        (None, output["why"].as_str().map(str::to_string))
    } else {
        let delivery: Delivery =
            serde_json::from_value(output.clone()).map_err(|e| RunError::Setup {
                path: options.root.display().to_string(),
                message: format!("unexpected run output: {e}"),
            })?;
        (Some(delivery), None)
    };
    let posted = match &chats {
        Some(chats) => chats.save()?,
        None => vec![],
    };
    let prefix = options.root.join(format!(
        "reports/daily-search/dt={}/{}",
        options.date, options.job_id
    ));
    Ok(DemoOutcome {
        job_id: options.job_id.clone(),
        report_html: prefix.join("report.html"),
        report_xlsx: prefix.join("report.xlsx"),
        email: delivery
            .as_ref()
            .filter(|d| !d.message_id.is_empty())
            .map(|d| paths.outbox().join(&d.message_id)),
        delivery,
        not_sent,
        posted,
        output,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example names what the code generates: a new mart, shop table or Segment source id
    /// must reach the file users copy.
    #[test]
    fn the_example_config_matches_the_generated_sources() {
        let config = demo_config();
        assert_eq!(
            config.marts,
            daybook_core::marts::known_marts()
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        );
        let tables: Vec<&str> = config.rds[0]
            .tables
            .iter()
            .map(|t| t.table.as_str())
            .collect();
        assert_eq!(tables, daybook_rds::shop::TABLES);
        assert_eq!(
            config.rds[0].url.as_deref(),
            Some(format!("sqlite://{SHOP_DATABASE}").as_str())
        );
        assert_eq!(
            config.segment[0].prefix,
            format!("segment-logs/{}", daybook_generate::segment::SOURCE_ID)
        );
        config
            .check_names()
            .expect("the example's names are plain and distinct");
    }
}
