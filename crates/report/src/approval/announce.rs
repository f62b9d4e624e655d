//! The approval request where approvers read: a Slack message with Approve and Reject buttons,
//! and a Teams card whose buttons open each approver's approval page (GET shows the report,
//! only the page's form decides). Each is posted once per request, through the state store's
//! ledger, as the previews are emailed.

use super::record::ApprovalRecord;
use crate::deliver::{Post, Posting, Refusal, slack, teams};
use crate::{ReportError, Result};
use daybook_core::ports::{PortError, StateStore};
use daybook_core::store::ObjectStore;

/// Posts the request to the Slack channel and the Teams channel its config names, each once.
pub(crate) async fn announce(
    store: &dyn ObjectStore,
    state: &dyn StateStore,
    posting: Option<&Posting<'_>>,
    record: &ApprovalRecord,
) -> Result<()> {
    let approval = &record.approval;
    if approval.slack.is_none() && approval.teams.is_none() {
        return Ok(());
    }
    let posting = posting.ok_or_else(|| {
        ReportError::Approval(
            "the config asks for approval in Slack or Teams, but this approval step has no web client".into(),
        )
    })?;
    let post = record.post(store).await?;
    if let Some(config) = &approval.slack {
        once(state, record, "slack", async {
            let token = posting.secrets.read(&config.token_secret).await?;
            let target = slack::SlackTarget {
                api_url: &config.api_url,
                token: &token,
                channel: &config.channel,
                token_secret: &config.token_secret,
            };
            let deadline = record.deadline.format("%Y-%m-%d %H:%M UTC").to_string();
            slack::post_approval(posting.web, &target, &post, &record.approval_id, &deadline).await
        })
        .await?;
    }
    if let Some(config) = &approval.teams {
        once(state, record, "teams", async {
            let url = posting.secrets.read(&config.url_secret).await?;
            teams::post_card(posting.web, &url, &config.url_secret, card(&post, record)).await?;
            Ok(String::new())
        })
        .await?;
    }
    Ok(())
}

/// The card, with a button per approver to their own approval page.
fn card(post: &Post, record: &ApprovalRecord) -> serde_json::Value {
    let links: Vec<(String, String)> = record
        .email
        .approvers
        .iter()
        .filter_map(|a| record.links.get(a).map(|link| (a.clone(), link.clone())))
        .collect();
    teams::card(post, &links)
}

/// Runs `post` unless the ledger says it went: claimed first, recorded after, released when it
/// failed (nothing arrived, so the retry may post).
async fn once(
    state: &dyn StateStore,
    record: &ApprovalRecord,
    service: &str,
    post: impl std::future::Future<Output = Result<String, Refusal>>,
) -> Result<()> {
    let ledger = format!("approval-sent/{}/{service}", record.approval_id);
    let claim = serde_json::json!({ "status": "sending" });
    if state.put_if_absent(&ledger, claim.clone()).await?.is_some() {
        return Ok(());
    }
    match post.await {
        Ok(id) => {
            state
                .put(&ledger, serde_json::json!({ "status": "sent", "id": id }))
                .await?;
            Ok(())
        }
        Err(refusal) => {
            let _ = state.remove_if(&ledger, &claim).await;
            let message = format!(
                "the approval request of job {} in {service}: {}",
                record.job.job_id, refusal.message
            );
            Err(if refusal.transient {
                ReportError::Port(PortError::transient(message))
            } else {
                ReportError::Approval(message)
            })
        }
    }
}
