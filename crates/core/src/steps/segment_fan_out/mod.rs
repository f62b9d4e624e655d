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
use super::map_records::{merged_quarantine, read_json, shorten};
use super::publish::write_step_output;
use super::publish::{ExportReport, ExportSummary, StagedFile, Staging, publish, to_json};
use super::segment::day_batch_keys;
use crate::error::{Error, Result};
use crate::lake::{PartitionLayout, job_key};
use crate::segment::{
    DaySelection, DayTables, DayWritten, FirstOccurrence, ScanSummary, SegmentConfig, SegmentFile,
    batch_time_of_key, day_outcome, parallel, scan_file, staged_tables, write_file_part,
};
use crate::store::ObjectStore;
use chrono::NaiveDate;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;

mod scan;
mod write;
pub use scan::scan_files;
pub use write::{commit_segment_fan_out, resolve_days, write_files};

/// A day's records are many small objects, read this many at a time (in order): one at a time,
/// 10,000 files' records would take minutes.
const READS_AT_ONCE: usize = 32;

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
    #[serde(default = "crate::steps::fan_out::default_map_concurrency")]
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

/// The plan step's output: where both Maps' ItemReaders find the files, and how to batch them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentFanOutPlan {
    pub items_key: String,
    pub files: usize,
    pub files_per_iteration: u32,
    /// Both Maps' `MaxConcurrencyPath` read it; at least 1.
    pub max_concurrency: u32,
    pub sources: Vec<String>,
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

fn fan_out_key(job_id: &str, file: &str) -> String {
    job_key(job_id, &format!("segment-fan-out/{file}"))
}

fn source_key(job_id: &str, source: &str, file: &str) -> String {
    fan_out_key(job_id, &format!("{source}/{file}"))
}

fn indexed_key(job_id: &str, source: &str, kind: &str, index: usize, extension: &str) -> String {
    source_key(job_id, source, &format!("{kind}/{index:05}.{extension}"))
}

fn check_sources(sources: &[SegmentConfig]) -> Result<()> {
    for source in sources {
        crate::naming::check_plain(&source.source, "source").map_err(Error::Invalid)?;
        if source.fan_out.is_none() {
            return Err(Error::Invalid(format!(
                "Segment source {:?} has no \"fan_out\": only a source configured to fan out is spread over the Distributed Maps",
                source.source
            )));
        }
    }
    Ok(())
}

/// Lists every source's files in the day's window and writes the file list both Maps read.
pub async fn plan_segment_fan_out(
    store: &dyn ObjectStore,
    task: &SegmentSourcesTask,
) -> Result<SegmentFanOutPlan> {
    check_sources(&task.sources)?;
    let job = &task.job;
    let files_per_iteration = task
        .sources
        .iter()
        .filter_map(|s| s.fan_out)
        .map(|fan_out| fan_out.files_per_iteration.max(1))
        .min()
        .unwrap_or(1);
    let mut items = Vec::new();
    for source in &task.sources {
        let (keys, empty) = day_batch_keys(store, source, job.date).await?;
        let plan = SourcePlan {
            config: source.clone(),
            files: keys.len(),
            warnings: empty.into_iter().collect(),
        };
        store
            .put(
                &source_key(&job.job_id, &source.source, "plan.json"),
                to_json(&plan)?,
            )
            .await?;
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
    let items_key = fan_out_key(&job.job_id, "items.json");
    store.put(&items_key, to_json(&items)?).await?;
    Ok(SegmentFanOutPlan {
        items_key,
        files: items.len(),
        files_per_iteration,
        max_concurrency: task.max_concurrency.max(1),
        sources: task.sources.iter().map(|s| s.source.clone()).collect(),
    })
}

/// The files of one iteration, by source, each with the source's plan.
async fn by_source<'t>(
    store: &dyn ObjectStore,
    task: &'t SegmentFilesTask,
) -> Result<Vec<(SourcePlan, Vec<&'t PlannedSegmentFile>)>> {
    let mut grouped: BTreeMap<&str, Vec<&PlannedSegmentFile>> = BTreeMap::new();
    for file in &task.files {
        grouped.entry(&file.source).or_default().push(file);
    }
    let mut out = Vec::new();
    for (source, files) in grouped {
        crate::naming::check_plain(source, "source").map_err(Error::Invalid)?;
        let plan: SourcePlan = read_json(
            store,
            &source_key(&task.job.job_id, source, "plan.json"),
            "the plan",
        )
        .await?;
        if let Some(file) = files.iter().find(|f| f.index >= plan.files) {
            return Err(Error::Invalid(format!(
                "file {} of Segment source {source:?} is not in its plan of {} files; the Map's items and the plan are from different runs: start the job again",
                file.index, plan.files
            )));
        }
        out.push((plan, files));
    }
    Ok(out)
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
    let mut slots: Vec<Option<T>> = (0..plan.files).map(|_| None).collect();
    let keys = store
        .list(&source_key(job_id, source, &format!("{kind}/")))
        .await?;
    // Made up front, not by a closure inside the stream: a handler's future must be Send for
    // any lifetime, which a closure's borrow inside a stream combinator does not prove.
    let reads: Vec<_> = keys
        .iter()
        .map(|key| read_json::<T>(store, key, "a file's record"))
        .collect();
    let mut read = futures::stream::iter(reads).buffered(READS_AT_ONCE);
    while let Some(record) = read.next().await {
        let record = record?;
        let index = index_of(&record);
        if let Some(slot) = slots.get_mut(index) {
            *slot = Some(record);
        }
    }
    let missing: Vec<String> = slots
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_none())
        .map(|(index, _)| index.to_string())
        .collect();
    if !missing.is_empty() {
        let pass = if kind == "scans" {
            "scanned"
        } else {
            "written"
        };
        return Err(Error::Invalid(format!(
            "Segment source {source:?}: {} of its {} files of the day were not {pass} (files {}), so nothing was published; the Map did not finish them: redrive the execution",
            missing.len(),
            plan.files,
            shorten(&missing)
        )));
    }
    Ok(slots.into_iter().flatten().collect())
}

async fn source_plans(
    store: &dyn ObjectStore,
    task: &SegmentSourcesTask,
) -> Result<Vec<SourcePlan>> {
    check_sources(&task.sources)?;
    let mut plans = Vec::new();
    for source in &task.sources {
        plans.push(
            read_json(
                store,
                &source_key(&task.job.job_id, &source.source, "plan.json"),
                "the plan",
            )
            .await?,
        );
    }
    Ok(plans)
}
