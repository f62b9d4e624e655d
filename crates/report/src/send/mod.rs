//! The send step: the approved report to each of its destinations, exactly once: its email
//! to each recipient under a line saying who approved it, and its short form to each chat or
//! webhook. A destination that refuses is named after the others went, and the step fails so
//! that a redrive tries it again, alone.

mod email;
mod posts;

use crate::artifacts::ReportArtifacts;
use crate::{ReportError, Result};
use chrono::{DateTime, Utc};
use daybook_core::config::{Destination, EmailConfig};
use daybook_core::lake::job_key;
use daybook_core::ports::{Mailer, PortError, StateStore};
use daybook_core::steps::JobContext;
use daybook_core::store::ObjectStore;
use serde::{Deserialize, Serialize};

pub use crate::deliver::Posting;
pub use email::send_key;
pub use posts::{PostRecord, post_key};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendInput {
    pub job: JobContext,
    pub report: ReportArtifacts,
    pub email: EmailConfig,
    /// Where the report goes (the config's `deliver`); email alone when absent.
    #[serde(default = "email_only")]
    pub deliver: Vec<Destination>,
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
    /// Each chat and webhook the report was posted to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub posts: Vec<PostRecord>,
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

/// Sends the report to each destination once: email recipients one by one, then each chat
/// and webhook. A failure that may pass (throttling, a timeout) fails the step at once, to be
/// retried; what went out is in the ledger and does not go again.
pub async fn send_report(
    store: &dyn ObjectStore,
    mailer: &dyn Mailer,
    posting: &Posting<'_>,
    state: &dyn StateStore,
    input: &SendInput,
    now: DateTime<Utc>,
) -> Result<Delivery> {
    let report_sha256 = check_approved_files(store, input).await?;
    let mut messages = Vec::new();
    let mut posts = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    let mut short_form = None;
    for destination in &input.deliver {
        if *destination == Destination::Email {
            let emailed = email::send_email(store, mailer, state, input, now).await?;
            messages = emailed.messages;
            refused.extend(emailed.refused);
            continue;
        }
        if short_form.is_none() {
            short_form = Some(
                crate::deliver::post_of(
                    store,
                    &input.report,
                    &input.job.job_id,
                    input.email.link_expiry_hours,
                    &report_sha256,
                    approved_words(input),
                )
                .await?,
            );
        }
        let post = short_form.as_ref().expect("made above");
        match posts::post_once(posting, state, input, destination, post, now).await? {
            posts::Posted::Done(record) => posts.push(record),
            posts::Posted::Refused(why) => refused.push(why),
        }
    }
    let recipients = if input.deliver.contains(&Destination::Email) {
        input.email.recipients()
    } else {
        vec![]
    };
    if !refused.is_empty() {
        let others = input
            .deliver
            .iter()
            .filter(|d| **d != Destination::Email)
            .count();
        let mut went = Vec::new();
        if input.deliver.contains(&Destination::Email) {
            went.push(format!(
                "{} of {} email recipients",
                messages.len(),
                recipients.len()
            ));
        }
        if others > 0 {
            went.push(format!("{} of {others} other destinations", posts.len()));
        }
        return Err(ReportError::Port(PortError::new(format!(
            "report {} of job {} went to {}; refused: {}. Fix those in the config (or the secret or channel named), then redrive: only they are sent to",
            input.report.name,
            input.job.job_id,
            went.join(" and "),
            refused.join("; ")
        ))));
    }
    let all_before =
        messages.iter().all(|m| m.already_sent) && posts.iter().all(|p| p.already_sent);
    let delivery = Delivery {
        message_id: messages
            .first()
            .map(|m| m.message_id.clone())
            .unwrap_or_default(),
        recipients,
        sent_at: now,
        already_sent: (!messages.is_empty() || !posts.is_empty()) && all_before,
        messages,
        posts,
    };
    store
        .put(
            &job_key(&input.job.job_id, "send.json"),
            to_json(&delivery)?,
        )
        .await?;
    Ok(delivery)
}

fn email_only() -> Vec<Destination> {
    vec![Destination::Email]
}

/// "Approved by ana@example.com at 2026-12-07 08:02 UTC", when someone approved.
fn approved_words(input: &SendInput) -> Option<String> {
    input
        .approval
        .as_ref()
        .filter(|d| d.approved && !d.by.is_empty())
        .map(|d| format!("{}{}", d.summary(), d.via_words()))
}

fn lenient_decision<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<crate::approval::Decision>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

/// Sends only what was approved: the files' hash must be the one the approver saw. Returns
/// the hash, which a chat post and a webhook's document carry; the files are read for it only
/// when it is checked or posted.
async fn check_approved_files(store: &dyn ObjectStore, input: &SendInput) -> Result<String> {
    let approved = input
        .approval
        .as_ref()
        .and_then(|a| a.report_sha256.as_deref());
    let posts = input.deliver.iter().any(|d| *d != Destination::Email);
    if approved.is_none() && !posts {
        return Ok(String::new());
    }
    let now = crate::approval::report_sha256(store, &input.report).await?;
    let Some(approved) = approved else {
        return Ok(now);
    };
    if now == approved {
        return Ok(now);
    }
    Err(ReportError::Invalid(format!(
        "report {} of job {} changed after it was approved (files under {} hash {now}, approved {approved}): nothing was sent. A rebuilt report needs a new approval: start a new run",
        input.report.name, input.job.job_id, input.report.prefix
    )))
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|e| ReportError::Render {
        what: "a step record".into(),
        message: e.to_string(),
    })
}
