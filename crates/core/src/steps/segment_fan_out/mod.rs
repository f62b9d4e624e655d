//! A Segment day too big for one invocation, exported by two Distributed Maps in five steps of
//! export-segment. A day cannot be cut into independent pieces as an export can: a message
//! sent twice is kept once over the whole day, and an event table's columns are the types of
//! every file's events. So the two passes of a whole-day export become steps of their own:
//!
//! 1. **plan** lists each source's batch files in the day's window and writes the Map's items;
//! 2. **scan** (one per iteration of the first Map) checks every line of its files, quarantines
//!    what cannot be read, and records each file's message keys and property types;
//! 3. **resolve** reads every file's record in file order: it finds the duplicates (the first
//!    copy wins, as in one invocation) and merges the property types into the day's tables;
//! 4. **write** (one per iteration of the second Map) writes its files' rows with the day's
//!    columns, straight into the run folder, a part per file and table, and records them;
//! 5. **commit** checks every file has its record, then publishes as a whole-day export does.
//!
//! Every file is named by its place in the day, so a retried or redriven iteration rewrites
//! the same keys. The resolve step holds one 16-byte key per event of the day in memory:
//! about 3 GB for 100 M events, inside what a 10,240 MB function has.

use super::JobContext;
use super::fan_out_protocol::{
    self, FanOutFolder, FanOutPlan, MapItem, Pass, SourcePlan as PlannedSource,
    default_map_concurrency, files_per_iteration, merged_quarantine, read_json,
};
use super::publish::write_step_output;
use super::publish::{ExportReport, ExportSummary, StagedFile, Staging, publish, to_json};
use super::segment::day_batch_keys;
use crate::error::{Error, Result};
use crate::lake::PartitionLayout;
use crate::segment::{
    DaySelection, DayTables, DayWritten, FirstOccurrence, ScanSummary, SegmentConfig, SegmentFile,
    batch_time_of_key, day_outcome, parallel, scan_file, staged_tables, write_file_part,
};
use crate::store::ObjectStore;
use chrono::NaiveDate;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::time::Instant;

mod scan;
mod write;
pub use scan::scan_files;
pub use write::{commit_segment_fan_out, resolve_days, write_files};

/// A day's key files are many small objects, read this many at a time (in order).
const READS_AT_ONCE: usize = 32;

/// Where this fan-out keeps its plans and records: `jobs/<job>/segment-fan-out/`.
fn folder(job_id: &str) -> FanOutFolder<'_> {
    FanOutFolder::new(job_id, "segment-fan-out")
}

/// The plan step's output; both fan-outs give the same.
pub type SegmentFanOutPlan = FanOutPlan;

/// What export-segment is asked in a fan-out; `mode` names the step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum SegmentFanOutStep {
    Plan(SegmentSourcesTask),
    Scan(SegmentFilesTask),
    Resolve(SegmentSourcesTask),
    Write(SegmentFilesTask),
    Commit(SegmentSourcesTask),
}

/// The plan, the resolve and the commit: the job and the sources that fan out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentSourcesTask {
    pub job: JobContext,
    pub sources: Vec<SegmentConfig>,
    /// As the DynamoDB fan-out's: how many children each of the two Maps runs at once.
    #[serde(default = "default_map_concurrency")]
    pub max_concurrency: u32,
}

/// One iteration of either Map: its batch of files (the ItemBatcher's `Items`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentFilesTask {
    pub job: JobContext,
    pub files: Vec<PlannedSegmentFile>,
}

/// One batch file of one source's day, numbered by its place in the day (key order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedSegmentFile {
    pub source: String,
    pub index: usize,
    pub key: String,
}

impl MapItem for PlannedSegmentFile {
    fn source(&self) -> &str {
        &self.source
    }
    fn index(&self) -> usize {
        self.index
    }
}

/// An iteration's output: kept small, as a Map's results are; the records are in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilesDone {
    pub files: Vec<usize>,
    pub lines: u64,
    pub elapsed_ms: u64,
}

/// One source's day as planned, for every later step.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SourcePlan {
    config: SegmentConfig,
    files: usize,
    warnings: Vec<String>,
}

impl PlannedSource for SourcePlan {
    fn files(&self) -> usize {
        self.files
    }
}

/// What the scan found in one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ScanRecord {
    index: usize,
    summary: ScanSummary,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quarantine_key: Option<String>,
}

/// The resolve step's result: the day's tables (so that a write child reads one record, not
/// every file's), the files with duplicates, and how many lines they skip.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Resolved {
    tables: DayTables,
    files_with_duplicates: Vec<usize>,
    duplicates: u64,
}

/// What the write step wrote from one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WriteRecord {
    index: usize,
    events: u64,
    parts: Vec<WrittenFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct WrittenFile {
    day: NaiveDate,
    table: String,
    key: String,
    rows: u64,
    bytes: u64,
}

/// Runs the step `step` names; its output as the state machine gets it.
pub async fn run(
    store: &dyn ObjectStore,
    step: &SegmentFanOutStep,
    workers: usize,
) -> Result<serde_json::Value> {
    let output = match step {
        SegmentFanOutStep::Plan(task) => {
            serde_json::to_value(plan_segment_fan_out(store, task).await?)
        }
        SegmentFanOutStep::Scan(task) => {
            serde_json::to_value(scan_files(store, task, workers).await?)
        }
        SegmentFanOutStep::Resolve(task) => {
            resolve_days(store, task).await?;
            Ok(serde_json::Value::Null)
        }
        SegmentFanOutStep::Write(task) => {
            serde_json::to_value(write_files(store, task, workers).await?)
        }
        SegmentFanOutStep::Commit(task) => {
            serde_json::to_value(commit_segment_fan_out(store, task).await?)
        }
    };
    Ok(output.expect("step outputs serialise"))
}

fn check_sources(sources: &[SegmentConfig]) -> Result<()> {
    fan_out_protocol::check_sources(
        sources
            .iter()
            .map(|s| (s.source.as_str(), s.fan_out.is_some())),
        |name| {
            format!(
                "Segment source {name:?} has no \"fan_out\": only a source configured to fan out is spread over the Distributed Maps"
            )
        },
    )
}

/// Lists every source's files in the day's window and writes the file list both Maps read.
pub async fn plan_segment_fan_out(
    store: &dyn ObjectStore,
    task: &SegmentSourcesTask,
) -> Result<SegmentFanOutPlan> {
    check_sources(&task.sources)?;
    let job = &task.job;
    let per_iteration = files_per_iteration(
        task.sources
            .iter()
            .filter_map(|s| s.fan_out)
            .map(|fan_out| fan_out.files_per_iteration),
    );
    let mut plans = Vec::new();
    let mut items = Vec::new();
    for source in &task.sources {
        let (keys, empty) = day_batch_keys(store, source, job.date).await?;
        plans.push((
            source.source.as_str(),
            SourcePlan {
                config: source.clone(),
                files: keys.len(),
                warnings: empty.into_iter().collect(),
            },
        ));
        items.extend(
            keys.into_iter()
                .enumerate()
                .map(|(index, key)| PlannedSegmentFile {
                    source: source.source.clone(),
                    index,
                    key,
                }),
        );
    }
    folder(&job.job_id)
        .write_plan(store, &plans, &items, per_iteration, task.max_concurrency)
        .await
}

/// The files of one iteration, by source, each with the source's plan.
async fn by_source<'t>(
    store: &dyn ObjectStore,
    task: &'t SegmentFilesTask,
) -> Result<Vec<(SourcePlan, Vec<&'t PlannedSegmentFile>)>> {
    folder(&task.job.job_id)
        .by_source(store, &task.files, "file")
        .await
}

async fn download(
    store: &dyn ObjectStore,
    files: &[&PlannedSegmentFile],
    staging: &Staging,
) -> Result<Vec<SegmentFile>> {
    let downloads = staging.path().join(".input");
    let mut local = Vec::with_capacity(files.len());
    for file in files {
        local.push(SegmentFile {
            label: store.location(&file.key),
            path: store.fetch_to_local(&file.key, &downloads).await?,
            batch_time: batch_time_of_key(&file.key),
        });
    }
    Ok(local)
}

/// Every file's record of `kind`, in file order; a missing one is refused, naming the files.
async fn records<T: serde::de::DeserializeOwned>(
    store: &dyn ObjectStore,
    job_id: &str,
    plan: &SourcePlan,
    kind: &str,
    index_of: impl Fn(&T) -> usize,
) -> Result<Vec<T>> {
    let source = &plan.config.source;
    let pass = if kind == "scans" {
        "scanned"
    } else {
        "written"
    };
    let pass = Pass {
        source: &format!("Segment source {source:?}"),
        file: "file",
        files: "files of the day",
        missing: &|files| format!("were not {pass} (files {files})"),
    };
    folder(job_id)
        .every_file_recorded(store, source, kind, plan.files, &pass, |r| {
            vec![index_of(r)]
        })
        .await
}

async fn source_plans(
    store: &dyn ObjectStore,
    task: &SegmentSourcesTask,
) -> Result<Vec<SourcePlan>> {
    check_sources(&task.sources)?;
    let mut plans = Vec::new();
    for source in &task.sources {
        plans.push(
            folder(&task.job.job_id)
                .read_plan(store, &source.source)
                .await?,
        );
    }
    Ok(plans)
}
