//! The send step: the approved report's message to each recipient, exactly once, under a
//! line saying who approved it.

use crate::artifacts::{Framing, ReportArtifacts, build_message, envelope};
use crate::{ReportError, Result};
use chrono::{DateTime, Utc};
use daybook_core::Classify;
use daybook_core::config::EmailConfig;
use daybook_core::lake::job_key;
use daybook_core::ports::{Envelope, Mailer, PortError, StateStore};
use daybook_core::steps::JobContext;
use daybook_core::store::ObjectStore;
use serde::{Deserialize, Serialize};

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
        if !crate::render::mime::is_plain_address(recipient) {
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
                crate::render::html::render_decision_note(&summary)?,
                format!("{summary}\n\n"),
            )
        }
        _ => (String::new(), String::new()),
    };
    let subject = input.report.subject(&input.email.subject, input.job.date);
    // An address that is not one plain address is refused by the send loop and named in no
    // header, where a line break in it would start a header of its own.
    let plain = |list: &[String]| -> Vec<String> {
        list.iter()
            .filter(|a| crate::render::mime::is_plain_address(a))
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
