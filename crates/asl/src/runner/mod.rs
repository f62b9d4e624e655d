//! Executes a definition: each state's input/output processing, Retry (with backoff, a cap and
//! jitter) and Catch, the `.waitForTaskToken` callback pattern, and Redrive, with tasks handled
//! in-process.

use super::choice::rule_matches;
use super::definition::Definition;
use super::distributed::{ItemSource, batch, exceeded, is_distributed, read_items};
use super::error::Failure;
use super::paths::{apply_template, count_field, evaluate, merge_result};
use super::redrive::{BranchProgress, Interrupted, ResumePoint};
use super::selection::select;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;

mod map;
mod parallel;
mod resume;
mod task;
mod wait;

use parallel::collect_branches;
use task::task_timeout;

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
    /// The task of `token` starts: on AWS its token takes an answer from this moment, before
    /// the function that hands it out has returned, so a waiter that refuses unknown tokens
    /// learns of it here.
    async fn issue(&self, token: &str) -> Result<(), Failure> {
        let _ = token;
        Ok(())
    }

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
    /// A `.waitForTaskToken` task handed out its token and waits: `input` is the state's
    /// input, from which [`Runner::resume_waiting`] takes the wait up again in another process.
    WaitingForCallback {
        state: String,
        token: String,
        input: Value,
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
    items: Option<Arc<dyn ItemSource>>,
    /// A task that already handed out its token (state name, token): entered again, it waits
    /// on that token without invoking its function again. Taken by the first entry.
    waiting: std::sync::Mutex<Option<(String, String)>>,
}

/// The parts of the context object (`$$`) that stay the same through an execution.
#[derive(Clone)]
struct Execution {
    name: String,
    start_time: String,
    input: Value,
    redrive_count: u32,
    /// Cancelled when a sibling branch of an enclosing Parallel state fails: AWS stops the
    /// other branches then, and a redrive reruns the failed and the stopped ones.
    abort: tokio_util::sync::CancellationToken,
}

/// The error a branch stopped by its failed sibling ends with; never the Parallel's own.
const ABORTED: &str = "States.Aborted";

fn aborted() -> Failure {
    Failure::new(
        ABORTED,
        "stopped: another branch of the Parallel state failed",
    )
}

enum Transition {
    Next(String),
    End,
}

/// Why a state did not complete: its failure and, for Parallel and Map, each branch's progress.
struct Stop {
    failure: Failure,
    branches: Option<Vec<BranchProgress>>,
}

impl From<Failure> for Stop {
    fn from(failure: Failure) -> Self {
        Stop {
            failure,
            branches: None,
        }
    }
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
            items: None,
            waiting: std::sync::Mutex::new(None),
        }
    }

    /// Where a Distributed Map's `ItemReader` reads its items.
    pub fn with_item_source(mut self, items: Arc<dyn ItemSource>) -> Self {
        self.items = Some(items);
        self
    }

    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = observer;
        self
    }

    /// Adds `extra` after the observer it has: both hear every event.
    pub fn also_observed_by(mut self, extra: Observer) -> Self {
        let first = self.observer.clone();
        self.observer = Arc::new(move |event: &RunEvent| {
            first(event);
            extra(event);
        });
        self
    }

    /// Runs an execution to its end: the final output, or the failure that ended it.
    pub async fn execute(&self, name: &str, input: Value) -> Result<Value, Failure> {
        self.start(name, input).await.map_err(|i| i.failure)
    }

    /// Runs an execution to its end; a failure comes with the point a redrive resumes from.
    pub async fn start(&self, name: &str, input: Value) -> Result<Value, Interrupted> {
        let started = self.clock.now().to_rfc3339();
        self.run_execution(name, input, started, 0, None).await
    }

    pub(super) async fn run_execution(
        &self,
        name: &str,
        input: Value,
        start_time: String,
        redrive_count: u32,
        from: Option<ResumePoint>,
    ) -> Result<Value, Interrupted> {
        let execution = Execution {
            name: name.to_string(),
            start_time,
            input: input.clone(),
            redrive_count,
            abort: tokio_util::sync::CancellationToken::new(),
        };
        let states = Arc::new(self.definition.states.clone());
        self.run_states(
            self.definition.start_at.clone(),
            states,
            input,
            execution,
            None,
            from,
        )
        .await
    }

    /// Runs states from `start_at`, or from `resume` (a redrive), until an end or a failure.
    fn run_states<'a>(
        &'a self,
        start_at: String,
        states: Arc<Map<String, Value>>,
        mut input: Value,
        execution: Execution,
        map_item: Option<(usize, Value)>,
        resume: Option<ResumePoint>,
    ) -> BoxFuture<'a, Result<Value, Interrupted>> {
        async move {
            let mut current = start_at;
            let mut prior_branches = None;
            if let Some(point) = resume {
                current = point.state;
                input = point.input;
                prior_branches = point.branches;
            }
            loop {
                let state = states
                    .get(&current)
                    .ok_or_else(|| Interrupted {
                        failure: Failure::runtime(format!("no state named {current:?}")),
                        resume: ResumePoint {
                            state: current.clone(),
                            input: input.clone(),
                            branches: None,
                        },
                    })?
                    .clone();
                let kind = state["Type"].as_str().unwrap_or_default().to_string();
                (self.observer)(&RunEvent::Entered {
                    state: current.clone(),
                    kind: kind.clone(),
                });
                let started = std::time::Instant::now();
                let running = self.run_with_retries(
                    &current,
                    &state,
                    &input,
                    &execution,
                    map_item.clone(),
                    prior_branches.take(),
                );
                // A state stopped by a failed sibling branch resumes whole on a redrive.
                let outcome = tokio::select! {
                    biased;
                    _ = execution.abort.cancelled() => Err(Stop { failure: aborted(), branches: None }),
                    outcome = running => outcome,
                };
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
                    Err(stop) => {
                        (self.observer)(&RunEvent::Failed {
                            state: current.clone(),
                            failure: stop.failure.clone(),
                        });
                        return Err(Interrupted {
                            failure: stop.failure,
                            resume: ResumePoint {
                                state: current,
                                input,
                                branches: stop.branches,
                            },
                        });
                    }
                }
            }
        }
        .boxed()
    }

    /// Runs a state with its Retry and Catch rules. `prior` (a redrive) holds the branches of
    /// a Parallel or Map state that already ran; it applies to the first attempt only.
    async fn run_with_retries(
        &self,
        name: &str,
        state: &Value,
        input: &Value,
        execution: &Execution,
        map_item: Option<(usize, Value)>,
        mut prior: Option<Vec<BranchProgress>>,
    ) -> Result<(Transition, Value), Stop> {
        let retriers = state
            .get("Retry")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut attempts = vec![0u32; retriers.len()];
        let mut retry_count = 0;
        loop {
            let context = self.context(execution, name, retry_count, None, map_item.clone());
            let stop = match self
                .run_once(name, state, input, &context, execution, prior.take())
                .await
            {
                Ok(done) => return Ok(done),
                Err(stop) => stop,
            };
            let failure = &stop.failure;
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
                    // FULL jitter: a random wait up to the backoff, so retries spread out.
                    if retrier.get("JitterStrategy").and_then(Value::as_str) == Some("FULL") {
                        delay *= rand::random::<f64>();
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
                let error = serde_json::to_value(failure).expect("a failure serialises");
                let output = merge_result(input, result_path.as_deref(), error)?;
                (self.observer)(&RunEvent::Caught {
                    state: name.to_string(),
                    error: failure.error.clone(),
                    next: next.clone(),
                });
                return Ok((Transition::Next(next), output));
            }
            return Err(stop);
        }
    }

    async fn run_once(
        &self,
        name: &str,
        state: &Value,
        raw_input: &Value,
        context: &Value,
        execution: &Execution,
        prior: Option<Vec<BranchProgress>>,
    ) -> Result<(Transition, Value), Stop> {
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
                let timeout = task_timeout(name, state, &input, context)?;
                self.run_task(
                    name,
                    state,
                    (effective, raw_input),
                    context,
                    execution,
                    timeout,
                )
                .await?
            }
            "Parallel" => {
                self.run_parallel(state, effective, execution, prior)
                    .await?
            }
            "Map" => {
                self.run_map(state, &input, context, execution, prior)
                    .await?
            }
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
                    )
                    .into()),
                };
            }
            "Succeed" => return Ok((Transition::End, self.output_path(state, input, context)?)),
            "Fail" => {
                let pick = |plain: &str, path: &str, fallback: &str| -> Result<String, Failure> {
                    // A path or an intrinsic function (`States.Format(…)`), as on AWS.
                    // "When resolved, the reference path must select a field that contains a
                    // string value": anything else fails the state, as on AWS.
                    if let Some(p) = state.get(path).and_then(Value::as_str) {
                        return match evaluate(p, raw_input, context)? {
                            Value::String(s) => Ok(s),
                            other => Err(Failure::runtime(format!(
                                "the Fail state's {path} {p} selected {other}, not a string"
                            ))),
                        };
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
                )
                .into());
            }
            other => {
                return Err(
                    Failure::runtime(format!("state type {other} is not supported")).into(),
                );
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
                // 0 until the first redrive, as in AWS's context object.
                "RedriveCount": execution.redrive_count,
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
