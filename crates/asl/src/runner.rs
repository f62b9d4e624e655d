//! Executes a definition: each state's input/output processing, Retry (with backoff, a cap and
//! jitter) and Catch, the `.waitForTaskToken` callback pattern, and Redrive, with tasks handled
//! in-process.

use super::choice::rule_matches;
use super::definition::Definition;
use super::distributed::{ItemSource, batch, exceeded, is_distributed, read_items};
use super::error::Failure;
use super::paths::{apply_template, count_field, evaluate, merge_result, select};
use super::redrive::{BranchProgress, Interrupted, ResumePoint};
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
    items: Option<Arc<dyn ItemSource>>,
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

    /// Redrives a failed execution as Step Functions does: the same name, input and start
    /// time; it resumes in the state that failed, with the input that state had, and reruns
    /// only the Parallel branches and Map iterations that did not succeed. `redrive_count` is
    /// this redrive's number (1 for the first), seen as `$$.Execution.RedriveCount`.
    pub async fn redrive(
        &self,
        name: &str,
        input: Value,
        start_time: String,
        redrive_count: u32,
        from: ResumePoint,
    ) -> Result<Value, Interrupted> {
        self.run_execution(name, input, start_time, redrive_count, Some(from))
            .await
    }

    async fn run_execution(
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
                self.run_task(name, state, effective, context, execution, timeout)
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

    async fn run_task(
        &self,
        name: &str,
        state: &Value,
        effective: Value,
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

    /// Runs every branch on the same input; the outputs in branch order. On a redrive,
    /// branches that succeeded keep their output and the others resume where they stopped.
    async fn run_parallel(
        &self,
        state: &Value,
        input: Value,
        execution: &Execution,
        prior: Option<Vec<BranchProgress>>,
    ) -> Result<Value, Stop> {
        let branches = state
            .get("Branches")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut prior = prior.unwrap_or_default().into_iter();
        let siblings = execution.abort.child_token();
        let runs = branches.iter().map(|branch| {
            let definition = Definition::from_value(branch);
            let input = input.clone();
            let mut execution = execution.clone();
            execution.abort = siblings.clone();
            let siblings = siblings.clone();
            let before = prior.next().unwrap_or(BranchProgress::NotStarted);
            async move {
                let definition = definition.map_err(|cause| Interrupted {
                    failure: Failure::from(cause),
                    resume: ResumePoint {
                        state: String::new(),
                        input: input.clone(),
                        branches: None,
                    },
                })?;
                let resume = match before {
                    BranchProgress::Succeeded { output } => return Ok(output),
                    BranchProgress::Failed { at } | BranchProgress::Aborted { at } => Some(at),
                    BranchProgress::NotStarted => None,
                };
                let result = self
                    .run_states(
                        definition.start_at,
                        Arc::new(definition.states),
                        input,
                        execution,
                        None,
                        resume,
                    )
                    .await;
                if let Err(interrupted) = &result
                    && interrupted.failure.error != ABORTED
                {
                    siblings.cancel();
                }
                result
            }
        });
        let results = futures::future::join_all(runs).await;
        collect_branches(results.into_iter().map(Some).collect())
    }

    /// Runs the processor once per item, at most MaxConcurrency at a time; once an iteration
    /// fails no new one starts (as on AWS). On a redrive, iterations that succeeded keep their
    /// output and the others resume where they stopped, or start.
    async fn run_map(
        &self,
        state: &Value,
        input: &Value,
        context: &Value,
        execution: &Execution,
        prior: Option<Vec<BranchProgress>>,
    ) -> Result<Value, Stop> {
        let distributed = is_distributed(state);
        if distributed
            && ["ToleratedFailureCount", "ToleratedFailurePercentage"]
                .iter()
                .any(|f| state.get(*f).and_then(Value::as_f64).unwrap_or(0.0) > 0.0)
        {
            return Err(Failure::runtime(
                "the local runner does not tolerate failed child executions: leave ToleratedFailureCount and ToleratedFailurePercentage at 0",
            )
            .into());
        }
        let items = if state.get("ItemReader").is_some() {
            read_items(self.items.as_deref(), state, input, context).await?
        } else {
            let items = match state.get("ItemsPath").and_then(Value::as_str) {
                Some(path) => select(path, input, context)?,
                None => input.clone(),
            };
            items
                .as_array()
                .cloned()
                .ok_or_else(|| Failure::runtime("Map ItemsPath must select an array"))?
        };
        let processor = state
            .get("ItemProcessor")
            .or_else(|| state.get("Iterator"))
            .ok_or_else(|| Failure::runtime("Map state has no ItemProcessor"))?;
        let definition = Definition::from_value(processor).map_err(Failure::from)?;
        let states = Arc::new(definition.states);
        let mut selector = state
            .get("ItemSelector")
            .or_else(|| state.get("Parameters"))
            .cloned();
        // A batch is made of selected items: each is selected with its own `$$.Map.Item`.
        let items = match state.get("ItemBatcher") {
            Some(batcher) => {
                let selected = match selector.take() {
                    Some(template) => items
                        .into_iter()
                        .enumerate()
                        .map(|(index, item)| {
                            let mut item_context = context.clone();
                            item_context["Map"] =
                                json!({ "Item": { "Index": index, "Value": item } });
                            apply_template(&template, input, &item_context)
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                    None => items,
                };
                batch(selected, batcher, input, context)?
            }
            None => items,
        };
        let total = items.len();
        let limit = count_field(state, "MaxConcurrency", input, context)?.unwrap_or(0);
        let limit = match limit {
            0 => items.len().max(1),
            n => n as usize,
        };
        let mut prior = prior.unwrap_or_default().into_iter();
        let failed = std::sync::atomic::AtomicBool::new(false);
        let failed = &failed;
        let runs = items.into_iter().enumerate().map(|(index, item)| {
            let states = states.clone();
            let start_at = definition.start_at.clone();
            let selector = selector.clone();
            let execution = execution.clone();
            let mut item_context = context.clone();
            item_context["Map"] = json!({ "Item": { "Index": index, "Value": item } });
            let before = prior.next().unwrap_or(BranchProgress::NotStarted);
            async move {
                let resume = match before {
                    BranchProgress::Succeeded { output } => return Some(Ok(output)),
                    BranchProgress::Failed { at } | BranchProgress::Aborted { at } => Some(at),
                    BranchProgress::NotStarted => None,
                };
                if failed.load(std::sync::atomic::Ordering::SeqCst) {
                    return None;
                }
                let item_input = match &selector {
                    Some(template) => match apply_template(template, input, &item_context) {
                        Ok(value) => value,
                        Err(failure) => {
                            failed.store(true, std::sync::atomic::Ordering::SeqCst);
                            return Some(Err(Interrupted {
                                failure,
                                resume: ResumePoint {
                                    state: start_at,
                                    input: item.clone(),
                                    branches: None,
                                },
                            }));
                        }
                    },
                    None => item.clone(),
                };
                let result = self
                    .run_states(
                        start_at,
                        states,
                        item_input,
                        execution,
                        Some((index, item)),
                        resume,
                    )
                    .await;
                if result.is_err() {
                    failed.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                Some(result)
            }
        });
        let results: Vec<Option<Result<Value, Interrupted>>> =
            futures::stream::iter(runs).buffered(limit).collect().await;
        let failed = results.iter().filter(|r| matches!(r, Some(Err(_)))).count();
        collect_branches(results).map_err(|mut stop| {
            if distributed {
                stop.failure = exceeded(state, &stop.failure, failed, total);
            }
            stop
        })
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

/// The outputs of branches (or Map iterations) in order, or the first failure with every
/// branch's progress; `None` is a branch that never started.
fn collect_branches(results: Vec<Option<Result<Value, Interrupted>>>) -> Result<Value, Stop> {
    if results.iter().all(|r| matches!(r, Some(Ok(_)))) {
        return Ok(Value::Array(
            results.into_iter().flatten().flatten().collect(),
        ));
    }
    let mut first_failure = None;
    let progress = results
        .into_iter()
        .map(|result| match result {
            Some(Ok(output)) => BranchProgress::Succeeded { output },
            Some(Err(interrupted)) if interrupted.failure.error == ABORTED => {
                BranchProgress::Aborted {
                    at: interrupted.resume,
                }
            }
            Some(Err(interrupted)) => {
                first_failure.get_or_insert(interrupted.failure);
                BranchProgress::Failed {
                    at: interrupted.resume,
                }
            }
            None => BranchProgress::NotStarted,
        })
        .collect();
    Err(Stop {
        // Every branch stopped by an enclosing Parallel's failure: stopped itself.
        failure: first_failure.unwrap_or_else(aborted),
        branches: Some(progress),
    })
}

/// A Task's `TimeoutSeconds`, or its `TimeoutSecondsPath` read from the state's input (a
/// positive whole number, as Step Functions requires).
fn task_timeout(
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
