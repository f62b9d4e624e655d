//! Run variables end to end on the embedded engine: given at start, checked, snapshotted,
//! bound as DataFusion parameters in the report's sections, shown under the report and in the
//! approval email, kept by a redrive, and refused in one line when wrong.

use daybook_core::config::{PipelineConfig, ReportSection};
use daybook_core::steps::start::{DEFAULT_CONFIG_KEY, StartInput, StartTask, start_job};
use daybook_core::variables::{VariableSpec, VariableType};
use daybook_local::demo::{DemoOptions, demo_config, prepare, prepare_shop};
use daybook_local::fs_store::FsStore;
use daybook_local::paths::LocalPaths;
use daybook_local::pipeline::LocalFunctions;
use daybook_local::runs::{RunError, StartOptions, redrive_daily_report, start_daily_report};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

const DATE: &str = "2026-11-21";
const HOSTILE: &str = "x'); DROP TABLE marts.search_top; --";

/// The demo's config with a list variable its extra section leaves out.
fn config() -> PipelineConfig {
    let mut config = demo_config();
    config.variables.insert(
        "exclude".into(),
        VariableSpec {
            kind: VariableType::List,
            default: Some(json!([])),
            description: Some("Keywords the long list leaves out".into()),
        },
    );
    config.report.sections.push(ReportSection {
        title: "Other keywords".into(),
        description: None,
        sql: "SELECT item AS keyword, hits FROM marts.search_top WHERE dt = {run_date} AND dimension = 'keyword' AND item NOT IN {var.exclude} ORDER BY item_rank".into(),
        chart: None,
        columns: Default::default(),
        compare: false,
        headline: false,
        history: None,
        unusual: None,
        pivot: None,
    });
    config
}

fn prepared(root: &Path) -> DemoOptions {
    let options = DemoOptions {
        deliver: vec![],
        root: root.to_path_buf(),
        date: DATE.parse().unwrap(),
        items: 2000,
        files: 2,
        seed: 3,
        manual_approval: false,
        job_id: "unused".into(),
        variables: Default::default(),
    };
    let config_path = root.join(DEFAULT_CONFIG_KEY);
    std::fs::create_dir_all(config_path.parent().unwrap()).unwrap();
    std::fs::write(&config_path, serde_json::to_vec(&config()).unwrap()).unwrap();
    prepare(&options).unwrap();
    prepare_shop(&options).unwrap();
    options
}

fn start(root: &Path, job_id: &str, pairs: &[&str]) -> StartOptions {
    let pairs: Vec<String> = pairs.iter().map(|p| p.to_string()).collect();
    StartOptions {
        root: root.to_path_buf(),
        date: DATE.parse().unwrap(),
        job_id: job_id.into(),
        started_by: "variables test".into(),
        variables: daybook_core::variables::parse_assignments(&pairs).unwrap(),
        manual_approval: false,
    }
}

fn report(root: &Path, job_id: &str) -> Value {
    let path = root.join(format!(
        "reports/daily-search/dt={DATE}/{job_id}/report.json"
    ));
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn section<'a>(report: &'a Value, title: &str) -> &'a Value {
    report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["title"] == title)
        .unwrap_or_else(|| panic!("no section {title}"))
}

fn keywords(section: &Value) -> Vec<String> {
    section["result"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .find_map(|c| c.as_str().filter(|s| s.chars().any(char::is_alphabetic)))
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_runs_variables_shape_its_sections_and_show_under_the_report_and_in_the_approval_email() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    prepared(root);
    let job_id = "20261121-070000-var001";
    let exclude = format!("exclude=harry potter,{HOSTILE}");
    start_daily_report(
        &start(root, job_id, &["top_n=3", &exclude]),
        Arc::new(|_: &_| {}),
    )
    .await
    .unwrap();
    let report = report(root, job_id);
    let top = section(&report, "Top search keywords");
    assert_eq!(top["result"]["rows"].as_array().unwrap().len(), 3, "{top}");
    let others = section(&report, "Other keywords");
    assert!(others.get("error").is_none(), "{others}");
    let others = keywords(others);
    assert!(others.len() > 3, "{others:?}");
    assert!(!others.contains(&"harry potter".to_string()), "{others:?}");
    // The hostile value was a value: the mart it names is still there.
    let warehouse = daybook_local::warehouse::DataFusionWarehouse::new(root);
    let rows = daybook_core::ports::Warehouse::query(
        &warehouse,
        &format!("SELECT count(*) AS n FROM marts.search_top WHERE dt = DATE '{DATE}'"),
    )
    .await
    .unwrap();
    assert!(rows.rows[0][0].as_i64().unwrap() > 0);
    // The snapshot keeps the values with their types.
    let snapshot: Value = serde_json::from_slice(
        &std::fs::read(root.join(format!("jobs/{job_id}/input.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(
        snapshot["job"]["variables"]["top_n"],
        json!({"type": "number", "value": 3.0})
    );
    let shown = format!("exclude = harry potter, {HOSTILE}, top_n = 3");
    assert_eq!(
        report["variables"],
        json!([format!("exclude = harry potter, {HOSTILE}"), "top_n = 3"])
    );
    let text = std::fs::read_to_string(root.join(format!(
        "reports/daily-search/dt={DATE}/{job_id}/report.txt"
    )))
    .unwrap();
    assert!(text.contains(&format!("run with {shown}")), "{text}");
    // The approval email (the first message) says what the approver approves was run with.
    let emails = crate::local_pipeline::sent_emails(root);
    let approval = std::fs::read(&emails[0]).unwrap();
    let parsed = mail_parser::MessageParser::default()
        .parse(&approval)
        .unwrap();
    let body = parsed.body_text(0).unwrap();
    assert!(body.starts_with("This report is waiting for your approval."));
    assert!(
        body.contains(&format!("It was run with {shown}.")),
        "{body:.600}"
    );
    let html = parsed.body_html(0).unwrap();
    assert!(
        html.contains("It was run with <b>exclude = harry potter, x&#x27;); DROP TABLE"),
        "{html:.300}"
    );
}

#[tokio::test]
async fn a_redrive_keeps_the_variables_of_the_first_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let options = prepared(root);
    let export = root.join(format!("exports/search_queries/{DATE}"));
    std::fs::remove_dir_all(&export).unwrap();
    let job_id = "20261121-070000-var002";
    let failed = start_daily_report(&start(root, job_id, &["top_n=2"]), Arc::new(|_: &_| {}))
        .await
        .unwrap_err();
    assert!(matches!(failed, RunError::Run { .. }), "{failed}");
    prepare(&options).unwrap();
    let paths = LocalPaths::new(root);
    redrive_daily_report(
        root,
        Arc::new(LocalFunctions::new(&paths)),
        job_id,
        Arc::new(daybook_local::callbacks::AutoAnswer::new(
            json!({ "approved": true, "by": "ana" }),
        )),
        Arc::new(|_: &_| {}),
    )
    .await
    .unwrap();
    let report = report(root, job_id);
    let top = section(&report, "Top search keywords");
    assert_eq!(top["result"]["rows"].as_array().unwrap().len(), 2);
    assert_eq!(report["variables"], json!(["exclude = ", "top_n = 2"]));
}

#[tokio::test]
async fn a_rerun_of_a_job_with_other_variables_is_refused_as_another_job() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    prepared(root);
    let store = FsStore::new(root);
    let task = |top_n: &str| StartTask {
        job_id: Some("20261121-070000-var003".into()),
        request: StartInput {
            date: Some(DATE.parse().unwrap()),
            variables: BTreeMap::from([("top_n".to_string(), json!(top_n))]),
            ..Default::default()
        },
    };
    let now = chrono::Utc::now();
    let first = start_job(&store, &task("4"), now, chrono_tz::UTC, 1)
        .await
        .unwrap();
    let again = start_job(&store, &task("4"), now, chrono_tz::UTC, 1)
        .await
        .unwrap();
    assert_eq!(first.job, again.job, "the same values rerun the same job");
    let other = start_job(&store, &task("5"), now, chrono_tz::UTC, 1)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        other.contains(
            "ran with exclude= top_n=4; a run with other variables (exclude= top_n=5) is a new job"
        ),
        "{other}"
    );
}

#[tokio::test]
async fn wrong_variables_are_refused_before_anything_runs_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    prepared(root);
    for (pairs, says) in [
        (
            vec!["top_m=3"],
            "unknown variable \"top_m\": did you mean top_n?",
        ),
        (
            vec!["top_n=lots"],
            "variable top_n is a number: \"lots\" is not a number",
        ),
    ] {
        let error = start_daily_report(
            &start(root, "20261121-070000-var004", &pairs),
            Arc::new(|_: &_| {}),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(error.contains(says), "{error}");
        assert!(!error.contains('\n'), "{error}");
    }
    assert!(
        !root.join(".daybook/executions").exists()
            || std::fs::read_dir(root.join(".daybook/executions"))
                .unwrap()
                .next()
                .is_none(),
        "no execution was started"
    );
    // `daybook load --var`: checked the same way, before any table is registered.
    let given = std::collections::BTreeMap::from([("top_m".to_string(), json!("3"))]);
    let error = daybook_local::load::load_date(root, DATE.parse().unwrap(), "job-load", &given)
        .await
        .unwrap_err();
    assert!(error.contains("did you mean top_n?"), "{error}");
    assert!(!root.join("catalog").exists(), "nothing was registered");
}
