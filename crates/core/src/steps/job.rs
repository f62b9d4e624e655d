use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// What every step receives from the state machine about the run it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobContext {
    pub job_id: String,
    /// The business date the run reports on.
    pub date: NaiveDate,
    /// The run's variables, checked and typed at start (see `crate::variables`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub variables: crate::variables::Variables,
}

impl JobContext {
    /// A job without variables.
    pub fn new(job_id: impl Into<String>, date: NaiveDate) -> Self {
        Self {
            job_id: job_id.into(),
            date,
            variables: Default::default(),
        }
    }
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

/// A job id names a folder (`run=<job>`, `jobs/<job>/`) and a Step Functions execution, so it is
/// one plain segment: letters, digits, `-`, `_` and `.`, not starting with `.`, at most 80
/// characters (an execution name's limit).
pub fn check_job_id(job_id: &str) -> Result<(), String> {
    let plain = !job_id.is_empty()
        && job_id.len() <= 80
        && !job_id.starts_with('.')
        && job_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        Ok(())
    } else {
        Err(format!(
            "job id {job_id:?} is not one plain name: use letters, digits, -, _ and . (not first), at most 80 characters, such as 20261121-060000-ab12cd"
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn job_ids_are_one_plain_segment() {
        assert!(super::check_job_id("20261121-060000-ab12cd").is_ok());
        for bad in ["", "../x", "a/b", ".hidden", "run 1", &"x".repeat(81)] {
            assert!(super::check_job_id(bad).is_err(), "{bad:?}");
        }
    }
}
