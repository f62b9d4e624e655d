//! The daily-report state machine on embedded adapters, from generated data to the email.

use daybook_asl::{Failure, RunEvent};
use daybook_local::demo::{DemoOptions, run_demo};
use daybook_local::runs::{
    RunError, decide, redrive_daily_report, run_daily_report, run_daily_report_with,
};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};

pub(crate) fn options(root: &Path, job_id: &str, manual: bool) -> DemoOptions {
    DemoOptions {
        deliver: vec![],
        variables: Default::default(),
        root: root.to_path_buf(),
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        items: 3000,
        files: 3,
        seed: 11,
        manual_approval: manual,
        job_id: job_id.into(),
    }
}

type DemoRun = tokio::task::JoinHandle<
    Result<daybook_local::demo::DemoOutcome, daybook_local::runs::RunError>,
>;

/// Starts a demo run that waits for approval; the receiver fires when it starts waiting.
pub(crate) fn start_waiting_run(
    root: &Path,
    job_id: &str,
) -> (DemoRun, tokio::sync::mpsc::UnboundedReceiver<()>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let observer = Arc::new(move |e: &RunEvent| {
        if matches!(e, RunEvent::WaitingForCallback { .. }) {
            let _ = tx.send(());
        }
    });
    let options = options(root, job_id, true);
    (
        tokio::spawn(async move { run_demo(&options, observer).await }),
        rx,
    )
}

/// The states a run entered, in order.
pub(crate) fn entered_states(events: &[RunEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Entered { state, .. } => Some(state.clone()),
            _ => None,
        })
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test]
async fn the_demo_runs_every_state_and_sends_one_email_with_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let outcome = run_demo(
        &options(dir.path(), "job-e2e", false),
        Arc::new(move |e: &RunEvent| sink.lock().unwrap().push(e.clone())),
    )
    .await
    .unwrap();
    // The demo approved it itself, through the same decision a person makes: it is pending for
    // nobody, and a rejection now cannot claim that nothing will be sent.
    let state = daybook_local::state::FileStateStore::new(
        &daybook_local::paths::LocalPaths::new(dir.path()).state(),
    );
    let pending = daybook_report::approval::pending_approvals(&state, chrono::Utc::now())
        .await
        .unwrap();
    assert!(pending.is_empty(), "{} pending", pending.len());
    let late = daybook_local::runs::decide(dir.path(), "job-e2e", false, "ana", Some("late"))
        .await
        .unwrap_err();
    assert!(
        late.contains("already approved by demo (auto-approved)"),
        "{late}"
    );

    let entered = entered_states(&events.lock().unwrap());
    // The five export branches run at once, so only their set is fixed, not their order. The
    // demo's export and Segment day are small: they have no fan-out, and those branches pass.
    let exports: std::collections::BTreeSet<&str> =
        entered[2..12].iter().map(String::as_str).collect();
    assert_eq!(
        exports,
        [
            "Flatten DynamoDB tables",
            "Flatten DynamoDB table",
            "Export RDS databases",
            "Export RDS database",
            "Export Segment sources",
            "Export Segment source",
            "Any big DynamoDB exports?",
            "No big DynamoDB exports",
            "Any big Segment days?",
            "No big Segment days",
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(entered[..2], ["Start job", "Export sources"]);
    // Then the load (no crawler locally, so no wait), and one "Build mart" per mart.
    let marts = daybook_core::marts::known_marts().len();
    assert_eq!(
        entered[12..15],
        ["Load warehouse", "Catalog refreshed?", "Build marts"]
    );
    assert!(
        entered[15..15 + marts].iter().all(|s| s == "Build mart"),
        "{:?}",
        &entered[15..]
    );
    assert_eq!(
        entered[15 + marts..],
        [
            "Report wanted?",
            "Build report",
            "Send wanted?",
            "Request approval",
            "Approved?",
            "Send report",
            "Done"
        ]
    );

    // The mart: the top keyword's count equals a direct count over the flattened table.
    let report: Value = serde_json::from_str(&read(
        &dir.path()
            .join("reports/daily-search/dt=2026-11-21/job-e2e/report.json"),
    ))
    .unwrap();
    let sections = report["sections"].as_array().unwrap();
    let titled = |title: &str| &sections.iter().find(|s| s["title"] == title).unwrap()["result"];
    let headline = titled("Search");
    assert_eq!(headline["columns"][0], "queries");
    assert_eq!(
        headline["rows"][0][0],
        daybook_local::demo::day_items(
            3000,
            chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
            11
        ),
        "every generated item is a query"
    );
    let keywords = &titled("Top search keywords")["rows"];
    assert_eq!(keywords[0][0], 1, "rows are ranked");
    assert_eq!(keywords.as_array().unwrap().len(), 20, "top 20");
    let top_hits = keywords[0][2].as_i64().unwrap();
    assert!(
        keywords
            .as_array()
            .unwrap()
            .windows(2)
            .all(|w| w[0][2].as_i64() >= w[1][2].as_i64()),
        "sorted by hits"
    );

    let warehouse = daybook_local::warehouse::DataFusionWarehouse::new(dir.path());
    let direct = daybook_core::ports::Warehouse::query(
        &warehouse,
        &format!(
            "SELECT count(*) AS n FROM lake.search_queries_user_search WHERE dt = DATE '2026-11-21' AND lower(trim(value)) = '{}'",
            keywords[0][1].as_str().unwrap()
        ),
    )
    .await
    .unwrap();
    assert_eq!(direct.rows[0][0].as_i64(), Some(top_hits));

    // Sales: the mart's revenue is the day's revenue summed straight in the shop's database.
    let sales = sections
        .iter()
        .find(|s| s["title"] == "Sales by category")
        .expect("the demo has a sales section");
    let mart_revenue: f64 = sales["result"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[3].as_f64().unwrap())
        .sum();
    let shop = format!(
        "sqlite://{}",
        dir.path()
            .join(daybook_local::demo::SHOP_DATABASE)
            .display()
    );
    let direct: (f64,) = {
        use sqlx::Connection;
        let mut db = sqlx::SqliteConnection::connect(&shop).await.unwrap();
        sqlx::query_as(
            "SELECT sum(i.quantity * i.unit_price) FROM orders o JOIN order_items i USING (order_id)
             WHERE o.status <> 'canceled' AND date(o.purchased_at) = '2026-11-21'",
        )
        .fetch_one(&mut db)
        .await
        .unwrap()
    };
    assert!(direct.0 > 1000.0);
    assert!(
        (mart_revenue - direct.0).abs() < 0.01,
        "{mart_revenue} != {}",
        direct.0
    );
    // Page views: every view counted once, duplicates delivered by Segment dropped.
    let views = &sections
        .iter()
        .find(|s| s["title"] == "Page views")
        .expect("the demo has a page views section")["result"]["rows"];
    let total_views: i64 = views
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_i64().unwrap())
        .sum();
    let distinct = daybook_core::ports::Warehouse::query(
        &warehouse,
        "SELECT count(DISTINCT message_id) AS n, count(*) AS rows FROM lake.segment_pages WHERE dt = DATE '2026-11-21'",
    )
    .await
    .unwrap();
    assert_eq!(distinct.rows[0][0].as_i64(), Some(total_views));
    assert_eq!(distinct.rows[0][1].as_i64(), Some(total_views));

    // Two emails: the approval request to the approver, then the report to the team.
    let emails = sent_emails(dir.path());
    assert_eq!(emails.len(), 2);
    let approval = read(&emails[0]);
    assert!(
        approval.contains("To: <lead@daybook.example>"),
        "{approval:.400}"
    );
    assert!(approval.contains("daybook approve job-e2e"));
    // The data-quality results reach the report and the approver.
    let quality = sections.last().unwrap();
    assert_eq!(quality["title"], "Data quality");
    let statuses: Vec<&str> = quality["result"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    assert!(
        statuses.len() > 40 && statuses.iter().all(|s| *s == "ok"),
        "{statuses:?}"
    );
    // The approver reads the report itself, its checks included, under the request.
    let parsed = mail_parser::MessageParser::default()
        .parse(approval.as_bytes())
        .unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(
        text.starts_with("This report is waiting for your approval."),
        "{text:.300}"
    );
    let html = parsed.body_html(0).unwrap();
    // The count is kept on one line: it is in a span of its own.
    assert!(
        html.contains(&format!(
            "Checks of the day&#x27;s tables before the marts were built: <span style=\"white-space:nowrap;\">{}</span> passed.",
            statuses.len()
        )),
        "{html}"
    );
    let email = read(outcome.email.as_ref().unwrap());
    assert_eq!(outcome.email.as_ref(), Some(&emails[1]));
    assert!(
        email.contains("To: <data-team@daybook.example>"),
        "{email:.400}"
    );
    assert!(
        email.contains("Subject: =?utf-8?") || email.contains("Subject: Daily search report"),
        "{email:.600}"
    );
    assert!(email.contains("X-Daybook-Job: job-e2e"));
    assert!(email.contains("multipart/alternative"));
    assert!(email.contains("Content-Type: text/plain"));
    assert!(email.contains("Content-Type: text/html"));
    assert!(email.contains("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"));
    assert!(email.contains("daily-search-2026-11-21.xlsx"));
    assert!(outcome.report_xlsx.exists() && outcome.report_html.exists());
    assert!(!outcome.delivery.as_ref().unwrap().already_sent);
}

#[tokio::test]
async fn the_lake_gets_complete_run_folders_and_the_catalog_points_at_them() {
    let dir = tempfile::tempdir().unwrap();
    run_demo(
        &options(dir.path(), "job-lake", false),
        Arc::new(|_: &RunEvent| {}),
    )
    .await
    .unwrap();
    for table in ["_items", "selected_lib", "isbn13_list", "user_search"] {
        let folder = dir.path().join(format!(
            "lake/search_queries/{table}/dt=2026-11-21/run=job-lake"
        ));
        let manifest: Value = serde_json::from_str(&read(&folder.join("_manifest.json"))).unwrap();
        assert_eq!(
            manifest["files"].as_array().unwrap().len(),
            1,
            "{table}: the three small export files share one part"
        );
        assert!(manifest["rows"].as_u64().unwrap() > 0, "{table}");
    }
    let catalog: Value =
        serde_json::from_str(&read(&dir.path().join("catalog/catalog.json"))).unwrap();
    assert_eq!(
        catalog["tables"]["search_queries_isbn13_list"]["partitions"]["2026-11-21"],
        "lake/search_queries/isbn13_list/dt=2026-11-21/run=job-lake/"
    );
    assert_eq!(
        catalog["marts"]["search_top"]["partitions"]["2026-11-21"],
        "lake/marts/search_top/dt=2026-11-21/run=job-lake/"
    );
    let snapshot: Value =
        serde_json::from_str(&read(&dir.path().join("jobs/job-lake/input.json"))).unwrap();
    assert_eq!(snapshot["started_by"], "daybook demo");
    assert!(
        dir.path()
            .join("jobs/job-lake/flatten-search_queries.json")
            .exists()
    );
    assert!(dir.path().join("jobs/job-lake/send.json").exists());
    let files =
        crate::parquet_shape::assert_every_file_reads_as_aws_writes_it(&dir.path().join("lake"));
    assert!(
        files > 40,
        "every source and mart is checked: {files} files"
    );
}

#[tokio::test]
async fn manual_approval_waits_until_approved_and_a_rerun_does_not_send_twice() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let (run, mut waiting) = start_waiting_run(&root, "job-wait");
    waiting
        .recv()
        .await
        .expect("the run reaches the approval step");
    assert!(!run.is_finished(), "the run waits for a person");
    assert!(
        !root.join("outbox").read_dir().unwrap().any(|e| e
            .unwrap()
            .path()
            .to_string_lossy()
            .contains("data-team"))
    );
    decide(&root, "job-wait", true, "ana", None).await.unwrap();
    let outcome = run.await.unwrap().unwrap();
    assert!(outcome.email.as_ref().unwrap().exists());
    assert!(
        decide(&root, "job-wait", true, "ana", None)
            .await
            .unwrap_err()
            .contains("already approved by ana")
    );

    // Redriving the same job: the snapshot is reused and the send step finds its record.
    let output = run_daily_report(
        &root,
        "job-wait",
        json!({ "started_by": "redrive" }),
        Arc::new(daybook_local::callbacks::AutoAnswer::new(
            json!({ "approved": true }),
        )),
        Arc::new(|_: &RunEvent| {}),
    )
    .await
    .unwrap();
    assert_eq!(output["already_sent"], true);
    assert_eq!(
        sent_emails(&root).len(),
        3,
        "approval, report, and a second approval request only"
    );
}

#[tokio::test]
async fn a_rejected_report_ends_the_run_without_sending() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let (run, mut waiting) = start_waiting_run(&root, "job-no");
    waiting
        .recv()
        .await
        .expect("the run reaches the approval step");
    decide(&root, "job-no", false, "ana", Some("numbers look off"))
        .await
        .unwrap();
    let err = run.await.unwrap().unwrap_err();
    assert_eq!(
        err.failure().map(|(failure, _)| failure),
        Some(Failure::new(
            "Daybook.Rejected",
            "rejected by ana: numbers look off"
        ))
    );
    // The way on is a new run, never the redrive that would reach the same rejection.
    let advice = err.to_string();
    assert!(
        advice.contains("daybook start --date") && !advice.contains("daybook redrive"),
        "{advice}"
    );
    let functions = Arc::new(daybook_local::pipeline::LocalFunctions::new(
        &daybook_local::paths::LocalPaths::new(&root),
    ));
    let redriven = daybook_local::runs::redrive_daily_report(
        &root,
        functions,
        "job-no",
        Arc::new(daybook_local::callbacks::AutoAnswer::new(json!({}))),
        Arc::new(|_: &RunEvent| {}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(redriven, RunError::Rejected { .. }),
        "a redrive is refused up front: {redriven}"
    );
    assert_eq!(sent_emails(&root).len(), 1, "only the approval request");
}

/// The local functions, with `export-segment` failing on its first call as a step does when
/// its source is unreachable (a plain failure: no Retry rule takes it).
/// Fails the first Segment export once the other exports have finished: a branch still
/// running when its sibling fails is stopped, and a redrive reruns it too (as on AWS), so the
/// test waits for them to pin which branches a redrive keeps.
struct SegmentFailsOnce {
    functions: daybook_local::pipeline::LocalFunctions,
    calls: Mutex<Vec<String>>,
    finished: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl daybook_asl::TaskInvoker for SegmentFailsOnce {
    async fn invoke(&self, function: &str, input: Value) -> Result<Value, Failure> {
        let name = function.rsplit(':').next().unwrap_or(function).to_string();
        let first = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(name.clone());
            calls.iter().filter(|c| **c == name).count() == 1
        };
        if name == "export-segment" && first {
            let others = ["flatten-dynamodb", "export-rds"];
            let waited = std::time::Instant::now();
            while !others
                .iter()
                .all(|o| self.finished.lock().unwrap().iter().any(|f| f == o))
            {
                assert!(
                    waited.elapsed() < std::time::Duration::from_secs(120),
                    "the other exports did not finish"
                );
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            return Err(Failure::new(
                "Daybook.Failed",
                "listing segment-logs/: the bucket answered AccessDenied",
            ));
        }
        let result = self.functions.invoke(function, input).await;
        self.finished.lock().unwrap().push(name);
        result
    }
}

impl SegmentFailsOnce {
    fn count(&self, name: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| *c == name)
            .count()
    }
}

/// The messages in the local outbox (`.eml`; each has its envelope beside it), oldest first.
pub(crate) fn sent_emails(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut emails: Vec<_> = std::fs::read_dir(root.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    emails.sort();
    emails
}

mod alerts;
mod operations;
