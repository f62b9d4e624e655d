//! Step Functions' task-token callbacks as AWS answers them, where moto 5 answers every
//! SendTaskSuccess and SendTaskFailure with success, whatever the token. Here a token works
//! only while its task waits (`wait`), exactly once; a second answer, or an answer after the
//! task stopped waiting (`time_out`), gets `TaskTimedOut` as from AWS.

use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Tasks {
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
        self.tasks.lock().unwrap().waiting.insert(token.to_string());
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
            if tasks.waiting.remove(&token) {
                tasks.answers.push((operation.to_string(), request));
                ("200 OK", json!({}))
            } else {
                (
                    "400 Bad Request",
                    json!({ "__type": "com.amazonaws.swf.service.v2.model#TaskTimedOut", "message": "Task Timed Out: 'Provided task does not exist anymore'" }),
                )
            }
        }
        other => (
            "400 Bad Request",
            json!({ "__type": "UnknownOperationException", "message": format!("{other} is not served here") }),
        ),
    }
}
