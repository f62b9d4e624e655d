use super::config::{DaySelection, SegmentConfig, SegmentFile};
use super::event::parse_event;
use super::rows::TableRows;
use super::scan::read_lines;
use super::schema::event_properties;
pub use super::shapes::{DayShapes, DayTables, ScanSummary};
use crate::error::{Error, IoContext, Result};
use crate::lake::{PartitionLayout, SchemaColumn};
use crate::parquet_sink::ParquetSink;
use crate::quarantine::{QuarantineRecord, QuarantineWriter, excerpt, merge_files};
use crate::staged::{StagedExport, StagedFile, StagedTable};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A staged export and the counts that explain it: every non-empty line is written, a
/// duplicate, an event of a day not selected, or quarantined.
#[derive(Debug)]
pub struct SegmentOutcome {
    pub staged: StagedExport,
    pub lines: u64,
    pub written: u64,
    pub duplicates: u64,
    pub other_days: u64,
    pub quarantined: u64,
    pub bytes: u64,
}

impl SegmentOutcome {
    pub fn counts(&self) -> BTreeMap<String, u64> {
        BTreeMap::from([
            ("lines".to_string(), self.lines),
            ("duplicates".to_string(), self.duplicates),
            ("other_days".to_string(), self.other_days),
        ])
    }
}

/// What the first pass learns from one file.
#[derive(Debug, Default)]
pub struct FileScan {
    pub summary: ScanSummary,
    /// (line, hash of day and message id) of every selected event, in line order.
    pub keys: Vec<(u32, u128)>,
    pub quarantine: Option<PathBuf>,
}

/// What the second pass wrote from some files: the events and a part per (day, table).
pub struct WrittenPart {
    pub events: u64,
    pub files: Vec<((NaiveDate, String), StagedFile)>,
}

/// The message keys seen so far, in file order then line order: the first occurrence wins, so
/// the same rows are kept on every rerun.
#[derive(Default)]
pub struct FirstOccurrence {
    seen: super::FastSet<u128>,
}

impl FirstOccurrence {
    /// The lines of `keys` (one file's, in line order) whose message was already seen.
    pub fn duplicates(&mut self, keys: &[(u32, u128)]) -> Vec<u32> {
        keys.iter()
            .filter(|(_, key)| !self.seen.insert(*key))
            .map(|(line, _)| *line)
            .collect()
    }
}

/// Exports Segment files on `workers` threads into per-day partitions below `layout`'s root
/// (its date names the quarantine file). Files are staged in `staging`, not yet published.
pub fn export_segment_files(
    config: &SegmentConfig,
    files: &[SegmentFile],
    days: DaySelection,
    layout: &PartitionLayout,
    staging: &Path,
    workers: usize,
) -> Result<SegmentOutcome> {
    let tz = config.time_zone().map_err(Error::Invalid)?;
    let scans = parallel(files.len(), workers, |index| {
        scan_file(config, &files[index], index, tz, days, staging)
    })?;
    let mut first = FirstOccurrence::default();
    let duplicates: Vec<Vec<u32>> = scans
        .iter()
        .map(|scan| first.duplicates(&scan.keys))
        .collect();
    drop(first);
    let summaries: Vec<&ScanSummary> = scans.iter().map(|scan| &scan.summary).collect();
    let day_shapes = DayTables::of(&summaries, config.limits()).shapes(days);
    let parts = parallel_workers(files.len(), workers, |worker, next| {
        write_files(
            config,
            files,
            next,
            worker,
            tz,
            days,
            &duplicates,
            &day_shapes,
            layout,
            staging,
        )
    })?;
    let written = parts.iter().map(|part| part.events).sum();
    let tables = staged_tables(
        config,
        &day_shapes,
        parts.into_iter().flat_map(|part| part.files),
        layout,
        staging,
    )?;
    let quarantine_parts: Vec<PathBuf> =
        scans.iter().filter_map(|s| s.quarantine.clone()).collect();
    let quarantine = if quarantine_parts.is_empty() {
        None
    } else {
        let key = layout.quarantine_key();
        let merged = crate::lake::staged_path(staging, &key)?;
        merge_files(&quarantine_parts, &merged)
            .context(|| format!("merging quarantine files into {}", merged.display()))?;
        Some((merged, key))
    };
    Ok(day_outcome(
        config,
        layout,
        &summaries,
        DayWritten {
            tables,
            events: written,
            duplicates: duplicates.iter().map(|d| d.len() as u64).sum(),
            quarantine,
        },
    ))
}

/// What the second pass and the merge made of a day.
pub struct DayWritten {
    pub tables: Vec<StagedTable>,
    pub events: u64,
    pub duplicates: u64,
    /// The merged quarantine file and its key in the lake.
    pub quarantine: Option<(PathBuf, String)>,
}

/// The staged export of a day, its warnings and its counts, from every file's scan (in file
/// order) and what was written.
pub fn day_outcome(
    config: &SegmentConfig,
    layout: &PartitionLayout,
    summaries: &[&ScanSummary],
    written: DayWritten,
) -> SegmentOutcome {
    let mut warnings: Vec<String> = summaries
        .iter()
        .filter_map(|s| s.read.error.clone())
        .collect();
    let other_days: u64 = summaries.iter().map(|s| s.other_days).sum();
    if other_days > 0 {
        warnings.push(format!(
            "{other_days} events belong to other days and were left to those days' runs"
        ));
    }
    for table in &written.tables {
        for note in &table.notes {
            warnings.push(format!("{} {}: {note}", table.table, table.dt));
        }
    }
    let quarantined: u64 = summaries.iter().map(|s| s.quarantined).sum();
    let lines: u64 = summaries.iter().map(|s| s.read.lines).sum();
    SegmentOutcome {
        staged: StagedExport {
            source: config.source.clone(),
            job_id: layout.job_id.clone(),
            date: layout.date,
            tables: written.tables,
            items_read: lines,
            items_written: written.events,
            quarantined,
            quarantine: written.quarantine,
            warnings,
            max_quarantined_share: config.max_quarantined_share,
        },
        lines,
        written: written.events,
        duplicates: written.duplicates,
        other_days,
        quarantined,
        bytes: summaries.iter().map(|s| s.read.bytes).sum(),
    }
}

/// The staged tables of every shape, with the parts written; a table no part wrote to gets an
/// empty part, so that every table of a day written exists.
pub fn staged_tables(
    config: &SegmentConfig,
    day_shapes: &DayShapes,
    parts: impl IntoIterator<Item = ((NaiveDate, String), StagedFile)>,
    layout: &PartitionLayout,
    staging: &Path,
) -> Result<Vec<StagedTable>> {
    let mut tables: BTreeMap<(NaiveDate, String), StagedTable> = BTreeMap::new();
    for ((day, table), columns) in &day_shapes.shapes {
        let day_layout = PartitionLayout {
            date: *day,
            ..layout.clone()
        };
        tables.insert(
            (*day, table.clone()),
            StagedTable {
                table: table.clone(),
                dt: *day,
                run_prefix: day_layout.run_prefix(table),
                rows: 0,
                schema: SchemaColumn::from_arrow(&columns.schema),
                files: vec![],
                notes: columns.notes.clone(),
            },
        );
    }
    for (key, file) in parts {
        let table = tables.get_mut(&key).ok_or_else(|| {
            Error::Invalid(format!(
                "a part was written for table {} of {}, which the day's scan does not have; the parts and the scan are from different runs: start the job again",
                key.1, key.0
            ))
        })?;
        table.rows += file.rows;
        table.files.push(file);
    }
    for ((day, name), table) in tables.iter_mut() {
        if table.files.is_empty() {
            let day_layout = PartitionLayout {
                date: *day,
                ..layout.clone()
            };
            let key = day_layout.part_key(name, 0);
            let path = crate::lake::staged_path(staging, &key)?;
            let schema = day_shapes.shapes[&(*day, name.clone())].schema.clone();
            let file = ParquetSink::create(&path, schema, config.row_group_rows, &[])
                .and_then(ParquetSink::finish)
                .context(|| format!("writing an empty part for {name} {day}"))?;
            table.files.push(StagedFile {
                key,
                path: Some(path),
                rows: 0,
                bytes: file.bytes,
            });
        }
        table.files.sort_by(|a, b| a.key.cmp(&b.key));
    }
    Ok(tables.into_values().collect())
}

/// Writes one file's selected events, except the lines in `duplicates`, as parts numbered
/// `part`: a fan-out names a file's parts by its place in the day, so a retry rewrites them.
#[allow(clippy::too_many_arguments)]
pub fn write_file_part(
    config: &SegmentConfig,
    file: &SegmentFile,
    part: usize,
    days: DaySelection,
    duplicates: &[u32],
    day_shapes: &DayShapes,
    layout: &PartitionLayout,
    staging: &Path,
) -> Result<WrittenPart> {
    let tz = config.time_zone().map_err(Error::Invalid)?;
    write_files(
        config,
        std::slice::from_ref(file),
        &AtomicUsize::new(0),
        part,
        tz,
        days,
        &[duplicates.to_vec()],
        day_shapes,
        layout,
        staging,
    )
}

pub fn scan_file(
    config: &SegmentConfig,
    file: &SegmentFile,
    index: usize,
    tz: chrono_tz::Tz,
    days: DaySelection,
    staging: &Path,
) -> Result<FileScan> {
    let mut scan = FileScan::default();
    let mut quarantine =
        QuarantineWriter::new(staging.join(format!(".quarantine/file-{index:05}.jsonl")));
    let read = read_lines(file, config.max_line_bytes, |line, text, bytes| {
        let mut reject = |reason: String| {
            let raw = String::from_utf8_lossy(&bytes[..bytes.len().min(4 * 2000)]);
            quarantine.write(&QuarantineRecord {
                input: file.label.clone(),
                line: Some(u64::from(line)),
                reason,
                item: None,
                raw: Some(excerpt(&raw)),
            })
        };
        let event = match text.and_then(|text| parse_event(text, file.batch_time)) {
            Ok(event) => event,
            Err(reason) => return reject(reason),
        };
        let day = event.timestamp.with_timezone(&tz).date_naive();
        if !days.includes(day) {
            scan.summary.other_days += 1;
            return Ok(());
        }
        let properties = match &event.event {
            None => None,
            Some(_) => match event_properties(event.properties) {
                Ok(map) => Some(map),
                Err(reason) => return reject(reason),
            },
        };
        scan.keys.push((line, message_key(day, &event.message_id)));
        *scan
            .summary
            .rows
            .entry((day, event.call.table().to_string()))
            .or_default() += 1;
        if let (Some(name), Some(map)) = (&event.event, properties) {
            let columns = scan
                .summary
                .properties
                .entry((day, name.to_string()))
                .or_default();
            columns.observe_within(&map, config.max_properties_per_event);
        }
        Ok(())
    })
    .context(|| format!("writing quarantine for {}", file.label))?;
    if let Some(error) = &read.error {
        quarantine
            .write(&QuarantineRecord {
                input: file.label.clone(),
                line: None,
                reason: error.clone(),
                item: None,
                raw: None,
            })
            .context(|| format!("writing quarantine for {}", file.label))?;
    }
    scan.summary.read = read;
    scan.summary.quarantined = quarantine.count();
    scan.quarantine = quarantine
        .finish()
        .context(|| format!("closing quarantine for {}", file.label))?;
    Ok(scan)
}

fn message_key(day: NaiveDate, message_id: &str) -> u128 {
    let mut bytes = Vec::with_capacity(message_id.len() + 4);
    bytes.extend_from_slice(&chrono::Datelike::num_days_from_ce(&day).to_le_bytes());
    bytes.extend_from_slice(message_id.as_bytes());
    xxhash_rust::xxh3::xxh3_128(&bytes)
}

#[allow(clippy::too_many_arguments)]
fn write_files(
    config: &SegmentConfig,
    files: &[SegmentFile],
    next: &AtomicUsize,
    worker: usize,
    tz: chrono_tz::Tz,
    days: DaySelection,
    duplicates: &[Vec<u32>],
    day_shapes: &DayShapes,
    layout: &PartitionLayout,
    staging: &Path,
) -> Result<WrittenPart> {
    let mut tables: super::FastMap<(NaiveDate, String), TableRows> = Default::default();
    let mut events = 0;
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(file) = files.get(index) else { break };
        let skip = &duplicates[index];
        read_lines(file, config.max_line_bytes, |line, text, _| {
            let Ok(event) = text.and_then(|text| parse_event(text, file.batch_time)) else {
                return Ok(());
            };
            let day = event.timestamp.with_timezone(&tz).date_naive();
            if !days.includes(day) || skip.binary_search(&line).is_ok() {
                return Ok(());
            }
            let properties = match &event.event {
                None => None,
                // Quarantined by the first pass for the same reason.
                Some(_) => match event_properties(event.properties) {
                    Ok(map) => Some(map),
                    Err(_) => return Ok(()),
                },
            };
            let mut targets = vec![(event.call.table().to_string(), None)];
            // An event over max_event_tables has no table of its own: its call is in tracks.
            if let (Some(name), Some(map)) = (&event.event, &properties)
                && let Some(table) = day_shapes
                    .event_table
                    .get(&day)
                    .and_then(|tables| tables.get(name.as_ref() as &str))
            {
                targets.push((table.clone(), Some(map)));
            }
            for (table, properties) in targets {
                let key = (day, table);
                if !tables.contains_key(&key) {
                    let day_layout = PartitionLayout {
                        date: day,
                        ..layout.clone()
                    };
                    let path =
                        crate::lake::staged_path(staging, &day_layout.part_key(&key.1, worker))
                            .map_err(std::io::Error::other)?;
                    let columns = day_shapes.shapes[&key].clone();
                    tables.insert(
                        key.clone(),
                        TableRows::new(columns, path, config.row_group_rows),
                    );
                }
                tables
                    .get_mut(&key)
                    .expect("inserted above")
                    .push(&event, properties)?;
            }
            events += 1;
            Ok(())
        })
        .context(|| format!("writing rows from {}", file.label))?;
    }
    let mut out = Vec::new();
    for ((day, table), rows) in tables {
        let day_layout = PartitionLayout {
            date: day,
            ..layout.clone()
        };
        let key = day_layout.part_key(&table, worker);
        if let Some(file) = rows
            .finish()
            .context(|| format!("closing {table} {day} part {worker}"))?
        {
            out.push((
                (day, table),
                StagedFile {
                    key,
                    path: Some(file.path),
                    rows: file.rows,
                    bytes: file.bytes,
                },
            ));
        }
    }
    Ok(WrittenPart { events, files: out })
}

/// Runs `work(index)` for every index on up to `workers` threads; results in index order.
pub fn parallel<T: Send>(
    count: usize,
    workers: usize,
    work: impl Fn(usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<T>>>> = Mutex::new((0..count).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, count.max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= count {
                        break;
                    }
                    let result = work(index);
                    results.lock().expect("no worker panics holding it")[index] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("no worker panics holding it")
        .into_iter()
        .map(|r| r.expect("every index was worked"))
        .collect()
}

/// Runs `work(worker, next)` on up to `workers` threads that share the `next` file counter.
fn parallel_workers<T: Send>(
    count: usize,
    workers: usize,
    work: impl Fn(usize, &AtomicUsize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let next = AtomicUsize::new(0);
    let threads = workers.clamp(1, count.max(1));
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|worker| {
                let work = &work;
                let next = &next;
                scope.spawn(move || work(worker, next))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("segment worker panicked"))
            .collect()
    })
}
