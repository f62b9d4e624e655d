//! A backfill: the daily run for every date of a range, each as its own execution of the daily
//! state machine (a new job, so a rerun of a date replaces that date's lake and marts), at most
//! `concurrency` at a time, building no report and sending nothing unless asked.

use super::job::new_job_id;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The longest range one backfill takes: a year, leap day included.
pub const MAX_DAYS: i64 = 366;
/// The most days run at once: each runs every export and mart, and they share the warehouse.
pub const MAX_CONCURRENCY: u32 = 10;
pub const DEFAULT_CONCURRENCY: u32 = 2;

/// What an operator asks for: `daybook backfill --from … --to …`, or the backfill state
/// machine's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Days run at once (1 to 10, default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Build, approve and send each day's report too; by default lake and marts only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub send: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    /// The variables every day runs with (checked by each day's start).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub variables: std::collections::BTreeMap<String, serde_json::Value>,
}

/// One day of the plan: the daily run's input, and its job id (its execution name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackfillDay {
    pub job_id: String,
    pub input: super::start::StartInput,
}

/// Every day to run, oldest first, and how many at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackfillPlan {
    pub days: Vec<BackfillDay>,
    pub concurrency: u32,
}

/// Checks the request and gives each date a job id. `latest` is the last day that is over
/// (yesterday where the schedule runs): later days have no complete data to report.
pub fn plan_backfill(
    request: &BackfillRequest,
    latest: NaiveDate,
    now: DateTime<Utc>,
    entropy: u32,
) -> Result<BackfillPlan, String> {
    let (from, to) = (request.from, request.to);
    if from > to {
        return Err(format!(
            "the range is backwards: from {from} is after to {to}; swap them"
        ));
    }
    let days = (to - from).num_days() + 1;
    if days > MAX_DAYS {
        return Err(format!(
            "{from} to {to} is {days} days, over a year: backfill at most {MAX_DAYS} days at a time, one year after another"
        ));
    }
    if to > latest {
        return Err(format!(
            "to {to} is after {latest}, the last day that is over: a day is backfilled once it has ended"
        ));
    }
    let concurrency = request.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
    if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
        return Err(format!(
            "concurrency {concurrency} is not between 1 and {MAX_CONCURRENCY}: each day runs every export and mart, and they share the warehouse"
        ));
    }
    let started_by = request
        .started_by
        .clone()
        .unwrap_or_else(|| "backfill".into());
    let days = from
        .iter_days()
        .take_while(|d| *d <= to)
        .enumerate()
        .map(|(i, date)| BackfillDay {
            job_id: new_job_id(date, now, entropy.wrapping_add(i as u32 * 0x9e37)),
            input: super::start::StartInput {
                date: Some(date),
                started_by: Some(started_by.clone()),
                config_key: request.config_key.clone(),
                build_report: Some(request.send),
                variables: request.variables.clone(),
            },
        })
        .collect();
    Ok(BackfillPlan { days, concurrency })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn request(from: &str, to: &str) -> BackfillRequest {
        BackfillRequest {
            from: day(from),
            to: day(to),
            concurrency: None,
            send: false,
            config_key: None,
            started_by: None,
            variables: Default::default(),
        }
    }

    #[test]
    fn every_date_once_oldest_first_with_its_own_job_and_no_report() {
        let now = "2026-11-24T08:00:00Z".parse().unwrap();
        let plan = plan_backfill(
            &request("2026-11-19", "2026-11-21"),
            day("2026-11-23"),
            now,
            7,
        )
        .unwrap();
        let dates: Vec<_> = plan.days.iter().map(|d| d.input.date.unwrap()).collect();
        assert_eq!(
            dates,
            [day("2026-11-19"), day("2026-11-20"), day("2026-11-21")]
        );
        assert!(
            plan.days
                .iter()
                .all(|d| d.input.build_report == Some(false))
        );
        let jobs: std::collections::BTreeSet<_> = plan.days.iter().map(|d| &d.job_id).collect();
        assert_eq!(jobs.len(), 3);
        assert!(plan.days[0].job_id.starts_with("20261119-080000-"));
        assert_eq!(plan.concurrency, DEFAULT_CONCURRENCY);
    }

    #[test]
    fn bad_ranges_are_refused_in_words() {
        let now = "2026-11-24T08:00:00Z".parse().unwrap();
        let latest = day("2026-11-23");
        let refused = |r: BackfillRequest| plan_backfill(&r, latest, now, 0).unwrap_err();
        assert!(refused(request("2026-11-21", "2026-11-01")).contains("backwards"));
        assert!(refused(request("2025-11-01", "2026-11-02")).contains("over a year"));
        assert!(refused(request("2026-11-20", "2026-11-24")).contains("after 2026-11-23"));
        let mut r = request("2026-11-20", "2026-11-21");
        r.concurrency = Some(0);
        assert!(refused(r.clone()).contains("between 1 and 10"));
        r.concurrency = Some(11);
        assert!(refused(r).contains("between 1 and 10"));
        assert!(plan_backfill(&request("2025-11-23", "2026-11-23"), latest, now, 0).is_ok());
    }
}
