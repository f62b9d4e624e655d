//! A backfill on AWS as it goes: its days (from its "Plan days" step) and where each is, read
//! from Step Functions, for `daybook backfill --stack` to show as the local backfill does.

use crate::stack::{Execution, Runs, execution_arn};
use aws_sdk_sfn::types::HistoryEvent;
use chrono::NaiveDate;
use daybook_core::ports::PortError;
use daybook_core::steps::backfill::BackfillPlan;

/// The backfill's state that plans the days (`statemachines/backfill.asl.json`).
const PLAN_STATE: &str = "Plan days";

/// Where one day of a backfill is.
#[derive(Debug, Clone, PartialEq)]
pub struct DayProgress {
    pub job_id: String,
    pub date: Option<NaiveDate>,
    /// `None` until its execution is started; then Step Functions' status.
    pub execution: Option<Execution>,
    /// The state a running day is in, or the state a failed day stopped in.
    pub state: Option<String>,
}

impl DayProgress {
    pub fn finished(&self) -> bool {
        self.execution
            .as_ref()
            .is_some_and(|e| e.status != "RUNNING" && e.status != "PENDING_REDRIVE")
    }

    pub fn failed(&self) -> bool {
        self.execution
            .as_ref()
            .is_some_and(|e| matches!(e.status.as_str(), "FAILED" | "TIMED_OUT" | "ABORTED"))
    }
}

/// The backfill execution and its days, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillProgress {
    pub backfill: Execution,
    /// Empty until the plan is made.
    pub days: Vec<DayProgress>,
}

impl BackfillProgress {
    pub fn running(&self) -> bool {
        self.backfill.status == "RUNNING"
    }
}

/// What changed for one day between two polls, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum DayChange {
    Started {
        job_id: String,
        date: Option<NaiveDate>,
    },
    Entered {
        job_id: String,
        state: String,
    },
    Finished {
        job_id: String,
        elapsed: std::time::Duration,
        /// Its error, cause and the state it stopped in, if it did not succeed.
        failure: Option<(String, String, String)>,
    },
}

/// Follows one backfill: `poll` reads where it is, asking Step Functions only about the days
/// that have not finished, and says what changed since the last poll.
pub struct BackfillFollower<'a> {
    runs: &'a Runs,
    backfill_arn: String,
    daily_machine_arn: String,
    days: Vec<DayProgress>,
}

impl<'a> BackfillFollower<'a> {
    pub fn new(runs: &'a Runs, backfill_arn: &str, daily_machine_arn: &str) -> Self {
        Self {
            runs,
            backfill_arn: backfill_arn.to_string(),
            daily_machine_arn: daily_machine_arn.to_string(),
            days: Vec::new(),
        }
    }

    pub async fn poll(&mut self) -> Result<(BackfillProgress, Vec<DayChange>), PortError> {
        let backfill = self.runs.describe(&self.backfill_arn).await?;
        if self.days.is_empty() {
            let events = self.runs.events(&self.backfill_arn).await?;
            self.days = planned_days(&events)?;
        }
        let mut changes = Vec::new();
        // The Map starts days in order: past the first one not started, none is.
        let mut started = true;
        for day in self.days.iter_mut().filter(|d| !d.finished()) {
            if !started {
                continue;
            }
            let before = day.clone();
            let arn = execution_arn(&self.daily_machine_arn, &day.job_id);
            day.execution = self.runs.describe_started(&arn).await?;
            started = day.execution.is_some();
            if day.execution.is_none() {
                continue;
            }
            let failed = day.failed();
            if !day.finished() || failed {
                let visits = self.runs.history(&arn).await?;
                let last = if failed {
                    visits.iter().rev().find(|v| v.error.is_some())
                } else {
                    visits.last()
                };
                day.state = last.map(|v| v.state.clone());
            }
            changes.extend(change(&before, day));
        }
        Ok((
            BackfillProgress {
                backfill,
                days: self.days.clone(),
            },
            changes,
        ))
    }
}

/// What happened to a day between two looks at it.
fn change(before: &DayProgress, now: &DayProgress) -> Vec<DayChange> {
    let job_id = now.job_id.clone();
    let mut changes = Vec::new();
    if before.execution.is_none() {
        changes.push(DayChange::Started {
            job_id: job_id.clone(),
            date: now.date,
        });
    }
    if !now.finished()
        && let Some(state) = &now.state
        && before.state.as_ref() != Some(state)
    {
        changes.push(DayChange::Entered {
            job_id: job_id.clone(),
            state: state.clone(),
        });
    }
    if now.finished() {
        let execution = now.execution.as_ref().expect("a finished day was started");
        let elapsed = match (execution.started, execution.stopped) {
            (Some(start), Some(stop)) => (stop - start).to_std().unwrap_or_default(),
            _ => std::time::Duration::ZERO,
        };
        let failure = now.failed().then(|| {
            (
                execution
                    .error
                    .clone()
                    .unwrap_or_else(|| execution.status.clone()),
                execution.cause.clone().unwrap_or_default(),
                now.state.clone().unwrap_or_default(),
            )
        });
        changes.push(DayChange::Finished {
            job_id,
            elapsed,
            failure,
        });
    }
    changes
}

/// The days the plan step gave, from the output it left its state with.
pub fn planned_days(events: &[HistoryEvent]) -> Result<Vec<DayProgress>, PortError> {
    let Some(output) = events
        .iter()
        .filter_map(|e| e.state_exited_event_details())
        .find(|d| d.name() == PLAN_STATE)
        .and_then(|d| d.output())
    else {
        return Ok(Vec::new());
    };
    #[derive(serde::Deserialize)]
    struct Planned {
        plan: BackfillPlan,
    }
    let planned: Planned = serde_json::from_str(output).map_err(|e| {
        PortError::new(format!(
            "the backfill's {PLAN_STATE:?} step left an output daybook cannot read ({e}); is the stack's backfill state machine this version's?"
        ))
    })?;
    Ok(planned
        .plan
        .days
        .into_iter()
        .map(|day| DayProgress {
            date: day.input.date,
            job_id: day.job_id,
            execution: None,
            state: None,
        })
        .collect())
}
