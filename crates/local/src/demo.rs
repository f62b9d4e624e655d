//! `daybook demo`: a generated day through the real state machine on embedded adapters, and
//! the approve / reject commands that answer its approval step.

use crate::callbacks::{AutoAnswer, FileCallbacks};
use crate::executions::{ExecutionStore, redrive_recorded, start_recorded};
use crate::lake_items::LakeItems;
use crate::paths::LocalPaths;
use crate::pipeline::{LocalFunctions, local_substitutions};
use crate::state::FileStateStore;
use chrono::NaiveDate;
use daybook_asl::{
    CallbackWaiter, Definition, Failure, Interrupted, Observer, Runner, SystemClock, TaskInvoker,
};
use daybook_core::config::{
    ChartKind, ChartSpec, DynamoDbRead, DynamoDbSource, EmailConfig, PipelineConfig,
    ReportDefinition, ReportSection,
};
use daybook_core::flatten::FlattenConfig;
use daybook_core::quality::{ChecksConfig, Freshness, OnFailure, TableChecks};
use daybook_core::relational::{RdsSource, TableExport};
use daybook_core::segment::SegmentConfig;
use daybook_core::steps::start::{DEFAULT_CONFIG_KEY, StartInput};
use daybook_core::variables::{VariableSpec, VariableType};
use daybook_generate::dynamodb::{ExportSpec, write_search_export};
use daybook_generate::segment::{SegmentSpec, write_segment_logs};
use daybook_rds::shop::{ShopSpec, write_shop_sqlite};
use daybook_report::approval::{ApprovalRecord, Decision, decide_job};
use daybook_report::send::Delivery;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The definition AWS runs, compiled in so the CLI works from any folder.
pub const DAILY_REPORT_DEFINITION: &str =
    include_str!("../../../statemachines/daily-report.asl.json");

/// The demo shop's SQLite database, below the local root.
pub const SHOP_DATABASE: &str = "sources/shop.sqlite";

pub fn demo_config() -> PipelineConfig {
    let section =
        |title: &str, description: &str, sql: &str, chart: Option<(&str, &str)>| ReportSection {
            title: title.into(),
            description: Some(description.into()),
            sql: sql.into(),
            chart: chart.map(|(category, value)| ChartSpec::bar(category, value)),
            columns: Default::default(),
            compare: false,
            headline: false,
        };
    PipelineConfig {
        dynamodb: vec![DynamoDbSource {
            flatten: FlattenConfig::new("search_queries", vec!["query_id".into()]),
            read: DynamoDbRead::Export {
                export_prefix: "exports/search_queries/{date}".into(),
                fan_out: None,
            },
        }],
        rds: vec![RdsSource {
            source: "shop".into(),
            url: Some(format!("sqlite://{SHOP_DATABASE}")),
            secret_arn: None,
            ssl_root_cert: None,
            tables: daybook_rds::shop::TABLES
                .iter()
                .map(|t| TableExport::new(t))
                .collect(),
            row_group_rows: 65_536,
        }],
        segment: vec![SegmentConfig::new(&format!(
            "segment-logs/{}",
            daybook_generate::segment::SOURCE_ID
        ))],
        marts: daybook_core::marts::known_marts()
            .into_iter()
            .map(String::from)
            .collect(),
        checks: demo_checks(),
        report: ReportDefinition {
            name: "daily-search".into(),
            title: "Daily search report".into(),
            currency: Some("USD".into()),
            on_problem: Default::default(),
            locale: None,
            sections: vec![
                ReportSection {
                    headline: true,
                    compare: true,
                    ..section(
                        "Headline figures",
                        "Queries, distinct users, the share of queries that found nothing, and the share from mobile.",
                        "SELECT queries, users, zero_result_rate, avg_results, mobile_share FROM marts.search_daily_summary WHERE dt = {run_date}",
                        None,
                    )
                },
                section(
                    "Top search keywords",
                    "What people typed, lower-cased and trimmed.",
                    "SELECT item_rank AS place, item AS keyword, hits AS searches, queries FROM marts.search_top WHERE dt = {run_date} AND dimension = 'keyword' AND item_rank <= {var.top_n} ORDER BY item_rank",
                    Some(("keyword", "searches")),
                ),
                section(
                    "Most selected libraries",
                    "Branches people filtered their search to.",
                    "SELECT item_rank AS place, item AS library, hits AS selections, queries FROM marts.search_top WHERE dt = {run_date} AND dimension = 'library' AND item_rank <= {var.top_n} ORDER BY item_rank",
                    Some(("library", "selections")),
                ),
                section(
                    "Most listed ISBNs",
                    "Titles that appeared most often in results, named from the shop's catalogue.",
                    "SELECT t.item_rank AS place, t.item AS isbn13, coalesce(p.title, '(not sold in the shop)') AS title, t.hits AS listings, t.queries FROM marts.search_top t LEFT JOIN lake.shop_products p ON p.isbn13 = t.item AND p.dt = {run_date} WHERE t.dt = {run_date} AND t.dimension = 'isbn13' AND t.item_rank <= {var.top_n} ORDER BY t.item_rank",
                    None,
                ),
                ReportSection {
                    chart: Some(ChartSpec {
                        kind: ChartKind::Line,
                        days: Some(28),
                        ..ChartSpec::bar("day", "revenue")
                    }),
                    ..section(
                        "Sales over 28 days",
                        "Revenue per purchase day, canceled orders left out: the last point is the report's day.",
                        "SELECT day, orders, units, revenue FROM marts.daily_sales WHERE dt = {run_date} ORDER BY day",
                        None,
                    )
                },
                ReportSection {
                    compare: true,
                    ..section(
                        "Sales by category",
                        "The shop's orders of the day (from its database), canceled orders left out.",
                        "SELECT category, orders, units, revenue, freight FROM marts.sales_by_category WHERE dt = {run_date} ORDER BY revenue DESC, category",
                        Some(("category", "revenue")),
                    )
                },
                section(
                    "Page views",
                    "Pages seen on the website (Segment), duplicates removed.",
                    "SELECT page, views, visitors FROM marts.page_views WHERE dt = {run_date} ORDER BY views DESC, page",
                    Some(("page", "views")),
                ),
                section(
                    "Active visitors",
                    "Distinct visitors of the day, the last 7 days and the last 30 days (from the days the lake holds).",
                    "SELECT dau, wau, mau, stickiness FROM marts.active_users WHERE dt = {run_date}",
                    None,
                ),
                section(
                    "Most searching users",
                    "Signed-in users with the most searches today, named from the shop's customers.",
                    "SELECT s.user_id, coalesce(c.email, '(no shop account)') AS customer, c.city, s.queries, s.zero_result_queries, s.mobile_queries FROM marts.search_users s LEFT JOIN lake.shop_customers c ON c.user_id = s.user_id AND c.dt = {run_date} WHERE s.dt = {run_date} ORDER BY s.queries DESC, s.user_id LIMIT 10",
                    None,
                ),
                section(
                    "Best-selling titles",
                    "Top 10 products by revenue today.",
                    "SELECT title, category, units, revenue FROM marts.sales_by_product WHERE dt = {run_date} ORDER BY revenue DESC, product_id LIMIT 10",
                    Some(("title", "revenue")),
                ),
                section(
                    "Order lead times",
                    "Hours per stage for the orders delivered today.",
                    "SELECT stage, orders, avg_hours, min_hours, max_hours FROM marts.order_lead_times WHERE dt = {run_date} ORDER BY stage_order",
                    Some(("stage", "avg_hours")),
                ),
                ReportSection {
                    chart: Some(ChartSpec {
                        kind: ChartKind::StackedBar,
                        series: Some("arrival".into()),
                        ..ChartSpec::bar("carrier", "deliveries")
                    }),
                    ..section(
                        "Deliveries by carrier",
                        "Deliveries of the day per carrier, on time or after their estimated date.",
                        "SELECT carrier, arrival, deliveries FROM (SELECT carrier, 'on time' AS arrival, delivered - late AS deliveries FROM marts.late_deliveries WHERE dt = {run_date} UNION ALL SELECT carrier, 'late' AS arrival, late AS deliveries FROM marts.late_deliveries WHERE dt = {run_date}) d ORDER BY carrier, arrival DESC",
                        None,
                    )
                },
                section(
                    "Late deliveries",
                    "The share of the day's deliveries that arrived after their estimated date.",
                    "SELECT carrier, delivered, late, late_rate FROM marts.late_deliveries WHERE dt = {run_date} ORDER BY late_rate DESC, carrier",
                    Some(("carrier", "late_rate")),
                ),
                section(
                    "Weekly retention",
                    "Customers by the week of their first order, and the share who ordered again in each later week.",
                    "SELECT cohort_week, week_number, cohort_customers, customers, retention FROM marts.retention_cohorts WHERE dt = {run_date} ORDER BY cohort_week, week_number",
                    None,
                ),
                ReportSection {
                    chart: Some(ChartSpec {
                        kind: ChartKind::Quadrant,
                        x: Some("units".into()),
                        ..ChartSpec::bar("category", "avg_unit_price")
                    }),
                    ..section(
                        "Product portfolio",
                        "Categories over the last 28 days, split at the median of units sold and of average unit price.",
                        "SELECT category, quadrant, units, avg_unit_price, revenue FROM marts.product_portfolio WHERE dt = {run_date} ORDER BY quadrant, revenue DESC",
                        None,
                    )
                },
            ],
        },
        email: EmailConfig::new(
            "reports@daybook.example",
            &["data-team@daybook.example"],
            &["lead@daybook.example"],
        ),
        variables: [(
            "top_n".to_string(),
            VariableSpec {
                kind: VariableType::Number,
                default: Some(json!(20)),
                description: Some(
                    "How many keywords, libraries and titles the top lists show (1 to 20)".into(),
                ),
            },
        )]
        .into(),
    }
}

/// Checks a data team would start with: keys filled and unique, today's events up to late in
/// the day. They warn; a team that trusts them sets `on_failure: stop`.
pub fn demo_checks() -> ChecksConfig {
    let table = |table: &str, keys: &[&str], freshness: Option<&str>| TableChecks {
        table: table.into(),
        not_null: keys.iter().map(|k| k.to_string()).collect(),
        unique: keys.iter().map(|k| k.to_string()).collect(),
        freshness: freshness.map(|column| Freshness {
            column: column.into(),
            max_age_hours: 6.0,
        }),
        on_failure: None,
        min_rows: None,
    };
    // The shop's sources send no alias, group or screen calls; empty days are expected.
    let may_be_empty = |name: &str| TableChecks {
        min_rows: Some(0),
        ..table(name, &[], None)
    };
    ChecksConfig {
        on_failure: OnFailure::Warn,
        tables: vec![
            table("search_queries_items", &["query_id"], None),
            table("shop_orders", &["order_id"], Some("purchased_at")),
            table("shop_order_items", &["order_id", "item_no"], None),
            table("segment_tracks", &["message_id"], Some("timestamp")),
            table("segment_pages", &["message_id"], Some("timestamp")),
            may_be_empty("segment_aliases"),
            may_be_empty("segment_groups"),
            may_be_empty("segment_screens"),
        ],
        ..ChecksConfig::default()
    }
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
}

#[derive(Debug)]
pub struct DemoOutcome {
    pub job_id: String,
    pub output: Value,
    pub delivery: Delivery,
    pub report_html: PathBuf,
    pub report_xlsx: PathBuf,
    pub email: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("preparing the demo in {path}: {message}")]
    Setup { path: String, message: String },
    #[error(
        "the run {job_id} failed in {state}: {failure}. Fix the cause, then resume it from there with `daybook redrive {job_id} --root {root}`"
    )]
    Run {
        job_id: String,
        failure: Failure,
        /// The state that failed, as a path through Parallel branches and Map iterations.
        state: String,
        root: String,
    },
    #[error("{0}")]
    Execution(String),
    #[error("the run's variables: {0}")]
    Variables(String),
}

impl DemoError {
    fn run(root: &Path, job_id: &str, interrupted: Interrupted) -> Self {
        DemoError::Run {
            job_id: job_id.to_string(),
            state: interrupted.resume.failed_path(),
            failure: interrupted.failure,
            root: root.display().to_string(),
        }
    }
}

/// Writes the demo config (unless one is there) and a generated export for the date.
pub fn prepare(options: &DemoOptions) -> Result<(), DemoError> {
    let setup = |path: &Path, e: &dyn std::fmt::Display| DemoError::Setup {
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
    Ok(())
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
pub fn prepare_shop(options: &DemoOptions) -> Result<(), DemoError> {
    let path = options.root.join(SHOP_DATABASE);
    std::fs::create_dir_all(path.parent().expect("the database has a folder")).map_err(|e| {
        DemoError::Setup {
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
    write_shop_sqlite(&path, &spec).map_err(|e| DemoError::Setup {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(())
}

/// The daily-report definition with every function pointed at its local stand-in.
pub fn daily_report_definition() -> Result<Definition, DemoError> {
    Definition::parse(DAILY_REPORT_DEFINITION, &local_substitutions()).map_err(DemoError::Execution)
}

/// Runs the daily-report state machine on the local root, as execution `job_id`, recorded in
/// `.daybook/executions/` so that `daybook redrive` can resume it if it fails. `waiter`
/// answers the approval.
pub async fn run_daily_report(
    root: &Path,
    job_id: &str,
    input: Value,
    waiter: Arc<dyn CallbackWaiter>,
    observer: Observer,
) -> Result<Value, DemoError> {
    let functions = Arc::new(LocalFunctions::new(&LocalPaths::new(root)));
    run_daily_report_with(root, functions, job_id, input, waiter, observer).await
}

/// `run_daily_report` with the functions given (tests wrap the local ones).
pub async fn run_daily_report_with(
    root: &Path,
    functions: Arc<dyn TaskInvoker>,
    job_id: &str,
    input: Value,
    waiter: Arc<dyn CallbackWaiter>,
    observer: Observer,
) -> Result<Value, DemoError> {
    let definition = daily_report_definition()?;
    let recorded = definition.to_value();
    let runner = Runner::new(definition, functions, waiter, Arc::new(SystemClock))
        .with_observer(observer)
        .with_item_source(Arc::new(LakeItems::new(root)));
    let store = ExecutionStore::new(&LocalPaths::new(root).executions());
    start_recorded(&store, runner, recorded, job_id, input)
        .await
        .map_err(DemoError::Execution)?
        .map_err(|interrupted| DemoError::run(root, job_id, interrupted))
}

/// `daybook redrive`: resumes the failed execution `job_id` in the state that failed, with the
/// definition it ran; the states that succeeded are not run again.
pub async fn redrive_daily_report(
    root: &Path,
    functions: Arc<dyn TaskInvoker>,
    job_id: &str,
    waiter: Arc<dyn CallbackWaiter>,
    observer: Observer,
) -> Result<Value, DemoError> {
    let store = ExecutionStore::new(&LocalPaths::new(root).executions());
    redrive_recorded(&store, job_id, |definition| {
        Runner::new(definition, functions, waiter, Arc::new(SystemClock))
            .with_observer(observer)
            .with_item_source(Arc::new(LakeItems::new(root)))
    })
    .await
    .map_err(|e| DemoError::Execution(format!("{e} (local root {})", root.display())))?
    .map_err(|interrupted| DemoError::run(root, job_id, interrupted))
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
) -> Result<(), DemoError> {
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

/// Checks `given` against the variables the root's config declares, before anything runs: a
/// wrong name or value is one line, not a failed run.
pub fn check_variables(root: &Path, given: &BTreeMap<String, Value>) -> Result<(), DemoError> {
    let path = root.join(DEFAULT_CONFIG_KEY);
    let config: PipelineConfig = std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
        .map_err(|e| DemoError::Setup {
            path: path.display().to_string(),
            message: format!("reading the pipeline config: {e}"),
        })?;
    daybook_core::variables::resolve(&config.variables, given)
        .map(|_| ())
        .map_err(DemoError::Variables)
}

/// What starts a local run of the daily report on a prepared root (`daybook start`).
#[derive(Debug, Clone)]
pub struct StartOptions {
    pub root: PathBuf,
    pub date: NaiveDate,
    pub job_id: String,
    pub started_by: String,
    pub variables: BTreeMap<String, Value>,
    /// Wait for a person's decision (`daybook approve`, or the link `daybook serve` serves);
    /// otherwise the run approves itself.
    pub manual_approval: bool,
}

/// Runs the daily report for a date on the sources the root's config names, with the given
/// variables; its approval waits for a person unless told otherwise.
pub async fn start_daily_report(
    options: &StartOptions,
    observer: Observer,
) -> Result<Value, DemoError> {
    check_variables(&options.root, &options.variables)?;
    let paths = LocalPaths::new(&options.root);
    let waiter: Arc<dyn CallbackWaiter> = if options.manual_approval {
        Arc::new(FileCallbacks::new(&paths.callbacks()))
    } else {
        Arc::new(AutoAnswer::new(auto_answer(true)).recorded_in(&paths.callbacks()))
    };
    run_daily_report(
        &options.root,
        &options.job_id,
        options.input(),
        waiter,
        observer,
    )
    .await
}

impl StartOptions {
    /// The execution's input, as start-job reads it, locally or on AWS.
    pub fn input(&self) -> Value {
        run_input(StartInput {
            date: Some(self.date),
            started_by: Some(self.started_by.clone()),
            variables: self.variables.clone(),
            ..Default::default()
        })
    }
}

fn run_input(input: StartInput) -> Value {
    serde_json::to_value(input).expect("a run's input serialises")
}

pub async fn run_demo(options: &DemoOptions, observer: Observer) -> Result<DemoOutcome, DemoError> {
    prepare(options)?;
    prepare_shop(options)?;
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
    let delivery: Delivery =
        serde_json::from_value(output.clone()).map_err(|e| DemoError::Setup {
            path: options.root.display().to_string(),
            message: format!("unexpected run output: {e}"),
        })?;
    let prefix = options.root.join(format!(
        "reports/daily-search/dt={}/{}",
        options.date, options.job_id
    ));
    Ok(DemoOutcome {
        job_id: options.job_id.clone(),
        report_html: prefix.join("report.html"),
        report_xlsx: prefix.join("report.xlsx"),
        email: paths.outbox().join(&delivery.message_id),
        delivery,
        output,
    })
}

/// The demo's own answer when nobody is asked (`--manual-approval` asks).
fn auto_answer(approved: bool) -> Value {
    let decision = Decision::new(
        approved,
        "demo (auto-approved)",
        None,
        "demo",
        chrono::Utc::now(),
    );
    serde_json::to_value(decision).expect("decisions serialise")
}

/// `daybook approve` / `daybook reject`: answers the pending approval of `job_id`.
pub async fn decide(
    root: &Path,
    job_id: &str,
    approved: bool,
    by: &str,
    comment: Option<&str>,
) -> Result<(ApprovalRecord, Decision), String> {
    let paths = LocalPaths::new(root);
    let now = chrono::Utc::now();
    decide_job(
        &FileStateStore::new(&paths.state()),
        &FileCallbacks::new(&paths.callbacks()),
        job_id,
        Decision::new(approved, by, comment, "CLI", now),
        now,
    )
    .await
    .map_err(|e| format!("{e} (local root {})", root.display()))
}
