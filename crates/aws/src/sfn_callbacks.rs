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
                let error = classified(
                    PortError::new(format!("Step Functions SendTaskSuccess: {}{hint}", describe(&e))),
                    &e,
                );
                closed_is_final(error, &e)
            })
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), PortError> {
        self.client
            .send_task_failure()
            .task_token(token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                let closed = e
                    .as_service_error()
                    .is_some_and(|s| s.is_task_timed_out() || s.is_task_does_not_exist());
                let error = PortError::new(format!(
                    "Step Functions SendTaskFailure: {}{}",
                    describe(&e),
                    if closed {
                        " (the run is no longer waiting)"
                    } else {
                        ""
                    }
                ));
                closed_is_final(classified(error, &e), &e)
            })
    }
}

/// A task that timed out or no longer exists will never take an answer: that is the caller's
/// input to act on (show "this approval is closed"), not a failure to retry.
fn closed_is_final<E: aws_sdk_sfn::error::ProvideErrorMetadata>(
    error: PortError,
    cause: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> PortError {
    use aws_sdk_sfn::error::ProvideErrorMetadata as _;
    match cause.code() {
        Some("TaskTimedOut" | "TaskDoesNotExist") => {
            PortError::with_kind(error.to_string(), daybook_core::ErrorKind::InvalidInput)
        }
        _ => error,
    }
}
