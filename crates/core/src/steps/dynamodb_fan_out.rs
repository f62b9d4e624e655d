//! A DynamoDB export too big for one invocation, flattened by a Distributed Map in three
//! steps of the same function:
//!
//! 1. **plan** reads each source's export manifest, fixes the table schemas from a sample of
//!    its first file, and writes the list of data files the Map's ItemReader reads;
//! 2. **part** (one per Map iteration) flattens a batch of those files with the fixed plan,
//!    straight into the run folder, and records what it wrote;
//! 3. **commit** checks every file has its record, then writes the manifests and the run's
//!    commit, as a whole-export flatten does: a run folder is complete only once its manifest
//!    is out, so the catalog never sees half an export.
//!
//! A part file's name is its file's place in the whole export, so a retried or redriven
//! iteration rewrites the same keys.

use super::JobContext;
use super::fan_out_protocol::{
    self, FanOutFolder, FanOutPlan, MapItem, Pass, SourcePlan as PlannedSource,
    default_map_concurrency, files_per_iteration, merged_quarantine,
};
use super::flatten::{ListedFile, list_export};
use super::publish::{
    ExportReport, ExportSummary, StagedExport, StagedFile, StagedTable, Staging, publish, to_json,
    write_step_output,
};
use crate::config::DynamoDbSource;
use crate::error::{Error, Result};
use crate::flatten::export::{ExportFile, sample_items};
use crate::flatten::{
    FlattenPlan, ITEMS_TABLE, InputSummary, SAMPLE_ITEMS, flatten_numbered_files, table_shapes,
};
use crate::lake::{PartitionLayout, SchemaColumn};
use crate::store::ObjectStore;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Where this fan-out keeps its plan and records: `jobs/<job>/fan-out/`.
fn folder(job_id: &str) -> FanOutFolder<'_> {
    FanOutFolder::new(job_id, "fan-out")
}

/// The kind of record a child leaves per part.
const PARTS: &str = "parts";

/// What flatten-dynamodb is asked in a fan-out; `mode` names the step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum FanOutStep {
    Plan(SourcesTask),
    Part(PartTask),
    Commit(SourcesTask),
}

/// The plan and the commit: the job and the sources that fan out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcesTask {
    pub job: JobContext,
    pub sources: Vec<DynamoDbSource>,
    /// How many Map children may run at once (the stack's `MapMaxConcurrency`); the plan hands
    /// it to the Map, as the plan step alone receives it.
    #[serde(default = "default_map_concurrency")]
    pub max_concurrency: u32,
}

/// One Map iteration: its batch of files (the ItemBatcher's `Items`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartTask {
    pub job: JobContext,
    pub files: Vec<PlannedFile>,
}

/// One data file of one source's export, numbered by its place in that export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedFile {
    pub source: String,
    pub part: usize,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_items: Option<u64>,
}

impl MapItem for PlannedFile {
    fn source(&self) -> &str {
        &self.source
    }
    fn index(&self) -> usize {
        self.part
    }
}

/// One source's fixed plan, kept in the job's folder for the parts and the commit.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SourcePlan {
    plan: FlattenPlan,
    files: usize,
    warnings: Vec<String>,
}

impl PlannedSource for SourcePlan {
    fn files(&self) -> usize {
        self.files
    }
}

/// What one part wrote: every table's file and the counts of each export file it read (one, or
/// a run of small consecutive ones, named by the first).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PartRecord {
    /// The export files the part holds, by their place in the export.
    parts: Vec<usize>,
    inputs: Vec<InputSummary>,
    tables: Vec<PartFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quarantine_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PartFile {
    table: String,
    key: String,
    rows: u64,
    bytes: u64,
}

/// The iteration's output: kept small, as a Map's results are; the records are in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartsDone {
    pub parts: Vec<usize>,
    pub items_read: u64,
    pub elapsed_ms: u64,
}

/// Runs the step `step` names; its output as the state machine gets it.
pub async fn run(
    store: &dyn ObjectStore,
    step: &FanOutStep,
    workers: usize,
) -> Result<serde_json::Value> {
    let output = match step {
        FanOutStep::Plan(task) => serde_json::to_value(plan_fan_out(store, task).await?),
        FanOutStep::Part(task) => serde_json::to_value(flatten_parts(store, task, workers).await?),
        FanOutStep::Commit(task) => serde_json::to_value(commit_fan_out(store, task).await?),
    };
    Ok(output.expect("step outputs serialise"))
}

fn check_sources(sources: &[DynamoDbSource]) -> Result<()> {
    fan_out_protocol::check_sources(
        sources
            .iter()
            .map(|s| (s.flatten.source.as_str(), s.fan_out().is_some())),
        |name| {
            format!(
                "source {name:?} is not read from an export with \"fan_out\": only an export's files can be spread over a Distributed Map"
            )
        },
    )
}

/// Plans every source's fan-out and writes the file list the Map reads.
pub async fn plan_fan_out(store: &dyn ObjectStore, task: &SourcesTask) -> Result<FanOutPlan> {
    check_sources(&task.sources)?;
    let job = &task.job;
    // One batch size for the one Map: the smallest any source asks for.
    let per_iteration = files_per_iteration(
        task.sources
            .iter()
            .filter_map(|s| s.fan_out())
            .map(|(_, fan_out)| fan_out.files_per_iteration),
    );
    let mut plans = Vec::new();
    let mut items = Vec::new();
    for source in &task.sources {
        let (prefix, _) = source.fan_out().expect("checked above");
        let name = &source.flatten.source;
        let listing = list_export(store, &prefix.replace("{date}", &job.date.to_string())).await?;
        let plan = sample_plan(store, source, job, &listing.files).await?;
        plans.push((
            name.as_str(),
            SourcePlan {
                plan,
                files: listing.files.len(),
                warnings: listing.empty_warning().into_iter().collect(),
            },
        ));
        items.extend(
            listing
                .files
                .into_iter()
                .enumerate()
                .map(|(part, file)| PlannedFile {
                    source: name.clone(),
                    part,
                    key: file.key,
                    expected_items: file.expected_items,
                }),
        );
    }
    folder(&job.job_id)
        .write_plan(store, &plans, &items, per_iteration, task.max_concurrency)
        .await
}

/// The schema every part writes, from the items at the start of the export (as a whole-export
/// flatten finds it), so that all parts' files have the same columns.
async fn sample_plan(
    store: &dyn ObjectStore,
    source: &DynamoDbSource,
    job: &JobContext,
    files: &[ListedFile],
) -> Result<FlattenPlan> {
    let staging = Staging::new(
        store,
        &job.job_id,
        &format!("plan-{}", source.flatten.source),
    )?;
    let mut sample = Vec::new();
    for file in files {
        let path = store.fetch_to_local(&file.key, staging.path()).await?;
        let local = ExportFile {
            label: store.location(&file.key),
            path,
            expected_items: file.expected_items,
        };
        sample.extend(sample_items(
            std::slice::from_ref(&local),
            SAMPLE_ITEMS - sample.len(),
        ));
        if sample.len() >= SAMPLE_ITEMS {
            break;
        }
    }
    FlattenPlan::resolve(&source.flatten, &sample).map_err(Error::Invalid)
}

/// Flattens one iteration's files into their parts of the run folder and records each.
pub async fn flatten_parts(
    store: &dyn ObjectStore,
    task: &PartTask,
    workers: usize,
) -> Result<PartsDone> {
    let started = Instant::now();
    let job = &task.job;
    let mut done = PartsDone {
        parts: Vec::new(),
        items_read: 0,
        elapsed_ms: 0,
    };
    let folder = folder(&job.job_id);
    for (kept, files) in folder
        .by_source::<SourcePlan, _>(store, &task.files, "part")
        .await?
    {
        let source = files[0].source.as_str();
        let layout = PartitionLayout::lake(source, job.date, &job.job_id);
        let staging = Staging::new(store, &job.job_id, &format!("part-{source}"))?;
        let downloads = staging.path().join(".input");
        let mut local = Vec::new();
        for file in &files {
            let path = store.fetch_to_local(&file.key, &downloads).await?;
            local.push((
                file.part,
                ExportFile {
                    label: store.location(&file.key),
                    path,
                    expected_items: file.expected_items,
                },
            ));
        }
        let plan = kept.plan.clone();
        let staging_path = staging.path().to_path_buf();
        let layout_owned = layout.clone();
        let outcomes = tokio::task::spawn_blocking(move || {
            let numbered: Vec<(usize, &ExportFile)> = local.iter().map(|(p, f)| (*p, f)).collect();
            flatten_numbered_files(&plan, &numbered, &layout_owned, &staging_path, workers)
        })
        .await
        .map_err(|e| Error::Invalid(format!("flatten worker failed: {e}")))??;
        let mut files = files.iter();
        for outcome in outcomes {
            let parts: Vec<usize> = files
                .by_ref()
                .take(outcome.inputs.len())
                .map(|f| f.part)
                .collect();
            let first = parts[0];
            let mut tables = Vec::new();
            for table in &outcome.tables {
                store.put_file(&table.key, &table.file.path).await?;
                tables.push(PartFile {
                    table: table.table.clone(),
                    key: table.key.clone(),
                    rows: table.file.rows,
                    bytes: table.file.bytes,
                });
            }
            let quarantine_key = match &outcome.quarantine {
                Some(path) => {
                    let key = folder.record_key(source, "quarantine", first, "jsonl");
                    store.put_file(&key, path).await?;
                    Some(key)
                }
                None => None,
            };
            done.items_read += outcome.inputs.iter().map(|i| i.items).sum::<u64>();
            done.parts.extend(&parts);
            let record = PartRecord {
                parts,
                inputs: outcome.inputs,
                tables,
                quarantine_key,
            };
            store
                .put(
                    &folder.record_key(source, PARTS, first, "json"),
                    to_json(&record)?,
                )
                .await?;
        }
    }
    done.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(done)
}

/// Publishes every source whose parts are all recorded; the summaries in source order.
pub async fn commit_fan_out(
    store: &dyn ObjectStore,
    task: &SourcesTask,
) -> Result<Vec<ExportSummary>> {
    check_sources(&task.sources)?;
    let mut summaries = Vec::new();
    for source in &task.sources {
        let mut report = commit_source(store, &task.job, &source.flatten.source).await?;
        write_step_output(store, "flatten", &mut report).await?;
        summaries.push(report.summary());
    }
    Ok(summaries)
}

async fn commit_source(
    store: &dyn ObjectStore,
    job: &JobContext,
    source: &str,
) -> Result<ExportReport> {
    let started = Instant::now();
    let folder = folder(&job.job_id);
    let kept: SourcePlan = folder.read_plan(store, source).await?;
    let layout = PartitionLayout::lake(source, job.date, &job.job_id);
    let pass = Pass {
        source: &format!("source {source:?}"),
        file: "export file",
        files: "export files",
        missing: &|parts| format!("have no flattened part (parts {parts})"),
    };
    let records: Vec<PartRecord> = folder
        .every_file_recorded(store, source, PARTS, kept.files, &pass, |r: &PartRecord| {
            r.parts.clone()
        })
        .await?;
    let staging = Staging::new(store, &job.job_id, &format!("commit-{source}"))?;
    let quarantine = merged_quarantine(
        store,
        records.iter().filter_map(|r| r.quarantine_key.as_deref()),
        &staging,
        &layout,
        source,
    )
    .await?;
    let tables = table_shapes(&kept.plan)
        .into_iter()
        .map(|shape| {
            let files: Vec<StagedFile> = records
                .iter()
                .flat_map(|r| r.tables.iter().filter(|t| t.table == shape.name))
                .map(|f| StagedFile {
                    key: f.key.clone(),
                    path: None,
                    rows: f.rows,
                    bytes: f.bytes,
                })
                .collect();
            StagedTable {
                rows: files.iter().map(|f| f.rows).sum(),
                run_prefix: layout.run_prefix(&shape.name),
                dt: layout.date,
                schema: SchemaColumn::from_arrow(&shape.schema),
                notes: if shape.name == ITEMS_TABLE {
                    kept.plan.notes.clone()
                } else {
                    vec![]
                },
                table: shape.name,
                files,
            }
        })
        .collect();
    let inputs: Vec<&InputSummary> = records.iter().flat_map(|r| &r.inputs).collect();
    let mut warnings = kept.warnings.clone();
    warnings.extend(inputs.iter().filter_map(|i| i.discrepancy()));
    let staged = StagedExport {
        source: source.to_string(),
        job_id: job.job_id.clone(),
        date: job.date,
        tables,
        items_read: inputs.iter().map(|i| i.items).sum(),
        items_written: inputs.iter().map(|i| i.written).sum(),
        quarantined: inputs.iter().map(|i| i.quarantined).sum(),
        quarantine,
        warnings,
        max_quarantined_share: kept.plan.max_quarantined_share,
    };
    let mut report = publish(store, &staged).await?;
    report.counts.insert("parts".into(), records.len() as u64);
    report
        .counts
        .insert("export_files".into(), kept.files as u64);
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}
