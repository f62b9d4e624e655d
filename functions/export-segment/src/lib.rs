//! The handler of `export-segment`, apart from the runtime so tests call it directly.

use aws_lambda_events::event::s3::S3Event;
use daybook_aws::{S3Store, lambda, sdk};
use daybook_core::segment::SegmentConfig;
use daybook_core::steps::invocation::SegmentInvocation;
use daybook_core::steps::segment::export_new_object;
use serde::Deserialize;
use serde_json::Value;

/// What the function is invoked with: what the state machine sends (defined in the core, as
/// the local runner reads it too), or files that Segment's S3 destination has just written.
#[derive(Debug)]
pub enum ExportSegmentEvent {
    Invocation(SegmentInvocation),
    Put(S3Event),
}

impl<'de> Deserialize<'de> for ExportSegmentEvent {
    /// `Records` makes it an S3 event; anything else is the state machine's.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = Value::deserialize(deserializer)?;
        if value.get("Records").is_some() {
            serde_json::from_value(value)
                .map(ExportSegmentEvent::Put)
                .map_err(|e| D::Error::custom(format!("an S3 event: {e}")))
        } else {
            serde_json::from_value(value)
                .map(ExportSegmentEvent::Invocation)
                .map_err(D::Error::custom)
        }
    }
}

/// Built once per container, at init.
pub struct Adapters {
    pub store: S3Store,
    /// How files announced by S3 events are exported (`DAYBOOK_SEGMENT_CONFIG`, JSON).
    pub put_config: Option<SegmentConfig>,
    pub workers: usize,
}

impl Adapters {
    /// From `LAKE_BUCKET`, optional `DAYBOOK_SEGMENT_CONFIG`, and the SDK's usual environment.
    pub async fn from_env() -> anyhow::Result<Self> {
        let put_config =
            lambda::optional_json("DAYBOOK_SEGMENT_CONFIG", "a Segment source config")?;
        let config = sdk::load().await;
        Ok(Self {
            store: lambda::lake_store(&config)?,
            put_config,
            workers: lambda::workers(),
        })
    }
}

pub use lambda::HandlerError;

pub async fn handle(adapters: &Adapters, event: ExportSegmentEvent) -> Result<Value, HandlerError> {
    match event {
        ExportSegmentEvent::Invocation(invocation) => {
            Ok(invocation.run(&adapters.store, adapters.workers).await?)
        }
        ExportSegmentEvent::Put(event) => {
            let config = adapters.put_config.as_ref().ok_or_else(|| {
                HandlerError::invalid_input(
                    "an S3 event arrived but DAYBOOK_SEGMENT_CONFIG is not set",
                )
            })?;
            let mut reports = Vec::new();
            for record in &event.records {
                let Some(key) = record.s3.object.key.as_deref() else {
                    continue;
                };
                let key = decode_key(key);
                reports.push(
                    export_new_object(&adapters.store, config, &key, adapters.workers).await?,
                );
            }
            Ok(serde_json::to_value(reports).expect("reports serialise"))
        }
    }
}

/// S3 event keys are URL-encoded, with `+` for spaces.
pub fn decode_key(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_keys_are_decoded() {
        assert_eq!(
            super::decode_key("segment-logs/src/1763683200000/a+b%3D.gz"),
            "segment-logs/src/1763683200000/a b=.gz"
        );
        assert_eq!(super::decode_key("odd%2"), "odd%2");
    }
}
