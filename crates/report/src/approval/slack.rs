//! Approval in Slack: the request as a message with Approve and Reject buttons, and the
//! answer to a button press. A press decides through the one decision path the links, the
//! console and the CLI use ([`super::decide`]): one decision per request, bound to the hash of
//! the files approved, recorded with who (the approver the Slack user is mapped to in the
//! config, never a display name) and when.

use super::decide::{Outcome, decide};
use super::record::{ApprovalRecord, Decision};
use super::request::load;
use crate::Result;
use crate::deliver::{Posting, Refusal, slack};
use chrono::{DateTime, Utc};
use daybook_core::ports::{StateStore, TaskCallbacks};
use daybook_core::store::ObjectStore;
use sha2::{Digest, Sha256};

/// The route below the approval API's URL that Slack posts button presses to (the app's
/// Interactivity Request URL).
pub const SLACK_ROUTE: &str = "/slack/interactions";

/// What answers a button press.
pub struct SlackPress<'a> {
    pub store: &'a dyn ObjectStore,
    pub state: &'a dyn StateStore,
    pub callbacks: &'a dyn TaskCallbacks,
    pub posting: &'a Posting<'a>,
}

/// The HTTP answer to Slack: 200 once the request is Slack's (what the presser sees goes
/// through the `response_url`), 401 or 400 otherwise, with why in text.
#[derive(Debug, Clone, PartialEq)]
pub struct PressAnswer {
    pub status: u16,
    pub text: String,
    /// The decision made, if this press made one.
    pub decided: Option<Decision>,
}

fn answer(status: u16, text: impl Into<String>) -> PressAnswer {
    PressAnswer {
        status,
        text: text.into(),
        decided: None,
    }
}

impl SlackPress<'_> {
    /// Answers one interaction request: its body as sent, its `X-Slack-Request-Timestamp` and
    /// `X-Slack-Signature` headers.
    pub async fn answer(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> PressAnswer {
        let press = match slack::button_press(body) {
            Ok(press) => press,
            Err(why) => return answer(400, format!("not a daybook button press: {why}")),
        };
        // The request names its approval; its record says which app's secret signs for it.
        let record = match load(self.state, &press.approval_id).await {
            Ok(Some(record)) => record,
            Ok(None) => return answer(400, "no such approval request"),
            Err(e) => return answer(503, format!("reading the approval request: {e}")),
        };
        let Some(config) = &record.approval.slack else {
            return answer(400, "this approval request is not answered in Slack");
        };
        let signing = match self.posting.secrets.read(&config.signing_secret).await {
            Ok(secret) => secret,
            Err(e) => return answer(503, format!("nothing was decided: {e}")),
        };
        if let Err(why) = slack::verify_signature(&signing, timestamp, signature, body, now) {
            tracing::warn!(approval = %press.approval_id, %why, "refused a Slack request");
            return answer(401, why);
        }
        // A signed request is taken once: the same bytes sent again decide nothing.
        let seen = format!(
            "slack-presses/{}",
            Sha256::digest(signature.unwrap_or_default().as_bytes())[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        match self
            .state
            .put_if_absent(&seen, serde_json::json!({ "at": now }))
            .await
        {
            Ok(None) => {}
            Ok(Some(_)) => {
                return self
                    .tell(
                        &press.response_url,
                        "This button press was already received; it decides nothing again.",
                    )
                    .await;
            }
            Err(e) => return answer(503, format!("nothing was decided: {e}")),
        }
        let Some(approver) = config
            .approvers
            .get(&press.user_id)
            .filter(|a| record.is_approver(a))
        else {
            return self
                .tell(
                    &press.response_url,
                    &format!(
                        "You are not an approver of report {} in Slack: nothing was decided. The report's owners map Slack users to approvers in approval.slack.approvers.",
                        record.report.title
                    ),
                )
                .await;
        };
        let decision = match Decision::new(press.approve, approver, None, "Slack", now) {
            Ok(decision) => decision,
            Err(e) => return self.tell(&press.response_url, &e.to_string()).await,
        };
        match decide(self.state, self.callbacks, &record, decision, now).await {
            Ok(Outcome::Decided(decision)) => {
                let words = format!("{} (Slack user <@{}>)", decision.summary(), press.user_id);
                let updated = self.decided_message(&record, &words).await;
                let replaced = match updated {
                    Ok(blocks) => {
                        slack::respond(self.posting.web, &press.response_url, &words, Some(blocks)).await
                    }
                    Err(e) => Err(Refusal::failed(e.to_string())),
                };
                if let Err(e) = replaced {
                    // Decided all the same: the run has its answer; only the message is stale.
                    tracing::warn!(approval = %record.approval_id, error = %e.message, "the Slack message was not updated");
                }
                PressAnswer {
                    status: 200,
                    text: String::new(),
                    decided: Some(decision),
                }
            }
            Ok(Outcome::AlreadyAnswered(earlier)) => {
                self.tell(
                    &press.response_url,
                    &format!("Nothing was decided: this request was {}.", super::describe_answer(&earlier)),
                )
                .await
            }
            Ok(Outcome::PastDeadline) => {
                self.tell(
                    &press.response_url,
                    &format!(
                        "Nothing was decided: the approval deadline passed at {} and the run stopped waiting.",
                        record.deadline.format("%Y-%m-%d %H:%M UTC")
                    ),
                )
                .await
            }
            Err(e) => answer(503, format!("nothing was decided: {e}")),
        }
    }

    /// An ephemeral reply, seen only by who pressed.
    async fn tell(&self, response_url: &str, text: &str) -> PressAnswer {
        if let Err(e) = slack::respond(self.posting.web, response_url, text, None).await {
            tracing::warn!(error = %e.message, "the ephemeral reply did not reach Slack");
        }
        answer(200, text)
    }

    async fn decided_message(
        &self,
        record: &ApprovalRecord,
        words: &str,
    ) -> Result<Vec<serde_json::Value>> {
        let post = record.post(self.store).await?;
        Ok(slack::decided_blocks(&post, words))
    }
}
