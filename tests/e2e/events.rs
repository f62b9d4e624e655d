//! The sample events in `events/` (for `cargo lambda invoke --data-file`) stay valid inputs of
//! the handlers they are named after.

use daybook_core::steps::invocation::{FlattenInvocation, SegmentInvocation};
use daybook_tests::workspace_root;
use serde::de::DeserializeOwned;

fn parses_as<T: DeserializeOwned>(file: &str) -> T {
    let path = workspace_root().join("events").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_sample_event_is_a_valid_handler_input() {
    let start: daybook_core::steps::start::StartTask = parses_as("start-job.json");
    assert_eq!(start.request.date, Some("2026-11-21".parse().unwrap()));
    assert_eq!(start.request.variables["top_n"], 5);
    let plan: daybook_core::steps::start_event::StartEvent = parses_as("start-job-backfill.json");
    assert_eq!(
        plan.backfill.map(|b| (b.from, b.to)),
        Some(("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap()))
    );
    for file in [
        "flatten-dynamodb-export.json",
        "flatten-dynamodb-query.json",
        "flatten-dynamodb-scan.json",
        "flatten-dynamodb-stream.json",
    ] {
        let _: flatten_dynamodb::FlattenEvent = parses_as(file);
    }
    // The fan-out's steps, read by their mode.
    for (file, mode) in [
        ("flatten-dynamodb-fan-out-plan.json", "plan"),
        ("flatten-dynamodb-fan-out-part.json", "part"),
    ] {
        match parses_as::<flatten_dynamodb::FlattenEvent>(file) {
            flatten_dynamodb::FlattenEvent::Invocation(FlattenInvocation::FanOut(step)) => {
                let step = serde_json::to_value(&*step).unwrap();
                assert_eq!(step["mode"], mode, "{file}");
            }
            other => panic!("{file} parsed as {other:?}"),
        }
    }
    let rds: daybook_rds::RdsTask = parses_as("export-rds.json");
    assert_eq!(rds.source.tables[2].watermark.as_deref(), Some("order_id"));
    match parses_as::<export_segment::ExportSegmentEvent>("export-segment-day.json") {
        export_segment::ExportSegmentEvent::Invocation(SegmentInvocation::Source(task)) => {
            assert_eq!(task.source.timezone, "Europe/Paris")
        }
        other => panic!("a day's export parsed as {other:?}"),
    }
    for (file, mode) in [
        ("export-segment-fan-out-resolve.json", "resolve"),
        ("export-segment-fan-out-write.json", "write"),
    ] {
        match parses_as::<export_segment::ExportSegmentEvent>(file) {
            export_segment::ExportSegmentEvent::Invocation(SegmentInvocation::FanOut(step)) => {
                let step = serde_json::to_value(&*step).unwrap();
                assert_eq!(step["mode"], mode, "{file}");
            }
            other => panic!("{file} parsed as {other:?}"),
        }
    }
    match parses_as::<export_segment::ExportSegmentEvent>("export-segment-put.json") {
        export_segment::ExportSegmentEvent::Put(event) => assert_eq!(event.records.len(), 1),
        other => panic!("an S3 event parsed as {other:?}"),
    }
    let load: daybook_core::steps::load::LoadInput = parses_as("load-warehouse.json");
    assert_eq!(load.marts, ["search_daily_summary", "search_top"]);
    let build: daybook_report::build::BuildInput = parses_as("build-report.json");
    assert_eq!(build.report.sections.len(), 4);
    let _: daybook_report::approval::ApprovalRequest = parses_as("request-approval.json");
    let send: daybook_report::send::SendInput = parses_as("send-report.json");
    assert_eq!(send.approval.unwrap().by, "lead@daybook.example");
    let console: approval_api::ConsoleDecision = parses_as("approval-console.json");
    assert_eq!(console.decision, "approve");
    let page: aws_lambda_events::apigw::ApiGatewayV2httpRequest =
        parses_as("approval-api-get.json");
    assert_eq!(page.request_context.http.method, "GET");
    let sweep: serde_json::Value = parses_as("approval-sweep.json");
    assert_eq!(sweep["sweep"], true);
    let search: daybook_report::search::SearchRequest = parses_as("run-query.json");
    daybook_report::search::check_read_only(&search.sql).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(workspace_root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        21,
        "a new event file needs a line here: {files:?}"
    );
}

/// The backfill state machine's first step: start-job plans the days (one job each, no report
/// unless asked) and refuses a range it cannot run, before any day starts.
#[tokio::test]
async fn start_job_plans_a_backfill_and_refuses_a_bad_range() {
    use daybook_core::Classify;
    use daybook_core::steps::start_event::{StartEvent, start_or_plan};
    let dir = tempfile::tempdir().unwrap();
    let store = daybook_local::FsStore::new(dir.path());
    let now = "2026-11-24T08:00:00Z".parse().unwrap();
    let event: StartEvent = parses_as("start-job-backfill.json");
    let plan = start_or_plan(&store, &event, now, chrono_tz::Asia::Seoul, 1)
        .await
        .unwrap();
    let days = plan["days"].as_array().unwrap();
    assert_eq!(days.len(), 31);
    assert_eq!(days[0]["input"]["date"], "2026-10-01");
    assert_eq!(days[0]["input"]["build_report"], false);
    assert_eq!(days[0]["input"]["config_key"], serde_json::Value::Null);
    assert_eq!(
        days[0]["input"]["variables"],
        serde_json::json!({"top_n": 5})
    );
    assert!(
        days[30]["job_id"]
            .as_str()
            .unwrap()
            .starts_with("20261031-")
    );
    assert_eq!(plan["concurrency"], 2);

    let mut event = event;
    if let Some(backfill) = event.backfill.as_mut() {
        backfill.to = "2026-11-24".parse().unwrap();
    }
    let error = start_or_plan(&store, &event, now, chrono_tz::Asia::Seoul, 1)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), daybook_core::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("after 2026-11-23"), "{error}");
}
