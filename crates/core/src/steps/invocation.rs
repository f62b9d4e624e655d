//! What the state machine invokes flatten-dynamodb and export-segment with, and how each
//! invocation runs: defined once here, read by the Lambda handlers and the local runner alike.
//! A `mode` makes an invocation a fan-out step; anything else is the whole-source step, so a
//! bad event's error names the fields of the kind it was meant to be. (Events only AWS sends,
//! a stream batch or an S3 notification, stay in their Lambda.)

use super::dynamodb_fan_out::{self, FanOutStep};
use super::flatten::{FlattenTask, ItemReader, run_flatten_task};
use super::segment::{SegmentTask, run_segment_task};
use super::segment_fan_out::{self, SegmentFanOutStep};
use crate::error::Result;
use crate::store::ObjectStore;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An invocation of flatten-dynamodb by the state machine.
#[derive(Debug, Clone, PartialEq)]
pub enum FlattenInvocation {
    /// One configured source for the run's job and date.
    Source(Box<FlattenTask>),
    /// A step of a big export's Distributed Map: its plan, one iteration, or its commit.
    FanOut(Box<FanOutStep>),
}

/// An invocation of export-segment by the state machine.
#[derive(Debug, Clone, PartialEq)]
pub enum SegmentInvocation {
    /// One configured source for the run's job and date.
    Source(Box<SegmentTask>),
    /// A step of a big day's Distributed Maps: its plan, scan, resolve, write or commit.
    FanOut(Box<SegmentFanOutStep>),
}

/// Reads `value` as a fan-out step when it has a `mode`, else as the whole-source step; the
/// error says which it was read as.
fn by_mode<S, F, T>(
    value: Value,
    step: &str,
    fan_out_step: &str,
    source: impl FnOnce(S) -> T,
    fan_out: impl FnOnce(F) -> T,
) -> std::result::Result<T, String>
where
    S: serde::de::DeserializeOwned,
    F: serde::de::DeserializeOwned,
{
    if value.get("mode").is_some() {
        serde_json::from_value(value)
            .map(fan_out)
            .map_err(|e| format!("{fan_out_step}: {e}"))
    } else {
        serde_json::from_value(value)
            .map(source)
            .map_err(|e| format!("{step}: {e}"))
    }
}

impl<'de> Deserialize<'de> for FlattenInvocation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        by_mode(
            Value::deserialize(deserializer)?,
            "a flatten step",
            "a fan-out step",
            |task| FlattenInvocation::Source(Box::new(task)),
            |step| FlattenInvocation::FanOut(Box::new(step)),
        )
        .map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for SegmentInvocation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        by_mode(
            Value::deserialize(deserializer)?,
            "an export-segment step",
            "a Segment fan-out step",
            |task| SegmentInvocation::Source(Box::new(task)),
            |step| SegmentInvocation::FanOut(Box::new(step)),
        )
        .map_err(serde::de::Error::custom)
    }
}

impl FlattenInvocation {
    /// Runs it; the output as the state machine gets it (a source's summary: the whole report
    /// is in the job's folder).
    pub async fn run(
        &self,
        store: &dyn ObjectStore,
        reader: &dyn ItemReader,
        workers: usize,
    ) -> Result<Value> {
        match self {
            FlattenInvocation::Source(task) => {
                let report = run_flatten_task(store, reader, task, workers).await?;
                Ok(serde_json::to_value(report.summary()).expect("summaries serialise"))
            }
            FlattenInvocation::FanOut(step) => dynamodb_fan_out::run(store, step, workers).await,
        }
    }
}

impl SegmentInvocation {
    /// Runs it; the output as the state machine gets it.
    pub async fn run(&self, store: &dyn ObjectStore, workers: usize) -> Result<Value> {
        match self {
            SegmentInvocation::Source(task) => {
                let report = run_segment_task(store, task, workers).await?;
                Ok(serde_json::to_value(report.summary()).expect("summaries serialise"))
            }
            SegmentInvocation::FanOut(step) => segment_fan_out::run(store, step, workers).await,
        }
    }
}
