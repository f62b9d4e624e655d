//! The local runner's pending-task store: `.waitForTaskToken` tasks wait for a decision file
//! that `daybook approve` / `daybook reject` (or any process) writes.

use async_trait::async_trait;
use daybook_asl::{CallbackWaiter, Failure};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The local equivalents of SendTaskSuccess and SendTaskFailure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TaskDecision {
    Success { output: Value },
    Failure { error: String, cause: String },
}

/// What Step Functions takes in an answer (SendTaskSuccess and SendTaskFailure API
/// references): an output of at most 256 KiB of JSON, an error name of at most 256 characters
/// and a cause of at most 32,768.
const MAX_OUTPUT_BYTES: usize = 262_144;
const MAX_ERROR_CHARS: usize = 256;
const MAX_CAUSE_CHARS: usize = 32_768;

/// Why an answer was refused, as Step Functions tells them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No task of this folder's runs was given the token (AWS: `InvalidToken`).
    UnknownToken(String),
    /// The task took an answer already, or stopped waiting (AWS: `TaskTimedOut`).
    Closed(String),
    /// The answer itself breaks the service's limits (AWS: `InvalidOutput`, a validation error).
    Invalid(String),
    /// The folder could not be read or written.
    Io(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::UnknownToken(m)
            | Refusal::Closed(m)
            | Refusal::Invalid(m)
            | Refusal::Io(m) => f.write_str(m),
        }
    }
}

/// Tasks waiting for an answer, one file per token: `<token>.waiting` while the task waits
/// (written when it starts), `<token>.timed-out` once it stopped waiting, `<token>.json` once
/// it is answered.
/// A token takes one answer, only while its task waits, as on Step Functions.
pub struct FileCallbacks {
    dir: PathBuf,
    poll: Duration,
}

impl FileCallbacks {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            poll: Duration::from_millis(200),
        }
    }

    fn path(&self, token: &str) -> PathBuf {
        self.dir.join(format!("{token}.json"))
    }

    fn waiting_path(&self, token: &str) -> PathBuf {
        self.dir.join(format!("{token}.waiting"))
    }

    fn timed_out_path(&self, token: &str) -> PathBuf {
        self.dir.join(format!("{token}.timed-out"))
    }

    /// Marks the task of `token` as waiting, so that an answer is taken from now on.
    pub fn issue_token(&self, token: &str) -> Result<(), Refusal> {
        check_token(token)?;
        let io = |e: std::io::Error| {
            Refusal::Io(format!(
                "marking task {token} as waiting in {}: {e}",
                self.dir.display()
            ))
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        std::fs::write(self.waiting_path(token), b"").map_err(io)?;
        match std::fs::remove_file(self.timed_out_path(token)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
            _ => Ok(()),
        }
    }

    /// Answers a waiting task, once: a token no task was given, a task already answered or no
    /// longer waiting, and an answer over Step Functions' limits are refused, as there.
    pub fn decide(&self, token: &str, decision: &TaskDecision) -> Result<(), Refusal> {
        check_token(token)?;
        check_answer(decision)?;
        self.locked(|| self.decide_locked(token, decision))
    }

    /// Runs `change` holding the folder's lock (an OS file lock, so other processes, such as
    /// `daybook serve` or `daybook approve`, wait too): an answer and a timeout never cross.
    fn locked<T>(&self, change: impl FnOnce() -> Result<T, Refusal>) -> Result<T, Refusal> {
        let io = |e: std::io::Error| Refusal::Io(format!("locking {}: {e}", self.dir.display()));
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(".lock"))
            .map_err(io)?;
        lock.lock().map_err(io)?;
        change()
    }

    fn decide_locked(&self, token: &str, decision: &TaskDecision) -> Result<(), Refusal> {
        let path = self.path(token);
        if path.exists() {
            return Err(Refusal::Closed(format!(
                "task {token} was already answered ({})",
                path.display()
            )));
        }
        if self.timed_out_path(token).exists() {
            return Err(Refusal::Closed(format!(
                "task {token} stopped waiting (it timed out) and takes no answer now; redrive the run to ask again"
            )));
        }
        if !self.waiting_path(token).exists() {
            return Err(Refusal::UnknownToken(format!(
                "no task was given token {token} in {}: it is not a token of this folder's runs",
                self.dir.display()
            )));
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => Refusal::Closed(format!(
                    "task {token} was already answered ({})",
                    path.display()
                )),
                _ => Refusal::Io(format!("writing {}: {e}", path.display())),
            })?;
        serde_json::to_writer(file, decision)
            .map_err(|e| Refusal::Io(format!("writing {}: {e}", path.display())))
    }

    /// Whether the task of `token` has its answer.
    pub fn answered(&self, token: &str) -> bool {
        self.read(token).is_some()
    }

    fn read(&self, token: &str) -> Option<TaskDecision> {
        let bytes = std::fs::read(self.path(token)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// A token names a file in the folder: it may not leave it. (On AWS a token is at most 2,048
/// characters.)
fn check_token(token: &str) -> Result<(), Refusal> {
    let plain = !token.is_empty()
        && token.len() <= 2048
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !token.starts_with('.');
    if plain {
        Ok(())
    } else {
        Err(Refusal::UnknownToken(format!(
            "{token:?} is not a task token of a local run"
        )))
    }
}

fn check_answer(decision: &TaskDecision) -> Result<(), Refusal> {
    match decision {
        TaskDecision::Success { output } => {
            let bytes = output.to_string().len();
            if bytes > MAX_OUTPUT_BYTES {
                return Err(Refusal::Invalid(format!(
                    "the task's output is {bytes} bytes of JSON; Step Functions takes at most {MAX_OUTPUT_BYTES}"
                )));
            }
        }
        TaskDecision::Failure { error, cause } => {
            if error.chars().count() > MAX_ERROR_CHARS || cause.chars().count() > MAX_CAUSE_CHARS {
                return Err(Refusal::Invalid(format!(
                    "a task failure's error is at most {MAX_ERROR_CHARS} characters and its cause at most {MAX_CAUSE_CHARS} (here {} and {})",
                    error.chars().count(),
                    cause.chars().count()
                )));
            }
        }
    }
    Ok(())
}

fn answered_with(decision: TaskDecision) -> Result<Value, Failure> {
    match decision {
        TaskDecision::Success { output } => Ok(output),
        TaskDecision::Failure { error, cause } => Err(Failure::new(error, cause)),
    }
}

#[async_trait]
impl CallbackWaiter for FileCallbacks {
    async fn issue(&self, token: &str) -> Result<(), Failure> {
        self.issue_token(token)
            .map_err(|e| Failure::new("States.Runtime", e.to_string()))
    }

    async fn wait(
        &self,
        token: &str,
        _execution: &str,
        state: &str,
        timeout: Option<Duration>,
    ) -> Result<Value, Failure> {
        // A redrive waits on its token again, after a timeout took its mark away.
        if self.read(token).is_none() && !self.waiting_path(token).exists() {
            self.issue(token).await?;
        }
        // The wait runs from the token's issue, so a process that takes up the wait of one
        // that stopped does not give the task a fresh timeout.
        let issued = std::fs::metadata(self.waiting_path(token))
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| std::time::SystemTime::now());
        let waited = || issued.elapsed().unwrap_or_default();
        loop {
            if let Some(decision) = self.read(token) {
                return answered_with(decision);
            }
            if timeout.is_some_and(|t| waited() >= t) {
                // A timed-out task takes no answer; one that came first still counts.
                let closed = self.locked(|| {
                    let _ = std::fs::rename(self.waiting_path(token), self.timed_out_path(token));
                    Ok(self.read(token))
                });
                if let Ok(Some(decision)) = closed {
                    return answered_with(decision);
                }
                return Err(Failure::timeout(format!(
                    "{state} got no answer within {}s",
                    timeout.unwrap_or_default().as_secs()
                )));
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}

#[async_trait]
impl daybook_core::ports::TaskCallbacks for FileCallbacks {
    async fn succeed(
        &self,
        token: &str,
        output: Value,
    ) -> Result<(), daybook_core::ports::PortError> {
        self.decide(token, &TaskDecision::Success { output })
            .map_err(port_error)
    }

    async fn fail(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), daybook_core::ports::PortError> {
        let decision = TaskDecision::Failure {
            error: error.into(),
            cause: cause.into(),
        };
        self.decide(token, &decision).map_err(port_error)
    }
}

/// As the Step Functions adapter classifies the same refusals: a task already answered or no
/// longer waiting is the caller's input to act on (final), the others fail.
fn port_error(refusal: Refusal) -> daybook_core::ports::PortError {
    use daybook_core::ErrorKind;
    let kind = match refusal {
        Refusal::Closed(_) => ErrorKind::InvalidInput,
        Refusal::UnknownToken(_) | Refusal::Invalid(_) | Refusal::Io(_) => ErrorKind::Failed,
    };
    daybook_core::ports::PortError::with_kind(refusal.to_string(), kind)
}

/// Answers every callback at once with the same output, recording nothing: for runs that ask
/// nobody (a history day) and tests. A run that approves itself with a record of who decided
/// goes through `services::runs`.
pub struct AutoAnswer {
    output: Value,
}

impl AutoAnswer {
    pub fn new(output: Value) -> Self {
        Self { output }
    }
}

#[async_trait]
impl CallbackWaiter for AutoAnswer {
    async fn wait(
        &self,
        _token: &str,
        _execution: &str,
        _state: &str,
        _timeout: Option<Duration>,
    ) -> Result<Value, Failure> {
        Ok(self.output.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::{FileCallbacks, TaskDecision};
    use async_trait::async_trait;
    use daybook_asl::{Definition, Failure, Runner, SystemClock, TaskInvoker};
    use serde_json::{Value, json};
    use std::path::PathBuf;
    use std::sync::Arc;

    /// A function that answers its own task before it returns, as an approver who clicks the
    /// link the moment the email arrives, before the request step has finished.
    struct AnswersAtOnce(PathBuf);

    #[async_trait]
    impl TaskInvoker for AnswersAtOnce {
        async fn invoke(&self, _function: &str, input: Value) -> Result<Value, Failure> {
            let token = input["token"].as_str().unwrap_or_default();
            let answer = TaskDecision::Success {
                output: json!({ "decision": "approved" }),
            };
            FileCallbacks::new(&self.0)
                .decide(token, &answer)
                .map_err(|e| Failure::new("Approval.Refused", e.to_string()))?;
            Ok(Value::Null)
        }
    }

    #[tokio::test]
    async fn a_token_takes_its_answer_from_the_moment_its_task_starts() {
        let dir = tempfile::tempdir().unwrap();
        let definition = json!({
            "StartAt": "Request approval",
            "States": { "Request approval": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": { "FunctionName": "request-approval", "Payload": { "token.$": "$$.Task.Token" } },
                "End": true
            } }
        });
        let runner = Runner::new(
            Definition::parse(&definition.to_string(), &Default::default()).unwrap(),
            Arc::new(AnswersAtOnce(dir.path().to_path_buf())),
            Arc::new(FileCallbacks::new(dir.path())),
            Arc::new(SystemClock),
        );
        let output = runner.execute("early-answer", json!({})).await.unwrap();
        assert_eq!(output, json!({ "decision": "approved" }));
    }

    /// A run left waiting for a week and taken up by another process does not get a fresh
    /// wait: its task timed out when its deadline passed, however long after that it is heard.
    #[tokio::test]
    async fn a_wait_taken_up_later_runs_from_the_token_s_issue_not_from_now() {
        use daybook_asl::CallbackWaiter;
        let dir = tempfile::tempdir().unwrap();
        let callbacks = FileCallbacks::new(dir.path());
        callbacks.issue_token("left-a-week").unwrap();
        let week_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7 * 24 * 3600);
        std::fs::File::options()
            .write(true)
            .open(callbacks.waiting_path("left-a-week"))
            .unwrap()
            .set_modified(week_ago)
            .unwrap();
        let waited = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            callbacks.wait(
                "left-a-week",
                "job",
                "Request approval",
                Some(std::time::Duration::from_secs(25 * 3600)),
            ),
        )
        .await
        .expect("the deadline passed days ago: no new wait");
        assert_eq!(waited.unwrap_err().error, "States.Timeout");
        let late = TaskDecision::Success {
            output: json!({ "decision": "approved" }),
        };
        assert!(
            callbacks.decide("left-a-week", &late).is_err(),
            "a timed-out task takes no answer"
        );
    }
}
