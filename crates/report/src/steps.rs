//! The report steps of the state machine: build the report, ask for approval, send it.

use crate::data::{ReportData, SectionData};
use crate::mime::{Attachment, Email, XLSX_MIME};
use crate::{ReportError, Result};
use chrono::{DateTime, Utc};
use daybook_core::Classify;
use daybook_core::ErrorKind;
use daybook_core::config::{EmailConfig, OnProblem, ReportDefinition, bind_section_dates};
use daybook_core::lake::job_key;
use daybook_core::ports::{Envelope, Mailer, PortError, QueryResult, StateStore, Warehouse};
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

/// Where the built report is, and a summary for the approval email and the run record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportArtifacts {
    pub name: String,
    pub title: String,
    pub prefix: String,
    /// The full report for a browser, its pictures beside it.
    pub html_key: String,
    /// The email's HTML part: pictures by Content-ID, links as placeholders.
    pub email_html_key: String,
    pub text_key: String,
    pub xlsx_key: String,
    pub data_key: String,
    /// The chart pictures, stored beside the report (`<prefix><name>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pictures: Vec<crate::pictures::Picture>,
    /// False when the workbook is too large for the message and goes as a link.
    pub workbook_attached: bool,
    pub workbook_bytes: u64,
    pub sections: Vec<SectionSummary>,
}

impl ReportArtifacts {
    /// Every file of the report in the lake: email HTML, text, full HTML, workbook, data, then
    /// the pictures.
    pub fn stored_keys(&self) -> Vec<String> {
        let mut keys = vec![
            self.email_html_key.clone(),
            self.text_key.clone(),
            self.html_key.clone(),
            self.xlsx_key.clone(),
            self.data_key.clone(),
        ];
        keys.extend(
            self.pictures
                .iter()
                .map(|p| format!("{}{}", self.prefix, p.name)),
        );
        keys
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionSummary {
    pub title: String,
    pub rows: usize,
}

/// Runs each section's query and stores the report as HTML, text, xlsx and JSON.
pub async fn build_report(
    store: &dyn ObjectStore,
    warehouse: &dyn Warehouse,
    input: &BuildInput,
    now: DateTime<Utc>,
) -> Result<ReportArtifacts> {
    let mut sections = Vec::new();
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
        let (previous_day, previous_week) = if section.compare && error.is_none() {
            (
                earlier(warehouse, &section.sql, &input.job, days, 1).await?,
                earlier(warehouse, &section.sql, &input.job, days, 7).await?,
            )
        } else {
            (None, None)
        };
        let mismatch = if error.is_none() && result.rows.is_empty() {
            empty_despite_mart(&section.sql, &input.marts, input.job.date)
        } else {
            None
        };
        sections.push(SectionData {
            mismatch,
            description: section.description.clone(),
            chart: section.chart.clone(),
            columns: section.columns.clone(),
            error,
            previous_day,
            previous_week,
            headline: section.headline,
            ..SectionData::new(section.title.clone(), result)
        });
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
        variables: daybook_core::variables::shown(&input.job.variables),
    };
    let prefix = format!("reports/{}/dt={}/{}/", data.name, data.date, data.job_id);
    let pictures = crate::pictures::pictures(&data);
    let mut picture_bytes = 0;
    for picture in &pictures {
        let png = crate::pictures::draw(&data, picture)?;
        picture_bytes += png.len();
        store.put(&format!("{prefix}{}", picture.name), png).await?;
    }
    let workbook = crate::xlsx::render_workbook(&data)?;
    let email_html = crate::html::render_email(&data, &pictures, true)?;
    let text = crate::text::render_text(&data, true);
    let message_bytes = crate::mime::encoded_size(
        email_html.len() + text.len(),
        workbook.len() + picture_bytes,
    );
    let workbook_attached = message_bytes <= input.email.max_message_bytes;
    let (email_html, text) = if workbook_attached {
        (email_html, text)
    } else {
        (
            crate::html::render_email(&data, &pictures, false)?,
            crate::text::render_text(&data, false),
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
            crate::html::render_browser(&data, &artifacts.pictures)?.into_bytes(),
        )
        .await?;
    store
        .put(&artifacts.email_html_key, email_html.into_bytes())
        .await?;
    store.put(&artifacts.text_key, text.into_bytes()).await?;
    store.put(&artifacts.xlsx_key, workbook).await?;
    store.put(&artifacts.data_key, to_json(&data)?).await?;
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

/// The title of the section that lists the data-quality checks.
pub const CHECKS_SECTION: &str = "Data quality";

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
        description: Some(format!(
            "Checks of the day's tables before the marts were built: {}.",
            quality::summary(checks)
        )),
        ..SectionData::new(
            CHECKS_SECTION,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendInput {
    pub job: JobContext,
    pub report: ReportArtifacts,
    pub email: EmailConfig,
    /// The approval step's answer: who approved, and the hash of the files they approved.
    /// An answer of another shape (a bare `{"approved": true}` sent with the AWS CLI) is no
    /// decision to show or to check.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_decision"
    )]
    pub approval: Option<crate::approval::Decision>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The first recipient's message (the outbox file locally).
    pub message_id: String,
    pub recipients: Vec<String>,
    pub sent_at: DateTime<Utc>,
    /// True when a previous attempt of this job had already sent it to every recipient.
    #[serde(default)]
    pub already_sent: bool,
    /// Each recipient's own message: one SES call each, so one address SES refuses neither
    /// stops nor repeats the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<RecipientMessage>,
}

/// The ledger record of one recipient's message: written after SES accepted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecipientMessage {
    pub recipient: String,
    pub message_id: String,
    pub sent_at: DateTime<Utc>,
    #[serde(default)]
    pub already_sent: bool,
}

/// Sends the report once per (job, report, recipient). Each recipient is claimed in the state
/// store before its message goes out and recorded after, so a retry or redrive sends only to
/// those who have not had it. An address SES refuses is reported by name after the others
/// were sent, and the step fails so that a redrive tries that address again, alone.
pub async fn send_report(
    store: &dyn ObjectStore,
    mailer: &dyn Mailer,
    state: &dyn StateStore,
    input: &SendInput,
    now: DateTime<Utc>,
) -> Result<Delivery> {
    check_approved_files(store, input).await?;
    let recipients = input.email.recipients();
    let mut message: Option<Vec<u8>> = None;
    let mut messages = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    for recipient in &recipients {
        if !crate::mime::is_plain_address(recipient) {
            refused.push(format!("{recipient:?} (not one plain email address)"));
            continue;
        }
        let key = send_key(&input.job.job_id, &input.report.name, recipient);
        let claim = serde_json::json!({ "status": "sending", "started_at": now });
        if let Some(existing) = state.put_if_absent(&key, claim.clone()).await? {
            match serde_json::from_value::<RecipientMessage>(existing.clone()) {
                Ok(mut sent) => {
                    sent.already_sent = true;
                    messages.push(sent);
                    continue;
                }
                Err(_) => {
                    return Err(ReportError::Port(PortError::new(format!(
                        "an earlier attempt of job {} started sending report {} to {recipient} and stopped before recording the result ({existing}): it may or may not have gone out. Check SES's sending log (or the outbox) for job {}; if it was not sent, delete the state record {key} and redrive",
                        input.job.job_id, input.report.name, input.job.job_id
                    ))));
                }
            }
        }
        let sent = async {
            if message.is_none() {
                message = Some(report_message(store, input).await?);
            }
            let raw = message.clone().expect("built above");
            let envelope = Envelope {
                to: vec![recipient.clone()],
                ..envelope(&input.email, &input.report.name, &input.job.job_id)
            };
            Ok::<String, ReportError>(mailer.send_raw(&envelope, raw).await?)
        }
        .await;
        match sent {
            Ok(message_id) => {
                let record = RecipientMessage {
                    recipient: recipient.clone(),
                    message_id,
                    sent_at: now,
                    already_sent: false,
                };
                state
                    .put(&key, serde_json::to_value(&record).expect("serialisable"))
                    .await?;
                messages.push(record);
            }
            Err(error) => {
                // Nothing went out to this recipient: the next attempt may send it.
                if let Err(release) = state.remove_if(&key, &claim).await {
                    tracing::warn!(%key, %release, "could not release the send claim");
                }
                // A failure that may pass by itself stops here, to be retried; the recipients
                // already sent are in the ledger and are not sent again.
                if error.kind() == daybook_core::ErrorKind::Transient {
                    return Err(error);
                }
                refused.push(format!("{recipient} ({error})"));
            }
        }
    }
    if !refused.is_empty() {
        return Err(ReportError::Port(PortError::new(format!(
            "report {} of job {} went to {} of {} recipients; refused: {}. Fix or remove those addresses in the config, then redrive: only they are sent to",
            input.report.name,
            input.job.job_id,
            messages.len(),
            recipients.len(),
            refused.join("; ")
        ))));
    }
    let delivery = Delivery {
        message_id: messages
            .first()
            .map(|m| m.message_id.clone())
            .unwrap_or_default(),
        recipients: recipients.clone(),
        sent_at: now,
        already_sent: !messages.is_empty() && messages.iter().all(|m| m.already_sent),
        messages,
    };
    store
        .put(
            &job_key(&input.job.job_id, "send.json"),
            to_json(&delivery)?,
        )
        .await?;
    Ok(delivery)
}

/// The envelope of a report's messages: from, the configuration set, and tags naming the
/// report and job. SES tag names and values allow only ASCII letters, digits, `_` and `-`, at
/// most 256 (SESv2 API reference, MessageTag): anything else becomes `_`, so a job id with a
/// `.` is still sent.
pub(crate) fn envelope(email: &EmailConfig, report: &str, job_id: &str) -> Envelope {
    let clean = |v: &str| -> String {
        v.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .take(256)
            .collect()
    };
    let mut tags: Vec<(String, String)> = email
        .tags
        .iter()
        .map(|(k, v)| (clean(k), clean(v)))
        .collect();
    tags.push(("daybook_report".into(), clean(report)));
    tags.push(("daybook_job".into(), clean(job_id)));
    Envelope {
        from: email.from.clone(),
        to: vec![],
        configuration_set: email.configuration_set.clone(),
        tags,
    }
}

fn lenient_decision<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<crate::approval::Decision>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

/// Sends only what was approved: the files' hash must be the one the approver saw.
async fn check_approved_files(store: &dyn ObjectStore, input: &SendInput) -> Result<()> {
    let Some(approved) = input
        .approval
        .as_ref()
        .and_then(|a| a.report_sha256.as_deref())
    else {
        return Ok(());
    };
    let now = crate::approval::report_sha256(store, &input.report).await?;
    if now == approved {
        return Ok(());
    }
    Err(ReportError::Invalid(format!(
        "report {} of job {} changed after it was approved (files under {} hash {now}, approved {approved}): nothing was sent. A rebuilt report needs a new approval: start a new run",
        input.report.name, input.job.job_id, input.report.prefix
    )))
}

/// The report's message as recipients get it, under a line saying who approved it.
async fn report_message(store: &dyn ObjectStore, input: &SendInput) -> Result<Vec<u8>> {
    let (banner_html, banner_text) = match &input.approval {
        Some(decision) if decision.approved && !decision.by.is_empty() => {
            let summary = format!("{}{}", decision.summary(), decision.via_words());
            (
                crate::html::render_decision_note(&summary)?,
                format!("{summary}\n\n"),
            )
        }
        _ => (String::new(), String::new()),
    };
    let subject = input
        .email
        .subject
        .replace("{title}", &input.report.title)
        .replace("{date}", &input.job.date.to_string());
    // An address that is not one plain address is refused by the send loop and named in no
    // header, where a line break in it would start a header of its own.
    let plain = |list: &[String]| -> Vec<String> {
        list.iter()
            .filter(|a| crate::mime::is_plain_address(a))
            .cloned()
            .collect()
    };
    let (to, cc) = (plain(&input.email.to), plain(&input.email.cc));
    build_message(
        store,
        &input.job,
        &input.report,
        &input.email,
        Framing {
            subject,
            to: &to,
            cc: &cc,
            banner_html,
            banner_text,
        },
    )
    .await
}

/// What differs between the report's messages: the approval preview and the sent report.
pub(crate) struct Framing<'a> {
    pub subject: String,
    pub to: &'a [String],
    pub cc: &'a [String],
    /// Put at [`crate::html::BANNER`].
    pub banner_html: String,
    /// Put before the text part.
    pub banner_text: String,
}

/// The report's message, built once per framing: every recipient gets these bytes, addressed
/// by the envelope. The links in it are made here, so that their life starts when it is sent.
pub(crate) async fn build_message(
    store: &dyn ObjectStore,
    job: &JobContext,
    artifacts: &ReportArtifacts,
    email: &EmailConfig,
    framing: Framing<'_>,
) -> Result<Vec<u8>> {
    let html = String::from_utf8_lossy(&store.get(&artifacts.email_html_key).await?).replacen(
        crate::html::BANNER,
        &framing.banner_html,
        1,
    );
    let text = format!(
        "{}{}",
        framing.banner_text,
        String::from_utf8_lossy(&store.get(&artifacts.text_key).await?)
    );
    let expiry = std::time::Duration::from_secs(u64::from(email.link_expiry_hours) * 3600);
    let report_link = store.share_link(&artifacts.html_key, expiry).await?;
    let workbook_link = if artifacts.workbook_attached {
        None
    } else {
        Some(store.share_link(&artifacts.xlsx_key, expiry).await?)
    };
    let fill = |body: &str, escape: bool| {
        let put = |link: &str| {
            if escape {
                link.replace('&', "&amp;").replace('"', "&quot;")
            } else {
                link.to_string()
            }
        };
        let body = body.replace(crate::html::FULL_REPORT_LINK, &put(&report_link));
        match &workbook_link {
            Some(link) => body.replace(crate::html::WORKBOOK_LINK, &put(link)),
            None => body,
        }
    };
    let (html, text) = (fill(&html, true), fill(&text, false));
    let mut inline = Vec::new();
    for picture in &artifacts.pictures {
        inline.push(crate::mime::Inline {
            content_id: picture.content_id(),
            content_type: "image/png".into(),
            bytes: store
                .get(&format!("{}{}", artifacts.prefix, picture.name))
                .await?,
        });
    }
    let mut attachments = Vec::new();
    if artifacts.workbook_attached {
        attachments.push(Attachment {
            name: format!("{}-{}.xlsx", artifacts.name, job.date),
            content_type: XLSX_MIME.into(),
            bytes: store.get(&artifacts.xlsx_key).await?,
        });
    }
    crate::mime::build(Email {
        from: &email.from,
        to: framing.to,
        cc: framing.cc,
        subject: &framing.subject,
        text: &text,
        html: &html,
        inline,
        attachments,
        job_id: &job.job_id,
    })
}

/// `sends/<job>/<report>/<recipient, lower-cased>`: one ledger record per recipient.
pub fn send_key(job_id: &str, report: &str, recipient: &str) -> String {
    format!("sends/{job_id}/{report}/{}", recipient.to_ascii_lowercase())
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|e| ReportError::Render {
        what: "a step record".into(),
        message: e.to_string(),
    })
}
