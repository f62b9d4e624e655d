//! The handler of `export-segment`, apart from the runtime so tests call it directly.

use aws_lambda_events::event::s3::S3Event;
use daybook_aws::{S3Store, lambda, sdk};
use daybook_core::segment::SegmentConfig;
use daybook_core::steps::segment::{SegmentTask, export_new_object, run_segment_task};
use daybook_core::steps::segment_fan_out::{self, SegmentFanOutStep};
use serde::Deserialize;
use serde_json::Value;

/// What the function is invoked with.
#[derive(Debug)]
pub enum SegmentInvocation {
    /// A state-machine step: one configured source for the run's job and date.
    Step(Box<SegmentTask>),
    /// A step of a big day's Distributed Maps: its plan, scan, resolve, write or commit.
    FanOut(Box<SegmentFanOutStep>),
    /// Files that Segment's S3 destination has just written.
    Put(S3Event),
}

impl<'de> Deserialize<'de> for SegmentInvocation {
    /// `mode` makes it a fan-out step and `Records` an S3 event; anything else is read as a
    /// step, so an error names the fields of the kind of event it was meant to be.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = Value::deserialize(deserializer)?;
        if value.get("mode").is_some() {
            serde_json::from_value(value)
                .map(|step| SegmentInvocation::FanOut(Box::new(step)))
                .map_err(|e| D::Error::custom(format!("a Segment fan-out step: {e}")))
        } else if value.get("Records").is_some() {
            serde_json::from_value(value)
                .map(SegmentInvocation::Put)
                .map_err(|e| D::Error::custom(format!("an S3 event: {e}")))
        } else {
            serde_json::from_value(value)
                .map(|task| SegmentInvocation::Step(Box::new(task)))
                .map_err(|e| D::Error::custom(format!("an export-segment step: {e}")))
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

pub async fn handle(adapters: &Adapters, event: SegmentInvocation) -> Result<Value, HandlerError> {
    match event {
        SegmentInvocation::Step(task) => {
            // The state machine gets the summary; the whole report is in the job's folder.
            let report = run_segment_task(&adapters.store, &task, adapters.workers).await?;
            Ok(serde_json::to_value(report.summary()).expect("summaries serialise"))
        }
        SegmentInvocation::FanOut(step) => {
            Ok(segment_fan_out::run(&adapters.store, &step, adapters.workers).await?)
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
