//! Executes a definition: each state's input/output processing, Retry and Catch, and the
//! `.waitForTaskToken` callback pattern, with tasks handled in-process.

use super::choice::rule_matches;
use super::definition::Definition;
use super::error::Failure;
use super::paths::{apply_template, merge_result, select};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;

const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";
const WAIT_FOR_TASK_TOKEN: &str = ".waitForTaskToken";

/// Runs a Task state's function in-process.
#[async_trait]
pub trait TaskInvoker: Send + Sync {
    /// `function` is the Resource or FunctionName as written (an ARN or a name).
    async fn invoke(&self, function: &str, input: Value) -> Result<Value, Failure>;
}

/// Where `.waitForTaskToken` tasks wait for SendTaskSuccess / SendTaskFailure.
#[async_trait]
pub trait CallbackWaiter: Send + Sync {
    async fn wait(
        &self,
        token: &str,
        execution: &str,
        state: &str,
        timeout: Option<Duration>,
    ) -> Result<Value, Failure>;
}

/// The runner's notion of time: real in the CLI, virtual in tests.
#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    async fn sleep(&self, duration: Duration);
}

pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await
    }
}

/// What the runner reports as it goes, for progress lines and tests.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    Entered {
        state: String,
        kind: String,
    },
    Exited {
        state: String,
        elapsed: Duration,
    },
    Retrying {
        state: String,
        error: String,
        attempt: u32,
        delay: Duration,
    },
    Caught {
        state: String,
        error: String,
        next: String,
    },
    WaitingForCallback {
        state: String,
        token: String,
    },
    Failed {
        state: String,
        failure: Failure,
    },
}

pub type Observer = Arc<dyn Fn(&RunEvent) + Send + Sync>;

pub struct Runner {
    definition: Definition,
    invoker: Arc<dyn TaskInvoker>,
    callbacks: Arc<dyn CallbackWaiter>,
    clock: Arc<dyn Clock>,
    observer: Observer,
}

/// The parts of the context object (`$$`) that stay the same through an execution.
#[derive(Clone)]
struct Execution {
    name: String,
    start_time: String,
    input: Value,
}

enum Transition {
    Next(String),
    End,
}

impl Runner {
    pub fn new(
        definition: Definition,
        invoker: Arc<dyn TaskInvoker>,
        callbacks: Arc<dyn CallbackWaiter>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            definition,
            invoker,
            callbacks,
            clock,
            observer: Arc::new(|_| {}),
        }
    }

    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = observer;
        self
    }

    /// Runs an execution to its end: the final output, or the failure that ended it.
    pub async fn execute(&self, name: &str, input: Value) -> Result<Value, Failure> {
        let execution = Execution {
            name: name.to_string(),
            start_time: self.clock.now().to_rfc3339(),
            input: input.clone(),
        };
        let states = self.definition.states.clone();
        self.run_states(
            self.definition.start_at.clone(),
            Arc::new(states),
            input,
            execution,
            None,
        )
        .await
    }

    fn run_states<'a>(
        &'a self,
        start_at: String,
        states: Arc<Map<String, Value>>,
        mut input: Value,
        execution: Execution,
        map_item: Option<(usize, Value)>,
    ) -> BoxFuture<'a, Result<Value, Failure>> {
        async move {
            let mut current = start_at;
            loop {
                let state = states
                    .get(&current)
                    .ok_or_else(|| Failure::runtime(format!("no state named {current:?}")))?
                    .clone();
                let kind = state["Type"].as_str().unwrap_or_default().to_string();
                (self.observer)(&RunEvent::Entered {
                    state: current.clone(),
                    kind: kind.clone(),
                });
                let started = std::time::Instant::now();
                let outcome = self
                    .run_with_retries(&current, &state, &input, &execution, map_item.clone())
                    .await;
                match outcome {
                    Ok((transition, output)) => {
                        (self.observer)(&RunEvent::Exited {
                            state: current.clone(),
                            elapsed: started.elapsed(),
                        });
                        input = output;
                        match transition {
                            Transition::Next(next) => current = next,
                            Transition::End => return Ok(input),
                        }
                    }
                    Err(failure) => {
                        (self.observer)(&RunEvent::Failed {
                            state: current.clone(),
                            failure: failure.clone(),
                        });
                        return Err(failure);
                    }
                }
            }
        }
        .boxed()
    }

    async fn run_with_retries(
        &self,
        name: &str,
        state: &Value,
        input: &Value,
        execution: &Execution,
        map_item: Option<(usize, Value)>,
    ) -> Result<(Transition, Value), Failure> {
        let retriers = state
            .get("Retry")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut attempts = vec![0u32; retriers.len()];
        let mut retry_count = 0;
        loop {
            let context = self.context(execution, name, retry_count, None, map_item.clone());
            let failure = match self.run_once(name, state, input, &context, execution).await {
                Ok(done) => return Ok(done),
                Err(failure) => failure,
            };
            if let Some(index) = retriers
                .iter()
                .position(|r| failure.matches(&error_names(r)))
            {
                let retrier = &retriers[index];
                let max_attempts = retrier
                    .get("MaxAttempts")
                    .and_then(Value::as_u64)
                    .unwrap_or(3) as u32;
                if attempts[index] < max_attempts {
                    let interval = retrier
                        .get("IntervalSeconds")
                        .and_then(Value::as_f64)
                        .unwrap_or(1.0);
                    let rate = retrier
                        .get("BackoffRate")
                        .and_then(Value::as_f64)
                        .unwrap_or(2.0);
                    let mut delay = interval * rate.powi(attempts[index] as i32);
                    if let Some(max) = retrier.get("MaxDelaySeconds").and_then(Value::as_f64) {
                        delay = delay.min(max);
                    }
                    attempts[index] += 1;
                    retry_count += 1;
                    let delay = Duration::from_secs_f64(delay);
                    (self.observer)(&RunEvent::Retrying {
                        state: name.to_string(),
                        error: failure.error.clone(),
                        attempt: attempts[index],
                        delay,
                    });
                    self.clock.sleep(delay).await;
                    continue;
                }
            }
            let catchers = state
                .get("Catch")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(catcher) = catchers.iter().find(|c| failure.matches(&error_names(c))) {
                let next = catcher["Next"].as_str().unwrap_or_default().to_string();
                let result_path = result_path(catcher);
                let error = serde_json::to_value(&failure).expect("a failure serialises");
                let output = merge_result(input, result_path.as_deref(), error)?;
                (self.observer)(&RunEvent::Caught {
                    state: name.to_string(),
                    error: failure.error.clone(),
                    next: next.clone(),
                });
                return Ok((Transition::Next(next), output));
            }
            return Err(failure);
        }
    }

    async fn run_once(
        &self,
        name: &str,
        state: &Value,
        raw_input: &Value,
        context: &Value,
        execution: &Execution,
    ) -> Result<(Transition, Value), Failure> {
        let kind = state["Type"].as_str().unwrap_or_default();
        let input = match state.get("InputPath") {
            Some(Value::Null) => json!({}),
            Some(Value::String(path)) => select(path, raw_input, context)?,
            _ => raw_input.clone(),
        };
        let effective = match state.get("Parameters") {
            Some(template) if kind != "Map" => apply_template(template, &input, context)?,
            _ => input.clone(),
        };
        let result = match kind {
            "Pass" => state.get("Result").cloned().unwrap_or(effective),
            "Task" => {
                self.run_task(name, state, effective, context, execution)
                    .await?
            }
            "Parallel" => self.run_parallel(state, effective, execution).await?,
            "Map" => self.run_map(state, &input, context, execution).await?,
            "Wait" => {
                self.run_wait(state, &input, context).await?;
                input.clone()
            }
            "Choice" => {
                let choices = state
                    .get("Choices")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for choice in &choices {
                    if rule_matches(choice, &input, context)? {
                        let next = choice["Next"].as_str().unwrap_or_default().to_string();
                        return Ok((
                            Transition::Next(next),
                            self.output_path(state, input, context)?,
                        ));
                    }
                }
                return match state.get("Default").and_then(Value::as_str) {
                    Some(next) => Ok((
                        Transition::Next(next.to_string()),
                        self.output_path(state, input, context)?,
                    )),
                    None => Err(Failure::new(
                        "States.NoChoiceMatched",
                        format!("no Choice rule of {name:?} matched and there is no Default"),
                    )),
                };
            }
            "Succeed" => return Ok((Transition::End, self.output_path(state, input, context)?)),
            "Fail" => {
                let pick = |plain: &str, path: &str, fallback: &str| -> Result<String, Failure> {
                    if let Some(p) = state.get(path).and_then(Value::as_str) {
                        return Ok(match select(p, raw_input, context)? {
                            Value::String(s) => s,
                            other => other.to_string(),
                        });
                    }
                    Ok(state
                        .get(plain)
                        .and_then(Value::as_str)
                        .unwrap_or(fallback)
                        .to_string())
                };
                return Err(Failure::new(
                    pick("Error", "ErrorPath", "States.Fail")?,
                    pick("Cause", "CausePath", "")?,
                ));
            }
            other => {
                return Err(Failure::runtime(format!(
                    "state type {other} is not supported"
                )));
            }
        };
        let selected = match state.get("ResultSelector") {
            Some(template) => apply_template(template, &result, context)?,
            None => result,
        };
        let merged = merge_result(raw_input, result_path(state).as_deref(), selected)?;
        let output = self.output_path(state, merged, context)?;
        let transition = match state.get("Next").and_then(Value::as_str) {
            Some(next) => Transition::Next(next.to_string()),
            None => Transition::End,
        };
        Ok((transition, output))
    }

    fn output_path(&self, state: &Value, value: Value, context: &Value) -> Result<Value, Failure> {
        match state.get("OutputPath") {
            Some(Value::Null) => Ok(json!({})),
            Some(Value::String(path)) => select(path, &value, context),
            _ => Ok(value),
        }
    }

    async fn run_task(
        &self,
        name: &str,
        state: &Value,
        effective: Value,
        context: &Value,
        execution: &Execution,
    ) -> Result<Value, Failure> {
        let resource = state["Resource"].as_str().unwrap_or_default();
        let timeout = state
            .get("TimeoutSeconds")
            .and_then(Value::as_u64)
            .map(Duration::from_secs);
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
                let token = context["Task"]["Token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                self.invoker.invoke(&function, payload).await?;
                (self.observer)(&RunEvent::WaitingForCallback {
                    state: name.to_string(),
                    token: token.clone(),
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

    async fn run_parallel(
        &self,
        state: &Value,
        input: Value,
        execution: &Execution,
    ) -> Result<Value, Failure> {
        let branches = state
            .get("Branches")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let runs = branches.iter().map(|branch| {
            let definition = Definition::from_value(branch);
            let input = input.clone();
            let execution = execution.clone();
            async move {
                let definition = definition?;
                self.run_states(
                    definition.start_at,
                    Arc::new(definition.states),
                    input,
                    execution,
                    None,
                )
                .await
            }
        });
        let results = futures::future::join_all(runs).await;
        results
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    }

    async fn run_map(
        &self,
        state: &Value,
        input: &Value,
        context: &Value,
        execution: &Execution,
    ) -> Result<Value, Failure> {
        let items = match state.get("ItemsPath").and_then(Value::as_str) {
            Some(path) => select(path, input, context)?,
            None => input.clone(),
        };
        let items = items
            .as_array()
            .cloned()
            .ok_or_else(|| Failure::runtime("Map ItemsPath must select an array"))?;
        let processor = state
            .get("ItemProcessor")
            .or_else(|| state.get("Iterator"))
            .ok_or_else(|| Failure::runtime("Map state has no ItemProcessor"))?;
        let definition = Definition::from_value(processor)?;
        let states = Arc::new(definition.states);
        let selector = state
            .get("ItemSelector")
            .or_else(|| state.get("Parameters"))
            .cloned();
        let limit = match state
            .get("MaxConcurrency")
            .and_then(Value::as_u64)
            .unwrap_or(0)
        {
            0 => items.len().max(1),
            n => n as usize,
        };
        let runs = items.into_iter().enumerate().map(|(index, item)| {
            let states = states.clone();
            let start_at = definition.start_at.clone();
            let selector = selector.clone();
            let execution = execution.clone();
            let mut item_context = context.clone();
            item_context["Map"] = json!({ "Item": { "Index": index, "Value": item } });
            async move {
                let item_input = match &selector {
                    Some(template) => apply_template(template, input, &item_context)?,
                    None => item.clone(),
                };
                self.run_states(start_at, states, item_input, execution, Some((index, item)))
                    .await
            }
        });
        let results: Vec<Result<Value, Failure>> =
            futures::stream::iter(runs).buffered(limit).collect().await;
        results
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    }

    async fn run_wait(&self, state: &Value, input: &Value, context: &Value) -> Result<(), Failure> {
        let seconds = match (state.get("Seconds"), state.get("SecondsPath")) {
            (Some(s), _) => s.as_f64(),
            (_, Some(p)) => select(p.as_str().unwrap_or_default(), input, context)?.as_f64(),
            _ => None,
        };
        let until = match (state.get("Timestamp"), state.get("TimestampPath")) {
            (Some(t), _) => t.as_str().map(str::to_string),
            (_, Some(p)) => select(p.as_str().unwrap_or_default(), input, context)?
                .as_str()
                .map(str::to_string),
            _ => None,
        };
        let duration = match (seconds, until) {
            (Some(s), _) if s >= 0.0 => Duration::from_secs_f64(s),
            (_, Some(t)) => {
                let target = DateTime::parse_from_rfc3339(&t).map_err(|e| {
                    Failure::runtime(format!("Wait timestamp {t:?} is not RFC 3339: {e}"))
                })?;
                (target.with_timezone(&Utc) - self.clock.now())
                    .to_std()
                    .unwrap_or_default()
            }
            _ => {
                return Err(Failure::runtime(
                    "Wait needs Seconds, SecondsPath, Timestamp or TimestampPath",
                ));
            }
        };
        self.clock.sleep(duration).await;
        Ok(())
    }

    fn context(
        &self,
        execution: &Execution,
        state: &str,
        retry_count: u32,
        token: Option<String>,
        map_item: Option<(usize, Value)>,
    ) -> Value {
        let mut context = json!({
            "Execution": {
                "Id": format!("arn:aws:states:local:000000000000:execution:daybook:{}", execution.name),
                "Name": execution.name,
                "StartTime": execution.start_time,
                "Input": execution.input,
            },
            "State": { "Name": state, "EnteredTime": self.clock.now().to_rfc3339(), "RetryCount": retry_count },
            "StateMachine": { "Id": "arn:aws:states:local:000000000000:stateMachine:daybook", "Name": "daybook" },
            "Task": { "Token": token.unwrap_or_else(|| format!("{}-{}-{}", execution.name, state.replace(' ', "_"), uuid::Uuid::new_v4().simple())) },
        });
        if let Some((index, value)) = map_item {
            context["Map"] = json!({ "Item": { "Index": index, "Value": value } });
        }
        context
    }
}

fn error_names(rule: &Value) -> Vec<String> {
    rule.get("ErrorEquals")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// ResultPath as written: absent means `$`, JSON null means "discard the result".
fn result_path(state: &Value) -> Option<String> {
    match state.get("ResultPath") {
        None => Some("$".to_string()),
        Some(Value::Null) => None,
        Some(Value::String(path)) => Some(path.clone()),
        Some(_) => Some("$".to_string()),
    }
}
