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

    /// Answers a waiting task. Fails if the token was already answered, as Step Functions does.
    pub fn decide(&self, token: &str, decision: &TaskDecision) -> Result<(), String> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("creating {}: {e}", self.dir.display()))?;
        let path = self.path(token);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    format!("task {token} was already answered ({})", path.display())
                }
                _ => format!("writing {}: {e}", path.display()),
            })?;
        serde_json::to_writer(file, decision)
            .map_err(|e| format!("writing {}: {e}", path.display()))
    }

    fn read(&self, token: &str) -> Option<TaskDecision> {
        let bytes = std::fs::read(self.path(token)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

#[async_trait]
impl CallbackWaiter for FileCallbacks {
    async fn wait(
        &self,
        token: &str,
        _execution: &str,
        state: &str,
        timeout: Option<Duration>,
    ) -> Result<Value, Failure> {
        let started = std::time::Instant::now();
        loop {
            match self.read(token) {
                Some(TaskDecision::Success { output }) => return Ok(output),
                Some(TaskDecision::Failure { error, cause }) => {
                    return Err(Failure::new(error, cause));
                }
                None => {}
            }
            if timeout.is_some_and(|t| started.elapsed() >= t) {
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
            .map_err(answered)
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
        self.decide(token, &decision).map_err(answered)
    }
}

/// A task already answered takes no other answer, as in Step Functions: final, not retried.
fn answered(message: String) -> daybook_core::ports::PortError {
    daybook_core::ports::PortError::with_kind(message, daybook_core::ErrorKind::InvalidInput)
}

/// Answers every callback at once with the same output: the demo's automatic approval. With
/// a callbacks folder, the answer is recorded there as a person's would be, so a later
/// `daybook approve` or `reject` of the same run says it was already answered instead of
/// claiming a decision that changes nothing.
pub struct AutoAnswer {
    output: Value,
    record: Option<FileCallbacks>,
}

impl AutoAnswer {
    pub fn new(output: Value) -> Self {
        Self {
            output,
            record: None,
        }
    }

    pub fn recorded_in(mut self, dir: &Path) -> Self {
        self.record = Some(FileCallbacks::new(dir));
        self
    }
}

#[async_trait]
impl CallbackWaiter for AutoAnswer {
    async fn wait(
        &self,
        token: &str,
        _execution: &str,
        _state: &str,
        _timeout: Option<Duration>,
    ) -> Result<Value, Failure> {
        if let Some(record) = &self.record {
            let answer = TaskDecision::Success {
                output: self.output.clone(),
            };
            // A redrive waits on the same token: the answer recorded the first time stands.
            if record.read(token).is_none() {
                record
                    .decide(token, &answer)
                    .map_err(|e| Failure::new("States.Runtime", e))?;
            }
        }
        Ok(self.output.clone())
    }
}
