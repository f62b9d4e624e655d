//! `daybook backfill` on one machine: `statemachines/backfill.asl.json` under the local runner,
//! each day a recorded execution of the daily-report definition, started as Step Functions'
//! `startExecution.sync:2` starts it. A failed day is an execution of its own, so
//! `daybook redrive <job>` resumes it where it failed.

use crate::adapters::callbacks::FileCallbacks;
use crate::adapters::paths::LocalPaths;
use crate::services::executions::{ExecutionStore, start_recorded};
use crate::services::pipeline::{LocalFunctions, local_substitutions};
use crate::services::runs::{RunError, run_daily_report_with};
use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use daybook_asl::{
    CallbackWaiter, Definition, Failure, Observer, RunEvent, Runner, SystemClock, TaskInvoker,
};
use daybook_core::steps::backfill::BackfillRequest;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const BACKFILL_DEFINITION: &str = include_str!("../../../../statemachines/backfill.asl.json");
/// The daily-report state machine as the backfill definition names it locally.
pub const DAILY_REPORT_ARN: &str =
    "arn:aws:states:local:000000000000:stateMachine:daybook-daily-report";
const START_EXECUTION_SYNC: &str = "arn:aws:states:::states:startExecution.sync:2";

/// How one day of a backfill goes, as it goes.
#[derive(Debug, Clone)]
pub enum DayEvent {
    Started {
        job_id: String,
        date: Option<NaiveDate>,
    },
    /// The day's run entered `state`.
    Entered { job_id: String, state: String },
    Finished {
        job_id: String,
        elapsed: Duration,
        /// The error, and the state that failed (a path through branches), if it failed.
        failure: Option<(Failure, String)>,
    },
}

pub type DayObserver = Arc<dyn Fn(&DayEvent) + Send + Sync>;

/// Makes a day's sources ready before its run starts (the demo's generated days); an error
/// fails that day with it.
pub type DayPreparer = Arc<dyn Fn(NaiveDate) -> Result<(), String> + Send + Sync>;

/// A Task invoker that runs `startExecution.sync:2` of the daily-report state machine as a
/// recorded local execution, and every other Task with `functions`.
pub struct ChildExecutions {
    root: PathBuf,
    functions: Arc<dyn TaskInvoker>,
    waiter: Arc<dyn CallbackWaiter>,
    on_day: DayObserver,
    prepare: Option<DayPreparer>,
}

impl ChildExecutions {
    pub fn new(
        root: &Path,
        functions: Arc<dyn TaskInvoker>,
        waiter: Arc<dyn CallbackWaiter>,
        on_day: DayObserver,
    ) -> Self {
        Self {
            root: root.to_path_buf(),
            functions,
            waiter,
            on_day,
            prepare: None,
        }
    }

    /// Runs `prepare` for each day before its execution starts.
    pub fn preparing_days_with(mut self, prepare: Option<DayPreparer>) -> Self {
        self.prepare = prepare;
        self
    }

    async fn start_sync(&self, parameters: Value) -> Result<Value, Failure> {
        let arn = parameters["StateMachineArn"].as_str().unwrap_or_default();
        if arn != DAILY_REPORT_ARN {
            return Err(Failure::new(
                "StepFunctions.StateMachineDoesNotExistException",
                format!(
                    "State Machine Does Not Exist: '{arn}' (locally there is {DAILY_REPORT_ARN})"
                ),
            ));
        }
        let name = parameters["Name"].as_str().unwrap_or_default().to_string();
        daybook_core::steps::job::check_job_id(&name)
            .map_err(|e| Failure::new("StepFunctions.InvalidNameException", e))?;
        let input = match &parameters["Input"] {
            Value::String(text) => serde_json::from_str(text).map_err(|e| {
                Failure::new(
                    "StepFunctions.InvalidExecutionInputException",
                    format!("the Input of {name} is not JSON: {e}"),
                )
            })?,
            Value::Null => json!({}),
            other => other.clone(),
        };
        let store = ExecutionStore::new(&LocalPaths::new(&self.root).executions());
        if store.load(&name).is_ok() {
            return Err(Failure::new(
                "StepFunctions.ExecutionAlreadyExistsException",
                format!("Execution Already Exists: '{name}'"),
            ));
        }
        if let (Some(prepare), Some(date)) = (
            &self.prepare,
            input["date"]
                .as_str()
                .and_then(|d| d.parse::<NaiveDate>().ok()),
        ) {
            prepare(date).map_err(|e| {
                Failure::new(
                    "Daybook.Failed",
                    format!("preparing the sources of {date}: {e}"),
                )
            })?;
        }
        let on_day = self.on_day.clone();
        let job_id = name.clone();
        let observer: Observer = Arc::new(move |event: &RunEvent| {
            if let RunEvent::Entered { state, kind } = event
                && kind != "Choice"
            {
                on_day(&DayEvent::Entered {
                    job_id: job_id.clone(),
                    state: state.clone(),
                });
            }
        });
        (self.on_day)(&DayEvent::Started {
            job_id: name.clone(),
            date: input["date"].as_str().and_then(|d| d.parse().ok()),
        });
        let started = Instant::now();
        let start_date = Utc::now();
        let result = run_daily_report_with(
            &self.root,
            self.functions.clone(),
            &name,
            input.clone(),
            self.waiter.clone(),
            observer,
        )
        .await;
        (self.on_day)(&DayEvent::Finished {
            job_id: name.clone(),
            elapsed: started.elapsed(),
            failure: match &result {
                Ok(_) => None,
                Err(error) => Some(
                    error
                        .failure()
                        .unwrap_or_else(|| (Failure::runtime(error.to_string()), String::new())),
                ),
            },
        });
        let execution_arn =
            format!("arn:aws:states:local:000000000000:execution:daybook-daily-report:{name}");
        match result {
            Ok(output) => Ok(json!({
                "ExecutionArn": execution_arn,
                "Name": name,
                "StateMachineArn": arn,
                "Input": input,
                "Output": output,
                "StartDate": start_date.to_rfc3339(),
                "StopDate": Utc::now().to_rfc3339(),
                "Status": "SUCCEEDED",
            })),
            // As `.sync` reports a failed child: States.TaskFailed, the execution's description
            // (with its own error and cause) as the cause.
            Err(error) if error.failure().is_some() => {
                let (failure, state) = error.failure().expect("checked");
                Err(Failure::new(
                    "States.TaskFailed",
                    json!({
                        "ExecutionArn": execution_arn,
                        "Name": name,
                        "StateMachineArn": arn,
                        "Status": "FAILED",
                        "Error": failure.error,
                        "Cause": failure.cause,
                        "FailedState": state,
                    })
                    .to_string(),
                ))
            }
            Err(other) => Err(Failure::runtime(other.to_string())),
        }
    }
}

#[async_trait]
impl TaskInvoker for ChildExecutions {
    async fn invoke(&self, function: &str, input: Value) -> Result<Value, Failure> {
        if function == START_EXECUTION_SYNC {
            self.start_sync(input).await
        } else {
            self.functions.invoke(function, input).await
        }
    }
}

/// The backfill definition with every function and the daily state machine local.
pub fn backfill_definition() -> Result<Definition, RunError> {
    let mut substitutions = local_substitutions();
    substitutions.insert("DailyReportStateMachineArn".into(), DAILY_REPORT_ARN.into());
    Definition::parse(BACKFILL_DEFINITION, &substitutions).map_err(RunError::Execution)
}

/// Runs the backfill `name` over the local root; its output (every day's job and status).
/// With `send`, each day's run waits for its approval (`daybook approve`), as any local run.
pub async fn run_backfill(
    root: &Path,
    name: &str,
    request: &BackfillRequest,
    on_day: DayObserver,
) -> Result<Value, RunError> {
    run_backfill_preparing(root, name, request, on_day, None).await
}

/// `run_backfill`, with each day's sources made ready by `prepare` before its run.
pub async fn run_backfill_preparing(
    root: &Path,
    name: &str,
    request: &BackfillRequest,
    on_day: DayObserver,
    prepare: Option<DayPreparer>,
) -> Result<Value, RunError> {
    let paths = LocalPaths::new(root);
    let functions: Arc<dyn TaskInvoker> = Arc::new(LocalFunctions::new(&paths));
    let waiter: Arc<dyn CallbackWaiter> = Arc::new(FileCallbacks::new(&paths.callbacks()));
    let invoker = Arc::new(
        ChildExecutions::new(root, functions, waiter.clone(), on_day).preparing_days_with(prepare),
    );
    let definition = backfill_definition()?;
    let recorded = definition.to_value();
    let runner = Runner::new(definition, invoker, waiter, Arc::new(SystemClock));
    let store = ExecutionStore::new(&paths.executions());
    let input = serde_json::to_value(request).expect("a backfill request serialises");
    start_recorded(&store, runner, recorded, name, input)
        .await
        .map_err(RunError::Execution)?
        .map_err(|interrupted| match interrupted.failure.error.as_str() {
            // The days' own executions are what a redrive resumes, not the backfill.
            "Daybook.BackfillIncomplete" => {
                RunError::Execution(format!("backfill {name}: {}", interrupted.failure.cause))
            }
            _ => RunError::Execution(format!(
                "backfill {name} failed in {}: {}",
                interrupted.resume.failed_path(),
                interrupted.failure
            )),
        })
}
