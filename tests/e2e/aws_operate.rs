//! The operator's commands against a deployed stack (`--stack`): the stack's outputs from
//! CloudFormation and its runs as Step Functions executions, on moto; redrive, which moto does
//! not have, on a stand-in that answers as Step Functions does; and the bad input an operator
//! meets (a stack that does not exist, no credentials) in one line each.

use crate::aws_moto::sdk_config;
use aws_config::{BehaviorVersion, Region};
use daybook_aws::stack::{Runs, Stack, console_link, execution_arn};
use daybook_core::history::{render_lines, state_lines};
use daybook_tests::MotoServer;
use serde_json::{Value, json};

const DEFINITION: &str = r#"{"StartAt":"Start","States":{"Start":{"Type":"Pass","End":true}}}"#;
const ROLE: &str = "arn:aws:iam::123456789012:role/daybook-states";

/// A stack as `sam deploy` leaves it, with the outputs daybook reads.
async fn deployed(config: &aws_config::SdkConfig) -> (String, String) {
    let sfn = aws_sdk_sfn::Client::new(config);
    let mut arns = Vec::new();
    for name in ["daybook-daily", "daybook-backfill"] {
        let made = sfn
            .create_state_machine()
            .name(name)
            .definition(DEFINITION)
            .role_arn(ROLE)
            .send()
            .await
            .unwrap();
        arns.push(made.state_machine_arn().to_string());
    }
    let template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": { "LakeBucket": { "Type": "AWS::S3::Bucket" } },
        "Outputs": {
            "StateMachineArn": { "Value": arns[0] },
            "BackfillStateMachineArn": { "Value": arns[1] },
            "StateTableName": { "Value": "daybook-state" },
            "LakeBucketName": { "Value": { "Ref": "LakeBucket" } }
        }
    });
    aws_sdk_cloudformation::Client::new(config)
        .create_stack()
        .stack_name("daybook")
        .template_body(template.to_string())
        .send()
        .await
        .unwrap();
    (arns[0].clone(), arns[1].clone())
}

#[tokio::test]
async fn the_cli_finds_the_stacks_machines_and_starts_lists_and_follows_its_runs() {
    let moto = MotoServer::start();
    let config = sdk_config(&moto).await;
    let (daily, backfill) = deployed(&config).await;
    let cloudformation = aws_sdk_cloudformation::Client::new(&config);
    let stack = Stack::find(&cloudformation, "daybook").await.unwrap();
    assert_eq!(stack.output("StateMachineArn").unwrap(), daily);
    assert_eq!(stack.output("BackfillStateMachineArn").unwrap(), backfill);
    assert_eq!(stack.output("StateTableName").unwrap(), "daybook-state");
    assert_eq!(stack.region, "us-east-1");
    let missing = stack.output("ApprovalUrl").unwrap_err().to_string();
    assert!(
        missing.contains("stack daybook has no output ApprovalUrl"),
        "{missing}"
    );

    // `daybook start --stack`: the execution is named after the job, with the run's input.
    let runs = Runs::new(aws_sdk_sfn::Client::new(&config));
    let job = "20261121-060000-op0001";
    let input = json!({"date": "2026-11-21", "started_by": "ana", "variables": {"top_n": "5"}});
    let arn = runs.start(&daily, job, &input).await.unwrap();
    assert_eq!(arn, execution_arn(&daily, job));
    let described = runs.describe(&arn).await.unwrap();
    assert_eq!(described.name, job);
    assert_eq!(
        serde_json::from_str::<Value>(described.input.as_deref().unwrap()).unwrap(),
        input
    );
    // The same job twice is the same execution name: Step Functions refuses the second start
    // with other input, as a job has one set of variables.
    let again = runs
        .start(
            &daily,
            job,
            &json!({"date": "2026-11-21", "variables": {"top_n": "6"}}),
        )
        .await;
    assert!(again.is_err(), "a second start of one job with other input");

    // `daybook runs --stack`: the newest first.
    let later = "20261122-060000-op0002";
    runs.start(&daily, later, &json!({"date": "2026-11-22"}))
        .await
        .unwrap();
    let listed = runs.list(&daily, 10).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|e| e.name.as_str()).collect();
    assert!(names.contains(&job) && names.contains(&later), "{names:?}");
    assert_eq!(runs.list(&daily, 1).await.unwrap().len(), 1);

    // `daybook status --stack`: the states from the execution's event history, with times.
    let history = runs.history(&arn).await.unwrap();
    assert!(!history.is_empty(), "moto's history has states");
    assert!(history.iter().all(|v| v.exited.is_some()), "{history:?}");
    let shown = render_lines(&state_lines(&history, chrono::Utc::now()));
    assert!(shown.contains('✓'), "{shown}");
    assert!(console_link(&arn).contains("#/v2/executions/details/arn:aws:states:us-east-1:"));

    // A job the stack never ran is named, with what to give instead.
    let unknown = runs
        .describe(&execution_arn(&daily, "20261101-000000-nope00"))
        .await
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("daybook runs --stack"), "{unknown}");
}

#[tokio::test]
async fn a_stack_that_does_not_exist_and_missing_credentials_are_one_line_each() {
    let moto = MotoServer::start();
    let config = sdk_config(&moto).await;
    let missing = Stack::find(&aws_sdk_cloudformation::Client::new(&config), "daybok")
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        missing,
        "stack daybok does not exist in us-east-1: deploy it with `sam deploy --guided`, or name the deployed one with --stack <name> (and AWS_REGION if it is in another region)"
    );
    let anonymous = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&moto.endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(NoCredentials)
        .load()
        .await;
    let refused = Stack::find(&aws_sdk_cloudformation::Client::new(&anonymous), "daybook")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("no AWS credentials were found"),
        "{refused}"
    );
    assert!(refused.contains("aws sso login"), "{refused}");
    assert!(!refused.contains('\n'), "{refused}");
}

/// The default chain's answer on a machine with no credentials anywhere.
#[derive(Debug)]
struct NoCredentials;

impl aws_credential_types::provider::ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::ready(Err(
            aws_credential_types::provider::error::CredentialsError::not_loaded(
                "no providers in chain provided credentials",
            ),
        ))
    }
}

/// RedriveExecution, which moto 5 does not have, as Step Functions answers it: a failed
/// execution is redriven; a succeeded one is ExecutionNotRedrivable.
#[tokio::test]
async fn redrive_resumes_a_failed_execution_and_names_why_another_cannot_be() {
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:daybook-daily";
    let endpoint = daybook_tests::json_api::start(
        "application/x-amz-json-1.0",
        move |operation: &str, request: Value| {
            let arn = request["executionArn"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            match operation {
                "RedriveExecution" if arn.ends_with(":20261121-060000-failed") => {
                    ("200 OK", json!({ "redriveDate": 1_795_000_000.0 }))
                }
                "RedriveExecution" => (
                    "400 Bad Request",
                    json!({
                        "__type": "ExecutionNotRedrivable",
                        "message": format!("Execution {arn} has status SUCCEEDED and cannot be redriven")
                    }),
                ),
                other => (
                    "400 Bad Request",
                    json!({ "__type": "UnknownOperationException", "message": other }),
                ),
            }
        },
    );
    let config = crate::aws_moto::sdk_config_at(&endpoint).await;
    let runs = Runs::new(aws_sdk_sfn::Client::new(&config));
    let redriven = runs
        .redrive(&execution_arn(machine, "20261121-060000-failed"))
        .await
        .unwrap();
    assert_eq!(redriven.timestamp(), 1_795_000_000);
    let refused = runs
        .redrive(&execution_arn(machine, "20261121-060000-passed"))
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("cannot be redriven"), "{refused}");
    assert!(
        refused.contains("start a new run for the date instead"),
        "{refused}"
    );
}

/// A backfill on AWS as `daybook backfill --stack` follows it, on a stand-in that answers as
/// Step Functions does (moto runs no state machine): the days from the "Plan days" step's
/// output, each day's execution as it starts, moves and ends.
#[tokio::test]
async fn a_backfill_on_aws_is_followed_day_by_day_from_its_plan_and_its_days_executions() {
    use daybook_aws::backfill_progress::{BackfillFollower, DayChange};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let daily = "arn:aws:states:us-east-1:123456789012:stateMachine:daybook-daily-report";
    let backfill_machine = "arn:aws:states:us-east-1:123456789012:stateMachine:daybook-backfill";
    let later = Arc::new(AtomicBool::new(false));
    let seen = later.clone();
    let day = |job: &str, date: &str| json!({ "job_id": job, "input": { "date": date, "variables": {} } });
    let plan = json!({ "plan": { "concurrency": 2, "days": [
        day("20261118-a", "2026-11-18"), day("20261119-b", "2026-11-19"), day("20261120-c", "2026-11-20")
    ] } });
    let endpoint = daybook_tests::json_api::start(
        "application/x-amz-json-1.0",
        move |operation: &str, request: Value| {
            let later = seen.load(Ordering::SeqCst);
            let arn = request["executionArn"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let name = arn.rsplit(':').next().unwrap_or_default().to_string();
            let execution = |status: &str, error: Option<(&str, &str)>| {
                let mut e = json!({
                    "executionArn": arn, "stateMachineArn": daily, "name": name,
                    "status": status, "startDate": 1_795_000_000.0, "input": "{}"
                });
                if status != "RUNNING" {
                    e["stopDate"] = json!(1_795_000_042.0);
                }
                if let Some((error, cause)) = error {
                    e["error"] = json!(error);
                    e["cause"] = json!(cause);
                }
                ("200 OK", e)
            };
            let entered = |id: i64, state: &str| {
                json!({
                    "timestamp": 1_795_000_000.0 + id as f64, "type": "TaskStateEntered", "id": id,
                    "stateEnteredEventDetails": { "name": state, "input": "{}" }
                })
            };
            match (operation, name.as_str()) {
                ("DescribeExecution", "backfill-x") => {
                    execution(if later { "FAILED" } else { "RUNNING" }, None)
                }
                ("GetExecutionHistory", "backfill-x") => (
                    "200 OK",
                    json!({ "events": [
                    entered(1, "Plan days"),
                    { "timestamp": 1_795_000_002.0, "type": "TaskStateExited", "id": 2,
                      "stateExitedEventDetails": { "name": "Plan days", "output": plan.to_string() } }
                ] }),
                ),
                ("DescribeExecution", "20261118-a") => execution("SUCCEEDED", None),
                ("DescribeExecution", "20261119-b") if later => execution(
                    "FAILED",
                    Some(("Daybook.Failed", "the export of 2026-11-19 is missing")),
                ),
                ("DescribeExecution", "20261119-b") => execution("RUNNING", None),
                ("DescribeExecution", "20261120-c") if later => execution("RUNNING", None),
                ("DescribeExecution", _) => (
                    "400 Bad Request",
                    json!({ "__type": "ExecutionDoesNotExist", "message": format!("Execution Does Not Exist: '{arn}'") }),
                ),
                ("GetExecutionHistory", "20261119-b") => {
                    let mut events = vec![entered(1, "Start job"), entered(2, "Export sources")];
                    if later {
                        events.push(json!({
                            "timestamp": 1_795_000_010.0, "type": "TaskFailed", "id": 3,
                            "taskFailedEventDetails": { "error": "Daybook.Failed", "cause": "missing" }
                        }));
                    }
                    ("200 OK", json!({ "events": events }))
                }
                ("GetExecutionHistory", _) => {
                    ("200 OK", json!({ "events": [entered(1, "Start job")] }))
                }
                (other, _) => (
                    "400 Bad Request",
                    json!({ "__type": "UnknownOperationException", "message": other }),
                ),
            }
        },
    );
    let config = crate::aws_moto::sdk_config_at(&endpoint).await;
    let runs = Runs::new(aws_sdk_sfn::Client::new(&config));
    let mut follower =
        BackfillFollower::new(&runs, &execution_arn(backfill_machine, "backfill-x"), daily);

    let (progress, changes) = follower.poll().await.unwrap();
    assert!(progress.running());
    assert_eq!(progress.days.len(), 3);
    assert_eq!(
        changes,
        vec![
            DayChange::Started {
                job_id: "20261118-a".into(),
                date: Some("2026-11-18".parse().unwrap())
            },
            DayChange::Finished {
                job_id: "20261118-a".into(),
                elapsed: std::time::Duration::from_secs(42),
                failure: None
            },
            DayChange::Started {
                job_id: "20261119-b".into(),
                date: Some("2026-11-19".parse().unwrap())
            },
            DayChange::Entered {
                job_id: "20261119-b".into(),
                state: "Export sources".into()
            },
        ],
        "the third day has not started"
    );

    later.store(true, Ordering::SeqCst);
    let (progress, changes) = follower.poll().await.unwrap();
    assert!(!progress.running());
    assert_eq!(
        changes,
        vec![
            DayChange::Finished {
                job_id: "20261119-b".into(),
                elapsed: std::time::Duration::from_secs(42),
                failure: Some((
                    "Daybook.Failed".into(),
                    "the export of 2026-11-19 is missing".into(),
                    "Export sources".into()
                )),
            },
            DayChange::Started {
                job_id: "20261120-c".into(),
                date: Some("2026-11-20".parse().unwrap())
            },
            DayChange::Entered {
                job_id: "20261120-c".into(),
                state: "Start job".into()
            },
        ],
        "a finished day is not asked about again"
    );
}
