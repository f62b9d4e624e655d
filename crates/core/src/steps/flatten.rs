use super::JobContext;
use super::publish::{
    ExportReport, StagedExport, StagedFile, StagedTable, Staging, publish, write_step_output,
};
use crate::config::DynamoDbRead;
use crate::dynamo::Item;
use crate::error::{Error, Result};
use crate::flatten::ItemBatch;
use crate::flatten::export::{ExportFile, MANIFEST_FILES, parse_manifest, sample_items};
use crate::flatten::{
    FlattenConfig, FlattenOutcome, FlattenPlan, ITEMS_TABLE, SAMPLE_ITEMS, flatten_export_files,
};
use crate::lake::PartitionLayout;
use crate::store::ObjectStore;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Reads a DynamoDB export under `export_prefix` (the folder holding `manifest-files.json`) in
/// `input`, flattens it on `workers` threads and publishes the tables to `output`.
pub async fn flatten_export(
    input: &dyn ObjectStore,
    output: &dyn ObjectStore,
    config: &FlattenConfig,
    export_prefix: &str,
    layout: &PartitionLayout,
    workers: usize,
) -> Result<ExportReport> {
    let started = Instant::now();
    let listing = list_export(input, export_prefix).await?;
    let staging = Staging::new(
        output,
        &layout.job_id,
        &format!("flatten-{}", config.source),
    )?;
    let downloads = staging.path().join(".input");
    let mut files = Vec::new();
    for listed in &listing.files {
        let path = input.fetch_to_local(&listed.key, &downloads).await?;
        files.push(ExportFile {
            label: input.location(&listed.key),
            path,
            expected_items: listed.expected_items,
        });
    }
    let staging_path = staging.path().to_path_buf();
    let config = config.clone();
    let layout_owned = layout.clone();
    let outcome = tokio::task::spawn_blocking(move || -> Result<FlattenOutcome> {
        let sample = sample_items(&files, SAMPLE_ITEMS);
        let plan = FlattenPlan::resolve(&config, &sample).map_err(Error::Invalid)?;
        flatten_export_files(&plan, &files, &layout_owned, &staging_path, workers)
    })
    .await
    .map_err(|e| Error::Invalid(format!("flatten worker failed: {e}")))??;
    let mut report = publish_outcome(output, &outcome, layout).await?;
    report.warnings.extend(listing.empty_warning());
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// A DynamoDB export's data files, as its manifest lists them, each checked to lie inside the
/// export's folder.
#[derive(Debug, Clone)]
pub struct ExportListing {
    /// Where the manifest was read, for messages.
    pub manifest: String,
    pub files: Vec<ListedFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedFile {
    pub key: String,
    pub expected_items: Option<u64>,
}

impl ExportListing {
    pub fn empty_warning(&self) -> Option<String> {
        self.files
            .is_empty()
            .then(|| format!("{} lists no data files: the export is empty", self.manifest))
    }
}

/// Reads `manifest-files.json` under `export_prefix` in `input`.
pub async fn list_export(input: &dyn ObjectStore, export_prefix: &str) -> Result<ExportListing> {
    let prefix = normalise_prefix(export_prefix);
    let manifest_key = format!("{prefix}{MANIFEST_FILES}");
    let manifest = input.get(&manifest_key).await.map_err(|e| {
        Error::Invalid(format!(
            "cannot read the export manifest: {e}. Point the export location at the folder that holds {MANIFEST_FILES} (AWSDynamoDB/<export-id>/)"
        ))
    })?;
    let text = String::from_utf8_lossy(&manifest);
    let location = input.location(&manifest_key);
    let entries = parse_manifest(&text, &location)?;
    let mut files = Vec::new();
    for (line, entry) in entries.iter().enumerate() {
        // A data file is read from inside the export folder only, whatever the manifest says.
        let relative = entry.relative_path();
        crate::store::check_key(&relative, false).map_err(|e| {
            Error::Invalid(format!(
                "{location} line {} lists data file {:?}, which daybook will not read ({e}); a DynamoDB export lists its own data/ files: point the export location at an export's folder",
                line + 1,
                entry.data_key
            ))
        })?;
        files.push(ListedFile {
            key: format!("{prefix}{relative}"),
            expected_items: entry.item_count,
        });
    }
    Ok(ExportListing {
        manifest: location,
        files,
    })
}

/// Flattens items already in memory (a stream batch, pages read by an adapter) as one part.
pub async fn flatten_items(
    store: &dyn ObjectStore,
    config: &FlattenConfig,
    batches: Vec<crate::flatten::ItemBatch>,
    layout: &PartitionLayout,
) -> Result<ExportReport> {
    let started = Instant::now();
    let staging = Staging::new(store, &layout.job_id, &format!("flatten-{}", config.source))?;
    let sample: Vec<Item> = batches
        .iter()
        .flat_map(|b| b.items.iter())
        .take(SAMPLE_ITEMS)
        .cloned()
        .collect();
    let plan = FlattenPlan::resolve(config, &sample).map_err(Error::Invalid)?;
    let label = batches
        .first()
        .map(|b| b.input.clone())
        .unwrap_or_else(|| config.source.clone());
    let part = crate::flatten::flatten_batches(&plan, 0, &label, batches, layout, staging.path())?;
    let outcome = crate::flatten::finish_parts(&plan, vec![part], staging.path(), layout)?;
    let mut report = publish_outcome(store, &outcome, layout).await?;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    write_step_output(store, "flatten", &mut report).await?;
    Ok(report)
}

fn normalise_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    }
}

/// Publishes a flatten outcome's tables, all for the layout's date.
pub async fn publish_outcome(
    store: &dyn ObjectStore,
    outcome: &FlattenOutcome,
    layout: &PartitionLayout,
) -> Result<ExportReport> {
    let staged = StagedExport {
        max_quarantined_share: outcome.plan.max_quarantined_share,
        source: outcome.plan.source.clone(),
        job_id: layout.job_id.clone(),
        date: layout.date,
        tables: outcome
            .tables
            .iter()
            .map(|table| StagedTable {
                table: table.table.clone(),
                dt: layout.date,
                run_prefix: layout.run_prefix(&table.table),
                rows: table.rows,
                schema: table.schema.clone(),
                files: table
                    .files
                    .iter()
                    .map(|f| StagedFile {
                        key: f.key.clone(),
                        path: Some(f.path.clone()),
                        rows: f.rows,
                        bytes: f.bytes,
                    })
                    .collect(),
                // The source's notes are read where its items are.
                notes: if table.table == ITEMS_TABLE {
                    outcome.plan.notes.clone()
                } else {
                    vec![]
                },
            })
            .collect(),
        items_read: outcome.items_read,
        items_written: outcome.items_written,
        quarantined: outcome.quarantined,
        quarantine: outcome
            .quarantine_file
            .clone()
            .map(|path| (path, layout.quarantine_key())),
        warnings: outcome.warnings.clone(),
    };
    publish(store, &staged).await
}

/// Convenience for callers that only have a job context.
pub fn lake_layout(config: &FlattenConfig, job: &JobContext) -> PartitionLayout {
    PartitionLayout::lake(&config.source, job.date, &job.job_id)
}

/// The flatten step's input from the state machine: the job and one configured source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlattenTask {
    pub job: JobContext,
    pub source: crate::config::DynamoDbSource,
}

/// Flattens the source's items for the job's date into the lake: from an export in the store,
/// or through `reader` for Query and Scan.
pub async fn run_flatten_task(
    store: &dyn ObjectStore,
    reader: &dyn ItemReader,
    task: &FlattenTask,
    workers: usize,
) -> Result<ExportReport> {
    crate::naming::check_plain(&task.source.flatten.source, "source").map_err(Error::Invalid)?;
    let layout = lake_layout(&task.source.flatten, &task.job);
    let mut report = match &task.source.read {
        DynamoDbRead::Export { export_prefix, .. } => {
            let prefix = export_prefix.replace("{date}", &task.job.date.to_string());
            flatten_export(
                store,
                store,
                &task.source.flatten,
                &prefix,
                &layout,
                workers,
            )
            .await?
        }
        read => {
            let lanes = reader.open(read, task.job.date).await?;
            flatten_lanes(store, &task.source.flatten, lanes, &layout).await?
        }
    };
    write_step_output(store, "flatten", &mut report).await?;
    Ok(report)
}

/// A stream of item batches from one reader worker (a Query, or one Scan segment). An `Err`
/// ends the read: the step fails and nothing is published.
pub type ItemLane =
    tokio::sync::mpsc::Receiver<std::result::Result<ItemBatch, crate::ports::PortError>>;

/// The DynamoDB source port for Query and Scan reads.
#[async_trait::async_trait]
pub trait ItemReader: Send + Sync {
    async fn open(&self, read: &DynamoDbRead, date: chrono::NaiveDate) -> Result<Vec<ItemLane>>;
}

/// The embedded default: no live table, so only exports can be read.
pub struct ExportsOnly;

#[async_trait::async_trait]
impl ItemReader for ExportsOnly {
    async fn open(&self, read: &DynamoDbRead, _date: chrono::NaiveDate) -> Result<Vec<ItemLane>> {
        Err(Error::Invalid(format!(
            "this run has no DynamoDB connection, so it cannot {read:?}; locally, point the source at an export (\"read\": \"export\")"
        )))
    }
}

/// Flattens lanes in parallel, one output part per lane; fails whole if any lane fails.
pub async fn flatten_lanes(
    store: &dyn ObjectStore,
    config: &FlattenConfig,
    mut lanes: Vec<ItemLane>,
    layout: &PartitionLayout,
) -> Result<ExportReport> {
    let started = Instant::now();
    let staging = Staging::new(store, &layout.job_id, &format!("flatten-{}", config.source))?;
    // The first batch of every lane is the sample the schema is discovered from.
    let mut firsts = Vec::new();
    for lane in &mut lanes {
        firsts.push(match lane.recv().await {
            Some(Ok(batch)) => Some(batch),
            Some(Err(e)) => return Err(Error::port(format!("reading {}", config.source), e)),
            None => None,
        });
    }
    let sample: Vec<Item> = firsts
        .iter()
        .flatten()
        .flat_map(|b| b.items.iter())
        .take(SAMPLE_ITEMS)
        .cloned()
        .collect();
    let plan = FlattenPlan::resolve(config, &sample).map_err(Error::Invalid)?;
    let mut workers = Vec::new();
    for (index, (mut lane, first)) in lanes.into_iter().zip(firsts).enumerate() {
        let plan = plan.clone();
        let layout = layout.clone();
        let staging = staging.path().to_path_buf();
        let label = format!("{} lane {index}", config.source);
        workers.push(tokio::task::spawn_blocking(move || {
            let mut failure = None;
            let batches =
                first
                    .into_iter()
                    .chain(std::iter::from_fn(|| match lane.blocking_recv()? {
                        Ok(batch) => Some(batch),
                        Err(e) => {
                            failure = Some(e);
                            None
                        }
                    }));
            let part =
                crate::flatten::flatten_batches(&plan, index, &label, batches, &layout, &staging);
            match failure {
                Some(e) => Err(Error::port(format!("reading {label}"), e)),
                None => part,
            }
        }));
    }
    let mut parts = Vec::new();
    for worker in workers {
        parts.push(
            worker
                .await
                .map_err(|e| Error::Invalid(format!("flatten worker failed: {e}")))??,
        );
    }
    let outcome = crate::flatten::finish_parts(&plan, parts, staging.path(), layout)?;
    let mut report = publish_outcome(store, &outcome, layout).await?;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}
