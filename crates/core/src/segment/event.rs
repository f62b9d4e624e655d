//! One line of a Segment S3 destination file: a track, page, screen, identify, group or alias
//! call, parsed without copying what the tables do not keep.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallType {
    Track,
    Page,
    Screen,
    Identify,
    Group,
    Alias,
}

impl CallType {
    pub const ALL: [CallType; 6] = [
        CallType::Track,
        CallType::Page,
        CallType::Screen,
        CallType::Identify,
        CallType::Group,
        CallType::Alias,
    ];

    fn parse(kind: &str) -> Option<Self> {
        Some(match kind {
            "track" => CallType::Track,
            "page" => CallType::Page,
            "screen" => CallType::Screen,
            "identify" => CallType::Identify,
            "group" => CallType::Group,
            "alias" => CallType::Alias,
            _ => return None,
        })
    }

    /// The table of every call of this type, named as Segment's warehouses name it.
    pub fn table(self) -> &'static str {
        match self {
            CallType::Track => "tracks",
            CallType::Page => "pages",
            CallType::Screen => "screens",
            CallType::Identify => "identifies",
            CallType::Group => "groups",
            CallType::Alias => "aliases",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Context<'a> {
    #[serde(borrow, default)]
    pub ip: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub user_agent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub locale: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub page: Option<PageContext<'a>>,
    #[serde(borrow, default)]
    pub library: Option<LibraryContext<'a>>,
    #[serde(borrow, default)]
    pub campaign: Option<CampaignContext<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageContext<'a> {
    #[serde(borrow, default)]
    pub path: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub referrer: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub search: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub title: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub url: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LibraryContext<'a> {
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub version: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CampaignContext<'a> {
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub medium: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub term: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub content: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    anonymous_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    user_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    received_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    sent_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    group_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    previous_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    context: Option<Context<'a>>,
    #[serde(borrow, default)]
    properties: Option<&'a RawValue>,
    #[serde(borrow, default)]
    traits: Option<&'a RawValue>,
}

/// A call that passed every check: it has a type, a message id and a believable timestamp.
#[derive(Debug)]
pub struct SegmentEvent<'a> {
    pub call: CallType,
    pub message_id: Cow<'a, str>,
    pub timestamp: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub anonymous_id: Option<String>,
    pub user_id: Option<String>,
    /// The track's event name, or the page's or screen's name.
    pub event: Option<Cow<'a, str>>,
    pub name: Option<Cow<'a, str>>,
    pub group_id: Option<String>,
    pub previous_id: Option<String>,
    pub context: Context<'a>,
    pub properties: Option<&'a RawValue>,
    pub traits: Option<&'a RawValue>,
}

/// How far an event's own timestamp may stray from when Segment received it.
pub const MAX_FUTURE_SKEW_HOURS: i64 = 24;
pub const MAX_PAST_DAYS: i64 = 365;

/// Parses and checks one line; `batch_time` (the file's folder time) stands in for `receivedAt`
/// when the event has none. The error is the quarantine reason.
pub fn parse_event(
    line: &str,
    batch_time: Option<DateTime<Utc>>,
) -> Result<SegmentEvent<'_>, String> {
    let raw: RawEvent = serde_json::from_str(line).map_err(|e| {
        if e.is_data() {
            format!("not a Segment event: {e}")
        } else {
            format!("not JSON: {e}")
        }
    })?;
    let kind = raw.kind.ok_or_else(|| {
        "no \"type\": every Segment call has one (track, page, screen, identify, group, alias)"
            .to_string()
    })?;
    let call = CallType::parse(&kind).ok_or_else(|| {
        format!("unknown type {kind:?}: expected track, page, screen, identify, group or alias")
    })?;
    let message_id = raw
        .message_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| "no \"messageId\": duplicates could not be recognised".to_string())?;
    let received_at = optional_time("receivedAt", raw.received_at.as_deref())?;
    let sent_at = optional_time("sentAt", raw.sent_at.as_deref())?;
    let stamp = raw
        .timestamp
        .ok_or_else(|| "no \"timestamp\": the event cannot be placed in a day".to_string())?;
    let timestamp = parse_time(&stamp)
        .ok_or_else(|| format!("timestamp {stamp:?} is not an ISO 8601 date-time"))?;
    if let Some(reference) = received_at.or(batch_time) {
        check_plausible(timestamp, reference)?;
    }
    let event = match call {
        CallType::Track => Some(raw.event.filter(|e| !e.trim().is_empty()).ok_or_else(|| {
            "a track call without \"event\": no event table to put it in".to_string()
        })?),
        _ => None,
    };
    Ok(SegmentEvent {
        call,
        message_id,
        timestamp,
        received_at,
        sent_at,
        anonymous_id: id_text(raw.anonymous_id),
        user_id: id_text(raw.user_id),
        event,
        name: raw.name,
        group_id: id_text(raw.group_id),
        previous_id: id_text(raw.previous_id),
        context: raw.context.unwrap_or_default(),
        properties: raw.properties,
        traits: raw.traits,
    })
}

fn check_plausible(timestamp: DateTime<Utc>, received: DateTime<Utc>) -> Result<(), String> {
    let ahead = timestamp - received;
    if ahead > chrono::Duration::hours(MAX_FUTURE_SKEW_HOURS) {
        return Err(format!(
            "timestamp {} is {} days after the event was received ({}): a device clock is wrong",
            timestamp.to_rfc3339(),
            ahead.num_days(),
            received.to_rfc3339()
        ));
    }
    if -ahead > chrono::Duration::days(MAX_PAST_DAYS) {
        return Err(format!(
            "timestamp {} is {} days before the event was received ({}), more than the {MAX_PAST_DAYS} days allowed",
            timestamp.to_rfc3339(),
            (-ahead).num_days(),
            received.to_rfc3339()
        ));
    }
    Ok(())
}

fn optional_time(field: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    match text {
        None => Ok(None),
        Some(text) => parse_time(text)
            .map(Some)
            .ok_or_else(|| format!("{field} {text:?} is not an ISO 8601 date-time")),
    }
}

/// Segment writes RFC 3339 with a `Z` or an offset; some libraries omit the offset (UTC then).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// Ids are strings, but some sources send numbers: both become text.
fn id_text(raw: Option<&RawValue>) -> Option<String> {
    let text = raw?.get();
    if text.starts_with('"') {
        serde_json::from_str::<String>(text).ok()
    } else if text == "null" {
        None
    } else {
        Some(text.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_track_call_parses_with_its_context() {
        let line = r#"{"type":"track","event":"Product Viewed","messageId":"m1","userId":42,"anonymousId":"a1","timestamp":"2026-11-21T10:00:00.5Z","receivedAt":"2026-11-21T10:00:01Z","context":{"ip":"10.0.0.1","page":{"path":"/p/1"},"library":{"name":"analytics.js","version":"4.1"}},"properties":{"price":12.5}}"#;
        let event = parse_event(line, None).unwrap();
        assert_eq!(event.call, CallType::Track);
        assert_eq!(event.user_id.as_deref(), Some("42"));
        assert_eq!(event.event.as_deref(), Some("Product Viewed"));
        assert_eq!(event.context.page.unwrap().path.as_deref(), Some("/p/1"));
        assert_eq!(event.timestamp.timestamp_millis() % 1000, 500);
    }

    #[test]
    fn each_bad_line_has_its_own_reason() {
        let cases = [
            ("{not json", "not JSON"),
            (
                r#"{"messageId":"m","timestamp":"2026-11-21T10:00:00Z"}"#,
                "no \"type\"",
            ),
            (
                r#"{"type":"trak","messageId":"m","timestamp":"2026-11-21T10:00:00Z"}"#,
                "unknown type",
            ),
            (
                r#"{"type":"page","timestamp":"2026-11-21T10:00:00Z"}"#,
                "no \"messageId\"",
            ),
            (
                r#"{"type":"page","messageId":"m","timestamp":"yesterday"}"#,
                "not an ISO 8601",
            ),
            (
                r#"{"type":"track","messageId":"m","timestamp":"2026-11-21T10:00:00Z"}"#,
                "without \"event\"",
            ),
            (
                r#"{"type":"page","messageId":"m","timestamp":"1976-11-21T10:00:00Z","receivedAt":"2026-11-21T10:00:00Z"}"#,
                "days before",
            ),
            (
                r#"{"type":"page","messageId":"m","timestamp":"2076-11-21T10:00:00Z","receivedAt":"2026-11-21T10:00:00Z"}"#,
                "days after",
            ),
            (
                r#"{"type":"page","messageId":"m","timestamp":"2026-11-21T10:00:00Z","context":{"ip":7}}"#,
                "not a Segment event",
            ),
        ];
        for (line, reason) in cases {
            let error = parse_event(line, None).unwrap_err();
            assert!(error.contains(reason), "{line}: {error}");
        }
    }

    #[test]
    fn the_batch_time_stands_in_for_received_at() {
        let line = r#"{"type":"page","messageId":"m","timestamp":"1976-11-21T10:00:00Z"}"#;
        assert!(parse_event(line, None).is_ok());
        let batch = parse_time("2026-11-21T10:00:00Z");
        assert!(
            parse_event(line, batch)
                .unwrap_err()
                .contains("days before")
        );
    }
}
