//! The report in Slack, Teams and a signed webhook, against the stand-ins that answer as each
//! service documents (`daybook_local::demo::chat_standin`), and checked again by oracles we
//! did not write: Slack's own Python SDK validates every block posted and computes the
//! request signatures, and the Standard Webhooks Python library verifies the webhook's.

use super::{build_input, section};
use daybook_core::config::{
    ChartSpec, Destination, EmailConfig, SlackDestination, TeamsDestination, WebhookDestination,
};
use daybook_local::FsStore;
use daybook_local::adapters::secrets::FileSecrets;
use daybook_local::demo::chat_standin::{Channel, ChatStandIn};
use daybook_local::warehouse::DataFusionWarehouse;
use daybook_report::build::build_report;
use daybook_report::deliver::webhook;
use daybook_report::send::{Posting, SendInput, send_report};
use serde_json::Value;
use std::path::Path;

pub(crate) const GOOD_TOKEN: &str = "xoxb-1-good";
pub(crate) const CHANNEL: &str = "C0DAYBOOK1";
const OUTSIDE: &str = "C0OUTSIDE2";

pub(crate) fn write_secret(dir: &Path, name: &str, value: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, value).unwrap();
}

fn slack(api: &str, channel: &str) -> Destination {
    Destination::Slack(SlackDestination {
        channel: channel.into(),
        token_secret: "daybook/chat/slack-bot".into(),
        api_url: api.into(),
    })
}

/// A built report with two headline numbers and a line chart (a picture), in `dir`.
pub(crate) async fn built(dir: &Path) -> (FsStore, SendInput) {
    let store = FsStore::new(dir);
    let warehouse = DataFusionWarehouse::new(dir);
    let mut headline = section(
        "Yesterday",
        "SELECT 9823.17 AS revenue, 197 AS orders, 'x' AS note",
    );
    headline.headline = true;
    let mut trend = section(
        "Revenue & <returns>",
        "SELECT * FROM (VALUES ('2026-11-19', 910.5), ('2026-11-20', 1020.25), ('2026-11-21', 987.0)) AS t(day, revenue)",
    );
    trend.chart = Some(ChartSpec {
        kind: daybook_core::config::ChartKind::Line,
        days: Some(7),
        ..ChartSpec::bar("day", "revenue")
    });
    let input = build_input(vec![headline, trend]);
    let job = input.job.clone();
    let artifacts = build_report(&store, &warehouse, &input, chrono::Utc::now())
        .await
        .unwrap();
    let send = SendInput {
        job,
        report: artifacts,
        email: EmailConfig::new("reports@example.com", &["team@example.com"], &[]),
        deliver: vec![],
        approval: None,
    };
    (store, send)
}

/// The stand-ins, with the bot's `token` (valid or revoked) and `CHANNEL`, the bot in it.
pub(crate) async fn standin_with_bot(token: &str, valid: bool) -> ChatStandIn {
    let standin = ChatStandIn::start().await.unwrap();
    standin.with(|s| {
        s.tokens.insert(token.into(), valid);
        s.channels.insert(
            CHANNEL.into(),
            Channel {
                member: true,
                archived: false,
            },
        );
    });
    standin
}

/// The state store and the outbox of a send, below `dir`.
fn sending(
    dir: &Path,
) -> (
    daybook_local::state::FileStateStore,
    daybook_local::outbox::OutboxMailer,
) {
    (
        daybook_local::state::FileStateStore::new(&dir.join("state")),
        daybook_local::outbox::OutboxMailer::new(&dir.join("outbox")),
    )
}

/// Runs Python from the test command's venv (Slack's SDK, the Standard Webhooks library) on
/// `input`; its stdout.
pub(crate) fn python(script: &str, input: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is on PATH: run the README's test command (scripts/test)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every block of every message as Slack's SDK parses and validates it: the list of errors.
pub(crate) fn slack_sdk_errors(blocks: &[Value]) -> Vec<String> {
    let script = r#"
import json, sys
from slack_sdk.models.blocks import Block
errors = []
for message in json.load(sys.stdin):
    for block in message:
        try:
            Block.parse(block).validate_json()
        except Exception as e:
            errors.append(f"{block.get('type')}: {e}")
print(json.dumps(errors))
"#;
    let out = python(script, &Value::Array(blocks.to_vec()).to_string());
    serde_json::from_str(&out).unwrap()
}

#[tokio::test]
async fn each_chat_and_webhook_gets_the_report_once_and_a_refusal_blocks_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let (store, mut input) = built(dir.path()).await;
    let standin = standin_with_bot(GOOD_TOKEN, true).await;
    let (old_key, new_key) = (webhook::new_key(), webhook::new_key());
    standin.with(|s| {
        s.channels.insert(OUTSIDE.into(), Channel::default());
        s.teams_flows.insert("flow-1".into());
        // The receiver has moved to the new key; the sender still holds both while rotating.
        s.webhook_keys = webhook::keys(&new_key, "test").unwrap();
        s.rate_limited = 1;
    });
    let secrets = FileSecrets {
        dir: dir.path().join("secrets"),
    };
    write_secret(&secrets.dir, "daybook/chat/slack-bot", GOOD_TOKEN);
    write_secret(
        &secrets.dir,
        "daybook/chat/teams-url",
        &format!("{}/teams/flow-1", standin.url),
    );
    write_secret(
        &secrets.dir,
        "daybook/chat/hook",
        &format!("{old_key}\n{new_key}\n"),
    );
    input.deliver = vec![
        slack(&standin.slack_api(), CHANNEL),
        slack(&standin.slack_api(), OUTSIDE),
        Destination::Teams(TeamsDestination {
            url_secret: "daybook/chat/teams-url".into(),
        }),
        Destination::Webhook(WebhookDestination {
            url: format!("{}/hook", standin.url),
            secret: "daybook/chat/hook".into(),
        }),
    ];
    let web = daybook_core::web::HyperWeb::new();
    let posting = Posting {
        web: &web,
        secrets: &secrets,
    };
    let (state, mailer) = sending(dir.path());
    let now = chrono::Utc::now();

    // Rate limited: the step fails to be retried, and nothing is in the ledger.
    let limited = send_report(&store, &mailer, &posting, &state, &input, now)
        .await
        .unwrap_err();
    assert_eq!(
        daybook_core::Classify::kind(&limited),
        daybook_core::ErrorKind::Transient
    );
    assert!(
        limited.to_string().contains("429, Retry-After 1 s"),
        "{limited}"
    );

    // The bot is not in one channel: the others get the report, that one is named.
    let refused = send_report(&store, &mailer, &posting, &state, &input, now)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains(&format!("slack:{OUTSIDE}"))
            && refused.contains("not_in_channel")
            && refused.contains("invite it there")
            && refused.contains("3 of 4 other destinations"),
        "{refused}"
    );
    // Invited, the redrive posts there alone.
    standin.with(|s| s.channels.get_mut(OUTSIDE).unwrap().member = true);
    let delivery = send_report(&store, &mailer, &posting, &state, &input, now)
        .await
        .unwrap();
    assert_eq!(delivery.posts.len(), 4);
    assert_eq!(
        delivery.posts.iter().filter(|p| !p.already_sent).count(),
        1,
        "{:?}",
        delivery.posts
    );
    // And once more: nothing goes twice.
    let again = send_report(&store, &mailer, &posting, &state, &input, now)
        .await
        .unwrap();
    assert!(again.already_sent);

    let (messages, calls, cards, hooks) = standin.with(|s| {
        (
            s.messages.clone(),
            s.calls.clone(),
            s.cards.clone(),
            s.webhooks.clone(),
        )
    });
    assert_eq!(
        messages
            .iter()
            .map(|m| m.channel.as_str())
            .collect::<Vec<_>>(),
        [CHANNEL, OUTSIDE]
    );
    // The chart went through the external upload flow, the blocks riding on its message.
    let chart = messages[0].file.as_ref().expect("the chart was uploaded");
    assert!(chart.1.starts_with(b"\x89PNG"), "{}", chart.0);
    assert!(calls.contains(&"files.getUploadURLExternal".to_string()));
    assert_eq!(messages[0].method, "files.completeUploadExternal");
    let text = messages[0].blocks.to_string();
    assert!(
        text.contains("*Revenue*\\n9,823.17\"")
            && text.contains("Daily")
            && !text.contains("moves vs"),
        "{text}"
    );
    let blocks: Vec<Value> = messages.iter().map(|m| m.blocks.clone()).collect();
    assert_eq!(slack_sdk_errors(&blocks), Vec::<String>::new());
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0]["version"], "1.5");
    assert!(cards[0].to_string().contains("Revenue"), "{}", cards[0]);
    // The webhook's document, as its receiver got it, carries the report's hash.
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["type"], webhook::EVENT_TYPE);
    let sha = daybook_report::approval::report_sha256(&store, &input.report)
        .await
        .unwrap();
    assert_eq!(hooks[0]["data"]["report_sha256"], sha);
}

#[test]
fn the_webhook_signature_verifies_with_the_standard_webhooks_library() {
    let post_id = "msg_job-1_daily";
    let body = br#"{"type":"report.delivered","data":{"summary":"Revenue $1 \u25b2 2%"}}"#;
    let (old_key, new_key) = (webhook::new_key(), webhook::new_key());
    let timestamp = chrono::Utc::now().timestamp();
    let both = webhook::keys(&format!("{old_key} {new_key}"), "test").unwrap();
    let header = webhook::signature(&both, post_id, timestamp, body);
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
case = json.load(sys.stdin)
headers = {"webhook-id": case["id"], "webhook-timestamp": str(case["ts"]), "webhook-signature": case["sig"]}
results = []
for secret in case["secrets"]:
    try:
        Webhook(secret).verify(case["body"].encode(), headers)
        results.append("ok")
    except Exception as e:
        results.append(type(e).__name__)
print(json.dumps(results))
"#;
    let case = serde_json::json!({
        "id": post_id, "ts": timestamp, "sig": header,
        "body": String::from_utf8_lossy(body),
        // Each key alone verifies (a receiver on either side of the rotation), a third does not.
        "secrets": [old_key, new_key, webhook::new_key()],
    });
    let results: Vec<String> = serde_json::from_str(&python(script, &case.to_string())).unwrap();
    assert_eq!(results[..2], ["ok", "ok"]);
    assert_ne!(results[2], "ok");
}

#[tokio::test]
async fn a_bad_token_a_missing_secret_and_a_dead_workflow_are_named_and_nothing_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (store, mut input) = built(dir.path()).await;
    let standin = standin_with_bot("xoxb-revoked", false).await;
    let secrets = FileSecrets {
        dir: dir.path().join("secrets"),
    };
    write_secret(&secrets.dir, "daybook/chat/slack-bot", "xoxb-revoked");
    write_secret(
        &secrets.dir,
        "daybook/chat/teams-url",
        &format!("{}/teams/deleted-flow", standin.url),
    );
    input.deliver = vec![
        slack(&standin.slack_api(), CHANNEL),
        Destination::Teams(TeamsDestination {
            url_secret: "daybook/chat/teams-url".into(),
        }),
        Destination::Webhook(WebhookDestination {
            url: format!("{}/hook", standin.url),
            secret: "daybook/chat/missing".into(),
        }),
    ];
    let web = daybook_core::web::HyperWeb::new();
    let posting = Posting {
        web: &web,
        secrets: &secrets,
    };
    let (state, mailer) = sending(dir.path());
    let error = send_report(
        &store,
        &mailer,
        &posting,
        &state,
        &input,
        chrono::Utc::now(),
    )
    .await
    .unwrap_err()
    .to_string();
    for words in [
        "token_revoked",
        "put the app's current Bot User OAuth Token",
        "daybook/chat/slack-bot",
        "404",
        "copy it again from the flow's trigger",
        "reading the secret daybook/chat/missing",
    ] {
        assert!(error.contains(words), "{words}: {error}");
    }
    // The workflow's URL is its credential: it is never shown whole.
    assert!(!error.contains("deleted-flow"), "{error}");
    // Nothing arrived, so nothing is in the ledger: fixed, each goes.
    for destination in &input.deliver {
        let key = daybook_report::send::post_key("job-1", "daily", destination);
        assert_eq!(
            daybook_core::ports::StateStore::get(&state, &key)
                .await
                .unwrap(),
            None
        );
    }
}
