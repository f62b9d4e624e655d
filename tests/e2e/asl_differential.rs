//! The local ASL runner held against an interpreter we did not write: moto 5's Step Functions
//! interpreter (LocalStack's, in `moto/stepfunctions/parser`), switched on with moto's
//! `stepfunctions: execute_state_machine` setting. Each case of `tests/fixtures/asl/corpus.json`
//! and both of our definitions' shapes run on both engines with the same task results; they must
//! end the same way: the same output, or the same error (and cause, where the case says so).

use async_trait::async_trait;
use daybook_local::asl::{CallbackWaiter, Definition, Failure, Runner, SystemClock, TaskInvoker};
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

struct NoCallbacks;

#[async_trait]
impl CallbackWaiter for NoCallbacks {
    async fn wait(
        &self,
        token: &str,
        _execution: &str,
        _state: &str,
        _timeout: Option<Duration>,
    ) -> Result<Value, Failure> {
        Err(Failure::new(
            "Corpus.NoCallbacks",
            format!("no callback for {token}"),
        ))
    }
}

async fn run_locally(definition: &Value, input: &Value, results: &[Value]) -> Ending {
    let definition = Definition::parse(&definition.to_string(), &BTreeMap::new())
        .unwrap_or_else(|e| panic!("our runner refuses a definition moto runs: {e}"));
    let runner = Runner::new(
        definition,
        Arc::new(Queued(Mutex::new(results.iter().cloned().collect()))),
        Arc::new(NoCallbacks),
        Arc::new(SystemClock),
    );
    match runner.execute("n", input.clone()).await {
        Ok(output) => Ending::Succeeded(output),
        Err(failure) => Ending::Failed {
            error: failure.error,
            cause: Some(failure.cause),
        },
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

fn run_on_moto(
    moto: &MotoServer,
    name: &str,
    definition: &Value,
    input: &Value,
    results: &[Value],
) -> Ending {
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
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let described = sfn(
            moto,
            "DescribeExecution",
            json!({"executionArn": execution["executionArn"]}),
        );
        match described["status"].as_str() {
            Some("RUNNING") => {
                assert!(Instant::now() < deadline, "{name}: still running on moto");
                std::thread::sleep(Duration::from_millis(50));
            }
            Some("SUCCEEDED") => {
                // moto writes a string output bare (`right`), where AWS writes JSON (`"right"`).
                let output = described["output"].as_str().unwrap();
                return Ending::Succeeded(
                    serde_json::from_str(output).unwrap_or_else(|_| json!(output)),
                );
            }
            _ => {
                return Ending::Failed {
                    error: described["error"].as_str().unwrap_or_default().to_string(),
                    cause: described["cause"].as_str().map(str::to_string),
                };
            }
        }
    }
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
        let theirs = run_on_moto(&moto, name, &case["definition"], &case["input"], &results);
        let mut ours = run_locally(&case["definition"], &case["input"], &results).await;
        let mut theirs = theirs;
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
