use super::*;

#[tokio::test]
async fn a_redrive_resumes_in_the_failed_state_and_keeps_what_succeeded() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let options = options(&root, "job-redrive", false);
    daybook_local::demo::prepare(&options).unwrap();
    daybook_local::demo::prepare_shop(&options).unwrap();
    let functions = Arc::new(SegmentFailsOnce {
        functions: daybook_local::pipeline::LocalFunctions::new(
            &daybook_local::paths::LocalPaths::new(&root),
        ),
        calls: Mutex::new(Vec::new()),
        finished: Mutex::new(Vec::new()),
    });
    let approve = || {
        Arc::new(daybook_local::callbacks::AutoAnswer::new(
            json!({ "approved": true, "by": "ana" }),
        ))
    };
    let quiet = || Arc::new(|_: &RunEvent| {});

    let error = run_daily_report_with(
        &root,
        functions.clone(),
        "job-redrive",
        json!({ "date": "2026-11-21", "started_by": "test" }),
        approve(),
        quiet(),
    )
    .await
    .unwrap_err();
    match &error {
        RunError::Run { failure, state, .. } => {
            assert_eq!(failure.error, "Daybook.Failed");
            assert_eq!(
                state,
                "Export sources / Export Segment sources / Export Segment source"
            );
        }
        other => panic!("expected a failed run, got {other}"),
    }
    assert!(
        error.to_string().contains("daybook redrive job-redrive"),
        "{error}"
    );
    assert_eq!(
        functions.count("load-warehouse"),
        0,
        "the run stopped there"
    );
    assert!(!root.join("outbox").exists(), "nothing was sent");
    // `daybook status`: where it stopped, with each state's time.
    let executions =
        daybook_local::executions::ExecutionStore::new(&root.join(".daybook/executions"));
    let failed = executions
        .load("job-redrive")
        .unwrap()
        .status_text(chrono::Utc::now());
    assert!(
        failed.starts_with("job-redrive FAILED, started "),
        "{failed}"
    );
    assert!(
        failed.contains("✗ Export Segment source") && failed.contains("Daybook.Failed"),
        "{failed}"
    );
    assert!(failed.contains("✓ Start"), "{failed}");
    assert!(failed.contains("daybook redrive job-redrive"), "{failed}");

    let output = redrive_daily_report(&root, functions.clone(), "job-redrive", approve(), quiet())
        .await
        .unwrap();
    assert_eq!(output["already_sent"], false);
    // load-warehouse: the load, then one call per mart.
    let load_calls = 1 + daybook_core::marts::known_marts().len();
    for (step, runs) in [
        ("start-job", 1),
        ("flatten-dynamodb", 1),
        ("export-rds", 1),
        ("export-segment", 2),
        ("load-warehouse", load_calls),
        ("build-report", 1),
        ("request-approval", 1),
        ("send-report", 1),
    ] {
        assert_eq!(functions.count(step), runs, "{step}");
    }
    // One run folder per table and day: the branches that succeeded were not exported again.
    for table in ["search_queries/_items", "shop/orders", "segment/pages"] {
        let day = root.join(format!("lake/{table}/dt=2026-11-21"));
        let runs: Vec<_> = std::fs::read_dir(&day)
            .unwrap_or_else(|e| panic!("{}: {e}", day.display()))
            .collect();
        assert_eq!(runs.len(), 1, "{table}");
    }
    let catalog: Value = serde_json::from_str(&read(&root.join("catalog/catalog.json"))).unwrap();
    assert_eq!(
        catalog["tables"]["segment_pages"]["partitions"]["2026-11-21"],
        "lake/segment/pages/dt=2026-11-21/run=job-redrive/"
    );
    assert_eq!(
        sent_emails(&root).len(),
        2,
        "one approval request and one report"
    );
    let record: Value =
        serde_json::from_str(&read(&root.join(".daybook/executions/job-redrive.json"))).unwrap();
    assert_eq!(record["status"], "SUCCEEDED");
    assert_eq!(record["redrive_count"], 1);
    // After the redrive: the failed state's second visit succeeded, and every mart ran once
    // in the Map's iterations.
    let passed = executions
        .load("job-redrive")
        .unwrap()
        .status_text(chrono::Utc::now());
    assert!(
        passed.contains("SUCCEEDED") && passed.contains("redriven 1×"),
        "{passed}"
    );
    assert!(!passed.contains('✗'), "{passed}");
    let marts = format!("×{}", daybook_core::marts::known_marts().len());
    assert!(
        passed
            .lines()
            .any(|l| l.contains("Build mart") && l.contains(&marts) && l.contains("longest")),
        "{passed}"
    );

    let again = redrive_daily_report(&root, functions.clone(), "job-redrive", approve(), quiet())
        .await
        .unwrap_err();
    assert!(
        again
            .to_string()
            .contains("only a failed execution can be redriven"),
        "{again}"
    );
    assert_eq!(functions.count("send-report"), 1, "no second email");
}

/// `--history-days`: the days before run the same definition with `build_report` false (lake
/// and marts, no report, no email), so the report's day compares with a real day before.
#[tokio::test]
async fn history_days_build_marts_without_mail_and_give_the_report_a_day_before() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let demo = options(&root, "20261121-070000-hist01", false);
    let mut days = Vec::new();
    daybook_local::demo::run_history(&demo, 1, |day, n, total, _| days.push((day, n, total)))
        .await
        .unwrap();
    let day_before = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    assert_eq!(days, [(day_before, 1, 1)]);
    assert!(
        root.join("lake/marts/daily_sales/dt=2026-11-20").is_dir(),
        "the day's marts are built"
    );
    assert!(
        !root.join("reports").exists(),
        "no report for a history day"
    );
    assert!(
        !root.join("outbox").exists(),
        "nothing is sent for a history day"
    );

    let outcome = run_demo(&demo, Arc::new(|_| {})).await.unwrap();
    assert_eq!(
        sent_emails(&root).len(),
        2,
        "the approval request and the report"
    );
    let data: serde_json::Value = serde_json::from_slice(
        &std::fs::read(outcome.report_html.with_file_name("report.json")).unwrap(),
    )
    .unwrap();
    let headline = data["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["title"] == "Search")
        .unwrap();
    assert!(
        headline["previous_day"]["rows"][0][0].as_i64().is_some(),
        "the headline compares with the history day: {headline}"
    );
}

/// Several reports per deployment: each is a config of its own (`config_key`), with its own
/// name, sections and recipients. One without sources or marts reads the marts the daily run
/// built: it only builds, approves and sends its report.
#[tokio::test]
async fn a_second_report_is_a_config_of_its_own_with_its_own_recipients() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    run_demo(
        &options(&root, "20261121-080000-first1", false),
        Arc::new(|_| {}),
    )
    .await
    .unwrap();
    let mut weekly = daybook_local::demo::demo_config();
    weekly.dynamodb.clear();
    weekly.rds.clear();
    weekly.segment.clear();
    weekly.marts.clear();
    weekly.checks = Default::default();
    weekly.report.name = "weekly-sales".into();
    weekly.report.title = "Weekly sales".into();
    weekly
        .report
        .sections
        .retain(|s| s.title.starts_with("Sales"));
    weekly.report.summary.clear();
    weekly.email = daybook_core::config::EmailConfig::new(
        "reports@daybook.example",
        &["sales@daybook.example"],
        &["sales-lead@daybook.example"],
    );
    std::fs::write(
        root.join("config/weekly-sales.json"),
        serde_json::to_vec_pretty(&weekly).unwrap(),
    )
    .unwrap();
    let approve: Arc<dyn daybook_asl::CallbackWaiter> = Arc::new(
        daybook_local::callbacks::AutoAnswer::new(json!({ "approved": true, "by": "sales lead" })),
    );
    let output = daybook_local::runs::run_daily_report(
        &root,
        "20261121-090000-weekly",
        json!({ "date": "2026-11-21", "config_key": "config/weekly-sales.json" }),
        approve,
        Arc::new(|_| {}),
    )
    .await
    .unwrap();
    assert_eq!(output["recipients"], json!(["sales@daybook.example"]));
    let report = root.join("reports/weekly-sales/dt=2026-11-21/20261121-090000-weekly");
    let data: Value =
        serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    let titles: Vec<&str> = data["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Sales over 28 days", "Sales by category"]);
    assert!(
        data["sections"][1]["result"]["rows"]
            .as_array()
            .unwrap()
            .len()
            > 3,
        "it reads the marts the daily run built"
    );
    let emails = sent_emails(&root);
    assert_eq!(emails.len(), 4, "each report's approval request and report");
    let last = read(emails.last().unwrap());
    assert!(last.contains("To: <sales@daybook.example>") && last.contains("Weekly sales"));
}

/// The whole approval on a laptop, as a person clicks it: `daybook serve` up, the demo waiting
/// for approval, the Approve link from the `.eml` opened in headless Chromium, a comment typed,
/// the button pressed, and the run sends, saying who approved it. A screenshot of the page goes
/// to `target/preview/approval-page.png` (the README's picture).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approval_link_is_clicked_through_in_a_browser_and_the_run_sends() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let serving = crate::approval::Serving::start(&root).await;
    let url = serving.url.clone();
    let (run, mut waiting) = start_waiting_run(&root, "job-click");
    waiting.recv().await.expect("the run waits for approval");

    let pending = daybook_report::approval::pending_approvals(
        &daybook_local::state::FileStateStore::new(&root.join(".daybook/state")),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(pending.len(), 1, "daybook approvals lists it");
    let text = daybook_tests::text_part(&read(&sent_emails(&root)[0]));
    let link = daybook_tests::after_label(&text, "Approve: ")
        .expect("the approval email has an Approve link");
    assert!(link.starts_with(&format!("{url}/approvals/v1.")), "{link}");

    let screenshot = tokio::task::spawn_blocking(move || {
        let mut browser = daybook_tests::chromium::Chromium::start();
        browser.open(&link);
        let page = browser.text();
        assert!(page.contains("Approve Daily search report?"), "{page}");
        assert!(
            page.contains("You are deciding as lead@daybook.example"),
            "{page}"
        );
        // Opening the page decided nothing: the run still waits.
        browser.eval(
            "document.querySelector('#comment').value = 'Checked the top keywords <b>twice</b>'",
        );
        let shot = browser.screenshot();
        // The full report is served by the site, pictures and all: an http:// page cannot open
        // a file:// link.
        let full = browser
            .eval("[...document.links].find(a => a.textContent === 'Open the full report').href");
        let full = full
            .as_str()
            .expect("the page links the full report")
            .to_string();
        assert!(full.starts_with("http://"), "{full}");
        let approval_page = browser.eval("location.href").as_str().unwrap().to_string();
        browser.open(&full);
        browser.wait_for(
            "[...document.images].length > 0 && [...document.images].every(i => i.complete)",
        );
        let report = browser.text();
        assert!(report.contains("Daily search report"), "{report:.500}");
        let pictures = browser.eval("[...document.images].filter(i => i.naturalWidth > 0).length");
        assert!(
            pictures.as_u64().unwrap() >= 1,
            "the report's pictures are served"
        );
        browser.open(&approval_page);
        browser.eval(
            "document.querySelector('#comment').value = 'Checked the top keywords <b>twice</b>'",
        );
        browser.eval("document.querySelector('button[value=approve]').click()");
        browser.wait_for("document.body.innerText.includes('The report goes to')");
        let done = browser.text();
        assert!(done.contains("Approved"), "{done}");
        assert!(
            done.contains("Checked the top keywords <b>twice</b>"),
            "shown as typed: {done}"
        );
        shot
    })
    .await
    .unwrap();
    png::Decoder::new(std::io::Cursor::new(&screenshot))
        .read_info()
        .expect("Chromium's screenshot is a PNG");
    let preview = daybook_tests::workspace_root().join("target/preview");
    std::fs::create_dir_all(&preview).unwrap();
    std::fs::write(preview.join("approval-page.png"), &screenshot).unwrap();

    let outcome = run.await.unwrap().unwrap();
    let eml = read(outcome.email.as_ref().unwrap());
    let sent = mail_parser::MessageParser::default()
        .parse(eml.as_bytes())
        .unwrap();
    let html = sent.body_html(0).unwrap();
    assert!(
        html.contains("Approved by lead@daybook.example at"),
        "{html:.3000}"
    );
    assert!(
        html.contains("&lt;b&gt;twice&lt;"),
        "the comment is escaped"
    );
    // /files shows the reports and nothing else of the root: not its config, state or keys.
    for other in [
        "/files/config/daybook.json",
        "/files/.daybook/link-key.json",
        "/files/reports/../config/daybook.json",
    ] {
        let (status, _) = daybook_tests::http_request(&url, "GET", other, &[], "");
        assert_eq!(status, 404, "{other}");
    }
    serving.stop().await;
}

/// A run whose process stops while it waits for its approval (a closed terminal, Ctrl-C on
/// `daybook demo --manual-approval`) is not lost: once decided, `daybook approve` (or `daybook
/// serve`, or `daybook redrive`) takes it up from the approval, with the answer given, without
/// asking the approvers again; while its own process lives, nobody else takes it.
#[tokio::test]
async fn a_run_left_waiting_by_its_process_goes_on_once_approved_elsewhere() {
    use daybook_local::executions::{ExecutionStatus, ExecutionStore};
    use daybook_local::runs::resume_waiting_run;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let (run, mut waiting) = start_waiting_run(&root, "job-left");
    waiting
        .recv()
        .await
        .expect("the run reaches the approval step");
    let quiet = || -> daybook_asl::Observer { Arc::new(|_: &RunEvent| {}) };
    assert!(
        resume_waiting_run(&root, "job-left", quiet())
            .await
            .unwrap()
            .is_none(),
        "its own process still runs it"
    );
    // The process stops: the run's future is dropped with everything it held.
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    let executions =
        ExecutionStore::new(&daybook_local::paths::LocalPaths::new(&root).executions());
    let left = executions.load("job-left").unwrap();
    assert_eq!(left.status, ExecutionStatus::Running);
    assert_eq!(left.waiting.as_ref().unwrap().state, "Request approval");
    let asked = sent_emails(&root).len();
    decide(&root, "job-left", true, "ana", None).await.unwrap();
    // Asking again would wait for an answer to a new token: bounded, so that it fails.
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        resume_waiting_run(&root, "job-left", quiet()),
    )
    .await
    .expect("the run goes on with the answer given, not a new request")
    .unwrap()
    .expect("taken up after its process stopped");
    assert_eq!(output["already_sent"], false, "{output}");
    let record = executions.load("job-left").unwrap();
    assert_eq!(record.status, ExecutionStatus::Succeeded);
    assert!(record.waiting.is_none());
    let sent = sent_emails(&root);
    assert_eq!(
        sent.len(),
        asked + 1,
        "the report once, and no second approval request"
    );
    let report = std::fs::read_to_string(sent.last().unwrap()).unwrap();
    assert!(
        report.contains("Approved by ana"),
        "the report says who approved it"
    );
    assert!(
        resume_waiting_run(&root, "job-left", quiet())
            .await
            .unwrap()
            .is_none(),
        "an ended run is not taken up again"
    );
}
