//! The handler of `export-segment`, apart from the runtime so tests call it directly.

use aws_lambda_events::event::s3::S3Event;
use daybook_aws::{S3Store, lambda, sdk};
use daybook_core::segment::SegmentConfig;
use daybook_core::steps::segment::{SegmentTask, export_new_object, run_segment_task};
use serde::Deserialize;
use serde_json::Value;

/// What the function is invoked with.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SegmentInvocation {
    /// A state-machine step: one configured source for the run's job and date.
    Step(Box<SegmentTask>),
    /// Files that Segment's S3 destination has just written.
    Put(S3Event),
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

pub async fn handle(adapters: &Adapters, event: SegmentInvocation) -> Result<Value, HandlerError> {
    match event {
        SegmentInvocation::Step(task) => {
            // The state machine gets the summary; the whole report is in the job's folder.
            let report = run_segment_task(&adapters.store, &task, adapters.workers).await?;
            Ok(serde_json::to_value(report.summary()).expect("summaries serialise"))
        }
        SegmentInvocation::Put(event) => {
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
