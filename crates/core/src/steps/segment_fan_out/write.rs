//! After the scans: the day's duplicates and columns resolved, each file's rows written by the
//! second Map, and the commit that publishes the day.

use super::scan::decode_keys;
use super::*;

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
                let key = folder(job_id).record_key(source, "keys", index, "bin");
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
                        &folder(job_id).record_key(source, "duplicates", index, "json"),
                        to_json(&duplicates)?,
                    )
                    .await?;
            }
        }
        store
            .put(
                &folder(job_id).source_key(source, "resolved.json"),
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
            &folder(&job.job_id).source_key(&source, "resolved.json"),
            "the resolved day",
        )
        .await?;
        let mut duplicates = Vec::with_capacity(files.len());
        for file in &files {
            duplicates.push(if resolved.files_with_duplicates.contains(&file.index) {
                read_json::<Vec<u32>>(
                    store,
                    &folder(&job.job_id).record_key(&source, "duplicates", file.index, "json"),
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
                    &folder(&job.job_id).record_key(&source, "parts", file.index, "json"),
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
        &folder(&job.job_id).source_key(source, "resolved.json"),
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
