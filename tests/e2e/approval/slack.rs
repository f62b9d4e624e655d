//! Approval from Slack, through `daybook serve`'s interaction route: the request posted with
//! its buttons, and presses signed as Slack signs them (computed by Slack's own Python SDK):
//! a forged or old signature, a user who is no approver and a replay decide nothing; of two
//! presses at once, one decides and the other is told so; the message is updated in place.

use crate::report::chat::{
    CHANNEL, GOOD_TOKEN, built, python, slack_sdk_errors, standin_with_bot, write_secret,
};
use daybook_core::config::{ApprovalConfig, SlackApproval};
use daybook_core::ports::{Web, WebRequest};
use daybook_report::approval::{ApprovalRequest, Approvals, SLACK_ROUTE, request_approval};
use serde_json::{Value, json};

const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const ANA: &str = "U0ANA00001";

/// A `block_actions` payload as Slack sends it for a press of `action` by `user`.
fn press_body(user: &str, action: &str, approval_id: &str, response_url: &str) -> String {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "name": "someone", "team_id": "T0000001"},
        "api_app_id": "A0000001",
        "team": {"id": "T0000001", "domain": "example"},
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": CHANNEL},
        "channel": {"id": CHANNEL, "name": "reports"},
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": action, "block_id": "daybook_decision",
                     "value": approval_id, "action_ts": "1700000100.000200"}]
    });
    form_body(&payload)
}

fn form_body(payload: &Value) -> String {
    let script = r#"
import sys, urllib.parse
print(urllib.parse.urlencode({"payload": sys.stdin.read()}), end="")
"#;
    python(script, &payload.to_string())
}

/// Slack's signature of `body` at `timestamp` with `secret`, by Slack's SDK.
fn slack_signature(secret: &str, timestamp: i64, body: &str) -> String {
    let script = r#"
import json, sys
from slack_sdk.signature import SignatureVerifier
case = json.load(sys.stdin)
print(SignatureVerifier(case["secret"]).generate_signature(timestamp=str(case["ts"]), body=case["body"]), end="")
"#;
    python(
        script,
        &json!({"secret": secret, "ts": timestamp, "body": body}).to_string(),
    )
}

async fn press(
    web: &dyn Web,
    url: &str,
    body: &str,
    timestamp: i64,
    signature: &str,
) -> (u16, String) {
    let answer = web
        .post(WebRequest {
            url: format!("{url}{SLACK_ROUTE}"),
            headers: vec![
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("x-slack-request-timestamp".into(), timestamp.to_string()),
                ("x-slack-signature".into(), signature.into()),
            ],
            body: body.as_bytes().to_vec(),
        })
        .await
        .unwrap();
    (
        answer.status,
        String::from_utf8_lossy(&answer.body).into_owned(),
    )
}

#[tokio::test]
async fn a_slack_press_decides_once_for_an_approver_and_nothing_for_anyone_else() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (store, send) = built(root).await;
    let standin = standin_with_bot(GOOD_TOKEN, true).await;
    let secrets_dir = daybook_local::paths::LocalPaths::new(root).secrets();
    write_secret(&secrets_dir, "daybook/chat/slack-bot", GOOD_TOKEN);
    write_secret(&secrets_dir, "daybook/chat/slack-signing", SIGNING_SECRET);
    write_secret(
        &secrets_dir,
        "daybook/chat/teams-approvals",
        &format!("{}/teams/approvals", standin.url),
    );
    standin.with(|s| s.teams_flows.insert("approvals".into()));
    let mut email = send.email.clone();
    email.approvers = vec!["ana@example.com".into()];
    let approval = ApprovalConfig {
        slack: Some(SlackApproval {
            channel: CHANNEL.into(),
            token_secret: "daybook/chat/slack-bot".into(),
            signing_secret: "daybook/chat/slack-signing".into(),
            approvers: [(ANA.to_string(), "ana@example.com".to_string())].into(),
            api_url: standin.slack_api(),
        }),
        teams: Some(daybook_core::config::TeamsDestination {
            url_secret: "daybook/chat/teams-approvals".into(),
        }),
        skip: false,
    };
    approval.check(&email.approvers).unwrap();
    let paths = daybook_local::paths::LocalPaths::new(root);
    let state = daybook_local::state::FileStateStore::new(&paths.state());
    let callbacks = daybook_local::callbacks::FileCallbacks::new(&paths.callbacks());
    callbacks.issue_token("token-1").unwrap();
    let web = daybook_core::web::HyperWeb::new();
    let secrets = daybook_local::adapters::secrets::FileSecrets { dir: secrets_dir };
    let posting = daybook_report::deliver::Posting {
        web: &web,
        secrets: &secrets,
    };
    let links = daybook_local::approval_site::local_links(root).unwrap();
    let approvals = Approvals {
        store: &store,
        mailer: &daybook_local::outbox::OutboxMailer::new(&paths.outbox()),
        state: &state,
        callbacks: &callbacks,
        links: &links,
        posting: Some(&posting),
    };
    let request = ApprovalRequest {
        token: "token-1".into(),
        job: send.job.clone(),
        report: send.report.clone(),
        email,
        approval,
    };
    let now = chrono::Utc::now();
    let requested = request_approval(&approvals, &request, now).await.unwrap();
    // Asked twice (a retry): one message.
    request_approval(&approvals, &request, now).await.unwrap();
    let messages = standin.with(|s| s.messages.clone());
    assert_eq!(messages.len(), 1);
    let buttons = messages[0].blocks.to_string();
    assert!(
        buttons.contains("daybook_approve") && buttons.contains(&requested.approval_id),
        "{buttons}"
    );
    assert_eq!(
        slack_sdk_errors(&[messages[0].blocks.clone()]),
        Vec::<String>::new()
    );
    // Teams gets the approval as a card whose button opens the approver's page (GET shows,
    // only the page's form decides), once.
    let cards = standin.with(|s| s.cards.clone());
    assert_eq!(cards.len(), 1);
    let decide = cards[0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Decide as ana@example.com")
        .expect("a button for the approver");
    assert!(
        decide["url"].as_str().unwrap().contains("/approvals/"),
        "{decide}"
    );

    let serving = super::Serving::start(root).await;
    let url = serving.url.clone();
    let respond = format!("{}/respond/1", standin.url);
    let id = &requested.approval_id;
    let approve = press_body(ANA, "daybook_approve", id, &respond);
    let reject = press_body(ANA, "daybook_reject", id, &respond);
    let t = chrono::Utc::now().timestamp();

    // Signed with another secret: refused, nothing decided.
    let (status, text) = press(
        &web,
        &url,
        &approve,
        t,
        &slack_signature("not-the-secret", t, &approve),
    )
    .await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("does not match"), "{text}");
    // Signed six minutes ago: a replay window passed.
    let old = t - 360;
    let (status, text) = press(
        &web,
        &url,
        &approve,
        old,
        &slack_signature(SIGNING_SECRET, old, &approve),
    )
    .await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("more than 300 s"), "{text}");
    // A Slack user who is not an approver: told so, nothing decided.
    let stranger = press_body("U0STRANGER", "daybook_approve", id, &respond);
    let (status, text) = press(
        &web,
        &url,
        &stranger,
        t,
        &slack_signature(SIGNING_SECRET, t, &stranger),
    )
    .await;
    assert_eq!(status, 200);
    assert!(text.contains("not an approver"), "{text}");
    assert!(!callbacks.answered("token-1"));

    // Two presses at once, approve and reject: one decides, the other is told it was late.
    let (approve_signature, reject_signature) = (
        slack_signature(SIGNING_SECRET, t, &approve),
        slack_signature(SIGNING_SECRET, t + 1, &reject),
    );
    let (first, second) = tokio::join!(
        press(&web, &url, &approve, t, &approve_signature),
        press(&web, &url, &reject, t + 1, &reject_signature),
    );
    assert_eq!((first.0, second.0), (200, 200));
    assert!(callbacks.answered("token-1"));
    let told: Vec<String> = [&first.1, &second.1]
        .iter()
        .filter(|t| !t.is_empty())
        .map(|t| t.to_string())
        .collect();
    assert_eq!(told.len(), 1, "one press decided: {first:?} {second:?}");
    assert!(
        told[0].contains("Nothing was decided") && told[0].contains("by ana@example.com"),
        "{told:?}"
    );
    // The same signed request again decides nothing.
    let (_, replayed) = press(&web, &url, &approve, t, &approve_signature).await;
    assert!(replayed.contains("already received"), "{replayed}");

    // The message was rewritten in place with who decided; the others were told alone.
    let responses = standin.with(|s| s.responses.clone());
    let replaced: Vec<&Value> = responses
        .iter()
        .filter(|r| r["replace_original"] == true)
        .collect();
    assert_eq!(replaced.len(), 1, "{responses:?}");
    let decided = replaced[0]["text"].as_str().unwrap();
    assert!(
        decided.contains("by ana@example.com") && decided.contains(ANA),
        "{decided}"
    );
    assert!(
        !replaced[0]["blocks"]
            .to_string()
            .contains("daybook_approve")
    );
    assert_eq!(
        responses
            .iter()
            .filter(|r| r["response_type"] == "ephemeral")
            .count(),
        3,
        "the stranger, the late press, the replay: {responses:?}"
    );
    let answer = daybook_report::approval::answer_of(&state, id)
        .await
        .unwrap()
        .unwrap();
    let daybook_report::approval::Answer::Decided(decision) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(decision.by, "ana@example.com");
    assert_eq!(decision.via, "Slack");
    assert_eq!(
        decision.report_sha256.as_deref(),
        Some(
            daybook_report::approval::report_sha256(&store, &send.report)
                .await
                .unwrap()
                .as_str()
        )
    );
    serving.stop().await;
}

#[test]
fn our_slack_signature_is_slacks() {
    let body = "payload=%7B%22type%22%3A%22block_actions%22%7D";
    for t in [1_531_420_618, chrono::Utc::now().timestamp()] {
        assert_eq!(
            daybook_report::deliver::slack::signature(SIGNING_SECRET, t, body.as_bytes()),
            slack_signature(SIGNING_SECRET, t, body)
        );
    }
}
