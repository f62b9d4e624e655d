use crate::sdk::{classified, describe};
use async_trait::async_trait;
use aws_sdk_sfn::Client;
use daybook_core::ports::{PortError, TaskCallbacks};
use serde_json::Value;

/// Answers `.waitForTaskToken` tasks with Step Functions' SendTaskSuccess.
pub struct SfnCallbacks {
    client: Client,
}

impl SfnCallbacks {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl TaskCallbacks for SfnCallbacks {
    async fn succeed(&self, token: &str, output: Value) -> Result<(), PortError> {
        self.client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                let hint = if e
                    .as_service_error()
                    .is_some_and(|s| s.is_task_timed_out() || s.is_task_does_not_exist())
                {
                    " (the run is no longer waiting: it timed out, failed or was already answered; redrive or start a new run)"
                } else {
                    ""
                };
                classified(PortError::new(format!("Step Functions SendTaskSuccess: {}{hint}", describe(&e))), &e)
            })
    }
}
