use super::job::{JobContext, new_job_id};
use crate::config::PipelineConfig;
use crate::error::{Error, Result};
use crate::lake::job_key;
use crate::store::ObjectStore;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub const DEFAULT_CONFIG_KEY: &str = "config/daybook.json";

/// The start step's input: the execution's name (which becomes the job id, so a redrive keeps
/// it) and what the execution was started with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StartTask {
    #[serde(default)]
    pub job_id: Option<String>,
    #[serde(default)]
    pub request: StartInput,
}

/// What starts a run: the schedule passes nothing, a person or a backfill passes a date.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StartInput {
    #[serde(default)]
    pub date: Option<NaiveDate>,
    #[serde(default)]
    pub started_by: Option<String>,
    #[serde(default)]
    pub config_key: Option<String>,
    /// `false` refreshes the lake and the marts for the date and stops there: no report is
    /// built or sent (history, backfills). Default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_report: Option<bool>,
    /// Values for the config's variables, by name (`--var name=value`); the others take their
    /// defaults. Always written, even empty: the backfill definition passes `$.input.variables`
    /// on to each day, and a path to a field that is not there fails the state.
    #[serde(default)]
    pub variables: std::collections::BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartOutput {
    pub job: JobContext,
    pub config: PipelineConfig,
    /// Whether the run goes on to the report after the marts (the state machine's choice).
    pub build_report: bool,
    /// How long the approval step waits at most (the state machine's `TimeoutSecondsPath`).
    pub approval_timeout_seconds: u64,
    /// The config's DynamoDB sources by how they are flattened.
    pub dynamodb: DynamoDbSources,
    /// The config's Segment sources by how they are exported.
    pub segment: SegmentSources,
}

/// `whole`: one invocation per source (the inline Map); `fan_out`: the files of every such
/// source over one Distributed Map.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DynamoDbSources {
    pub whole: Vec<crate::config::DynamoDbSource>,
    pub fan_out: Vec<crate::config::DynamoDbSource>,
}

/// `whole`: one invocation per source (the inline Map); `fan_out`: the day's files of every
/// such source over two Distributed Maps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SegmentSources {
    pub whole: Vec<crate::segment::SegmentConfig>,
    pub fan_out: Vec<crate::segment::SegmentConfig>,
}

impl StartOutput {
    fn new(job: JobContext, config: PipelineConfig, build_report: bool) -> Self {
        // The approval sweep fails the wait at the deadline, naming who was asked; the state's
        // own timeout an hour later is the backstop should no sweep run.
        let approval_timeout_seconds = (u64::from(config.email.approval_deadline_hours) + 1) * 3600;
        let (fan_out, whole) = config
            .dynamodb
            .iter()
            .cloned()
            .partition(|source| source.fan_out().is_some());
        let (segment_fan_out, segment_whole) = config
            .segment
            .iter()
            .cloned()
            .partition(|source| source.fan_out.is_some());
        Self {
            job,
            config,
            build_report,
            approval_timeout_seconds,
            dynamodb: DynamoDbSources { whole, fan_out },
            segment: SegmentSources {
                whole: segment_whole,
                fan_out: segment_fan_out,
            },
        }
    }
}

fn yes() -> bool {
    true
}

/// The snapshot written to `jobs/<job_id>/input.json`: everything a rerun needs to repeat this one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSnapshot {
    pub job: JobContext,
    pub started_by: String,
    pub started_at: DateTime<Utc>,
    pub config_key: String,
    pub config: PipelineConfig,
    #[serde(default = "yes")]
    pub build_report: bool,
}

/// The day a run started at `now` reports on when no date is given: yesterday where the
/// schedule runs (a 06:00 Seoul run on the 22nd reports the 21st, although it is still the
/// 21st in UTC).
pub fn business_date(now: DateTime<Utc>, time_zone: chrono_tz::Tz) -> NaiveDate {
    now.with_timezone(&time_zone)
        .date_naive()
        .pred_opt()
        .expect("dates before year 0 are not run")
}

/// Resolves the run's date and id, reads the config, and snapshots both. A rerun with the same
/// job id reuses the snapshot, so a redrive sees the variables of the first attempt.
pub async fn start_job(
    store: &dyn ObjectStore,
    task: &StartTask,
    now: DateTime<Utc>,
    time_zone: chrono_tz::Tz,
    entropy: u32,
) -> Result<StartOutput> {
    let input = &task.request;
    if let Some(job_id) = &task.job_id {
        super::job::check_job_id(job_id).map_err(Error::Invalid)?;
        // Only a missing snapshot means a first run: a failed read must not start a new one.
        match store.get(&job_key(job_id, "input.json")).await {
            Ok(bytes) => {
                let snapshot: JobSnapshot =
                    serde_json::from_slice(&bytes).map_err(|source| Error::Json {
                        context: format!("reading the snapshot of job {job_id}"),
                        source,
                    })?;
                check_same_variables(&snapshot, &input.variables)?;
                return Ok(StartOutput::new(
                    snapshot.job,
                    snapshot.config,
                    snapshot.build_report,
                ));
            }
            Err(crate::store::StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let date = input.date.unwrap_or_else(|| business_date(now, time_zone));
    let job_id = task
        .job_id
        .clone()
        .unwrap_or_else(|| new_job_id(date, now, entropy));
    let config_key = input
        .config_key
        .clone()
        .unwrap_or_else(|| DEFAULT_CONFIG_KEY.to_string());
    let bytes = store.get(&config_key).await.map_err(|e| match e {
        crate::store::StoreError::NotFound { .. } => Error::Invalid(format!(
            "there is no pipeline config at {}. Write one there (see docs/configuration.md), or name another with \"config_key\" in the run's input",
            store.location(&config_key)
        )),
        other => Error::Store(other),
    })?;
    let config: PipelineConfig = serde_json::from_slice(&bytes).map_err(|source| Error::Json {
        context: format!(
            "parsing the pipeline config {}",
            store.location(&config_key)
        ),
        source,
    })?;
    validate(&config)?;
    let variables = crate::variables::resolve(&config.variables, &input.variables)
        .map_err(|e| Error::Invalid(format!("starting job {job_id}: {e}")))?;
    let job = JobContext {
        job_id,
        date,
        variables,
    };
    let snapshot = JobSnapshot {
        job: job.clone(),
        started_by: input.started_by.clone().unwrap_or_else(|| "unknown".into()),
        started_at: now,
        config_key,
        config: config.clone(),
        build_report: input.build_report.unwrap_or(true),
    };
    store
        .put(
            &job_key(&job.job_id, "input.json"),
            super::publish::to_json(&snapshot)?,
        )
        .await?;
    Ok(StartOutput::new(job, config, snapshot.build_report))
}

/// A rerun of a job keeps the variables of its first run: other values are another job.
fn check_same_variables(
    snapshot: &JobSnapshot,
    given: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Result<()> {
    if given.is_empty() {
        return Ok(());
    }
    let job_id = &snapshot.job.job_id;
    let asked = crate::variables::resolve(&snapshot.config.variables, given)
        .map_err(|e| Error::Invalid(format!("rerunning job {job_id}: {e}")))?;
    if asked != snapshot.job.variables {
        let shown = |variables: &crate::variables::Variables| {
            variables
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        return Err(Error::Invalid(format!(
            "job {job_id} ran with {}; a run with other variables ({}) is a new job: start it without a job id",
            shown(&snapshot.job.variables),
            shown(&asked)
        )));
    }
    Ok(())
}

fn validate(config: &PipelineConfig) -> Result<()> {
    config.check_names().map_err(Error::Invalid)?;
    for mart in &config.marts {
        if crate::marts::mart_sql(mart).is_none() {
            return Err(Error::Invalid(format!(
                "the config names mart {mart:?}, which is not in sql/marts/; known marts: {}",
                crate::marts::known_marts().join(", ")
            )));
        }
    }
    if config.email.recipients().is_empty() {
        return Err(Error::Invalid(
            "the config's email lists no recipients in to, cc or bcc".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod business_date_tests {
    use super::business_date;
    use chrono::{NaiveDate, TimeZone, Utc};

    #[test]
    fn yesterday_is_read_in_the_schedules_time_zone() {
        // 06:00 in Seoul on the 22nd is 21:00 UTC on the 21st.
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 21, 0, 0).unwrap();
        assert_eq!(
            business_date(now, chrono_tz::Asia::Seoul),
            NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
        );
        assert_eq!(
            business_date(now, chrono_tz::UTC),
            NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
        );
        // 06:00 in Los Angeles on the 22nd is 14:00 UTC on the 22nd.
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 14, 0, 0).unwrap();
        assert_eq!(
            business_date(now, chrono_tz::America::Los_Angeles),
            NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
        );
    }
}
