//! Any HTTPS endpoint: the report's short form as JSON, signed as the Standard Webhooks
//! specification describes (`webhook-id`, `webhook-timestamp`, and `webhook-signature` holding
//! `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` for each key, the key being the
//! base64 after `whsec_`). Several keys, one per line or space, sign together while one is
//! rotated; the receiver accepts a request when one signature matches a key it holds.

use super::{Post, Refusal, refusal_of};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use daybook_core::ports::{Web, WebRequest};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

/// The event type of a delivered report.
pub const EVENT_TYPE: &str = "report.delivered";

/// The signing keys of a secret's text: each `whsec_<base64>`.
pub fn keys(secret: &str, secret_name: &str) -> Result<Vec<Vec<u8>>, String> {
    let keys: Vec<Vec<u8>> = secret
        .split_whitespace()
        .map(|key| {
            let encoded = key.strip_prefix("whsec_").ok_or_else(|| {
                format!("a key in secret {secret_name} does not start with whsec_: each key is whsec_ and base64 (as `daybook webhook-key` makes)")
            })?;
            STANDARD.decode(encoded).map_err(|e| {
                format!("a key in secret {secret_name} is not base64 after whsec_ ({e})")
            })
        })
        .collect::<Result<_, _>>()?;
    if keys.is_empty() || keys.iter().any(|k| k.len() < 24) {
        return Err(format!(
            "secret {secret_name} holds no key of at least 24 bytes: put one or more whsec_… keys in it"
        ));
    }
    Ok(keys)
}

/// A new key, as a secret holds it: 32 random bytes.
pub fn new_key() -> String {
    let bytes: Vec<u8> = (0..2)
        .flat_map(|_| uuid::Uuid::new_v4().into_bytes())
        .collect();
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// `webhook-signature`'s value for `body`: a `v1,` signature per key, space-separated.
pub fn signature(keys: &[Vec<u8>], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|key| {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(body);
            format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The message id: the same on every attempt of the job, so a receiver drops a repeat.
pub fn message_id(post: &Post) -> String {
    let clean: String = format!("{}_{}", post.job_id, post.report)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("msg_{clean}")
}

/// The JSON document: Standard Webhooks' `type`, `timestamp` and `data`.
pub fn document(post: &Post, now: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "type": EVENT_TYPE,
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": post,
    }))
    .expect("JSON serialises")
}

/// Posts the signed document; a 2xx answer takes it. Redirects are not followed.
pub async fn post_signed(
    web: &dyn Web,
    url: &str,
    secret_name: &str,
    keys: &[Vec<u8>],
    post: &Post,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Refusal> {
    let body = document(post, now);
    let id = message_id(post);
    let timestamp = now.timestamp();
    let shown = daybook_core::ports::shown_url(url);
    let response = web
        .post(WebRequest {
            url: url.to_string(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("webhook-id".into(), id.clone()),
                ("webhook-timestamp".into(), timestamp.to_string()),
                (
                    "webhook-signature".into(),
                    signature(keys, &id, timestamp, &body),
                ),
            ],
            body,
        })
        .await
        .map_err(|e| Refusal::from(e).with_context(&format!("webhook {shown}")))?;
    if (200..300).contains(&response.status) {
        return Ok(());
    }
    Err(refusal_of(
        &format!("webhook {shown}"),
        &response,
        &format!("check the URL and that the receiver verifies with a key of secret {secret_name}"),
    ))
}
