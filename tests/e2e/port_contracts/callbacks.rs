//! The task-callbacks port: how an approval answers a run that waits (`.waitForTaskToken`).
//! Step Functions' SendTaskSuccess and SendTaskFailure API references are the rules: a token
//! takes one answer, only while its task waits; a token no task was given is refused; the
//! output is JSON of at most 256 KiB, the error at most 256 characters and the cause at most
//! 32,768. On AWS the adapter is run against `FakeTaskTokens`, which holds those rules (moto
//! answers every token with success); locally against the folder the runner waits on.

use async_trait::async_trait;
use daybook_asl::CallbackWaiter;
use daybook_aws::SfnCallbacks;
use daybook_core::ErrorKind;
use daybook_core::failure::Classify;
use daybook_core::ports::{PortError, TaskCallbacks};
use daybook_local::callbacks::FileCallbacks;
use daybook_tests::FakeTaskTokens;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What answered a task resumes it with: the output, or the error and cause.
type Resumed = Result<Value, (String, String)>;

/// The waiting side of a port: tasks that start waiting, time out, and resume.
#[async_trait]
trait WaitingTasks: Send + Sync {
    async fn wait(&self, token: &str);
    async fn time_out(&self, token: &str);
    async fn resumed(&self, token: &str) -> Resumed;
}

async fn callbacks_contract(callbacks: Arc<dyn TaskCallbacks>, tasks: &dyn WaitingTasks) {
    let refused_as = |error: PortError, kind: ErrorKind, what: &str| {
        assert_eq!(error.kind(), kind, "{what}: {error}");
    };

    // A waiting task resumes with the output it is sent, exactly.
    tasks.wait("token-a").await;
    let output = json!({ "decision": "approved", "by": "Ana", "comment": "노원 ✓ \"quoted\"" });
    callbacks.succeed("token-a", output.clone()).await.unwrap();
    assert_eq!(tasks.resumed("token-a").await, Ok(output));

    // A second answer is refused as final: the caller shows "already decided", never retries.
    let again = callbacks.succeed("token-a", json!({})).await.unwrap_err();
    refused_as(again, ErrorKind::InvalidInput, "a second success");
    let again = callbacks
        .fail("token-a", "Rejected", "late")
        .await
        .unwrap_err();
    refused_as(again, ErrorKind::InvalidInput, "a failure after a success");

    // A failure resumes the task with its error and cause.
    tasks.wait("token-b").await;
    callbacks
        .fail("token-b", "Daybook.Rejected", "not today")
        .await
        .unwrap();
    assert_eq!(
        tasks.resumed("token-b").await,
        Err(("Daybook.Rejected".to_string(), "not today".to_string()))
    );

    // A token no task was given is refused, and no retry would change that.
    let unknown = callbacks
        .succeed("never-issued", json!({}))
        .await
        .unwrap_err();
    refused_as(unknown, ErrorKind::Failed, "an unknown token");

    // A task that stopped waiting takes no answer.
    tasks.wait("token-c").await;
    tasks.time_out("token-c").await;
    let late = callbacks.succeed("token-c", json!({})).await.unwrap_err();
    refused_as(late, ErrorKind::InvalidInput, "an answer after the timeout");

    // Answers over the service's limits are refused, and the task still waits for a good one.
    tasks.wait("token-d").await;
    let big = json!({ "comment": "x".repeat(262_144) });
    let refused = callbacks.succeed("token-d", big).await.unwrap_err();
    refused_as(refused, ErrorKind::Failed, "an output over 256 KiB");
    let refused = callbacks
        .fail("token-d", &"E".repeat(257), "cause")
        .await
        .unwrap_err();
    refused_as(refused, ErrorKind::Failed, "an error over 256 characters");
    let refused = callbacks
        .fail("token-d", "Daybook.Rejected", &"c".repeat(32_769))
        .await
        .unwrap_err();
    refused_as(refused, ErrorKind::Failed, "a cause over 32,768 characters");
    callbacks
        .fail("token-d", &"E".repeat(256), &"c".repeat(32_768))
        .await
        .expect("an error and a cause at their limits");
    assert_eq!(
        tasks.resumed("token-d").await,
        Err(("E".repeat(256), "c".repeat(32_768)))
    );

    // Many approvers answer one task at once: exactly one answer counts, and it is the one the
    // task resumes with; the others are told it was already answered.
    tasks.wait("token-e").await;
    let answers: Vec<_> = (0..8)
        .map(|approver| {
            let callbacks = callbacks.clone();
            tokio::spawn(async move {
                let result = callbacks
                    .succeed("token-e", json!({ "by": approver }))
                    .await;
                (approver, result)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for answer in answers {
        match answer.await.unwrap() {
            (approver, Ok(())) => winners.push(approver),
            (_, Err(e)) => refused_as(e, ErrorKind::InvalidInput, "a losing answer"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one answer counts: {winners:?}");
    assert_eq!(
        tasks.resumed("token-e").await,
        Ok(json!({ "by": winners[0] }))
    );
}

/// Step Functions' side: the stand-in's tasks.
struct FakeTasks(Arc<FakeTaskTokens>);

#[async_trait]
impl WaitingTasks for FakeTasks {
    async fn wait(&self, token: &str) {
        self.0.wait(token);
    }
    async fn time_out(&self, token: &str) {
        self.0.time_out(token);
    }
    async fn resumed(&self, token: &str) -> Resumed {
        self.0.result_of(token).expect("the task was answered")
    }
}

/// The local runner's side: a waiter on the callbacks folder, as a run's approval state has.
struct LocalTasks {
    dir: PathBuf,
    waiting: Mutex<HashMap<String, tokio::task::JoinHandle<Resumed>>>,
}

impl LocalTasks {
    fn start_waiting(&self, token: &str, timeout: Option<Duration>) {
        let (waiter, token_owned) = (FileCallbacks::new(&self.dir), token.to_string());
        let handle = tokio::spawn(async move {
            waiter
                .wait(&token_owned, "contract", "Request approval", timeout)
                .await
                .map_err(|f| (f.error, f.cause))
        });
        self.waiting
            .lock()
            .unwrap()
            .insert(token.to_string(), handle);
    }

    fn take(&self, token: &str) -> tokio::task::JoinHandle<Resumed> {
        self.waiting
            .lock()
            .unwrap()
            .remove(token)
            .expect("the task waits")
    }
}

#[async_trait]
impl WaitingTasks for LocalTasks {
    async fn wait(&self, token: &str) {
        // As the runner does: the token is issued before the task's function runs.
        FileCallbacks::new(&self.dir).issue(token).await.unwrap();
        self.start_waiting(token, None);
    }
    async fn time_out(&self, token: &str) {
        self.take(token).abort();
        self.start_waiting(token, Some(Duration::ZERO));
        let ended = self.take(token).await.unwrap();
        assert_eq!(ended.unwrap_err().0, "States.Timeout");
    }
    async fn resumed(&self, token: &str) -> Resumed {
        tokio::time::timeout(Duration::from_secs(10), self.take(token))
            .await
            .expect("the waiting task resumes")
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_local_callbacks_keep_the_callbacks_contract() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join(".daybook/callbacks");
    let tasks = LocalTasks {
        dir: folder.clone(),
        waiting: Mutex::default(),
    };
    callbacks_contract(Arc::new(FileCallbacks::new(&folder)), &tasks).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_step_functions_callbacks_keep_the_callbacks_contract() {
    let fake = Arc::new(FakeTaskTokens::start());
    let config = crate::aws_moto::sdk_config_at(&fake.endpoint).await;
    let callbacks = SfnCallbacks::new(aws_sdk_sfn::Client::new(&config));
    callbacks_contract(Arc::new(callbacks), &FakeTasks(fake)).await;
}
