//! Slack's Web API, a Teams Workflows webhook and a webhook receiver, on this machine: what
//! `daybook demo --deliver …` posts to, and what the tests post to. Each answers as its
//! service documents, refusals included, and is never kinder:
//! - Slack (Web API methods `chat.postMessage`, `files.getUploadURLExternal`,
//!   `files.completeUploadExternal`; Block Kit reference): a bearer token it knows and has not
//!   revoked (`invalid_auth`, `token_revoked`), a channel that exists (`channel_not_found`),
//!   is not archived (`is_archived`) and has the bot (`not_in_channel`), blocks within Block
//!   Kit's limits (`invalid_blocks`), the upload URL asked for with a form (`invalid_arguments`
//!   for JSON), the uploaded bytes as long as declared, and `429` with `Retry-After` while rate
//!   limited;
//! - Teams: a message whose one attachment is an Adaptive Card of version 1.5 or lower, with
//!   `TextBlock`s that have text and `Action.OpenUrl`s that have a URL (400 otherwise), 202 when
//!   taken, 404 for a flow it does not know;
//! - a webhook receiver that checks the Standard Webhooks signature against its keys and the
//!   timestamp against a five-minute window (401 otherwise).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// What the stand-in knows and what it was sent.
#[derive(Debug, Default)]
pub struct Recorded {
    /// Bot tokens, each valid (true) or revoked (false).
    pub tokens: BTreeMap<String, bool>,
    pub channels: BTreeMap<String, Channel>,
    /// How many Web API calls to come answer 429.
    pub rate_limited: u32,
    /// Every Web API call, by method name, in order (refused ones too).
    pub calls: Vec<String>,
    /// Messages that arrived in a channel: `chat.postMessage`'s and a completed upload's.
    pub messages: Vec<SlackMessage>,
    uploads: BTreeMap<String, Upload>,
    /// Answers posted to a `response_url`.
    pub responses: Vec<Value>,
    pub teams_flows: BTreeSet<String>,
    /// Cards a Teams flow took.
    pub cards: Vec<Value>,
    /// The webhook receiver's keys (the bytes after `whsec_`, decoded).
    pub webhook_keys: Vec<Vec<u8>>,
    /// Webhook documents whose signature held.
    pub webhooks: Vec<Value>,
}

#[derive(Debug, Clone, Default)]
pub struct Channel {
    pub member: bool,
    pub archived: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SlackMessage {
    pub method: String,
    pub channel: String,
    pub text: Option<String>,
    pub blocks: Value,
    /// The uploaded file's name and bytes, for an upload.
    pub file: Option<(String, Vec<u8>)>,
}

#[derive(Debug, Clone)]
struct Upload {
    filename: String,
    length: usize,
    bytes: Option<Vec<u8>>,
}

/// The running stand-in; stops when dropped.
pub struct ChatStandIn {
    pub url: String,
    pub recorded: Arc<Mutex<Recorded>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ChatStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared {
    recorded: Arc<Mutex<Recorded>>,
    url: String,
}

impl ChatStandIn {
    /// Starts on a port of its own on 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let shared = Arc::new(Shared {
            recorded: recorded.clone(),
            url: url.clone(),
        });
        let app = axum::Router::new()
            .route("/api/{method}", axum::routing::post(slack_method))
            .route("/upload/{file}", axum::routing::post(upload))
            .route("/respond/{id}", axum::routing::post(respond))
            .route("/teams/{flow}", axum::routing::post(teams))
            .route("/hook", axum::routing::post(hook))
            .with_state(shared);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            url,
            recorded,
            task,
        })
    }

    /// Slack's Web API base URL here.
    pub fn slack_api(&self) -> String {
        format!("{}/api", self.url)
    }

    pub fn with<T>(&self, change: impl FnOnce(&mut Recorded) -> T) -> T {
        change(&mut self.recorded.lock().expect("stand-in lock"))
    }
}

/// Slack's Web API answers JSON, refusals included.
fn json_body(body: Value) -> Response {
    (
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn slack_error(error: &str, extra: Value) -> Response {
    let mut body = json!({"ok": false, "error": error});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    json_body(body).into_response()
}

async fn slack_method(
    State(shared): State<Arc<Shared>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut recorded = shared.recorded.lock().expect("stand-in lock");
    recorded.calls.push(method.clone());
    if recorded.rate_limited > 0 {
        recorded.rate_limited -= 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            json_body(json!({"ok": false, "error": "ratelimited"})),
        )
            .into_response();
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match recorded.tokens.get(token) {
        None if token.is_empty() => return slack_error("not_authed", json!({})),
        None => return slack_error("invalid_auth", json!({})),
        Some(false) => return slack_error("token_revoked", json!({})),
        Some(true) => {}
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match method.as_str() {
        "chat.postMessage" | "files.completeUploadExternal" => {
            if !content_type.starts_with("application/json") {
                return slack_error("invalid_arguments", json!({}));
            }
            let Ok(args) = serde_json::from_slice::<Value>(&body) else {
                return slack_error("invalid_json", json!({}));
            };
            let channel = args["channel"]
                .as_str()
                .or(args["channel_id"].as_str())
                .unwrap_or_default()
                .to_string();
            if let Err(error) = check_channel(&recorded, &channel) {
                return slack_error(error, json!({}));
            }
            let blocks = args["blocks"].clone();
            if !blocks.is_null()
                && let Err(errors) = check_blocks(&blocks)
            {
                return slack_error("invalid_blocks", json!({"errors": errors}));
            }
            if method == "chat.postMessage" {
                if blocks.is_null() && args["text"].as_str().is_none_or(str::is_empty) {
                    return slack_error("no_text", json!({}));
                }
                let ts = format!("1700000000.{:06}", recorded.messages.len() + 1);
                recorded.messages.push(SlackMessage {
                    method,
                    channel: channel.clone(),
                    text: args["text"].as_str().map(str::to_string),
                    blocks,
                    file: None,
                });
                return json_body(json!({"ok": true, "channel": channel, "ts": ts}))
                    .into_response();
            }
            let Some(files) = args["files"].as_array().filter(|f| f.len() == 1) else {
                return slack_error("invalid_arguments", json!({}));
            };
            let id = files[0]["id"].as_str().unwrap_or_default();
            let Some(upload) = recorded.uploads.remove(id) else {
                return slack_error("file_not_found", json!({}));
            };
            let Some(bytes) = upload.bytes.filter(|b| b.len() == upload.length) else {
                return slack_error("file_upload_size_mismatch", json!({}));
            };
            recorded.messages.push(SlackMessage {
                method,
                channel,
                text: None,
                blocks,
                file: Some((upload.filename, bytes)),
            });
            json_body(json!({"ok": true, "files": [{"id": id, "title": files[0]["title"]}]}))
                .into_response()
        }
        "files.getUploadURLExternal" => {
            if !content_type.starts_with("application/x-www-form-urlencoded") {
                return slack_error("invalid_arguments", json!({}));
            }
            let form: BTreeMap<String, String> = form_urlencoded::parse(&body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let (Some(filename), Some(length)) = (
                form.get("filename").filter(|f| !f.is_empty()),
                form.get("length").and_then(|l| l.parse::<usize>().ok()),
            ) else {
                return slack_error("invalid_arguments", json!({}));
            };
            if length == 0 {
                return slack_error("invalid_arguments", json!({}));
            }
            let id = format!(
                "F{:010}",
                recorded.uploads.len() + recorded.messages.len() + 1
            );
            recorded.uploads.insert(
                id.clone(),
                Upload {
                    filename: filename.clone(),
                    length,
                    bytes: None,
                },
            );
            json_body(json!({"ok": true, "file_id": id, "upload_url": format!("{}/upload/{id}", shared.url)}))
                .into_response()
        }
        _ => slack_error("unknown_method", json!({})),
    }
}

fn check_channel(recorded: &Recorded, channel: &str) -> Result<(), &'static str> {
    match recorded.channels.get(channel) {
        None => Err("channel_not_found"),
        Some(c) if c.archived => Err("is_archived"),
        Some(c) if !c.member => Err("not_in_channel"),
        Some(_) => Ok(()),
    }
}

/// Block Kit's limits, as its reference gives them, for the blocks daybook sends.
pub fn check_blocks(blocks: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let Some(list) = blocks.as_array() else {
        return Err(vec!["blocks is not an array".into()]);
    };
    if list.len() > 50 {
        errors.push(format!("{} blocks, more than 50", list.len()));
    }
    let text_within =
        |errors: &mut Vec<String>, at: &str, text: &Value, kind: Option<&str>, most: usize| match (
            text["type"].as_str(),
            text["text"].as_str(),
        ) {
            (Some(t), Some(s)) if ["plain_text", "mrkdwn"].contains(&t) => {
                if kind.is_some_and(|k| k != t) {
                    errors.push(format!("{at} must be {}", kind.unwrap_or_default()));
                }
                if s.is_empty() || s.chars().count() > most {
                    errors.push(format!("{at} must be 1 to {most} characters"));
                }
            }
            _ => errors.push(format!("{at} is not a text object")),
        };
    let mut action_ids = BTreeSet::new();
    for (n, block) in list.iter().enumerate() {
        let at = format!("blocks[{n}]");
        match block["type"].as_str().unwrap_or_default() {
            "header" => text_within(
                &mut errors,
                &format!("{at}.text"),
                &block["text"],
                Some("plain_text"),
                150,
            ),
            "divider" => {}
            "section" => {
                if block["text"].is_null() && block["fields"].is_null() {
                    errors.push(format!("{at} needs text or fields"));
                }
                if !block["text"].is_null() {
                    text_within(
                        &mut errors,
                        &format!("{at}.text"),
                        &block["text"],
                        None,
                        3000,
                    );
                }
                if let Some(fields) = block["fields"].as_array() {
                    if fields.is_empty() || fields.len() > 10 {
                        errors.push(format!("{at}.fields must hold 1 to 10"));
                    }
                    for (f, field) in fields.iter().enumerate() {
                        text_within(&mut errors, &format!("{at}.fields[{f}]"), field, None, 2000);
                    }
                }
            }
            "context" => match block["elements"].as_array() {
                Some(elements) if !elements.is_empty() && elements.len() <= 10 => {
                    for (e, element) in elements.iter().enumerate() {
                        text_within(
                            &mut errors,
                            &format!("{at}.elements[{e}]"),
                            element,
                            None,
                            3000,
                        );
                    }
                }
                _ => errors.push(format!("{at}.elements must hold 1 to 10")),
            },
            "actions" => match block["elements"].as_array() {
                Some(elements) if !elements.is_empty() && elements.len() <= 25 => {
                    for (e, button) in elements.iter().enumerate() {
                        let at = format!("{at}.elements[{e}]");
                        if button["type"] != "button" {
                            errors.push(format!("{at} is not a button"));
                            continue;
                        }
                        text_within(
                            &mut errors,
                            &format!("{at}.text"),
                            &button["text"],
                            Some("plain_text"),
                            75,
                        );
                        if let Some(url) = button["url"].as_str()
                            && (!(url.starts_with("http://") || url.starts_with("https://"))
                                || url.len() > 3000)
                        {
                            errors.push(format!(
                                "{at}.url must be an http(s) URL of at most 3000 characters"
                            ));
                        }
                        if let Some(id) = button["action_id"].as_str()
                            && (id.len() > 255 || !action_ids.insert(id.to_string()))
                        {
                            errors.push(format!(
                                "{at}.action_id must be unique and at most 255 characters"
                            ));
                        }
                        if button["value"].as_str().is_some_and(|v| v.len() > 2000) {
                            errors.push(format!("{at}.value is over 2000 characters"));
                        }
                        if let Some(style) = button["style"].as_str()
                            && !["primary", "danger"].contains(&style)
                        {
                            errors.push(format!("{at}.style must be primary or danger"));
                        }
                    }
                }
                _ => errors.push(format!("{at}.elements must hold 1 to 25")),
            },
            other => errors.push(format!("{at} has the unknown type {other:?}")),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

async fn upload(
    State(shared): State<Arc<Shared>>,
    Path(file): Path<String>,
    body: Bytes,
) -> Response {
    let mut recorded = shared.recorded.lock().expect("stand-in lock");
    match recorded.uploads.get_mut(&file) {
        Some(upload) if upload.length == body.len() => {
            upload.bytes = Some(body.to_vec());
            (StatusCode::OK, format!("OK - {}", body.len())).into_response()
        }
        Some(upload) => (
            StatusCode::BAD_REQUEST,
            format!("length {} declared, {} sent", upload.length, body.len()),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn respond(
    State(shared): State<Arc<Shared>>,
    Path(_id): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(answer) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    if let Some(blocks) = answer.get("blocks")
        && let Err(errors) = check_blocks(blocks)
    {
        return (
            StatusCode::BAD_REQUEST,
            format!("invalid_blocks: {}", errors.join("; ")),
        )
            .into_response();
    }
    shared
        .recorded
        .lock()
        .expect("stand-in lock")
        .responses
        .push(answer);
    (StatusCode::OK, "ok").into_response()
}

async fn teams(
    State(shared): State<Arc<Shared>>,
    Path(flow): Path<String>,
    body: Bytes,
) -> Response {
    let mut recorded = shared.recorded.lock().expect("stand-in lock");
    if !recorded.teams_flows.contains(&flow) {
        return (
            StatusCode::NOT_FOUND,
            "The workflow does not exist or is turned off",
        )
            .into_response();
    }
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "the request body is not JSON").into_response();
    };
    match check_card_message(&message) {
        Ok(card) => {
            recorded.cards.push(card);
            StatusCode::ACCEPTED.into_response()
        }
        Err(why) => (StatusCode::BAD_REQUEST, why).into_response(),
    }
}

/// The shape a Workflows webhook posts to a channel: one Adaptive Card attachment.
pub fn check_card_message(message: &Value) -> Result<Value, String> {
    if message["type"] != "message" {
        return Err("type must be \"message\"".into());
    }
    let attachments = message["attachments"]
        .as_array()
        .ok_or("attachments is missing")?;
    let [attachment] = attachments.as_slice() else {
        return Err("exactly one attachment is posted".into());
    };
    if attachment["contentType"] != "application/vnd.microsoft.card.adaptive" {
        return Err("contentType must be application/vnd.microsoft.card.adaptive".into());
    }
    let card = &attachment["content"];
    if card["type"] != "AdaptiveCard" {
        return Err("content.type must be AdaptiveCard".into());
    }
    let version: f64 = card["version"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .ok_or("content.version is missing")?;
    if version > 1.5 {
        return Err(format!(
            "card version {version} is above what Teams renders (1.5)"
        ));
    }
    for (n, element) in card["body"]
        .as_array()
        .ok_or("content.body is missing")?
        .iter()
        .enumerate()
    {
        match element["type"].as_str().unwrap_or_default() {
            "TextBlock" if element["text"].as_str().is_some_and(|t| !t.is_empty()) => {}
            "FactSet"
                if element["facts"].as_array().is_some_and(|f| {
                    f.iter()
                        .all(|f| f["title"].is_string() && f["value"].is_string())
                }) => {}
            other => return Err(format!("body[{n}] ({other}) is not a valid element")),
        }
    }
    for (n, action) in card["actions"].as_array().into_iter().flatten().enumerate() {
        if action["type"] != "Action.OpenUrl"
            || !action["url"]
                .as_str()
                .is_some_and(|u| u.starts_with("http"))
        {
            return Err(format!("actions[{n}] is not an Action.OpenUrl with a URL"));
        }
    }
    Ok(card.clone())
}

async fn hook(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (id, timestamp, signatures) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let mut recorded = shared.recorded.lock().expect("stand-in lock");
    let Ok(sent) = timestamp.parse::<i64>() else {
        return (StatusCode::UNAUTHORIZED, "no webhook-timestamp").into_response();
    };
    if (chrono::Utc::now().timestamp() - sent).abs() > 300 || id.is_empty() {
        return (StatusCode::UNAUTHORIZED, "timestamp outside the tolerance").into_response();
    }
    let matched = recorded.webhook_keys.iter().any(|key| {
        let expected = daybook_report::deliver::webhook::signature(
            std::slice::from_ref(key),
            &id,
            sent,
            &body,
        );
        signatures.split(' ').any(|given| given == expected)
    });
    if !matched {
        return (StatusCode::UNAUTHORIZED, "no matching signature").into_response();
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(document) => {
            recorded.webhooks.push(document);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(_) => (StatusCode::BAD_REQUEST, "not JSON").into_response(),
    }
}
