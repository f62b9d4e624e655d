//! What the start-job function is asked, and its dispatch: start a daily run, or plan a
//! backfill. It sits above both, so that neither imports the other.

use super::backfill::{BackfillRequest, plan_backfill};
use super::start::{StartInput, StartTask, business_date, start_job};
use crate::error::{Error, Result};
use crate::store::ObjectStore;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What start-job is asked: to start a run (the daily state machine's first step), or, with
/// `backfill`, to plan one (the backfill state machine's first step).
/// (The fields of `StartTask` are repeated rather than flattened: a flattened struct loses the
/// path of a field that does not parse, which the error names.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StartEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillRequest>,
    #[serde(default)]
    pub job_id: Option<String>,
    #[serde(default)]
    pub request: StartInput,
}

impl StartEvent {
    pub fn task(&self) -> StartTask {
        StartTask {
            job_id: self.job_id.clone(),
            request: self.request.clone(),
        }
    }
}

/// Starts the run, or plans the backfill, as `event` asks; the step's output.
pub async fn start_or_plan(
    store: &dyn ObjectStore,
    event: &StartEvent,
    now: DateTime<Utc>,
    time_zone: chrono_tz::Tz,
    entropy: u32,
) -> Result<serde_json::Value> {
    let output = match &event.backfill {
        Some(request) => {
            let latest = business_date(now, time_zone);
            let plan = plan_backfill(request, latest, now, entropy)
                .map_err(|e| Error::Invalid(format!("the backfill: {e}")))?;
            serde_json::to_value(plan)
        }
        None => {
            serde_json::to_value(start_job(store, &event.task(), now, time_zone, entropy).await?)
        }
    };
    Ok(output.expect("step outputs serialise"))
}
