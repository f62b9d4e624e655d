//! The export-segment step: a day's Segment batches, or one new file, into the lake.

use super::JobContext;
use super::publish::{ExportReport, Staging, publish, write_step_output};
use crate::error::{Error, Result};
use crate::lake::PartitionLayout;
use crate::segment::{
    DaySelection, SegmentConfig, SegmentFile, batch_time_of_key, export_segment_files,
};
use crate::store::ObjectStore;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The step's input from the state machine: the job and one configured Segment source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentTask {
    pub job: JobContext,
    pub source: SegmentConfig,
}

/// Exports the batches that can hold the job date's events: only that day's events are written.
pub async fn run_segment_task(
    store: &dyn ObjectStore,
    task: &SegmentTask,
    workers: usize,
) -> Result<ExportReport> {
    crate::naming::check_plain(&task.source.source, "source").map_err(Error::Invalid)?;
    let (keys, empty) = day_batch_keys(store, &task.source, task.job.date).await?;
    let layout = PartitionLayout::lake(&task.source.source, task.job.date, &task.job.job_id);
    let mut report = export_keys(
        store,
        store,
        &task.source,
        &keys,
        DaySelection::Only(task.job.date),
        &layout,
        workers,
    )
    .await?;
    report.warnings.extend(empty);
    write_step_output(store, "export-segment", &mut report).await?;
    Ok(report)
}

/// The batch files that can hold `date`'s events, in key order, and a warning when there are
/// none (the day's tables are then empty).
pub(crate) async fn day_batch_keys(
    store: &dyn ObjectStore,
    source: &SegmentConfig,
    date: chrono::NaiveDate,
) -> Result<(Vec<String>, Option<String>)> {
    let (from, to) = source.batch_window(date).map_err(Error::Invalid)?;
    let prefix = format!("{}/", source.prefix.trim_end_matches('/'));
    let keys: Vec<String> = store
        .list(&prefix)
        .await?
        .into_iter()
        .filter(|key| batch_time_of_key(key).is_some_and(|t| t >= from && t < to))
        .collect();
    let empty = keys.is_empty().then(|| {
        format!(
            "no Segment batches under {} between {from} and {to}: the day's tables are empty",
            store.location(&prefix)
        )
    });
    Ok((keys, empty))
}

/// Exports the files at `keys` of `input` (in that order; the first copy of a message wins) into
/// `layout` in `output`.
pub async fn export_keys(
    input: &dyn ObjectStore,
    output: &dyn ObjectStore,
    config: &SegmentConfig,
    keys: &[String],
    days: DaySelection,
    layout: &PartitionLayout,
    workers: usize,
) -> Result<ExportReport> {
    let started = Instant::now();
    let staging = Staging::new(
        output,
        &layout.job_id,
        &format!("segment-{}", config.source),
    )?;
    let downloads = staging.path().join(".input");
    let mut files = Vec::new();
    for key in keys {
        files.push(SegmentFile {
            label: input.location(key),
            path: input.fetch_to_local(key, &downloads).await?,
            batch_time: batch_time_of_key(key),
        });
    }
    let staging_path = staging.path().to_path_buf();
    let config_owned = config.clone();
    let layout_owned = layout.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        export_segment_files(
            &config_owned,
            &files,
            days,
            &layout_owned,
            &staging_path,
            workers,
        )
    })
    .await
    .map_err(|e| Error::Invalid(format!("segment worker failed: {e}")))??;
    let mut report = publish(output, &outcome.staged).await?;
    report.counts = outcome.counts();
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Exports one file that has just arrived (an S3 put event) into a run of its own, named after
/// the file so that a redelivered event rewrites the same run.
pub async fn export_new_object(
    store: &dyn ObjectStore,
    config: &SegmentConfig,
    key: &str,
    workers: usize,
) -> Result<ExportReport> {
    let tz = config.time_zone().map_err(Error::Invalid)?;
    let batch = batch_time_of_key(key).ok_or_else(|| {
        Error::Invalid(format!(
            "{} is not in a Segment batch folder (…/<epoch-ms>/<file>.gz)",
            store.location(key)
        ))
    })?;
    let date = batch.with_timezone(&tz).date_naive();
    let job_id = format!("object-{:016x}", xxhash_rust::xxh3::xxh3_64(key.as_bytes()));
    let layout = PartitionLayout::lake(&config.source, date, &job_id);
    let mut report = export_keys(
        store,
        store,
        config,
        &[key.to_string()],
        DaySelection::All,
        &layout,
        workers,
    )
    .await?;
    write_step_output(store, "export-segment", &mut report).await?;
    Ok(report)
}
