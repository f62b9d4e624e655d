//! Where a report goes besides email (Slack, Microsoft Teams, any HTTPS webhook), who may
//! approve it from Slack, and where the tokens and keys for them are kept.

use serde::{Deserialize, Serialize};

/// One place a report is delivered to. `"email"` is today's SES message to the `email`
/// recipients; the others post a short form of the report with links to the full one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    Email,
    Slack(SlackDestination),
    Teams(TeamsDestination),
    Webhook(WebhookDestination),
}

/// A Slack channel (or a user, by id), posted to by the bot whose token is in `token_secret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackDestination {
    /// The channel's id (`C0123456789`) or a user's (`U…`, for a direct message).
    pub channel: String,
    /// The secret holding the bot token (`xoxb-…`), with the `chat:write` and `files:write`
    /// scopes.
    pub token_secret: String,
    /// Slack's Web API (a stand-in's, to try a config without a workspace).
    #[serde(default = "slack_api", skip_serializing_if = "is_slack_api")]
    pub api_url: String,
}

/// A Microsoft Teams channel, through the URL of a Workflows "Post to a channel when a webhook
/// request is received" flow, kept in `url_secret` (the URL is the credential).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsDestination {
    pub url_secret: String,
}

/// Any HTTPS endpoint, sent a JSON document signed as the Standard Webhooks specification
/// describes, with the signing keys (`whsec_…`, several while one is rotated) in `secret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookDestination {
    pub url: String,
    pub secret: String,
}

/// Approval besides the email: in Slack, with buttons.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackApproval>,
    /// A Teams channel gets the approval as a card whose buttons open each approver's
    /// approval page (GET shows the report, only the page's POST decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams: Option<TeamsDestination>,
    /// Send without asking anyone: only for a report that is sent when a condition holds
    /// (`report.send_when`), an alert whose point is to arrive at once. Always written out:
    /// the state machine reads it.
    #[serde(default)]
    pub skip: bool,
}

/// The approval message in a Slack channel, with Approve and Reject buttons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackApproval {
    pub channel: String,
    pub token_secret: String,
    /// The secret holding the Slack app's signing secret: every button press is checked
    /// against it.
    pub signing_secret: String,
    /// Who may decide, by Slack user id (`U0123…`), each mapped to an address of
    /// `email.approvers`: the decision is recorded under that address. A display name is
    /// never trusted.
    pub approvers: std::collections::BTreeMap<String, String>,
    #[serde(default = "slack_api", skip_serializing_if = "is_slack_api")]
    pub api_url: String,
}

/// The prefix of every secret a destination names: the stack's roles read only those.
pub const SECRET_PREFIX: &str = "daybook/chat/";

fn slack_api() -> String {
    "https://slack.com/api".into()
}

fn is_slack_api(url: &String) -> bool {
    *url == slack_api()
}

impl Destination {
    /// How the destination is named in messages and in the send ledger: `email`,
    /// `slack:C0123`, `teams:daybook/teams-url`, `webhook:https://…`.
    pub fn name(&self) -> String {
        match self {
            Destination::Email => "email".into(),
            Destination::Slack(s) => format!("slack:{}", s.channel),
            Destination::Teams(t) => format!("teams:{}", t.url_secret),
            Destination::Webhook(w) => format!("webhook:{}", w.url),
        }
    }

    fn check(&self) -> Result<(), String> {
        match self {
            Destination::Email => Ok(()),
            Destination::Slack(s) => {
                check_slack_id(&s.channel, "deliver slack channel", "C")?;
                check_secret_name(&s.token_secret, "deliver slack token_secret")?;
                check_https(&s.api_url, "deliver slack api_url")
            }
            Destination::Teams(t) => check_secret_name(&t.url_secret, "deliver teams url_secret"),
            Destination::Webhook(w) => {
                check_secret_name(&w.secret, "deliver webhook secret")?;
                check_https(&w.url, "deliver webhook url")
            }
        }
    }
}

/// Checks the `deliver` list: at least one destination, none twice, each well formed.
pub fn check_destinations(deliver: &[Destination]) -> Result<(), String> {
    if deliver.is_empty() {
        return Err("deliver is empty: name at least one destination, such as [\"email\"]".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for destination in deliver {
        destination.check()?;
        if !seen.insert(destination.name()) {
            return Err(format!(
                "deliver names {} twice: each destination is sent to once",
                destination.name()
            ));
        }
    }
    Ok(())
}

impl ApprovalConfig {
    pub fn check(&self, approvers: &[String]) -> Result<(), String> {
        if let Some(teams) = &self.teams {
            check_secret_name(&teams.url_secret, "approval teams url_secret")?;
        }
        let Some(slack) = &self.slack else {
            return Ok(());
        };
        check_slack_id(&slack.channel, "approval slack channel", "C")?;
        check_secret_name(&slack.token_secret, "approval slack token_secret")?;
        check_secret_name(&slack.signing_secret, "approval slack signing_secret")?;
        check_https(&slack.api_url, "approval slack api_url")?;
        if slack.approvers.is_empty() {
            return Err("approval slack approvers is empty: map each Slack user id who may decide to their address in email.approvers".into());
        }
        for (user, address) in &slack.approvers {
            check_slack_id(user, "approval slack approvers", "U")?;
            if !approvers.iter().any(|a| a.eq_ignore_ascii_case(address)) {
                return Err(format!(
                    "approval slack approvers maps {user} to {address}, who is not in email.approvers: a Slack user decides as one of the report's approvers; add the address there or fix the mapping"
                ));
            }
        }
        Ok(())
    }
}

/// A Slack id: `C…`/`G…`/`D…` for a conversation, `U…`/`W…` for a user; capitals and digits.
/// A name (`#general`) is refused: names change, ids do not.
fn check_slack_id(id: &str, field: &str, example: &str) -> Result<(), String> {
    let well_formed = id.len() >= 9
        && id.len() <= 20
        && id.starts_with(['C', 'G', 'D', 'U', 'W'])
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "{field} is {id:?}, not a Slack id such as {example}0123456789: copy the id from the channel's or member's details in Slack (names change, ids do not)"
        ))
    }
}

fn check_secret_name(name: &str, field: &str) -> Result<(), String> {
    let plain = name.len() > SECRET_PREFIX.len()
        && name.starts_with(SECRET_PREFIX)
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
        && !name.split('/').any(|part| part == ".." || part.is_empty());
    if plain {
        Ok(())
    } else {
        Err(format!(
            "{field} is {name:?}: name a secret under {SECRET_PREFIX} (such as {SECRET_PREFIX}slack-bot), which the stack's roles may read and nothing else"
        ))
    }
}

/// An HTTPS URL; plain HTTP only to this machine (a local stand-in), where nothing crosses a
/// network.
pub fn check_https(url: &str, field: &str) -> Result<(), String> {
    if url.starts_with("https://") && url.len() > "https://".len() {
        return Ok(());
    }
    let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"];
    if loopback.iter().any(|prefix| url.starts_with(prefix)) {
        return Ok(());
    }
    Err(format!(
        "{field} is {url:?}: give an https:// URL (what is posted carries the report's numbers and a signature; plain HTTP would show both to the network)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slack(channel: &str, secret: &str) -> Destination {
        Destination::Slack(SlackDestination {
            channel: channel.into(),
            token_secret: secret.into(),
            api_url: slack_api(),
        })
    }

    #[test]
    fn destinations_read_as_the_docs_write_them() {
        let parsed: Vec<Destination> = serde_json::from_str(
            r#"["email",
                {"slack": {"channel": "C0123456789", "token_secret": "daybook/chat/slack-bot"}},
                {"teams": {"url_secret": "daybook/chat/teams-url"}},
                {"webhook": {"url": "https://hooks.example.com/daybook", "secret": "daybook/chat/hook"}}]"#,
        )
        .unwrap();
        assert_eq!(parsed[0], Destination::Email);
        assert_eq!(parsed[1], slack("C0123456789", "daybook/chat/slack-bot"));
        check_destinations(&parsed).unwrap();
    }

    #[test]
    fn bad_destinations_are_named() {
        let http = Destination::Webhook(WebhookDestination {
            url: "http://hooks.example.com/x".into(),
            secret: "daybook/chat/hook".into(),
        });
        assert!(
            check_destinations(&[http])
                .unwrap_err()
                .contains("https://")
        );
        let by_name = slack("#general", "daybook/chat/slack-bot");
        assert!(
            check_destinations(&[by_name])
                .unwrap_err()
                .contains("not a Slack id")
        );
        let outside = slack("C0123456789", "prod/db-password");
        assert!(
            check_destinations(&[outside])
                .unwrap_err()
                .contains("daybook/")
        );
        let twice = [Destination::Email, Destination::Email];
        assert!(check_destinations(&twice).unwrap_err().contains("twice"));
        assert!(check_destinations(&[]).unwrap_err().contains("empty"));
        // A local stand-in is plain HTTP on this machine.
        check_https("http://127.0.0.1:4000/api", "x").unwrap();
    }

    #[test]
    fn a_slack_approver_is_one_of_the_reports_approvers() {
        let approval = ApprovalConfig {
            slack: Some(SlackApproval {
                channel: "C0123456789".into(),
                token_secret: "daybook/chat/slack-bot".into(),
                signing_secret: "daybook/chat/slack-signing".into(),
                approvers: [("U0AAAAAAAA".to_string(), "eve@example.com".to_string())].into(),
                api_url: slack_api(),
            }),
            teams: None,
            skip: false,
        };
        let error = approval.check(&["ana@example.com".into()]).unwrap_err();
        assert!(error.contains("not in email.approvers"), "{error}");
        approval.check(&["Eve@example.com".into()]).unwrap();
    }
}
