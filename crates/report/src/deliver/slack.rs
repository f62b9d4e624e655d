//! Slack: the report as a Block Kit message (with its chart uploaded through the external
//! upload flow), the approval message with its buttons, and the check of the requests Slack
//! sends when a button is pressed.
//!
//! Slack's rules followed here (Block Kit reference; Web API methods `chat.postMessage`,
//! `files.getUploadURLExternal`, `files.completeUploadExternal`; "Verifying requests from
//! Slack"): a header's text is plain text of at most 150 characters, a section's text at most
//! 3,000 and its fields at most 10 of 2,000 each, a button's text at most 75 and its URL an
//! http(s) one of at most 3,000, at most 50 blocks; `&`, `<` and `>` are escaped in mrkdwn;
//! the upload URL is asked for with a form, not JSON; a Web API answer is HTTP 200 with
//! `"ok": false` and an error code when refused, and 429 with `Retry-After` when rate limited.

use super::{Post, Refusal, refusal_of};
use daybook_core::ports::{Web, WebRequest, WebResponse};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// Where a Slack request comes from: the bot and its channel.
pub struct SlackTarget<'a> {
    pub api_url: &'a str,
    pub token: &'a str,
    pub channel: &'a str,
    /// The secret the token came from, to name in errors.
    pub token_secret: &'a str,
}

/// The action ids of the approval message's buttons.
pub const APPROVE_ACTION: &str = "daybook_approve";
pub const REJECT_ACTION: &str = "daybook_reject";

const HEADER_CHARS: usize = 150;
const SECTION_CHARS: usize = 3000;
const FIELD_CHARS: usize = 2000;

/// Text as mrkdwn shows it literally.
pub fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn cut(text: &str, most: usize) -> String {
    if text.chars().count() <= most {
        return text.to_string();
    }
    let mut kept: String = text.chars().take(most - 1).collect();
    kept.push('…');
    kept
}

fn header(text: &str) -> Value {
    json!({"type": "header", "text": {"type": "plain_text", "text": cut(text, HEADER_CHARS), "emoji": true}})
}

fn section(mrkdwn: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(mrkdwn, SECTION_CHARS)}})
}

fn context(mrkdwn: &str) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(mrkdwn, SECTION_CHARS)}]})
}

/// The blocks every form of the message shares: title, date, summary, numbers, what needs a
/// look.
fn report_body(post: &Post) -> Vec<Value> {
    let mut blocks = vec![
        header(&post.title),
        context(&escaped(&post.byline())),
        section(&format!("*{}*", escaped(&post.summary))),
    ];
    if !post.numbers.is_empty() {
        let fields: Vec<Value> = post
            .numbers
            .iter()
            .map(|n| {
                let flag = match n.unusual {
                    1 => " · _unusually high_",
                    -1 => " · _unusually low_",
                    _ => "",
                };
                let moved = n.moved.as_deref().unwrap_or("");
                let line = format!("{}  {}", escaped(&n.text), escaped(moved));
                json!({"type": "mrkdwn", "text": cut(&format!(
                    "*{}*\n{}{flag}",
                    escaped(&n.label),
                    line.trim_end()
                ), FIELD_CHARS)})
            })
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    if !post.needs_a_look.is_empty() {
        let lines: Vec<String> = post
            .needs_a_look
            .iter()
            .map(|line| format!("• {}", escaped(line)))
            .collect();
        blocks.push(section(&format!(
            ":warning: *Needs a look*\n{}",
            lines.join("\n")
        )));
    }
    blocks
}

/// Link buttons where the links are web addresses; a local file link is shown as text, as
/// Slack takes only http(s) URLs in a button.
fn links(post: &Post) -> Vec<Value> {
    let mut buttons = Vec::new();
    let mut text = Vec::new();
    let mut add = |label: &str, url: &str| {
        if (url.starts_with("https://") || url.starts_with("http://")) && url.len() <= 3000 {
            buttons.push(json!({"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}));
        } else {
            text.push(format!("{label}: {}", escaped(url)));
        }
    };
    add("Full report", &post.report_url);
    if let Some(workbook) = &post.workbook_url {
        add("Workbook", workbook);
    }
    let mut blocks = Vec::new();
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }
    if !text.is_empty() {
        blocks.push(context(&text.join("\n")));
    }
    blocks
}

/// The report's message.
pub fn report_blocks(post: &Post) -> Vec<Value> {
    let mut blocks = report_body(post);
    blocks.extend(links(post));
    blocks
}

/// The approval message: the report in short, its links, and Approve and Reject buttons
/// carrying the approval id.
pub fn approval_blocks(post: &Post, approval_id: &str, deadline: &str) -> Vec<Value> {
    let mut blocks = report_body(post);
    blocks.push(context(&escaped(&format!(
        "Approval asked for the report above (job {}); the run waits until {deadline}.",
        post.job_id
    ))));
    blocks.push(json!({"type": "actions", "block_id": "daybook_decision", "elements": [
        {"type": "button", "action_id": APPROVE_ACTION, "style": "primary", "value": approval_id,
         "text": {"type": "plain_text", "text": "Approve and send"}},
        {"type": "button", "action_id": REJECT_ACTION, "style": "danger", "value": approval_id,
         "text": {"type": "plain_text", "text": "Reject"}}
    ]}));
    blocks.extend(links(post));
    blocks
}

/// The approval message once decided: the buttons give way to who decided and when.
pub fn decided_blocks(post: &Post, decided: &str) -> Vec<Value> {
    let mut blocks = report_body(post);
    blocks.push(section(&format!("*{}*", escaped(decided))));
    blocks.extend(links(post));
    blocks
}

/// Calls a Web API method with a JSON body; its answer when `ok`.
async fn call_json(
    web: &dyn Web,
    target: &SlackTarget<'_>,
    method: &str,
    body: &Value,
) -> Result<Value, Refusal> {
    let request = WebRequest {
        url: format!("{}/{method}", target.api_url.trim_end_matches('/')),
        headers: vec![
            (
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            ),
            ("authorization".into(), format!("Bearer {}", target.token)),
        ],
        body: serde_json::to_vec(body).expect("JSON serialises"),
    };
    answer(target, method, web.post(request).await?)
}

/// Reads a Web API answer: `ok` true, or the error code in words with what to do.
fn answer(target: &SlackTarget<'_>, method: &str, response: WebResponse) -> Result<Value, Refusal> {
    let what = format!("Slack {method} for channel {}", target.channel);
    if response.status != 200 {
        return Err(refusal_of(
            &what,
            &response,
            "check the api_url of the Slack destination",
        ));
    }
    let body: Value = serde_json::from_slice(&response.body).map_err(|e| {
        Refusal::failed(format!(
            "{what}: the answer is not JSON ({e}): {}",
            response.body_text()
        ))
    })?;
    if body["ok"] == json!(true) {
        return Ok(body);
    }
    let code = body["error"].as_str().unwrap_or("no error code");
    let fix = match code {
        "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive" => {
            format!(
                "the bot token in secret {} is refused: put the app's current Bot User OAuth Token (xoxb-…) in it",
                target.token_secret
            )
        }
        "not_in_channel" => format!(
            "the bot is not a member of channel {}: invite it there (/invite @your-app) and redrive",
            target.channel
        ),
        "channel_not_found" => format!(
            "channel {} does not exist or the bot cannot see it: check the id in the config",
            target.channel
        ),
        "is_archived" => format!(
            "channel {} is archived: unarchive it or name another channel",
            target.channel
        ),
        "missing_scope" => format!(
            "the app lacks the scope {}: add it under OAuth & Permissions, reinstall the app and put the new token in {}",
            body["needed"].as_str().unwrap_or("it needs"),
            target.token_secret
        ),
        "ratelimited" => {
            return Err(Refusal::transient(format!(
                "{what}: rate limited; the step is tried again"
            )));
        }
        "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
            return Err(Refusal::transient(format!(
                "{what}: Slack answered {code}; the step is tried again"
            )));
        }
        _ => "see Slack's documentation of the method for this error".to_string(),
    };
    Err(Refusal::failed(format!("{what}: {code}: {fix}")))
}

/// Posts the report: with its chart, through the upload flow, the blocks riding on the file's
/// message; without one, as a message. Returns the message's or the file's id.
pub async fn post_report(
    web: &dyn Web,
    target: &SlackTarget<'_>,
    post: &Post,
) -> Result<String, Refusal> {
    let blocks = report_blocks(post);
    let Some(chart) = &post.chart else {
        let answer = call_json(
            web,
            target,
            "chat.postMessage",
            &json!({"channel": target.channel, "text": post.headline(), "blocks": blocks}),
        )
        .await?;
        return Ok(answer["ts"].as_str().unwrap_or_default().to_string());
    };
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("filename", &chart.name)
        .append_pair("length", &chart.png.len().to_string())
        .append_pair("alt_txt", &cut(&chart.alt, 1000))
        .finish();
    let ticket = answer(
        target,
        "files.getUploadURLExternal",
        web.post(WebRequest {
            url: format!(
                "{}/files.getUploadURLExternal",
                target.api_url.trim_end_matches('/')
            ),
            headers: vec![
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("authorization".into(), format!("Bearer {}", target.token)),
            ],
            body: form.into_bytes(),
        })
        .await?,
    )?;
    let (Some(upload_url), Some(file_id)) =
        (ticket["upload_url"].as_str(), ticket["file_id"].as_str())
    else {
        return Err(Refusal::failed(format!(
            "Slack files.getUploadURLExternal answered without an upload_url and file_id: {ticket}"
        )));
    };
    let uploaded = web
        .post(WebRequest {
            url: upload_url.to_string(),
            headers: vec![("content-type".into(), "image/png".into())],
            body: chart.png.clone(),
        })
        .await?;
    if uploaded.status != 200 {
        return Err(refusal_of(
            &format!("uploading the chart {} to Slack", chart.name),
            &uploaded,
            "the upload URL may have expired; redrive to ask for a new one",
        ));
    }
    call_json(
        web,
        target,
        "files.completeUploadExternal",
        &json!({
            "files": [{"id": file_id, "title": chart.alt.chars().take(250).collect::<String>()}],
            "channel_id": target.channel,
            "blocks": blocks,
        }),
    )
    .await?;
    Ok(file_id.to_string())
}

/// Posts the approval message; returns its `ts`.
pub async fn post_approval(
    web: &dyn Web,
    target: &SlackTarget<'_>,
    post: &Post,
    approval_id: &str,
    deadline: &str,
) -> Result<String, Refusal> {
    let answer = call_json(
        web,
        target,
        "chat.postMessage",
        &json!({
            "channel": target.channel,
            "text": format!("Approval asked: {}", post.headline()),
            "blocks": approval_blocks(post, approval_id, deadline),
        }),
    )
    .await?;
    Ok(answer["ts"].as_str().unwrap_or_default().to_string())
}

/// Answers an interaction through its `response_url`: `replace` rewrites the message in place;
/// otherwise the text goes to the one who pressed, and no one else sees it.
pub async fn respond(
    web: &dyn Web,
    response_url: &str,
    text: &str,
    replace_with: Option<Vec<Value>>,
) -> Result<(), Refusal> {
    let body = match replace_with {
        Some(blocks) => json!({"replace_original": true, "text": text, "blocks": blocks}),
        None => json!({"response_type": "ephemeral", "replace_original": false, "text": text}),
    };
    let response = web
        .post(WebRequest {
            url: response_url.to_string(),
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: serde_json::to_vec(&body).expect("JSON serialises"),
        })
        .await?;
    if response.status == 200 {
        Ok(())
    } else {
        Err(refusal_of(
            "answering the Slack button press",
            &response,
            "a response_url takes five answers within 30 minutes",
        ))
    }
}

/// How old a signed request may be: Slack's advice, against replays.
pub const REPLAY_WINDOW_SECONDS: i64 = 300;

/// Checks a request's `X-Slack-Signature` (`v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`
/// with the app's signing secret) and that `X-Slack-Request-Timestamp` is within five minutes.
pub fn verify_signature(
    signing_secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), String> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(
            "the request has no Slack signature headers: it did not come from Slack".into(),
        );
    };
    let sent: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| format!("the request's timestamp {timestamp:?} is not a number"))?;
    if (now.timestamp() - sent).abs() > REPLAY_WINDOW_SECONDS {
        return Err(format!(
            "the request was signed at {sent}, more than {REPLAY_WINDOW_SECONDS} s from now ({}): an old request replayed, or a clock far off; nothing was decided",
            now.timestamp()
        ));
    }
    let Some(hex) = signature.strip_prefix("v0=") else {
        return Err("the request's signature is not a v0 signature".into());
    };
    let Some(given) = decode_hex(hex) else {
        return Err("the request's signature is not hexadecimal".into());
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(signing_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("v0:{sent}:").as_bytes());
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| "the request's Slack signature does not match: it was not signed with this app's signing secret, or it was changed on the way; nothing was decided".to_string())
}

/// The signature Slack would send for `body` at `timestamp` (for stand-ins and tests).
pub fn signature(signing_secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(signing_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!(
        "v0={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

/// A button press as the approval API takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ButtonPress {
    pub user_id: String,
    pub approve: bool,
    pub approval_id: String,
    pub response_url: String,
}

/// Reads an interaction request's form body (`payload=<JSON>`): a press of one of the
/// approval message's buttons, or why it is not one.
pub fn button_press(body: &[u8]) -> Result<ButtonPress, String> {
    let payload = form_urlencoded::parse(body)
        .find(|(name, _)| name == "payload")
        .map(|(_, value)| value.into_owned())
        .ok_or("the request has no payload field")?;
    let payload: Value =
        serde_json::from_str(&payload).map_err(|e| format!("the payload is not JSON: {e}"))?;
    if payload["type"] != "block_actions" {
        return Err(format!(
            "the interaction is {}, not a button press",
            payload["type"]
        ));
    }
    let action = &payload["actions"][0];
    let approve = match action["action_id"].as_str() {
        Some(APPROVE_ACTION) => true,
        Some(REJECT_ACTION) => false,
        other => return Err(format!("the action {other:?} is not daybook's")),
    };
    let field = |value: &Value, name: &str| {
        value
            .as_str()
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or(format!("the payload has no {name}"))
    };
    Ok(ButtonPress {
        user_id: field(&payload["user"]["id"], "user id")?,
        approve,
        approval_id: field(&action["value"], "approval id")?,
        response_url: field(&payload["response_url"], "response_url")?,
    })
}
