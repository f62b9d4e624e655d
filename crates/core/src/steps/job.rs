use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// What every step receives from the state machine about the run it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobContext {
    pub job_id: String,
    /// The business date the run reports on.
    pub date: NaiveDate,
}

/// Makes a job id that sorts by time and names the date: `20261121-153012-ab12cd`.
pub fn new_job_id(date: NaiveDate, now: chrono::DateTime<chrono::Utc>, entropy: u32) -> String {
    format!(
        "{}-{}-{:06x}",
        date.format("%Y%m%d"),
        now.format("%H%M%S"),
        entropy & 0xff_ffff
    )
}
