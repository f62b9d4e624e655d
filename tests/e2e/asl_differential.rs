//! The local ASL runner held against an interpreter we did not write: moto 5's Step Functions
//! interpreter (LocalStack's, in `moto/stepfunctions/parser`), switched on with moto's
//! `stepfunctions: execute_state_machine` setting. Each case of `tests/fixtures/asl/corpus.json`
//! and both of our definitions' shapes run on both engines with the same task results; they must
//! end the same way: the same output, or the same error (and cause, where the case says so).

use async_trait::async_trait;
use daybook_asl::{CallbackWaiter, Definition, Failure, Runner, SystemClock, TaskInvoker};
use daybook_tests::{MotoServer, http_post, http_request, workspace_root};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "123456789012";
/// The function every corpus Task names; moto's simple Lambda backend answers it with the results
/// queued for the case, in order, as our invoker below does.
const FUNCTION: &str = "daybook-step";

#[derive(Debug, PartialEq)]
enum Ending {
    Succeeded(Value),
    Failed {
        error: String,
        cause: Option<String>,
    },
}

struct Queued(Mutex<VecDeque<Value>>);

#[async_trait]
impl TaskInvoker for Queued {
    async fn invoke(&self, function: &str, _input: Value) -> Result<Value, Failure> {
        self.0.lock().unwrap().pop_front().ok_or_else(|| {
            Failure::new(
                "Corpus.NoResult",
                format!("{function}: the case queues no more results"),
            )
        })
    }
}

/// What a `.waitForTaskToken` task is answered with: the decision, or a failure where the
/// corpus has no callbacks.
struct Decision(Option<Value>);

#[async_trait]
impl CallbackWaiter for Decision {
    async fn wait(
        &self,
        token: &str,
        _execution: &str,
        _state: &str,
        _timeout: Option<Duration>,
    ) -> Result<Value, Failure> {
        self.0
            .clone()
            .ok_or_else(|| Failure::new("Corpus.NoCallbacks", format!("no callback for {token}")))
    }
}

/// Runs `definition` on our runner with the task results and the decision: how it ended and
/// the states it entered.
async fn locally(
    definition: &Value,
    input: &Value,
    results: &[Value],
    decision: Option<&Value>,
) -> (Ending, Vec<String>) {
    let definition = Definition::parse(&definition.to_string(), &BTreeMap::new())
        .unwrap_or_else(|e| panic!("our runner refuses a definition moto runs: {e}"));
    let entered = Arc::new(Mutex::new(Vec::new()));
    let sink = entered.clone();
    let runner = Runner::new(
        definition,
        Arc::new(Queued(Mutex::new(results.iter().cloned().collect()))),
        Arc::new(Decision(decision.cloned())),
        Arc::new(SystemClock),
    )
    .with_observer(Arc::new(move |event| {
        if let daybook_asl::RunEvent::Entered { state, .. } = event {
            sink.lock().unwrap().push(state.clone());
        }
    }));
    let ending = match runner.execute("n", input.clone()).await {
        Ok(output) => Ending::Succeeded(output),
        Err(failure) => Ending::Failed {
            error: failure.error,
            cause: Some(failure.cause),
        },
    };
    let entered = entered.lock().unwrap().clone();
    (ending, entered)
}

/// Runs `definition` on moto with the same task results, answering a task token with the
/// decision once it appears in the execution's history: how it ended and the states entered.
fn on_moto(
    moto: &MotoServer,
    name: &str,
    definition: &Value,
    input: &Value,
    results: &[Value],
    decision: Option<&Value>,
) -> (Ending, Vec<String>) {
    if !results.is_empty() {
        let results: Vec<String> = results.iter().map(Value::to_string).collect();
        http_post(
            &moto.endpoint,
            "/moto-api/static/lambda-simple/response",
            &json!({"results": results, "region": "us-east-1"}).to_string(),
        );
    }
    let machine = sfn(
        moto,
        "CreateStateMachine",
        json!({"name": name, "definition": definition.to_string(),
               "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/corpus")}),
    );
    let execution = sfn(
        moto,
        "StartExecution",
        json!({"stateMachineArn": machine["stateMachineArn"], "name": "n",
               "input": input.to_string()}),
    );
    let arn = execution["executionArn"].clone();
    let history = || {
        sfn(moto, "GetExecutionHistory", json!({"executionArn": arn}))["events"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut answered = decision.is_none();
    loop {
        let described = sfn(moto, "DescribeExecution", json!({"executionArn": arn}));
        if described["status"] != "RUNNING" {
            let entered = history()
                .iter()
                .filter_map(|e| e["stateEnteredEventDetails"]["name"].as_str())
                .map(str::to_string)
                .collect();
            let ending = if described["status"] == "SUCCEEDED" {
                // moto writes a string output bare (`right`), where AWS writes JSON (`"right"`).
                let output = described["output"].as_str().unwrap();
                Ending::Succeeded(serde_json::from_str(output).unwrap_or_else(|_| json!(output)))
            } else {
                Ending::Failed {
                    error: described["error"].as_str().unwrap_or_default().to_string(),
                    cause: described["cause"].as_str().map(str::to_string),
                }
            };
            return (ending, entered);
        }
        assert!(Instant::now() < deadline, "{name}: still running on moto");
        if let (false, Some(decision)) = (answered, decision) {
            let token = history().iter().find_map(|e| {
                let parameters = e["taskScheduledEventDetails"]["parameters"].as_str()?;
                let parameters: Value = serde_json::from_str(parameters).ok()?;
                parameters["Payload"]["token"].as_str().map(str::to_string)
            });
            if let Some(token) = token {
                sfn(
                    moto,
                    "SendTaskSuccess",
                    json!({"taskToken": token, "output": decision.to_string()}),
                );
                answered = true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A signed-looking Authorization header: moto reads the region and service from it.
fn auth(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=test/20261204/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
    )
}

fn call(moto: &MotoServer, service: &str, path: &str, content_type: &str, body: &str) -> Value {
    let (status, text) = http_request(
        &moto.endpoint,
        "POST",
        path,
        &[
            ("Authorization", &auth(service)),
            ("Content-Type", content_type),
        ],
        body,
    );
    assert!(status < 300, "{service} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

fn sfn(moto: &MotoServer, action: &str, body: Value) -> Value {
    let (status, text) = http_request(
        &moto.endpoint,
        "POST",
        "/",
        &[
            ("Authorization", &auth("states")),
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", &format!("AWSStepFunctions.{action}")),
        ],
        &body.to_string(),
    );
    assert!(status < 300, "states {action}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

/// moto with its interpreter on, Lambda without Docker, and the one function every Task calls.
fn interpreter() -> MotoServer {
    let moto = MotoServer::start_interpreting();
    let trust = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    call(
        &moto,
        "iam",
        "/",
        "application/x-www-form-urlencoded",
        &format!(
            "Action=CreateRole&Version=2010-05-08&RoleName=corpus&AssumeRolePolicyDocument={}",
            percent(trust)
        ),
    );
    let mut zipped = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut zipped);
    zip.start_file("bootstrap", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut zip, b"#!/bin/sh\n").unwrap();
    zip.finish().unwrap();
    use base64::Engine;
    call(
        &moto,
        "lambda",
        "/2015-03-31/functions",
        "application/json",
        &json!({
            "FunctionName": FUNCTION, "Runtime": "provided.al2023", "Handler": "bootstrap",
            "Role": format!("arn:aws:iam::{ACCOUNT}:role/corpus"),
            "Code": {"ZipFile": base64::engine::general_purpose::STANDARD.encode(zipped.into_inner())},
        })
        .to_string(),
    );
    moto
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn every_corpus_case_ends_on_our_runner_as_on_motos_interpreter() {
    let corpus: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("tests/fixtures/asl/corpus.json")).unwrap(),
    )
    .unwrap();
    let moto = interpreter();
    let mut differences = Vec::new();
    let cases = corpus["cases"].as_array().unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let results: Vec<Value> = case["task_results"].as_array().cloned().unwrap_or_default();
        let (mut theirs, _) = on_moto(
            &moto,
            name,
            &case["definition"],
            &case["input"],
            &results,
            None,
        );
        let (mut ours, _) = locally(&case["definition"], &case["input"], &results, None).await;
        if case["compare_cause"] == json!(false) {
            for ending in [&mut ours, &mut theirs] {
                if let Ending::Failed { cause, .. } = ending {
                    *cause = None;
                }
            }
        }
        // Where moto departs from what AWS documents, the case says so and ours must match the
        // documentation; once moto agrees, the exception is stale and the case says that too.
        if let Some(documented) = case.get("aws_documents") {
            let documented = Ending::Failed {
                error: documented["error"].as_str().unwrap().to_string(),
                cause: None,
            };
            if theirs == documented {
                differences.push(format!(
                    "{name}: moto now does as AWS documents; drop aws_documents"
                ));
            }
            theirs = documented;
        }
        if ours != theirs {
            differences.push(format!("{name}:\n  ours:  {ours:?}\n  moto's: {theirs:?}"));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} cases end differently:\n{}",
        differences.len(),
        cases.len(),
        differences.join("\n")
    );
}

/// `statemachines/daily-report.asl.json` as deployed, every function being the corpus's one.
fn daily_definition() -> Value {
    let mut text =
        std::fs::read_to_string(workspace_root().join("statemachines/daily-report.asl.json"))
            .unwrap();
    let function = format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{FUNCTION}");
    for name in [
        "StartJobFunctionArn",
        "FlattenDynamoDbFunctionArn",
        "ExportRdsFunctionArn",
        "ExportSegmentFunctionArn",
        "LoadWarehouseFunctionArn",
        "BuildReportFunctionArn",
        "RequestApprovalFunctionArn",
        "SendReportFunctionArn",
    ] {
        text = text.replace(&format!("${{{name}}}"), &function);
    }
    text = text
        .replace("${LakeBucketName}", "lake")
        .replace("${MapMaxConcurrency}", "10");
    assert!(!text.contains("${"), "a substitution is missing");
    let mut definition: Value = serde_json::from_str(&text).unwrap();
    without_item_batchers(&mut definition);
    definition
}

/// moto 5.2.5's ASL grammar has no `ItemBatcher`: it is taken out of the Distributed Maps, which
/// the days run here never enter (the test checks that they do not).
fn without_item_batchers(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.remove("ItemBatcher");
            fields.values_mut().for_each(without_item_batchers);
        }
        Value::Array(items) => items.iter_mut().for_each(without_item_batchers),
        _ => {}
    }
}

/// The states that only a day with a big export or a big Segment day enters.
const FAN_OUT_STATES: [&str; 4] = [
    "Flatten DynamoDB export files",
    "Scan Segment files",
    "Write Segment files",
    "Plan DynamoDB fan-out",
];

/// What each function returns, in the order a day with one DynamoDB table, no RDS or Segment
/// source and one mart calls them; the approval function's own answer is ignored (the decision
/// comes through the task token). `wanted` is the build's send decision; `skip` the config's
/// approval.skip (an alert sent without approval: no approval function call).
fn one_table_day(wanted: bool, skip: bool) -> Vec<Value> {
    let mut results = vec![
        json!({"job": {"id": "n", "day": "2026-11-21"},
               "config": {"rds": [], "marts": [{"name": "search_top"}], "checks": [],
                          "report": {"title": "Daily"}, "email": {"to": ["team@example.com"]},
                          "deliver": ["email"], "approval": {"skip": skip}},
               "dynamodb": {"whole": [{"table": "search_queries"}], "fan_out": []},
               "segment": {"whole": [], "fan_out": []},
               "build_report": true, "approval_timeout_seconds": 3600}),
        json!({"source": "search_queries", "tables": 4}),
        json!({"refresh": null, "checks": [{"name": "rows", "ok": true}]}),
        json!({"mart": "search_top", "rows": 20}),
        json!({"report_key": "jobs/n/report.json", "sections": 16,
               "send": {"wanted": wanted, "why": "send_when \"orders < 100\""}}),
    ];
    if wanted && !skip {
        results.push(json!({"asked": 1}));
    }
    if wanted {
        results.push(json!({"sent": 3}));
    }
    results
}

#[tokio::test]
async fn the_daily_definition_approves_and_rejects_on_our_runner_as_on_motos_interpreter() {
    let moto = interpreter();
    let approve = json!({"approved": true, "by": "ana@example.com"});
    let reject = json!({"approved": false, "by": "ana@example.com", "reason": "numbers look off"});
    // (case, send wanted, approval skipped, the decision, the last state entered)
    for (name, wanted, skip, decision, last) in [
        ("approved", true, false, Some(&approve), "Send report"),
        ("rejected", true, false, Some(&reject), "Rejected"),
        ("nothing-to-send", false, false, None, "Nothing to send"),
        (
            "alert-without-approval",
            true,
            true,
            None,
            "Approval skipped",
        ),
    ] {
        let input = json!({"day": "2026-11-21"});
        let mut results = one_table_day(wanted, skip);
        // moto's queue of answers outlives an execution: nothing is left in it for the next.
        if name == "rejected" {
            results.pop();
        }
        let mut theirs = on_moto(&moto, name, &daily_definition(), &input, &results, decision);
        let mut ours = locally(&daily_definition(), &input, &results, decision).await;
        // Parallel branches interleave differently on each engine: the states entered are
        // compared as a set of visits, not in order.
        theirs.1.sort();
        ours.1.sort();
        assert_eq!(ours, theirs, "{name}: ours, then moto's");
        assert!(
            theirs.1.contains(&last.to_string()),
            "{name}: {:?}",
            theirs.1
        );
        assert_eq!(
            theirs.1.contains(&"Send report".to_string()),
            wanted && name != "rejected",
            "{name}: {:?}",
            theirs.1
        );
        assert_eq!(
            theirs.1.contains(&"Request approval".to_string()),
            wanted && !skip,
            "{name}: {:?}",
            theirs.1
        );
        assert!(
            !theirs
                .1
                .iter()
                .any(|s| FAN_OUT_STATES.contains(&s.as_str())),
            "{name}: a state without its ItemBatcher ran: {:?}",
            theirs.1
        );
    }
}
