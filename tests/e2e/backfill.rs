//! `daybook backfill`: the backfill state machine under the local runner, each day an execution
//! of the daily-report definition started as `startExecution.sync:2` starts it.

use daybook_core::ports::Warehouse;
use daybook_core::steps::backfill::BackfillRequest;
use daybook_local::backfill::{DayEvent, run_backfill};
use daybook_local::callbacks::AutoAnswer;
use daybook_local::demo::{DemoOptions, prepare, prepare_shop};
use daybook_local::paths::LocalPaths;
use daybook_local::pipeline::LocalFunctions;
use daybook_local::runs::redrive_daily_report;
use std::path::Path;
use std::sync::{Arc, Mutex};

fn day(text: &str) -> chrono::NaiveDate {
    text.parse().unwrap()
}

fn sources(root: &Path, date: &str) -> DemoOptions {
    let options = DemoOptions {
        deliver: vec![],
        variables: Default::default(),
        root: root.to_path_buf(),
        date: day(date),
        items: 1500,
        files: 2,
        seed: 5,
        manual_approval: false,
        job_id: String::new(),
    };
    prepare(&options).unwrap();
    options
}

fn request(from: &str, to: &str) -> BackfillRequest {
    BackfillRequest {
        variables: Default::default(),
        from: day(from),
        to: day(to),
        concurrency: Some(2),
        send: false,
        config_key: None,
        started_by: Some("backfill test".into()),
    }
}

async fn daily_sales_rows(root: &Path, date: &str) -> i64 {
    let warehouse = daybook_local::warehouse::DataFusionWarehouse::new(root);
    let result = warehouse
        .query(&format!(
            "SELECT count(*) AS n FROM marts.daily_sales WHERE dt = DATE '{date}'"
        ))
        .await
        .unwrap();
    result.rows[0][0].as_i64().unwrap()
}

/// Three days, one of them without its DynamoDB export: the other two build their marts (no
/// report, no email), the backfill fails naming the missing day, and that day's own execution
/// redrives once the export is there. A second backfill of a day replaces it.
#[tokio::test]
async fn a_backfill_runs_each_day_as_its_own_execution_and_a_failed_day_redrives() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    for date in ["2026-11-18", "2026-11-19", "2026-11-20"] {
        sources(&root, date);
    }
    prepare_shop(&sources(&root, "2026-11-20")).unwrap();
    let export = root.join("exports/search_queries/2026-11-19");
    std::fs::remove_dir_all(&export).unwrap();

    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let on_day = Arc::new(move |event: &DayEvent| seen.lock().unwrap().push(event.clone()));
    // Every day runs with the backfill's variables.
    let mut with_variables = request("2026-11-18", "2026-11-20");
    with_variables
        .variables
        .insert("top_n".into(), serde_json::json!("3"));
    let error = run_backfill(&root, "backfill-1", &with_variables, on_day)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("1 of the days failed") && error.contains("\"20261119-"),
        "{error}"
    );

    let backfill: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join(".daybook/executions/backfill-1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(backfill["status"], "FAILED");
    assert_eq!(backfill["failure"]["Error"], "Daybook.BackfillIncomplete");

    // `daybook runs` lists the backfill and its three days, the failed ones with where.
    let runs = daybook_local::executions::ExecutionStore::new(&LocalPaths::new(&root).executions())
        .list()
        .unwrap();
    assert_eq!(runs.len(), 4);
    let failed_runs: Vec<_> = runs
        .iter()
        .filter(|r| r.status == daybook_local::executions::ExecutionStatus::Failed)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(
        failed_runs.len(),
        2,
        "the backfill and one day: {failed_runs:?}"
    );
    assert!(failed_runs.contains(&"backfill-1"));
    assert!(runs.windows(2).all(|w| w[0].start_time >= w[1].start_time));

    let events = events.lock().unwrap().clone();
    let started: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            DayEvent::Started { job_id, date } => Some((job_id.clone(), date.unwrap())),
            _ => None,
        })
        .collect();
    assert_eq!(started.len(), 3, "{events:?}");
    for (job, _) in &started {
        let snapshot: serde_json::Value = serde_json::from_slice(
            &std::fs::read(root.join(format!("jobs/{job}/input.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            snapshot["job"]["variables"]["top_n"],
            serde_json::json!({"type": "number", "value": 3.0}),
            "{job}"
        );
    }
    let failed: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            DayEvent::Finished {
                job_id,
                failure: Some((f, state)),
                ..
            } => Some((job_id.clone(), f.clone(), state.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "{events:?}");
    let (failed_job, failure, failed_state) = &failed[0];
    assert!(
        failed_state.ends_with("Flatten DynamoDB table"),
        "{failed_state}"
    );
    assert!(failed_job.starts_with("20261119-"), "{failed_job}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, DayEvent::Entered { state, .. } if state == "Load warehouse")),
        "each day reports the state it is in"
    );
    assert!(failure.error.starts_with("Daybook."), "{failure:?}");

    for date in ["2026-11-18", "2026-11-20"] {
        assert!(daily_sales_rows(&root, date).await > 0, "marts for {date}");
    }
    assert!(
        !root.join("lake/marts/daily_sales/dt=2026-11-19").exists(),
        "no marts for the failed day"
    );
    assert!(
        !root.join("reports").exists(),
        "a backfill builds no report"
    );
    assert!(!root.join("outbox").exists(), "and sends nothing");
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join(format!(".daybook/executions/{failed_job}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(record["status"], "FAILED");
    assert_eq!(record["input"]["build_report"], false);
    assert!(
        record["input"]["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"]
            .as_str()
            .unwrap()
            .ends_with(":backfill-1")
    );

    // The export arrives; the failed day resumes where it stopped.
    sources(&root, "2026-11-19");
    let functions = Arc::new(LocalFunctions::new(&LocalPaths::new(&root)));
    redrive_daily_report(
        &root,
        functions,
        failed_job,
        // No approval is asked for: the day stops after its marts.
        Arc::new(AutoAnswer::new(serde_json::json!({ "approved": false }))),
        Arc::new(|_| {}),
    )
    .await
    .unwrap();
    assert!(daily_sales_rows(&root, "2026-11-19").await > 0);

    // Backfilling a day again replaces it: the same rows, not twice as many.
    let before = daily_sales_rows(&root, "2026-11-20").await;
    run_backfill(
        &root,
        "backfill-2",
        &request("2026-11-20", "2026-11-20"),
        Arc::new(|_| {}),
    )
    .await
    .unwrap();
    assert_eq!(daily_sales_rows(&root, "2026-11-20").await, before);
    let runs = std::fs::read_dir(root.join("lake/marts/daily_sales/dt=2026-11-20"))
        .unwrap()
        .count();
    assert_eq!(
        runs, 2,
        "each backfill of the day is a run folder of its own"
    );
}

/// The backfill's own checks, before anything runs.
#[tokio::test]
async fn a_backwards_range_is_refused_before_any_day_runs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    sources(&root, "2026-11-20");
    let error = run_backfill(
        &root,
        "backfill-bad",
        &request("2026-11-20", "2026-11-18"),
        Arc::new(|_| panic!("no day runs")),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("backwards") && error.contains("swap them"),
        "{error}"
    );
    assert!(error.contains("Daybook.InvalidInput"), "{error}");
}

/// A backfill in the demo's root generates the days it is asked for, as the demo generates its
/// own, instead of failing each day for want of an export; elsewhere a day's sources are the
/// root's own.
#[tokio::test]
async fn a_backfill_in_the_demos_root_generates_its_days() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let options = sources(&root, "2026-11-21");
    prepare_shop(&options).unwrap();
    let prepare_root = root.clone();
    let prepare: daybook_local::backfill::DayPreparer = Arc::new(move |date| {
        daybook_local::demo::prepare_day(&prepare_root, date)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    daybook_local::backfill::run_backfill_preparing(
        &root,
        "backfill-demo",
        &request("2026-11-19", "2026-11-20"),
        Arc::new(|_: &DayEvent| {}),
        Some(prepare),
    )
    .await
    .unwrap_or_else(|e| panic!("every day of a demo root backfills: {e}"));
    for date in ["2026-11-19", "2026-11-20"] {
        assert!(root.join(format!("exports/search_queries/{date}")).exists());
        assert!(daily_sales_rows(&root, date).await > 0, "{date}");
    }
    let elsewhere = tempfile::tempdir().unwrap();
    assert!(
        !daybook_local::demo::prepare_day(elsewhere.path(), day("2026-11-19")).unwrap(),
        "a root the demo did not make is left alone"
    );
}
