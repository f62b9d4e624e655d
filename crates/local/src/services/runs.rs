//! Local runs of the daily report on a prepared root: start one, resume a failed one from the
//! state that failed, decide its approval. The CLI's `start`, `redrive`, `approve` and `reject`
//! and the demo all run through here.

use crate::adapters::callbacks::FileCallbacks;
use crate::adapters::lake_items::LakeItems;
use crate::adapters::paths::LocalPaths;
use crate::adapters::state::FileStateStore;
use crate::services::executions::{
    ExecutionStatus, ExecutionStore, redrive_recorded, resume_waiting_recorded, start_recorded,
};
use crate::services::pipeline::{LocalFunctions, local_substitutions};
use chrono::NaiveDate;
use daybook_asl::{
    CallbackWaiter, Definition, Failure, Interrupted, Observer, Runner, SystemClock, TaskInvoker,
};
use daybook_core::config::PipelineConfig;
use daybook_core::steps::start::{DEFAULT_CONFIG_KEY, StartInput};
use daybook_report::approval::{ApprovalRecord, Decision, decide_job};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The definition AWS runs, compiled in so the CLI works from any folder.
pub const DAILY_REPORT_DEFINITION: &str =
    include_str!("../../../../statemachines/daily-report.asl.json");

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("preparing the demo in {path}: {message}")]
    Setup { path: String, message: String },
    #[error(
        "the run {job_id} failed in {state}: {failure}. Fix the cause, then resume it from there with `daybook redrive {job_id} --root {root}`"
    )]
    Run {
        job_id: String,
        failure: Failure,
        /// The state that failed, as a path through Parallel branches and Map iterations.
        state: String,
        root: String,
    },
    /// The approvers rejected the report: a redrive would only reach the same rejection.
    #[error(
        "the report of run {job_id} was rejected ({cause}); nothing was sent. A redrive would end in the same rejection: once the data or the report is fixed, build it again with a new run: `daybook start{date} --root {root}`"
    )]
    Rejected {
        job_id: String,
        cause: String,
        /// ` --date D` when the run's date is known.
        date: String,
        root: String,
    },
    #[error("{0}")]
    Execution(String),
    #[error("the run's variables: {0}")]
    Variables(String),
}

/// The error the daily definition's Rejected state ends a run with.
const REJECTED: &str = "Daybook.Rejected";

impl RunError {
    fn rejected(root: &Path, job_id: &str, input: &Value, cause: String) -> Self {
        RunError::Rejected {
            job_id: job_id.to_string(),
            cause,
            date: input["date"]
                .as_str()
                .map(|d| format!(" --date {d}"))
                .unwrap_or_default(),
            root: root.display().to_string(),
        }
    }

    /// How the state machine ended the run, and the state it ended in, when it ended in one.
    pub fn failure(&self) -> Option<(Failure, String)> {
        match self {
            RunError::Run { failure, state, .. } => Some((failure.clone(), state.clone())),
            RunError::Rejected { cause, .. } => {
                Some((Failure::new(REJECTED, cause.clone()), "Rejected".into()))
            }
            _ => None,
        }
    }

    fn run(root: &Path, job_id: &str, input: &Value, interrupted: Interrupted) -> Self {
        if interrupted.failure.error == REJECTED {
            return Self::rejected(root, job_id, input, interrupted.failure.cause);
        }
        RunError::Run {
            job_id: job_id.to_string(),
            state: interrupted.resume.failed_path(),
            failure: interrupted.failure,
            root: root.display().to_string(),
        }
    }
}

/// The daily-report definition with every function pointed at its local stand-in.
pub fn daily_report_definition() -> Result<Definition, RunError> {
    Definition::parse(DAILY_REPORT_DEFINITION, &local_substitutions()).map_err(RunError::Execution)
}

/// Runs the daily-report state machine on the local root, as execution `job_id`, recorded in
/// `.daybook/executions/` so that `daybook redrive` can resume it if it fails. `waiter`
/// answers the approval.
pub async fn run_daily_report(
    root: &Path,
    job_id: &str,
    input: Value,
    waiter: Arc<dyn CallbackWaiter>,
    observer: Observer,
) -> Result<Value, RunError> {
    let functions = Arc::new(LocalFunctions::new(&LocalPaths::new(root)));
    run_daily_report_with(root, functions, job_id, input, waiter, observer).await
}

/// `run_daily_report` with the functions given (tests wrap the local ones).
pub async fn run_daily_report_with(
    root: &Path,
    functions: Arc<dyn TaskInvoker>,
    job_id: &str,
    input: Value,
    waiter: Arc<dyn CallbackWaiter>,
    observer: Observer,
) -> Result<Value, RunError> {
    let definition = daily_report_definition()?;
    let recorded = definition.to_value();
    let runner = Runner::new(definition, functions, waiter, Arc::new(SystemClock))
        .with_observer(observer)
        .with_item_source(Arc::new(LakeItems::new(root)));
    let store = ExecutionStore::new(&LocalPaths::new(root).executions());
    start_recorded(&store, runner, recorded, job_id, input.clone())
        .await
        .map_err(RunError::Execution)?
        .map_err(|interrupted| RunError::run(root, job_id, &input, interrupted))
}

/// `daybook redrive`: resumes the failed execution `job_id` in the state that failed, with the
/// definition it ran; the states that succeeded are not run again.
pub async fn redrive_daily_report(
    root: &Path,
    functions: Arc<dyn TaskInvoker>,
    job_id: &str,
    waiter: Arc<dyn CallbackWaiter>,
    observer: Observer,
) -> Result<Value, RunError> {
    let store = ExecutionStore::new(&LocalPaths::new(root).executions());
    // A rejection is an answer, not a failure to resume: the run would enter Rejected again.
    let recorded = store
        .load(job_id)
        .map_err(|e| RunError::Execution(format!("{e} (local root {})", root.display())))?;
    if let Some(failure) = recorded.failure.clone().filter(|f| f.error == REJECTED) {
        return Err(RunError::rejected(
            root,
            job_id,
            &recorded.input,
            failure.cause,
        ));
    }
    let input = recorded.input;
    // A run whose process stopped while it waited for its approval is taken up, not redriven:
    // it has not failed, and its approvers may have answered already.
    if recorded.status == ExecutionStatus::Running && recorded.waiting.is_some() {
        let resumed = resume_waiting_recorded(&store, job_id, |definition| {
            Runner::new(
                definition,
                functions.clone(),
                waiter.clone(),
                Arc::new(SystemClock),
            )
            .with_observer(observer.clone())
            .with_item_source(Arc::new(LakeItems::new(root)))
        })
        .await
        .map_err(|e| RunError::Execution(format!("{e} (local root {})", root.display())))?;
        if let Some(result) = resumed {
            return result.map_err(|interrupted| RunError::run(root, job_id, &input, interrupted));
        }
        return Err(RunError::Execution(format!(
            "run {job_id} is waiting for its approval in another process, which goes on by itself once it is decided (`daybook approve {job_id} --root {}`)",
            root.display()
        )));
    }
    redrive_recorded(&store, job_id, |definition| {
        Runner::new(definition, functions, waiter, Arc::new(SystemClock))
            .with_observer(observer)
            .with_item_source(Arc::new(LakeItems::new(root)))
    })
    .await
    .map_err(|e| RunError::Execution(format!("{e} (local root {})", root.display())))?
    .map_err(|interrupted| RunError::run(root, job_id, &input, interrupted))
}

/// Takes up run `job_id` in this process when it waits for its approval and the process that
/// ran it has stopped (a closed terminal, a stopped `daybook demo --manual-approval`): it goes
/// on from its approval, with the answer given since, to the end. None when it does not wait
/// so, or its own process still runs it.
pub async fn resume_waiting_run(
    root: &Path,
    job_id: &str,
    observer: Observer,
) -> Result<Option<Value>, RunError> {
    let paths = LocalPaths::new(root);
    let functions: Arc<dyn TaskInvoker> = Arc::new(LocalFunctions::new(&paths));
    let waiter: Arc<dyn CallbackWaiter> = Arc::new(FileCallbacks::new(&paths.callbacks()));
    let store = ExecutionStore::new(&paths.executions());
    let input = store
        .load(job_id)
        .map_err(|e| RunError::Execution(format!("{e} (local root {})", root.display())))?
        .input;
    let resumed = resume_waiting_recorded(&store, job_id, |definition| {
        Runner::new(definition, functions, waiter, Arc::new(SystemClock))
            .with_observer(observer)
            .with_item_source(Arc::new(LakeItems::new(root)))
    })
    .await
    .map_err(|e| RunError::Execution(format!("{e} (local root {})", root.display())))?;
    match resumed {
        None => Ok(None),
        Some(result) => result
            .map(Some)
            .map_err(|interrupted| RunError::run(root, job_id, &input, interrupted)),
    }
}

/// Takes up, one after another, every run of the root whose process stopped while it waited
/// for an approval that has been answered since: what `daybook serve` does after each decision
/// made on its pages, and on each sweep. The job ids taken up and how each ended.
pub async fn take_up_answered_runs(
    root: &Path,
    observer: Observer,
) -> Result<Vec<(String, Result<Value, RunError>)>, RunError> {
    let paths = LocalPaths::new(root);
    let callbacks = FileCallbacks::new(&paths.callbacks());
    let waiting: Vec<String> = ExecutionStore::new(&paths.executions())
        .list()
        .map_err(RunError::Execution)?
        .into_iter()
        .filter(|r| r.status == ExecutionStatus::Running)
        .filter(|r| {
            r.waiting
                .as_ref()
                .is_some_and(|w| callbacks.answered(&w.token))
        })
        .map(|r| r.name)
        .collect();
    let mut taken = Vec::new();
    for job_id in waiting {
        match resume_waiting_run(root, &job_id, observer.clone()).await {
            Ok(None) => {}
            Ok(Some(output)) => taken.push((job_id, Ok(output))),
            Err(e) => taken.push((job_id, Err(e))),
        }
    }
    Ok(taken)
}

/// Checks `given` against the variables the root's config declares, before anything runs: a
/// wrong name or value is one line, not a failed run.
pub fn check_variables(root: &Path, given: &BTreeMap<String, Value>) -> Result<(), RunError> {
    let path = root.join(DEFAULT_CONFIG_KEY);
    let config: PipelineConfig = std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
        .map_err(|e| RunError::Setup {
            path: path.display().to_string(),
            message: format!("reading the pipeline config: {e}"),
        })?;
    daybook_core::variables::resolve(&config.variables, given)
        .map(|_| ())
        .map_err(RunError::Variables)
}

/// What starts a local run of the daily report on a prepared root (`daybook start`).
#[derive(Debug, Clone)]
pub struct StartOptions {
    pub root: PathBuf,
    pub date: NaiveDate,
    pub job_id: String,
    pub started_by: String,
    pub variables: BTreeMap<String, Value>,
    /// Wait for a person's decision (`daybook approve`, or the link `daybook serve` serves);
    /// otherwise the run approves itself.
    pub manual_approval: bool,
}

/// Runs the daily report for a date on the sources the root's config names, with the given
/// variables; its approval waits for a person unless told otherwise.
pub async fn start_daily_report(
    options: &StartOptions,
    observer: Observer,
) -> Result<Value, RunError> {
    check_variables(&options.root, &options.variables)?;
    let paths = LocalPaths::new(&options.root);
    let waiter: Arc<dyn CallbackWaiter> = if options.manual_approval {
        Arc::new(FileCallbacks::new(&paths.callbacks()))
    } else {
        Arc::new(AutoApproval {
            root: options.root.clone(),
            job_id: options.job_id.clone(),
        })
    };
    run_daily_report(
        &options.root,
        &options.job_id,
        options.input(),
        waiter,
        observer,
    )
    .await
}

impl StartOptions {
    /// The execution's input, as start-job reads it, locally or on AWS.
    pub fn input(&self) -> Value {
        run_input(StartInput {
            date: Some(self.date),
            started_by: Some(self.started_by.clone()),
            variables: self.variables.clone(),
            ..Default::default()
        })
    }
}

pub fn run_input(input: StartInput) -> Value {
    serde_json::to_value(input).expect("a run's input serialises")
}

/// `daybook approve` / `daybook reject`: answers the pending approval of `job_id`.
pub async fn decide(
    root: &Path,
    job_id: &str,
    approved: bool,
    by: &str,
    comment: Option<&str>,
) -> Result<(ApprovalRecord, Decision), String> {
    let paths = LocalPaths::new(root);
    let now = chrono::Utc::now();
    let decision = Decision::new(approved, by, comment, "CLI", now)
        .map_err(|e| format!("nothing was decided: {e}"))?;
    decide_job(
        &FileStateStore::new(&paths.state()),
        &FileCallbacks::new(&paths.callbacks()),
        job_id,
        decision,
        now,
    )
    .await
    .map_err(|e| format!("{e} (local root {})", root.display()))
}

/// The approval of a run that approves itself (`daybook start` without manual approval, the
/// demo): the decision a person's would be, through the same path, so the approval record says
/// who decided and when, `daybook approvals` no longer lists the run, and a later `approve` or
/// `reject` says it was already decided.
struct AutoApproval {
    root: PathBuf,
    job_id: String,
}

#[async_trait::async_trait]
impl CallbackWaiter for AutoApproval {
    async fn issue(&self, token: &str) -> Result<(), Failure> {
        FileCallbacks::new(&LocalPaths::new(&self.root).callbacks())
            .issue(token)
            .await
    }

    async fn wait(
        &self,
        token: &str,
        execution: &str,
        state: &str,
        timeout: Option<std::time::Duration>,
    ) -> Result<Value, Failure> {
        let paths = LocalPaths::new(&self.root);
        let callbacks = FileCallbacks::new(&paths.callbacks());
        let now = chrono::Utc::now();
        let decision = Decision::new(true, AUTO_DECIDER, None, "demo", now)
            .expect("the automatic decider's name is a valid one");
        let decided = decide_job(
            &FileStateStore::new(&paths.state()),
            &callbacks,
            &self.job_id,
            decision,
            now,
        )
        .await;
        // A redrive finds the first attempt's answer and resumes with it.
        if let Err(e) = decided
            && !callbacks.answered(token)
        {
            return Err(Failure::new(
                "States.Runtime",
                format!("approving job {} automatically: {e}", self.job_id),
            ));
        }
        callbacks.wait(token, execution, state, timeout).await
    }
}

/// Who decides a run that approves itself.
const AUTO_DECIDER: &str = "demo (auto-approved)";

/// The answer a run gets when nobody is asked (the demo without `--manual-approval`, a
/// history day).
pub fn auto_answer(approved: bool) -> Value {
    let decision = Decision::new(approved, AUTO_DECIDER, None, "demo", chrono::Utc::now())
        .expect("the demo's own name is a valid decider");
    serde_json::to_value(decision).expect("decisions serialise")
}
