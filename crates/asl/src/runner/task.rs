//! Task states: a function invoked in-process, the `lambda:invoke` integration's envelope, the
//! `.waitForTaskToken` callback, and TimeoutSeconds.

use super::*;

impl Runner {
    pub(super) async fn run_task(
        &self,
        name: &str,
        state: &Value,
        (effective, raw_input): (Value, &Value),
        context: &Value,
        execution: &Execution,
        timeout: Option<Duration>,
    ) -> Result<Value, Failure> {
        let resource = state["Resource"].as_str().unwrap_or_default();
        if let Some(service) = resource.strip_prefix(LAMBDA_INVOKE) {
            let function = effective
                .get("FunctionName")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    Failure::runtime(format!(
                        "state {name:?} invokes Lambda without Parameters.FunctionName"
                    ))
                })?
                .to_string();
            let payload = effective
                .get("Payload")
                .cloned()
                .unwrap_or_else(|| effective.clone());
            if service == WAIT_FOR_TASK_TOKEN {
                let resumed = {
                    let mut waiting = self.waiting.lock().expect("the waiting task's lock");
                    match waiting.take() {
                        Some((state, token)) if state == name => Some(token),
                        other => {
                            *waiting = other;
                            None
                        }
                    }
                };
                let token = match resumed {
                    Some(token) => token,
                    None => {
                        let token = context["Task"]["Token"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string();
                        self.callbacks.issue(&token).await?;
                        self.invoker.invoke(&function, payload).await?;
                        token
                    }
                };
                (self.observer)(&RunEvent::WaitingForCallback {
                    state: name.to_string(),
                    token: token.clone(),
                    input: raw_input.clone(),
                });
                return self
                    .callbacks
                    .wait(&token, &execution.name, name, timeout)
                    .await;
            }
            if !service.is_empty() {
                return Err(Failure::runtime(format!(
                    "integration {resource} is not supported by the local runner"
                )));
            }
            let output = self.invoker.invoke(&function, payload).await?;
            return Ok(
                json!({ "ExecutedVersion": "$LATEST", "Payload": output, "StatusCode": 200 }),
            );
        }
        self.invoker.invoke(resource, effective).await
    }
}

/// A Task's `TimeoutSeconds`, or its `TimeoutSecondsPath` read from the state's input (a
/// positive whole number, as Step Functions requires).
pub(super) fn task_timeout(
    name: &str,
    state: &Value,
    input: &Value,
    context: &Value,
) -> Result<Option<Duration>, Failure> {
    if let Some(seconds) = state.get("TimeoutSeconds").and_then(Value::as_u64) {
        return Ok(Some(Duration::from_secs(seconds)));
    }
    let Some(path) = state.get("TimeoutSecondsPath").and_then(Value::as_str) else {
        return Ok(None);
    };
    match select(path, input, context)?.as_u64() {
        Some(seconds) if seconds > 0 => Ok(Some(Duration::from_secs(seconds))),
        _ => Err(Failure::runtime(format!(
            "state {name:?}: TimeoutSecondsPath {path} does not select a positive whole number"
        ))),
    }
}
