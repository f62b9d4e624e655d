//! Local executions kept on disk, so that a failed run can be redriven later by another
//! process (`daybook redrive <job>`), as a failed execution can be from the Step Functions
//! console: same name, same input, same definition, resumed in the state that failed.

use chrono::{DateTime, Utc};
use daybook_asl::{Definition, Failure, Interrupted, ResumePoint, RunEvent, Runner};
pub use daybook_core::history::StateVisit;
use daybook_core::history::{render_lines, seconds, state_lines};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Step Functions keeps an execution redrivable for 14 days after it stopped (RedriveExecution:
/// executions that "didn't complete successfully in the last 14 days"); each redrive that fails
/// again stops it anew.
pub const REDRIVE_DAYS: i64 = 14;
/// And allows at most this many redrives of one execution.
pub const MAX_REDRIVES: u32 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
}

/// What a local execution ran, how it ended, and where a redrive resumes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecutionRecord {
    pub name: String,
    /// The definition as it ran (placeholders substituted): a redrive runs this one, as AWS
    /// redrives with the execution's own state machine version.
    pub definition: Value,
    pub input: Value,
    pub start_time: DateTime<Utc>,
    pub status: ExecutionStatus,
    #[serde(default)]
    pub redrive_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumePoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Each state as it was entered and left, in order, across redrives: what `daybook
    /// status` shows, as the console's execution history does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<StateVisit>,
    /// The top-level task waiting for its callback, while it waits: what another process
    /// takes the execution up from when the one that ran it has stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<WaitingTask>,
}

/// A `.waitForTaskToken` task that handed out its token and waits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitingTask {
    pub state: String,
    pub token: String,
    /// The state's input.
    pub input: Value,
}

/// Folds one runner event into `history`: a state entered opens a visit, and the latest
/// open visit of a state is closed, retried or failed by its events (Map iterations of
/// one state overlap, so a close goes to the oldest open one).
pub fn record_event(history: &mut Vec<StateVisit>, event: &RunEvent, now: DateTime<Utc>) {
    fn open<'a>(history: &'a mut [StateVisit], state: &str) -> Option<&'a mut StateVisit> {
        history
            .iter_mut()
            .find(|v| v.state == state && v.exited.is_none())
    }
    match event {
        RunEvent::Entered { state, .. } => history.push(StateVisit {
            state: state.clone(),
            entered: now,
            exited: None,
            error: None,
            retries: 0,
        }),
        RunEvent::Exited { state, .. } => {
            if let Some(visit) = open(history, state) {
                visit.exited = Some(now);
            }
        }
        RunEvent::Retrying { state, .. } => {
            if let Some(visit) = open(history, state) {
                visit.retries += 1;
            }
        }
        RunEvent::Caught { state, error, .. } => {
            if let Some(visit) = open(history, state) {
                visit.error = Some(error.clone());
                visit.exited = Some(now);
            }
        }
        RunEvent::Failed { state, failure } => {
            if let Some(visit) = open(history, state) {
                visit.error = Some(failure.error.clone());
                visit.exited = Some(now);
            }
        }
        RunEvent::WaitingForCallback { .. } => {}
    }
}

impl ExecutionRecord {
    pub fn started(name: &str, definition: Value, input: Value, now: DateTime<Utc>) -> Self {
        Self {
            name: name.to_string(),
            definition,
            input,
            start_time: now,
            status: ExecutionStatus::Running,
            redrive_count: 0,
            failure: None,
            resume: None,
            output: None,
            history: Vec::new(),
            waiting: None,
        }
    }

    /// Records how a run (or redrive) ended.
    pub fn finish(&mut self, result: &Result<Value, Interrupted>) {
        self.waiting = None;
        match result {
            Ok(output) => {
                self.status = ExecutionStatus::Succeeded;
                self.output = Some(output.clone());
                self.failure = None;
                self.resume = None;
            }
            Err(interrupted) => {
                self.status = ExecutionStatus::Failed;
                self.failure = Some(interrupted.failure.clone());
                self.resume = Some(interrupted.resume.clone());
            }
        }
    }

    /// Where a redrive would resume, or why this execution cannot be redriven (AWS's rules).
    /// When the execution last stopped: the last state it left, or its start when it left none.
    pub fn stopped_at(&self) -> DateTime<Utc> {
        (self.history.iter())
            .filter_map(|v| v.exited)
            .max()
            .unwrap_or(self.start_time)
    }

    pub fn redrive_point(&self, now: DateTime<Utc>) -> Result<&ResumePoint, String> {
        match self.status {
            ExecutionStatus::Succeeded => {
                return Err(format!(
                    "execution {} succeeded; only a failed execution can be redriven",
                    self.name
                ));
            }
            ExecutionStatus::Running => {
                return Err(format!(
                    "execution {} is still running in another process, or its process was stopped before it could record an end outside an approval wait; a running execution cannot be redriven: start a new run for the date",
                    self.name
                ));
            }
            ExecutionStatus::Failed => {}
        }
        let stopped = self.stopped_at();
        if now - stopped > chrono::Duration::days(REDRIVE_DAYS) {
            return Err(format!(
                "execution {} stopped on {stopped}, more than {REDRIVE_DAYS} days ago; Step Functions no longer redrives it: start a new run for the date",
                self.name
            ));
        }
        if self.redrive_count >= MAX_REDRIVES {
            return Err(format!(
                "execution {} was redriven {MAX_REDRIVES} times already, the most Step Functions allows",
                self.name
            ));
        }
        self.resume.as_ref().ok_or_else(|| {
            format!(
                "execution {} failed but its record has no resume point",
                self.name
            )
        })
    }
}

impl ExecutionRecord {
    /// What `daybook status` prints: the run's heading, its states with their time, and
    /// the way on when it failed.
    pub fn status_text(&self, now: DateTime<Utc>) -> String {
        let record = self;
        let status = match record.status {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
        };
        let ended = record.history.iter().filter_map(|v| v.exited).max();
        let took = match (record.status, ended) {
            (ExecutionStatus::Running, _) => {
                format!("running for {}", seconds(elapsed(record.start_time, now)))
            }
            (_, Some(ended)) => format!("took {}", seconds(elapsed(record.start_time, ended))),
            (_, None) => String::new(),
        };
        let redriven = match record.redrive_count {
            0 => String::new(),
            n => format!(", redriven {n}×"),
        };
        let mut out = format!(
            "{} {status}, started {}, {took}{redriven}\n",
            record.name,
            record.start_time.format("%Y-%m-%d %H:%M:%S UTC"),
        );
        out.push_str(&render_lines(&state_lines(&record.history, now)));
        if let Some(failure) = &record.failure {
            out.push_str(&format!(
                "failed: {}: {}\nresume it with `daybook redrive {}` once the cause is fixed\n",
                failure.error, failure.cause, record.name
            ));
        }
        out
    }
}

fn elapsed(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / 1e3
}

/// `<root>/.daybook/executions/<name>.json`.
#[derive(Clone)]
pub struct ExecutionStore {
    dir: PathBuf,
}

impl ExecutionStore {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// Holds execution `name` for this process (an OS file lock, released when the returned
    /// file is dropped, or the process ends however it ends); none when another process holds
    /// it, that is, runs it now.
    pub fn hold(&self, name: &str) -> Result<Option<std::fs::File>, String> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("creating {}: {e}", self.dir.display()))?;
        let path = self.dir.join(format!("{name}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| format!("opening {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(format!("locking {}: {e}", path.display())),
        }
    }

    pub fn save(&self, record: &ExecutionRecord) -> Result<(), String> {
        let path = self.path(&record.name);
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("creating {}: {e}", self.dir.display()))?;
        let temp = path.with_extension("partial");
        let text = serde_json::to_vec_pretty(record).expect("records serialise");
        std::fs::write(&temp, text)
            .and_then(|_| std::fs::rename(&temp, &path))
            .map_err(|e| format!("writing {}: {e}", path.display()))
    }

    /// Every recorded execution, the newest first (as ListExecutions lists them).
    pub fn list(&self) -> Result<Vec<ExecutionRecord>, String> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("reading {}: {e}", self.dir.display())),
        };
        let mut records = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|e| format!("reading {}: {e}", self.dir.display()))?
                .path();
            if path.extension().is_some_and(|e| e == "json") {
                let bytes =
                    std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
                let record: ExecutionRecord = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("reading {}: {e}", path.display()))?;
                records.push(record);
            }
        }
        records.sort_by(|a, b| {
            b.start_time
                .cmp(&a.start_time)
                .then_with(|| b.name.cmp(&a.name))
        });
        Ok(records)
    }

    pub fn load(&self, name: &str) -> Result<ExecutionRecord, String> {
        daybook_core::store::check_key(name, false)
            .ok()
            .filter(|_| !name.contains('/'))
            .ok_or_else(|| format!("{name:?} is not a job id: give the job id the run printed"))?;
        let path = self.path(name);
        let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "no execution named {name} in {}: give the job id the run printed, and the same --root",
                self.dir.display()
            ),
            _ => format!("reading {}: {e}", path.display()),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| format!("reading {}: {e}", path.display()))
    }
}

/// Runs `runner` as a new execution and records it: before it starts, as each state ends
/// (its history), and when it ends.
pub async fn start_recorded(
    store: &ExecutionStore,
    runner: Runner,
    definition: Value,
    name: &str,
    input: Value,
) -> Result<Result<Value, Interrupted>, String> {
    let _held = store
        .hold(name)?
        .ok_or_else(|| format!("execution {name} is already running in another process"))?;
    let record = ExecutionRecord::started(name, definition, input.clone(), Utc::now());
    store.save(&record)?;
    let record = Arc::new(Mutex::new(record));
    let runner = runner.also_observed_by(history_keeper(store, &record));
    let result = runner.start(name, input).await;
    finish(store, &record, &result)?;
    Ok(result)
}

/// An observer that adds each event to the record's history, and saves the record when a
/// state ends (at most once a second: a record holds its definition, and a Map of many
/// iterations ends many states), so that `daybook status` sees a running execution's progress.
fn history_keeper(
    store: &ExecutionStore,
    record: &Arc<Mutex<ExecutionRecord>>,
) -> daybook_asl::Observer {
    let store = store.clone();
    let record = record.clone();
    let saved = Mutex::new(std::time::Instant::now());
    Arc::new(move |event: &RunEvent| {
        let mut record = record.lock().expect("the record's lock");
        record_event(&mut record.history, event, Utc::now());
        match event {
            // Saved at once: from now on another process may take the execution up.
            RunEvent::WaitingForCallback {
                state,
                token,
                input,
            } if record.definition["States"].get(state).is_some() => {
                record.waiting = Some(WaitingTask {
                    state: state.clone(),
                    token: token.clone(),
                    input: input.clone(),
                });
                let _ = store.save(&record);
                return;
            }
            RunEvent::Exited { state, .. }
            | RunEvent::Failed { state, .. }
            | RunEvent::Caught { state, .. }
                if record.waiting.as_ref().is_some_and(|w| &w.state == state) =>
            {
                record.waiting = None;
            }
            _ => {}
        }
        let mut saved = saved.lock().expect("the save time's lock");
        if matches!(event, RunEvent::Exited { .. } | RunEvent::Failed { .. })
            && saved.elapsed() >= std::time::Duration::from_secs(1)
        {
            // The end of the run saves it again; a lost intermediate save only delays the view.
            let _ = store.save(&record);
            *saved = std::time::Instant::now();
        }
    })
}

fn finish(
    store: &ExecutionStore,
    record: &Arc<Mutex<ExecutionRecord>>,
    result: &Result<Value, Interrupted>,
) -> Result<(), String> {
    let mut record = record.lock().expect("the record's lock");
    record.finish(result);
    store.save(&record)
}

/// Redrives the failed execution `name` with `make_runner` (given the recorded definition),
/// and records the outcome.
pub async fn redrive_recorded(
    store: &ExecutionStore,
    name: &str,
    make_runner: impl FnOnce(Definition) -> Runner,
) -> Result<Result<Value, Interrupted>, String> {
    let _held = store.hold(name)?.ok_or_else(|| {
        format!("execution {name} is running in another process: let it end, then redrive it")
    })?;
    let mut record = store.load(name)?;
    let from = record.redrive_point(Utc::now())?.clone();
    record.redrive_count += 1;
    record.status = ExecutionStatus::Running;
    store.save(&record)?;
    TakenUp::new(store, record, make_runner)?
        .run_from(store, from, None)
        .await
}

/// A recorded execution run again by this process: its runner on the recorded definition,
/// keeping the record's history, and what the runner needs to continue it.
struct TakenUp {
    runner: Runner,
    record: Arc<Mutex<ExecutionRecord>>,
    input: Value,
    start_time: String,
    redrive_count: u32,
}

impl TakenUp {
    fn new(
        store: &ExecutionStore,
        record: ExecutionRecord,
        make_runner: impl FnOnce(Definition) -> Runner,
    ) -> Result<Self, String> {
        let definition = Definition::from_value(&record.definition)
            .map_err(|e| format!("the recorded definition of {}: {e}", record.name))?;
        let (input, start_time, redrive_count) = (
            record.input.clone(),
            record.start_time.to_rfc3339(),
            record.redrive_count,
        );
        let record = Arc::new(Mutex::new(record));
        let runner = make_runner(definition).also_observed_by(history_keeper(store, &record));
        Ok(Self {
            runner,
            record,
            input,
            start_time,
            redrive_count,
        })
    }

    /// Runs the execution on from `at`: a redrive of the state that failed, or, with the token
    /// a waiting task handed out, that task's wait; and records how it ended.
    async fn run_from(
        self,
        store: &ExecutionStore,
        at: ResumePoint,
        waiting_token: Option<String>,
    ) -> Result<Result<Value, Interrupted>, String> {
        let name = self.record.lock().expect("the record's lock").name.clone();
        let (input, start_time, count) = (self.input, self.start_time, self.redrive_count);
        let result = match waiting_token {
            Some(token) => {
                self.runner
                    .resume_waiting(&name, input, start_time, count, at, token)
                    .await
            }
            None => {
                self.runner
                    .redrive(&name, input, start_time, count, at)
                    .await
            }
        };
        finish(store, &self.record, &result)?;
        Ok(result)
    }
}

/// Takes up execution `name` when the process that ran it stopped while a task waited for its
/// callback: from that task, on the token it handed out, without invoking it again. None when
/// the execution does not wait that way, or another process runs it (that one hears the answer).
pub async fn resume_waiting_recorded(
    store: &ExecutionStore,
    name: &str,
    make_runner: impl FnOnce(Definition) -> Runner,
) -> Result<Option<Result<Value, Interrupted>>, String> {
    let Some(_held) = store.hold(name)? else {
        return Ok(None);
    };
    let record = store.load(name)?;
    let Some(waiting) = record
        .waiting
        .clone()
        .filter(|_| record.status == ExecutionStatus::Running)
    else {
        return Ok(None);
    };
    let at = ResumePoint {
        state: waiting.state,
        input: waiting.input,
        branches: None,
    };
    TakenUp::new(store, record, make_runner)?
        .run_from(store, at, Some(waiting.token))
        .await
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed run that started 20 days ago and last failed `stopped_days_ago` days ago.
    fn failed(stopped_days_ago: i64, redrives: u32) -> (ExecutionRecord, DateTime<Utc>) {
        let now: DateTime<Utc> = "2026-12-04T06:00:00Z".parse().unwrap();
        let day = |n: i64| now - chrono::Duration::days(n);
        let record = ExecutionRecord {
            name: "20261114-060000-abc123".into(),
            definition: Value::Null,
            input: Value::Null,
            start_time: day(20),
            status: ExecutionStatus::Failed,
            redrive_count: redrives,
            failure: None,
            resume: Some(ResumePoint {
                state: "Load warehouse".into(),
                input: Value::Null,
                branches: None,
            }),
            output: None,
            history: vec![StateVisit {
                state: "Load warehouse".into(),
                entered: day(stopped_days_ago),
                exited: Some(day(stopped_days_ago)),
                error: Some("Daybook.Failed".into()),
                retries: 0,
            }],
            waiting: None,
        };
        (record, now)
    }

    /// RedriveExecution takes executions that stopped in the last 14 days, at most 1,000 times.
    #[test]
    fn the_redrive_window_runs_from_the_last_stop_and_redrives_are_counted() {
        let (record, now) = failed(3, 0);
        assert!(
            record.redrive_point(now).is_ok(),
            "started 20 days ago, stopped 3"
        );
        let (record, now) = failed(15, 0);
        let refused = record.redrive_point(now).unwrap_err();
        assert!(refused.contains("stopped on"), "{refused}");
        let (record, now) = failed(1, MAX_REDRIVES);
        assert!(
            record
                .redrive_point(now)
                .unwrap_err()
                .contains("1000 times")
        );
    }
}
