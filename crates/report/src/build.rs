//! The build step: runs each section's query, renders the report in every format and stores
//! it beside its data.

use crate::artifacts::{ReportArtifacts, SectionSummary};
use crate::model::data::{ReportData, SectionData, SectionKind};
use crate::{ReportError, Result};
use chrono::{DateTime, Utc};
use daybook_core::Classify;
use daybook_core::ErrorKind;
use daybook_core::config::{EmailConfig, OnProblem, ReportDefinition, bind_section_dates};
use daybook_core::ports::{PortError, QueryResult, Warehouse};
use daybook_core::quality::{self, CheckResult, CheckStatus};
use daybook_core::steps::JobContext;
use daybook_core::store::ObjectStore;
use daybook_core::variables::bind_variables;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildInput {
    pub job: JobContext,
    pub report: ReportDefinition,
    /// Who receives it: the build decides whether the workbook fits in the message.
    pub email: EmailConfig,
    /// The load step's data-quality results, shown as the report's last section.
    #[serde(default)]
    pub checks: Vec<CheckResult>,
    /// The marts this run built and their rows, to catch a section that reads none of them.
    #[serde(default)]
    pub marts: Vec<daybook_core::ports::MartRun>,
}

/// Runs each section's query and stores the report as HTML, text, xlsx and JSON.
pub async fn build_report(
    store: &dyn ObjectStore,
    warehouse: &dyn Warehouse,
    input: &BuildInput,
    now: DateTime<Utc>,
) -> Result<ReportArtifacts> {
    let mut sections = Vec::new();
    let conventions = crate::model::display::Conventions {
        currency: input.report.currency.as_deref(),
        locale: input.report.locale.unwrap_or_default(),
    };
    for section in &input.report.sections {
        // A query that may pass by itself (throttling, a timeout) fails the step, to be
        // retried; any other failure is shown as the section's problem and the rest is built.
        let days = section.chart.as_ref().and_then(|c| c.days);
        let bound = bind_variables(
            &bind_section_dates(&section.sql, input.job.date, days),
            &input.job.variables,
        );
        let queried = match &bound {
            Ok(bound) => warehouse.query_with(bound).await,
            Err(e) => Err(PortError::with_kind(e.clone(), ErrorKind::InvalidInput)),
        };
        let (result, error) = match queried {
            Ok(result) => (result, None),
            Err(e) if e.kind() == daybook_core::ErrorKind::Transient => {
                return Err(PortError::with_kind(
                    format!(
                        "report {} section {:?}: {e}",
                        input.report.name, section.title
                    ),
                    e.kind(),
                )
                .into());
            }
            Err(e) => (QueryResult::default(), Some(e.to_string())),
        };
        let same_weekdays = match (&section.unusual, &error) {
            (Some(rule), None) => {
                same_weekdays(warehouse, &section.sql, &input.job, days, rule.weeks).await?
            }
            _ => Vec::new(),
        };
        let (previous_day, previous_week) = if section.compare && error.is_none() {
            let week = match same_weekdays.first() {
                Some((1, result)) => Some(result.clone()),
                _ if section.unusual.is_some() => None,
                _ => earlier(warehouse, &section.sql, &input.job, days, 7).await?,
            };
            (
                earlier(warehouse, &section.sql, &input.job, days, 1).await?,
                week,
            )
        } else {
            (None, None)
        };
        let mismatch = if error.is_none() && result.rows.is_empty() {
            empty_despite_mart(&section.sql, &input.marts, input.job.date)
        } else {
            None
        };
        // Personal data never leaves the warehouse: masked before anything renders it (rows of
        // the earlier days too, so a compared section matches masked with masked).
        let private: Vec<&str> = section.private_columns().collect();
        let hide = |mut result: QueryResult| {
            for at in result
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| private.iter().any(|p| p.eq_ignore_ascii_case(c)))
                .map(|(at, _)| at)
                .collect::<Vec<_>>()
            {
                for row in &mut result.rows {
                    if let Some(value) = row.get_mut(at) {
                        *value = daybook_core::config::masked(value);
                    }
                }
            }
            result
        };
        let (result, previous_day, previous_week) = (
            hide(result),
            previous_day.map(&hide),
            previous_week.map(&hide),
        );
        let same_weekdays = same_weekdays.into_iter().map(|(_, r)| hide(r)).collect();
        let short_history = match (&section.history, &error) {
            (Some(history), None) => short_history(warehouse, history, input.job.date).await?,
            _ => None,
        };
        let data = SectionData {
            short_history,
            mismatch,
            description: section.description.clone(),
            chart: section.chart.clone(),
            columns: section.columns.clone(),
            error,
            previous_day,
            previous_week,
            headline: section.headline,
            unusual: section.unusual,
            same_weekdays,
            ..SectionData::new(section.title.clone(), result)
        };
        let data = match &section.pivot {
            Some(spec) => crate::model::pivot::pivoted(data, spec, conventions),
            None => data,
        };
        sections.push(data);
    }
    if !input.checks.is_empty() {
        sections.push(checks_section(&input.checks));
    }
    let data = ReportData {
        name: input.report.name.clone(),
        title: input.report.title.clone(),
        date: input.job.date,
        job_id: input.job.job_id.clone(),
        generated_at: now,
        currency: input.report.currency.clone(),
        locale: input.report.locale,
        sections,
        summary: input.report.summary.clone(),
        variables: daybook_core::variables::shown(&input.job.variables),
    };
    let prefix = format!("reports/{}/dt={}/{}/", data.name, data.date, data.job_id);
    let pictures = crate::render::pictures::pictures(&data);
    let mut picture_bytes = 0;
    for picture in &pictures {
        let png = crate::render::pictures::draw(&data, picture)?;
        picture_bytes += png.len();
        store.put(&format!("{prefix}{}", picture.name), png).await?;
    }
    let workbook = crate::render::xlsx::render_workbook(&data)?;
    let email_html = crate::render::html::render_email(&data, &pictures, true)?;
    let text = crate::render::text::render_text(&data, true);
    let message_bytes = crate::render::mime::encoded_size(
        email_html.len() + text.len(),
        workbook.len() + picture_bytes,
    );
    let workbook_attached = message_bytes <= input.email.max_message_bytes;
    let (email_html, text) = if workbook_attached {
        (email_html, text)
    } else {
        (
            crate::render::html::render_email(&data, &pictures, false)?,
            crate::render::text::render_text(&data, false),
        )
    };
    let artifacts = ReportArtifacts {
        name: data.name.clone(),
        title: data.title.clone(),
        html_key: format!("{prefix}report.html"),
        email_html_key: format!("{prefix}email.html"),
        text_key: format!("{prefix}report.txt"),
        xlsx_key: format!("{prefix}report.xlsx"),
        data_key: format!("{prefix}report.json"),
        workbook_attached,
        workbook_bytes: workbook.len() as u64,
        pictures,
        prefix,
        summary: data.summary_line(),
        date_shown: data.conventions().locale.weekday_date(data.date),
        send: data.send_decision(&input.report.send_when),
        sections: data
            .sections
            .iter()
            .map(|s| SectionSummary {
                title: s.title.clone(),
                rows: s.result.rows.len(),
            })
            .collect(),
    };
    store
        .put(
            &artifacts.html_key,
            crate::render::html::render_browser(&data, &artifacts.pictures)?.into_bytes(),
        )
        .await?;
    store
        .put(&artifacts.email_html_key, email_html.into_bytes())
        .await?;
    store.put(&artifacts.text_key, text.into_bytes()).await?;
    store.put(&artifacts.xlsx_key, workbook).await?;
    store.put(&artifacts.data_key, to_json(&data)?).await?;
    if !artifacts.send.wanted {
        // Why this run sent nothing, beside the run's other records.
        let record = serde_json::json!({
            "report": artifacts.name,
            "sent": false,
            "why": artifacts.send.why,
            "report_html": store.location(&artifacts.html_key),
            "at": now,
        });
        store
            .put(
                &daybook_core::lake::job_key(&input.job.job_id, "not-sent.json"),
                to_json(&record)?,
            )
            .await?;
    }
    let problems = data.problem_details();
    if input.report.on_problem == OnProblem::Stop && !problems.is_empty() {
        return Err(ReportError::Problems(format!(
            "report {} for {} has {} problem(s) and its on_problem is stop, so it is not sent: {}. Read it at {}; fix the cause, then redrive the run",
            data.name,
            data.date,
            problems.len(),
            problems.join("; "),
            store.location(&artifacts.html_key)
        )));
    }
    Ok(artifacts)
}

/// Why a section with no rows disagrees with a mart it reads: the run built that mart with
/// rows for the date, so an empty result means the query, not the data, is wrong.
pub(crate) fn empty_despite_mart(
    sql: &str,
    marts: &[daybook_core::ports::MartRun],
    date: chrono::NaiveDate,
) -> Option<String> {
    let text = sql.to_ascii_lowercase();
    marts
        .iter()
        .filter(|m| m.dt == date && m.rows > 0)
        .find(|m| {
            let name = format!("marts.{}", m.mart);
            text.match_indices(&name).any(|(at, _)| {
                !text[at + name.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            })
        })
        .map(|m| {
            format!(
                "mart {} holds {} rows for {date}, but this section's query returned none: check its WHERE clause",
                m.mart, m.rows
            )
        })
}

/// A section's query for `days` before the report's date, to compare with: none when that
/// day has no rows or the query fails there (a mart that did not exist yet). Throttling fails
/// the step, to be retried, as for the report's own queries.
async fn earlier(
    warehouse: &dyn Warehouse,
    sql: &str,
    job: &JobContext,
    window: Option<u32>,
    days: u64,
) -> Result<Option<QueryResult>> {
    let Some(day) = job.date.checked_sub_days(chrono::Days::new(days)) else {
        return Ok(None);
    };
    // The earlier day is read with this run's variables, so the two compare like with like.
    let Ok(bound) = bind_variables(&bind_section_dates(sql, day, window), &job.variables) else {
        return Ok(None);
    };
    match warehouse.query_with(&bound).await {
        Ok(result) if result.rows.is_empty() => Ok(None),
        Ok(result) => Ok(Some(result)),
        Err(e) if e.kind() == daybook_core::ErrorKind::Transient => Err(e.into()),
        Err(_) => Ok(None),
    }
}

/// A section's query for the same weekday in each of the `weeks` weeks before the report's
/// date, run at once, as (weeks back, result) for those that have rows.
async fn same_weekdays(
    warehouse: &dyn Warehouse,
    sql: &str,
    job: &JobContext,
    window: Option<u32>,
    weeks: u32,
) -> Result<Vec<(u32, QueryResult)>> {
    let queries = (1..=weeks).map(|week| async move {
        earlier(warehouse, sql, job, window, u64::from(week) * 7)
            .await
            .map(|found| found.map(|result| (week, result)))
    });
    let found = futures::future::try_join_all(queries).await?;
    Ok(found.into_iter().flatten().collect())
}

/// How many of the days a section reads the warehouse lacks, in words; none when it has them
/// all, or when its table cannot be counted (the section's own query says what is wrong then).
async fn short_history(
    warehouse: &dyn Warehouse,
    history: &daybook_core::config::SectionHistory,
    date: chrono::NaiveDate,
) -> Result<Option<String>> {
    let Ok(table) = history.check() else {
        return Ok(None);
    };
    let first = date - chrono::Days::new(u64::from(history.days) - 1);
    let counted = warehouse
        .query(&format!(
            "SELECT count(DISTINCT dt) AS days FROM {table} WHERE dt BETWEEN DATE '{first}' AND DATE '{date}'"
        ))
        .await;
    let held = match counted {
        Ok(result) => result
            .rows
            .first()
            .and_then(|row| row.first())
            .and_then(serde_json::Value::as_u64),
        Err(e) if e.kind() == ErrorKind::Transient => return Err(e.into()),
        Err(_) => None,
    };
    Ok(held
        .filter(|&held| held < u64::from(history.days))
        .map(|held| {
            format!(
                "Not enough history yet: the warehouse holds {held} of the {} days these figures read ({first} to {date}), so they count fewer days than they say.",
                history.days
            )
        }))
}

/// The title of the section that lists the data-quality checks (its kind, not its title, is
/// what renderers and approval look for).
pub const CHECKS_TITLE: &str = "Data quality";

/// The checks as a report section, problems first, so every renderer shows them alike.
fn checks_section(checks: &[CheckResult]) -> SectionData {
    let mut ordered: Vec<&CheckResult> = checks.iter().collect();
    ordered.sort_by_key(|c| match c.status {
        CheckStatus::Failed => 0,
        CheckStatus::Warning => 1,
        CheckStatus::Passed => 2,
    });
    let text = |s: &str| serde_json::Value::String(s.to_string());
    SectionData {
        kind: SectionKind::Checks,
        description: Some(format!(
            "Checks of the day's tables before the marts were built: {}.",
            quality::summary(checks)
        )),
        ..SectionData::new(
            CHECKS_TITLE,
            QueryResult {
                columns: ["status", "table", "check", "detail"]
                    .map(String::from)
                    .to_vec(),
                rows: ordered
                    .iter()
                    .map(|c| {
                        let status = match c.status {
                            CheckStatus::Passed => "ok",
                            CheckStatus::Warning => "WARNING",
                            CheckStatus::Failed => "FAILED",
                        };
                        vec![
                            text(status),
                            text(&c.table),
                            text(&c.check),
                            text(&c.detail),
                        ]
                    })
                    .collect(),
            },
        )
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|e| ReportError::Render {
        what: "a step record".into(),
        message: e.to_string(),
    })
}
