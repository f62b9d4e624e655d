//! Step Functions' task-token callbacks as AWS answers them (SendTaskSuccess and
//! SendTaskFailure API references), where moto 5 answers every one with success, whatever the
//! token. Here a token works only while its task waits (`wait`), exactly once: a second answer,
//! or one after the task stopped waiting (`time_out`), gets `TaskTimedOut`; a token no task was
//! given gets `InvalidToken`. SendTaskSuccess's `output` must be JSON of at most 256 KiB
//! (`InvalidOutput`), and SendTaskFailure's `error` at most 256 characters and `cause` at most
//! 32,768 (`ValidationException`), as on AWS.

use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Tasks {
    issued: HashSet<String>,
    waiting: HashSet<String>,
    answers: Vec<(String, Value)>,
}

pub struct FakeTaskTokens {
    pub endpoint: String,
    tasks: Arc<Mutex<Tasks>>,
}

impl FakeTaskTokens {
    pub fn start() -> Self {
        let tasks = Arc::new(Mutex::new(Tasks::default()));
        let shared = tasks.clone();
        let endpoint = crate::json_api::start(
            "application/x-amz-json-1.0",
            move |operation: &str, request: Value| answer(&shared, operation, request),
        );
        Self { endpoint, tasks }
    }

    /// A task starts waiting on `token`.
    pub fn wait(&self, token: &str) {
        let mut tasks = self.tasks.lock().unwrap();
        tasks.issued.insert(token.to_string());
        tasks.waiting.insert(token.to_string());
    }

    /// The task of `token` stops waiting (timed out, failed, aborted).
    pub fn time_out(&self, token: &str) {
        self.tasks.lock().unwrap().waiting.remove(token);
    }

    /// Every answer accepted, as (operation, request).
    pub fn answers(&self) -> Vec<(String, Value)> {
        self.tasks.lock().unwrap().answers.clone()
    }
}

fn answer(tasks: &Mutex<Tasks>, operation: &str, request: Value) -> (&'static str, Value) {
    let mut tasks = tasks.lock().unwrap();
    let token = request["taskToken"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match operation {
        "SendTaskSuccess" | "SendTaskFailure" => {
            let refused = |kind: &str, message: &str| {
                (
                    "400 Bad Request",
                    json!({ "__type": format!("com.amazonaws.swf.service.v2.model#{kind}"), "message": message }),
                )
            };
            if !tasks.issued.contains(&token) || token.is_empty() || token.len() > 2048 {
                return refused("InvalidToken", "Invalid Token: 'Invalid token'");
            }
            if operation == "SendTaskSuccess" {
                let output = request["output"].as_str().unwrap_or_default();
                if output.len() > 262_144 || serde_json::from_str::<Value>(output).is_err() {
                    return refused(
                        "InvalidOutput",
                        "Invalid Output: 'the output is not valid JSON'",
                    );
                }
            } else {
                let long = |field: &str, most: usize| {
                    request[field]
                        .as_str()
                        .is_some_and(|s| s.chars().count() > most)
                };
                if long("error", 256) || long("cause", 32_768) {
                    return (
                        "400 Bad Request",
                        json!({ "__type": "ValidationException", "message": "error is at most 256 characters and cause at most 32768" }),
                    );
                }
            }
            if tasks.waiting.remove(&token) {
                tasks.answers.push((operation.to_string(), request));
                ("200 OK", json!({}))
            } else {
                refused(
                    "TaskTimedOut",
                    "Task Timed Out: 'Provided task does not exist anymore'",
                )
            }
        }
        other => (
            "400 Bad Request",
            json!({ "__type": "UnknownOperationException", "message": format!("{other} is not served here") }),
        ),
    }
}

impl FakeTaskTokens {
    /// What Step Functions resumes the task of `token` with: SendTaskSuccess's output, parsed,
    /// or SendTaskFailure's error and cause; `None` while it has no answer.
    pub fn result_of(&self, token: &str) -> Option<Result<Value, (String, String)>> {
        let tasks = self.tasks.lock().unwrap();
        let (operation, request) = tasks
            .answers
            .iter()
            .rev()
            .find(|(_, request)| request["taskToken"] == token)?;
        let text = |field: &str| request[field].as_str().unwrap_or_default().to_string();
        Some(if operation == "SendTaskSuccess" {
            Ok(serde_json::from_str(&text("output")).expect("checked when it was sent"))
        } else {
            Err((text("error"), text("cause")))
        })
    }
}
