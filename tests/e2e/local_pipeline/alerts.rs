//! `send_when` and `approval.skip` through the real state machine: a report whose condition
//! does not hold is built and kept, nothing is sent and the run says why; an alert whose
//! condition holds goes out at once, to email and Slack, without asking anyone.

use super::{entered_states, options, sent_emails};
use daybook_asl::RunEvent;
use daybook_local::demo::deliver::DemoChat;
use daybook_local::demo::{demo_config, run_demo};
use std::path::Path;
use std::sync::{Arc, Mutex};

fn write_config(root: &Path, config: &daybook_core::config::PipelineConfig) {
    let path = root.join(daybook_core::steps::start::DEFAULT_CONFIG_KEY);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_string_pretty(config).unwrap()).unwrap();
}

fn recorder() -> (Arc<Mutex<Vec<RunEvent>>>, daybook_asl::Observer) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    (
        events,
        Arc::new(move |e: &RunEvent| sink.lock().unwrap().push(e.clone())),
    )
}

#[tokio::test]
async fn a_report_whose_condition_does_not_hold_is_kept_and_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = demo_config();
    config.report.send_when = serde_json::from_str("\"orders < 0 or problems\"").unwrap();
    write_config(dir.path(), &config);
    let (events, observer) = recorder();
    let outcome = run_demo(&options(dir.path(), "job-quiet", false), observer)
        .await
        .unwrap();
    let why = outcome.not_sent.expect("the run says why nothing went");
    assert!(
        why.contains("does not hold") && why.contains("orders = "),
        "{why}"
    );
    assert!(outcome.delivery.is_none());
    assert!(outcome.report_html.exists(), "the report is built and kept");
    assert!(
        !dir.path().join("outbox").exists() || sent_emails(dir.path()).is_empty(),
        "no approval, no report"
    );
    let entered = entered_states(&events.lock().unwrap());
    assert_eq!(
        entered[entered.len() - 2..],
        ["Send wanted?", "Nothing to send"]
    );
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("jobs/job-quiet/not-sent.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["why"], why.as_str());
}

#[tokio::test]
async fn an_alert_goes_to_email_and_slack_without_approval_when_its_condition_holds() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = demo_config();
    config.report.send_when = serde_json::from_str("\"orders > 0\"").unwrap();
    config.approval.skip = true;
    write_config(dir.path(), &config);
    let (events, observer) = recorder();
    let mut run = options(dir.path(), "job-alert", false);
    run.deliver = vec![DemoChat::Slack, DemoChat::Webhook];
    let outcome = run_demo(&run, observer).await.unwrap();
    let delivery = outcome.delivery.expect("sent");
    assert_eq!(delivery.posts.len(), 2, "{delivery:?}");
    let entered = entered_states(&events.lock().unwrap());
    assert!(
        entered.contains(&"Approval skipped".to_string()),
        "{entered:?}"
    );
    assert!(
        !entered.contains(&"Request approval".to_string()),
        "{entered:?}"
    );
    assert_eq!(
        sent_emails(dir.path()).len(),
        1,
        "the report, and no approval request"
    );
    let names: Vec<String> = outcome
        .posted
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["slack-message.json", "slack-chart.png", "webhook.json"]
    );
    let message: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&outcome.posted[0]).unwrap()).unwrap();
    assert!(
        message["blocks"].to_string().contains("Yesterday")
            || message["blocks"].to_string().contains("Revenue"),
        "{message}"
    );
    let blocks = vec![message["blocks"].clone()];
    assert_eq!(
        crate::report::chat::slack_sdk_errors(&blocks),
        Vec::<String>::new()
    );
}
