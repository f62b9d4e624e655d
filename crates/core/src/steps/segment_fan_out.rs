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
use super::fan_out::{merged_quarantine, read_json, shorten};
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

/// The first pass over one iteration's files: each file's keys, types and quarantine, recorded.
pub async fn scan_files(
    store: &dyn ObjectStore,
    task: &SegmentFilesTask,
    workers: usize,
) -> Result<FilesDone> {
    let started = Instant::now();
    let job = &task.job;
    let mut done = FilesDone {
        files: Vec::new(),
        lines: 0,
        elapsed_ms: 0,
    };
    for (plan, files) in by_source(store, task).await? {
        let source = plan.config.source.clone();
        let staging = Staging::new(store, &job.job_id, &format!("scan-{source}"))?;
        let local = download(store, &files, &staging).await?;
        let config = plan.config.clone();
        let tz = config.time_zone().map_err(Error::Invalid)?;
        let days = DaySelection::Only(job.date);
        let indexes: Vec<usize> = files.iter().map(|f| f.index).collect();
        let staging_path = staging.path().to_path_buf();
        let scans = tokio::task::spawn_blocking(move || {
            parallel(local.len(), workers, |at| {
                scan_file(&config, &local[at], indexes[at], tz, days, &staging_path)
            })
        })
        .await
        .map_err(|e| Error::Invalid(format!("segment scan worker failed: {e}")))??;
        for (file, scan) in files.iter().zip(scans) {
            let quarantine_key = match &scan.quarantine {
                Some(path) => {
                    let key = indexed_key(&job.job_id, &source, "quarantine", file.index, "jsonl");
                    store.put_file(&key, path).await?;
                    Some(key)
                }
                None => None,
            };
            store
                .put(
                    &indexed_key(&job.job_id, &source, "keys", file.index, "bin"),
                    encode_keys(&scan.keys),
                )
                .await?;
            done.lines += scan.summary.read.lines;
            done.files.push(file.index);
            let record = ScanRecord {
                index: file.index,
                summary: scan.summary,
                quarantine_key,
            };
            store
                .put(
                    &indexed_key(&job.job_id, &source, "scans", file.index, "json"),
                    to_json(&record)?,
                )
                .await?;
        }
    }
    done.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(done)
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

/// Finds the day's duplicates over every file, in file order then line order, as one
/// invocation does, and records the lines each file skips.
pub async fn resolve_days(store: &dyn ObjectStore, task: &SegmentSourcesTask) -> Result<()> {
    let job_id = &task.job.job_id;
    for plan in source_plans(store, task).await? {
        let source = &plan.config.source;
        let scans = records::<ScanRecord>(store, job_id, &plan, "scans", |r| r.index).await?;
        let summaries: Vec<&ScanSummary> = scans.iter().map(|r| &r.summary).collect();
        let mut first = FirstOccurrence::default();
        let mut resolved = Resolved {
            tables: DayTables::of(&summaries, plan.config.limits()),
            files_with_duplicates: Vec::new(),
            duplicates: 0,
        };
        let fetches: Vec<_> = (0..plan.files)
            .map(|index| async move {
                let key = indexed_key(job_id, source, "keys", index, "bin");
                let body = store.get(&key).await;
                (index, key, body)
            })
            .collect();
        let mut fetched = futures::stream::iter(fetches).buffered(READS_AT_ONCE);
        while let Some((index, key, body)) = fetched.next().await {
            let keys = decode_keys(&body?).ok_or_else(|| {
                Error::Invalid(format!(
                    "the message keys at {} are not whole (line, key) pairs; scan that file again: redrive the execution",
                    store.location(&key)
                ))
            })?;
            let duplicates = first.duplicates(&keys);
            if !duplicates.is_empty() {
                resolved.duplicates += duplicates.len() as u64;
                resolved.files_with_duplicates.push(index);
                store
                    .put(
                        &indexed_key(job_id, source, "duplicates", index, "json"),
                        to_json(&duplicates)?,
                    )
                    .await?;
            }
        }
        store
            .put(
                &source_key(job_id, source, "resolved.json"),
                to_json(&resolved)?,
            )
            .await?;
    }
    Ok(())
}

/// The second pass over one iteration's files, with the day's columns; a part per file and
/// table, named by the file's place in the day.
pub async fn write_files(
    store: &dyn ObjectStore,
    task: &SegmentFilesTask,
    workers: usize,
) -> Result<FilesDone> {
    let started = Instant::now();
    let job = &task.job;
    let mut done = FilesDone {
        files: Vec::new(),
        lines: 0,
        elapsed_ms: 0,
    };
    for (plan, files) in by_source(store, task).await? {
        let source = plan.config.source.clone();
        let resolved: Resolved = read_json(
            store,
            &source_key(&job.job_id, &source, "resolved.json"),
            "the resolved day",
        )
        .await?;
        let mut duplicates = Vec::with_capacity(files.len());
        for file in &files {
            duplicates.push(if resolved.files_with_duplicates.contains(&file.index) {
                read_json::<Vec<u32>>(
                    store,
                    &indexed_key(&job.job_id, &source, "duplicates", file.index, "json"),
                    "a file's duplicates",
                )
                .await?
            } else {
                Vec::new()
            });
        }
        let staging = Staging::new(store, &job.job_id, &format!("write-{source}"))?;
        let local = download(store, &files, &staging).await?;
        let config = plan.config.clone();
        let layout = PartitionLayout::lake(&source, job.date, &job.job_id);
        let days = DaySelection::Only(job.date);
        let indexes: Vec<usize> = files.iter().map(|f| f.index).collect();
        let staging_path = staging.path().to_path_buf();
        let layout_owned = layout.clone();
        let parts = tokio::task::spawn_blocking(move || {
            let shapes = resolved.tables.shapes(days);
            parallel(local.len(), workers, |at| {
                write_file_part(
                    &config,
                    &local[at],
                    indexes[at],
                    days,
                    &duplicates[at],
                    &shapes,
                    &layout_owned,
                    &staging_path,
                )
            })
        })
        .await
        .map_err(|e| Error::Invalid(format!("segment write worker failed: {e}")))??;
        for (file, part) in files.iter().zip(parts) {
            let mut written = Vec::new();
            for ((day, table), staged) in part.files {
                let path = staged
                    .path
                    .as_ref()
                    .expect("a written part is a local file");
                store.put_file(&staged.key, path).await?;
                written.push(WrittenFile {
                    day,
                    table,
                    key: staged.key,
                    rows: staged.rows,
                    bytes: staged.bytes,
                });
            }
            done.lines += part.events;
            done.files.push(file.index);
            let record = WriteRecord {
                index: file.index,
                events: part.events,
                parts: written,
            };
            store
                .put(
                    &indexed_key(&job.job_id, &source, "parts", file.index, "json"),
                    to_json(&record)?,
                )
                .await?;
        }
    }
    done.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(done)
}

/// Publishes every source whose files are all written; the summaries in source order.
pub async fn commit_segment_fan_out(
    store: &dyn ObjectStore,
    task: &SegmentSourcesTask,
) -> Result<Vec<ExportSummary>> {
    let mut summaries = Vec::new();
    for plan in source_plans(store, task).await? {
        let mut report = commit_source(store, &task.job, &plan).await?;
        write_step_output(store, "export-segment", &mut report).await?;
        summaries.push(report.summary());
    }
    Ok(summaries)
}

async fn commit_source(
    store: &dyn ObjectStore,
    job: &JobContext,
    plan: &SourcePlan,
) -> Result<ExportReport> {
    let started = Instant::now();
    let source = &plan.config.source;
    let scans = records::<ScanRecord>(store, &job.job_id, plan, "scans", |r| r.index).await?;
    let writes = records::<WriteRecord>(store, &job.job_id, plan, "parts", |r| r.index).await?;
    let resolved: Resolved = read_json(
        store,
        &source_key(&job.job_id, source, "resolved.json"),
        "the resolved day",
    )
    .await?;
    let layout = PartitionLayout::lake(source, job.date, &job.job_id);
    let staging = Staging::new(store, &job.job_id, &format!("commit-{source}"))?;
    let summaries: Vec<&ScanSummary> = scans.iter().map(|r| &r.summary).collect();
    let shapes = resolved.tables.shapes(DaySelection::Only(job.date));
    let parts = writes.iter().flat_map(|record| {
        record.parts.iter().map(|part| {
            (
                (part.day, part.table.clone()),
                StagedFile {
                    key: part.key.clone(),
                    path: None,
                    rows: part.rows,
                    bytes: part.bytes,
                },
            )
        })
    });
    let tables = staged_tables(&plan.config, &shapes, parts, &layout, staging.path())?;
    let quarantine = merged_quarantine(
        store,
        scans.iter().filter_map(|r| r.quarantine_key.as_deref()),
        &staging,
        &layout,
        source,
    )
    .await?;
    let mut outcome = day_outcome(
        &plan.config,
        &layout,
        &summaries,
        DayWritten {
            tables,
            events: writes.iter().map(|r| r.events).sum(),
            duplicates: resolved.duplicates,
            quarantine,
        },
    );
    let mut warnings = plan.warnings.clone();
    warnings.append(&mut outcome.staged.warnings);
    outcome.staged.warnings = warnings;
    let mut report = publish(store, &outcome.staged).await?;
    report.counts = outcome.counts();
    report.counts.insert("files".into(), plan.files as u64);
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// A file's message keys as the resolve step reads them: (line, key) pairs, little-endian.
fn encode_keys(keys: &[(u32, u128)]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(keys.len() * 20);
    for (line, key) in keys {
        bytes.extend_from_slice(&line.to_le_bytes());
        bytes.extend_from_slice(&key.to_le_bytes());
    }
    bytes
}

fn decode_keys(bytes: &[u8]) -> Option<Vec<(u32, u128)>> {
    if !bytes.len().is_multiple_of(20) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(20)
            .map(|pair| {
                let (line, key) = pair.split_at(4);
                (
                    u32::from_le_bytes(line.try_into().expect("4 bytes")),
                    u128::from_le_bytes(key.try_into().expect("16 bytes")),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn message_keys_survive_their_file_and_a_torn_file_is_refused() {
        let keys = vec![(1, u128::MAX), (7, 42), (u32::MAX, 0)];
        let bytes = super::encode_keys(&keys);
        assert_eq!(super::decode_keys(&bytes), Some(keys));
        assert_eq!(super::decode_keys(&bytes[..bytes.len() - 1]), None);
    }
}
