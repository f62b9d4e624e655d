//! The chat and webhook destinations: each posted to once per job and report. A post is
//! claimed in the state store before it goes and recorded after, as each email recipient is,
//! so a retry or redrive posts only where it has not been.

use super::SendInput;
use crate::deliver::Posting;
use crate::deliver::{Post, Refusal, slack, teams, webhook};
use crate::{ReportError, Result};
use chrono::{DateTime, Utc};
use daybook_core::config::Destination;
use daybook_core::ports::{PortError, StateStore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The ledger record of one post: written after the service took it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostRecord {
    pub destination: String,
    /// The Slack message's `ts` or file id; empty where the service gives none.
    pub id: String,
    pub sent_at: DateTime<Utc>,
    #[serde(default)]
    pub already_sent: bool,
}

/// `sends/<job>/<report>/<kind>-<hash of the destination's name>`: a URL is no file name.
pub fn post_key(job_id: &str, report: &str, destination: &Destination) -> String {
    let name = destination.name();
    let kind = name.split(':').next().unwrap_or("post");
    let hash: String = Sha256::digest(name.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sends/{job_id}/{report}/{kind}-{hash}")
}

/// What became of one destination.
pub(super) enum Posted {
    Done(PostRecord),
    Refused(String),
}

/// Posts `post` to `destination` once. A transient failure is an error (the step is retried);
/// a refusal is returned, named, for the step to report after the others went.
pub(super) async fn post_once(
    posting: &Posting<'_>,
    state: &dyn StateStore,
    input: &SendInput,
    destination: &Destination,
    post: &Post,
    now: DateTime<Utc>,
) -> Result<Posted> {
    let key = post_key(&input.job.job_id, &input.report.name, destination);
    let claim = serde_json::json!({ "status": "sending", "started_at": now, "destination": destination.name() });
    if let Some(existing) = state.put_if_absent(&key, claim.clone()).await? {
        return match serde_json::from_value::<PostRecord>(existing.clone()) {
            Ok(mut done) => {
                done.already_sent = true;
                Ok(Posted::Done(done))
            }
            Err(_) => Err(ReportError::Port(PortError::new(format!(
                "an earlier attempt of job {} started posting report {} to {} and stopped before recording the result ({existing}): it may or may not have arrived. Look there; if it did not arrive, delete the state record {key} and redrive",
                input.job.job_id,
                input.report.name,
                destination.name()
            )))),
        };
    }
    match post_to(posting, destination, post, now).await {
        Ok(id) => {
            let record = PostRecord {
                destination: destination.name(),
                id,
                sent_at: now,
                already_sent: false,
            };
            state
                .put(&key, serde_json::to_value(&record).expect("serialisable"))
                .await?;
            Ok(Posted::Done(record))
        }
        Err(refusal) => {
            // Nothing arrived: the next attempt may post it.
            if let Err(release) = state.remove_if(&key, &claim).await {
                tracing::warn!(%key, %release, "could not release the post claim");
            }
            if refusal.transient {
                return Err(ReportError::Port(PortError::transient(refusal.message)));
            }
            Ok(Posted::Refused(format!(
                "{} ({})",
                destination.name(),
                refusal.message
            )))
        }
    }
}

async fn post_to(
    posting: &Posting<'_>,
    destination: &Destination,
    post: &Post,
    now: DateTime<Utc>,
) -> Result<String, Refusal> {
    match destination {
        Destination::Email => Err(Refusal::failed("email is sent by the email step")),
        Destination::Slack(slack) => {
            let token = posting.secrets.read(&slack.token_secret).await?;
            let target = slack::SlackTarget {
                api_url: &slack.api_url,
                token: &token,
                channel: &slack.channel,
                token_secret: &slack.token_secret,
            };
            slack::post_report(posting.web, &target, post).await
        }
        Destination::Teams(destination) => {
            let url = posting.secrets.read(&destination.url_secret).await?;
            daybook_core::config::deliver::check_https(&url, "the Teams workflow URL")
                .map_err(|e| Refusal::failed(format!("secret {}: {e}", destination.url_secret)))?;
            teams::post_card(
                posting.web,
                &url,
                &destination.url_secret,
                teams::card(post, &[]),
            )
            .await?;
            Ok(String::new())
        }
        Destination::Webhook(hook) => {
            let secret = posting.secrets.read(&hook.secret).await?;
            let keys = webhook::keys(&secret, &hook.secret).map_err(Refusal::failed)?;
            webhook::post_signed(posting.web, &hook.url, &hook.secret, &keys, post, now).await?;
            Ok(webhook::message_id(post))
        }
    }
}
