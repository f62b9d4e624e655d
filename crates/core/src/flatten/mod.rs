//! Flattening DynamoDB items into one table of scalars and one table per array attribute.

mod column_type;
mod columns;
mod decimal;
pub mod export;
mod outcome;
mod plan;
mod tables;
#[cfg(test)]
mod tests;
mod value_ref;

pub use column_type::ColumnType;
pub use outcome::{FlattenOutcome, InputSummary, OutputFile, PartOutcome, TableOutput};
pub use plan::{EXTRA_COLUMN, FlattenConfig, FlattenPlan, ITEMS_TABLE, MapMode, PlannedColumn};
pub use tables::{TableSet, TableShape, table_shapes};

use crate::dynamo::Item;
use crate::error::{IoContext, Result};
use crate::lake::PartitionLayout;
use crate::quarantine::{QuarantineRecord, QuarantineWriter, merge_files};
use export::ExportFile;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Items read to discover a schema before any row is written.
pub const SAMPLE_ITEMS: usize = 1000;

/// Input bytes (as stored, compressed or not) a part reads before it is closed: consecutive
/// smaller files share a part, so 100,000 one-item files do not become 100,000 one-row Parquet
/// files per table. A file this big or bigger is a part of its own, as an export's 100 MB
/// files are.
pub const MIN_PART_INPUT_BYTES: u64 = 4 << 20;

/// Flattens export files on `workers` threads, one output part per input file or per group of
/// consecutive small ones (see [`MIN_PART_INPUT_BYTES`]). Returns the outcome with files in the
/// staging folder, not yet published.
pub fn flatten_export_files(
    plan: &FlattenPlan,
    files: &[ExportFile],
    layout: &PartitionLayout,
    staging: &Path,
    workers: usize,
) -> Result<FlattenOutcome> {
    let numbered: Vec<(usize, &ExportFile)> = files.iter().enumerate().collect();
    let parts = flatten_numbered_files(plan, &numbered, layout, staging, workers)?;
    finish_parts(plan, parts, staging, layout)
}

/// Flattens numbered files on `workers` threads, consecutive small ones grouped into one part
/// named by its first file's number; the parts in the order given. A fan-out iteration numbers
/// its files by their place in the whole export, so a retried iteration writes the same keys.
pub fn flatten_numbered_files(
    plan: &FlattenPlan,
    files: &[(usize, &ExportFile)],
    layout: &PartitionLayout,
    staging: &Path,
    workers: usize,
) -> Result<Vec<PartOutcome>> {
    let sizes: Vec<(usize, u64)> = files
        .iter()
        .map(|(number, file)| {
            // A file that cannot be read is its own part, where its error is quarantined.
            let size = std::fs::metadata(&file.path).map_or(u64::MAX, |m| m.len());
            (*number, size)
        })
        .collect();
    let groups: Vec<(usize, Vec<&ExportFile>)> = part_groups(&sizes, MIN_PART_INPUT_BYTES)
        .into_iter()
        .map(|range| {
            (
                files[range.start].0,
                files[range].iter().map(|(_, f)| *f).collect(),
            )
        })
        .collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<PartOutcome>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, groups.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some((part, group)) = groups.get(index) else {
                        break;
                    };
                    let outcome = export::flatten_group(plan, group, *part, layout, staging);
                    results
                        .lock()
                        .expect("a worker panicked")
                        .push((index, outcome));
                }
            });
        }
    });
    let mut results = results.into_inner().expect("a worker panicked");
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Splits numbered files (number, size) into runs that each become one part: a run grows over
/// files with consecutive numbers until it holds `min_bytes`; a gap in the numbers (files of
/// another iteration between them) always starts a new run.
pub fn part_groups(sizes: &[(usize, u64)], min_bytes: u64) -> Vec<std::ops::Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    let mut bytes = 0u64;
    for (index, (number, size)) in sizes.iter().enumerate() {
        if index > start && (bytes >= min_bytes || sizes[index - 1].0 + 1 != *number) {
            groups.push(start..index);
            start = index;
            bytes = 0;
        }
        bytes = bytes.saturating_add(*size);
    }
    if start < sizes.len() {
        groups.push(start..sizes.len());
    }
    groups
}

/// A batch of items from a page, a scan segment or a stream event, named for messages.
pub struct ItemBatch {
    pub input: String,
    pub items: Vec<Item<'static>>,
}

/// Flattens a sequence of batches into part `part` of every table.
pub fn flatten_batches(
    plan: &FlattenPlan,
    part: usize,
    label: &str,
    batches: impl IntoIterator<Item = ItemBatch>,
    layout: &PartitionLayout,
    staging: &Path,
) -> Result<PartOutcome> {
    let mut tables = TableSet::create(plan, layout, staging, part)
        .context(|| format!("creating output files for {label}"))?;
    let mut quarantine =
        QuarantineWriter::new(staging.join(format!(".quarantine/part-{part:05}.jsonl")));
    let mut summary = InputSummary::new(label, None);
    for batch in batches {
        for (index, item) in batch.items.iter().enumerate() {
            summary.lines += 1;
            summary.items += 1;
            match tables
                .push(item)
                .context(|| format!("writing rows from {}", batch.input))?
            {
                Ok(()) => {}
                Err(reason) => quarantine
                    .write(&QuarantineRecord {
                        input: batch.input.clone(),
                        line: Some(index as u64 + 1),
                        reason,
                        item: Some(item.to_dynamodb_json()),
                        raw: None,
                    })
                    .context(|| format!("writing quarantine for {}", batch.input))?,
            }
        }
    }
    summary.quarantined = quarantine.count();
    summary.written = tables.items_written();
    let parts = tables
        .finish(layout, part)
        .context(|| format!("closing output files for {label}"))?;
    let quarantine = quarantine
        .finish()
        .context(|| format!("closing quarantine for {label}"))?;
    Ok(PartOutcome {
        tables: parts,
        inputs: vec![summary],
        quarantine,
    })
}

/// Merges the parts' quarantine files and gathers the outcome.
pub fn finish_parts(
    plan: &FlattenPlan,
    parts: Vec<PartOutcome>,
    staging: &Path,
    layout: &PartitionLayout,
) -> Result<FlattenOutcome> {
    let quarantine_parts: Vec<_> = parts.iter().filter_map(|p| p.quarantine.clone()).collect();
    let quarantine_file = if quarantine_parts.is_empty() {
        None
    } else {
        let merged = crate::lake::staged_path(staging, &layout.quarantine_key())?;
        merge_files(&quarantine_parts, &merged)
            .context(|| format!("merging quarantine files into {}", merged.display()))?;
        Some(merged)
    };
    Ok(FlattenOutcome::from_parts(
        plan.clone(),
        parts,
        quarantine_file,
    ))
}
