//! The email destination: the report's message to each recipient, exactly once.

use super::{RecipientMessage, SendInput};
use crate::artifacts::{Framing, build_message, envelope};
use crate::{ReportError, Result};
use chrono::{DateTime, Utc};
use daybook_core::Classify;
use daybook_core::ports::{Envelope, Mailer, PortError, StateStore};
use daybook_core::store::ObjectStore;

/// What the email did: the recipients' messages, and the addresses refused, each with why.
pub(super) struct Emailed {
    pub messages: Vec<RecipientMessage>,
    pub refused: Vec<String>,
}

/// Sends the report's email once per (job, report, recipient). Each recipient is claimed in
/// the state store before its message goes out and recorded after, so a retry or redrive
/// sends only to those who have not had it. An address SES refuses is returned by name after
/// the others were sent; a failure that may pass stops here, to be retried.
pub(super) async fn send_email(
    store: &dyn ObjectStore,
    mailer: &dyn Mailer,
    state: &dyn StateStore,
    input: &SendInput,
    now: DateTime<Utc>,
) -> Result<Emailed> {
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
    Ok(Emailed { messages, refused })
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
