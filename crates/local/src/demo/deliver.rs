//! `daybook demo --deliver slack,teams,webhook`: the report also goes to the chat stand-ins on
//! this machine, through the same send step and the same config a deployment uses, and what
//! each received is saved under `deliveries/` to look at.

use super::chat_standin::{Channel, ChatStandIn};
use crate::adapters::paths::LocalPaths;
use crate::services::runs::RunError;
use daybook_core::config::{
    Destination, PipelineConfig, SlackDestination, TeamsDestination, WebhookDestination,
};
use daybook_core::steps::start::DEFAULT_CONFIG_KEY;
use std::path::{Path, PathBuf};

/// A destination the demo can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoChat {
    Slack,
    Teams,
    Webhook,
}

impl std::str::FromStr for DemoChat {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "slack" => Ok(DemoChat::Slack),
            "teams" => Ok(DemoChat::Teams),
            "webhook" => Ok(DemoChat::Webhook),
            other => Err(format!(
                "{other:?} is no demo destination: give slack, teams or webhook"
            )),
        }
    }
}

/// The demo's Slack channel and bot token (the stand-in's, not a workspace's).
pub const DEMO_CHANNEL: &str = "C0DAYBOOK1";
const DEMO_TOKEN: &str = "xoxb-daybook-demo";

/// The stand-ins the run posts to, while it runs.
pub struct ChatDemo {
    standin: ChatStandIn,
    root: PathBuf,
}

fn setup_error(path: &Path, e: impl std::fmt::Display) -> RunError {
    RunError::Setup {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Starts the stand-ins, writes the secrets they need below the root, and points the config's
/// `deliver` at them (email stays first).
pub async fn set_up(root: &Path, chats: &[DemoChat]) -> Result<ChatDemo, RunError> {
    let standin = ChatStandIn::start()
        .await
        .map_err(|e| setup_error(root, format!("starting the chat stand-in: {e}")))?;
    let key = daybook_report::deliver::webhook::new_key();
    standin.with(|s| {
        s.tokens.insert(DEMO_TOKEN.into(), true);
        s.channels.insert(
            DEMO_CHANNEL.into(),
            Channel {
                member: true,
                archived: false,
            },
        );
        s.teams_flows.insert("daily".into());
        s.webhook_keys = daybook_report::deliver::webhook::keys(&key, "demo").unwrap_or_default();
    });
    let secrets = LocalPaths::new(root).secrets();
    let write = |name: &str, value: &str| {
        let path = secrets.join(name);
        std::fs::create_dir_all(path.parent().expect("a secret has a folder"))
            .and_then(|()| std::fs::write(&path, value))
            .map_err(|e| setup_error(&path, e))
    };
    let mut deliver = vec![Destination::Email];
    for chat in chats {
        match chat {
            DemoChat::Slack => {
                write("daybook/chat/slack-bot", DEMO_TOKEN)?;
                deliver.push(Destination::Slack(SlackDestination {
                    channel: DEMO_CHANNEL.into(),
                    token_secret: "daybook/chat/slack-bot".into(),
                    api_url: standin.slack_api(),
                }));
            }
            DemoChat::Teams => {
                write(
                    "daybook/chat/teams-url",
                    &format!("{}/teams/daily", standin.url),
                )?;
                deliver.push(Destination::Teams(TeamsDestination {
                    url_secret: "daybook/chat/teams-url".into(),
                }));
            }
            DemoChat::Webhook => {
                write("daybook/chat/webhook-key", &key)?;
                deliver.push(Destination::Webhook(WebhookDestination {
                    url: format!("{}/hook", standin.url),
                    secret: "daybook/chat/webhook-key".into(),
                }));
            }
        }
    }
    let config_path = root.join(DEFAULT_CONFIG_KEY);
    let mut config: PipelineConfig = match std::fs::read_to_string(&config_path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| setup_error(&config_path, e))?,
        Err(_) => super::demo_config(),
    };
    config.deliver = deliver;
    std::fs::create_dir_all(config_path.parent().expect("config has a folder"))
        .and_then(|()| {
            std::fs::write(
                &config_path,
                serde_json::to_string_pretty(&config).expect("config serialises"),
            )
        })
        .map_err(|e| setup_error(&config_path, e))?;
    Ok(ChatDemo {
        standin,
        root: root.to_path_buf(),
    })
}

impl ChatDemo {
    /// Saves what each stand-in received under `deliveries/`: the Slack message's blocks (and
    /// its chart), the Teams card, the webhook's document. Returns the files written.
    pub fn save(&self) -> Result<Vec<PathBuf>, RunError> {
        let folder = self.root.join("deliveries");
        std::fs::create_dir_all(&folder).map_err(|e| setup_error(&folder, e))?;
        let (messages, cards, hooks) = self
            .standin
            .with(|s| (s.messages.clone(), s.cards.clone(), s.webhooks.clone()));
        let mut written = Vec::new();
        let mut put = |name: &str, bytes: Vec<u8>| {
            let path = folder.join(name);
            std::fs::write(&path, bytes).map_err(|e| setup_error(&path, e))?;
            written.push(path);
            Ok::<(), RunError>(())
        };
        let pretty =
            |value: &serde_json::Value| serde_json::to_vec_pretty(value).expect("JSON serialises");
        if let Some(message) = messages.last() {
            put(
                "slack-message.json",
                pretty(
                    &serde_json::json!({ "channel": message.channel, "blocks": message.blocks }),
                ),
            )?;
            if let Some((_, png)) = &message.file {
                put("slack-chart.png", png.clone())?;
            }
        }
        if let Some(card) = cards.last() {
            put("teams-card.json", pretty(card))?;
        }
        if let Some(document) = hooks.last() {
            put("webhook.json", pretty(document))?;
        }
        Ok(written)
    }
}
