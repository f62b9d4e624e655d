//! The real `start-job` binary under a Lambda Runtime API on loopback: the `errorType` it posts
//! is the error name the state machine's Retry rules match, so throttling is retried and bad
//! input is not.

use daybook_tests::runtime_api::{Outcome, RuntimeApi};
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::Duration;

fn error(outcomes: &[(String, Outcome)], id: &str) -> (String, String) {
    match outcomes.iter().find(|(i, _)| i == id).map(|(_, o)| o) {
        Some(Outcome::Error {
            error_type,
            message,
        }) => (error_type.clone(), message.clone()),
        other => panic!("invocation {id}: expected an error, got {other:?}"),
    }
}

#[test]
fn a_function_binary_reports_error_types_that_retry_rules_can_tell_apart() {
    let api = RuntimeApi::start(vec![
        (
            "bad-event".into(),
            json!({ "request": { "date": "the 21st of November" } }),
        ),
        (
            "throttled".into(),
            json!({ "job_id": "job-slow-down", "request": { "date": "2026-11-21" }, "state_name": "Start job" }),
        ),
        (
            "denied".into(),
            json!({ "job_id": "job-denied", "request": { "date": "2026-11-21" } }),
        ),
    ]);
    let endpoint = format!("http://{}", api.address);
    let mut function = Command::new(env!("CARGO_BIN_EXE_start-job"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "start-job")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/start-job")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_ENDPOINT_URL", &endpoint)
        // One attempt per call: what is left after the SDK's own retries is what we classify.
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("LAKE_BUCKET", "lake")
        .env("SCHEDULE_TIMEZONE", "Asia/Seoul")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the function binary");
    let outcomes = api.wait_for(3, Duration::from_secs(60));
    let _ = function.kill();
    let _ = function.wait();
    let outcomes = outcomes.unwrap();

    let (kind, message) = error(&outcomes, "bad-event");
    assert_eq!(kind, "Daybook.InvalidInput", "{message}");
    assert!(
        message.starts_with("start-job: "),
        "names the function: {message}"
    );
    assert!(
        message.contains("field request.date"),
        "names the field: {message}"
    );
    assert!(
        message.contains("events/"),
        "says where a good event is: {message}"
    );

    let (kind, message) = error(&outcomes, "throttled");
    assert_eq!(kind, "Daybook.Transient", "{message}");
    assert!(
        message.starts_with("Start job (start-job): "),
        "names the state and the function: {message}"
    );
    assert!(message.contains("SlowDown"), "{message}");
    assert!(
        message.contains("job-slow-down"),
        "names the object: {message}"
    );

    let (kind, message) = error(&outcomes, "denied");
    assert_eq!(kind, "Daybook.Failed", "{message}");
    assert!(message.contains("AccessDenied"), "{message}");
}
