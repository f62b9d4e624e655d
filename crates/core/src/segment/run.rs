use super::config::{DaySelection, SegmentConfig, SegmentFile};
use super::event::{CallType, parse_event};
use super::rows::TableRows;
use super::scan::{FileRead, read_lines};
use super::schema::{PropertyColumns, TableColumns, event_properties, event_tables};
use crate::error::{Error, IoContext, Result};
use crate::lake::{PartitionLayout, SchemaColumn};
use crate::parquet_sink::ParquetSink;
use crate::quarantine::{QuarantineRecord, QuarantineWriter, excerpt, merge_files};
use crate::steps::publish::{StagedExport, StagedFile, StagedTable};
use chrono::NaiveDate;
use std::collections::{BTreeMap, HashMap, HashSet};
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
#[derive(Default)]
struct FileScan {
    read: FileRead,
    /// (line, hash of day and message id) of every selected event, in line order.
    keys: Vec<(u32, u128)>,
    /// Rows per (day, table).
    rows: BTreeMap<(NaiveDate, String), u64>,
    /// Property columns per (day, event name as sent).
    properties: BTreeMap<(NaiveDate, String), PropertyColumns>,
    other_days: u64,
    quarantine: Option<PathBuf>,
    quarantined: u64,
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

    // First occurrence wins, in file order then line order: the same rows on every rerun.
    let mut seen = HashSet::new();
    let mut duplicates: Vec<Vec<u32>> = Vec::with_capacity(scans.len());
    for scan in &scans {
        duplicates.push(
            scan.keys
                .iter()
                .filter(|(_, key)| !seen.insert(*key))
                .map(|(line, _)| *line)
                .collect(),
        );
    }
    drop(seen);
    let mut rows: BTreeMap<(NaiveDate, String), u64> = BTreeMap::new();
    let mut properties: BTreeMap<(NaiveDate, String), PropertyColumns> = BTreeMap::new();
    for scan in &scans {
        for (key, count) in &scan.rows {
            *rows.entry(key.clone()).or_default() += count;
        }
        for (key, columns) in &scan.properties {
            properties.entry(key.clone()).or_default().merge(columns);
        }
    }
    let mut shapes: BTreeMap<(NaiveDate, String), TableColumns> = BTreeMap::new();
    let mut selected_days: Vec<NaiveDate> = rows.keys().map(|(day, _)| *day).collect();
    if let DaySelection::Only(day) = days {
        selected_days.push(day);
    }
    selected_days.sort();
    selected_days.dedup();
    for day in &selected_days {
        // Every call table exists for every day written, empty or not, so that marts can rely on it.
        for call in CallType::ALL {
            shapes.insert(
                (*day, call.table().to_string()),
                TableColumns::for_call(call),
            );
        }
    }
    // Event name → table, per day: the names are made injective over the day's events.
    let mut event_table: HashMap<NaiveDate, HashMap<String, String>> = HashMap::new();
    for day in &selected_days {
        let events = properties
            .keys()
            .filter(|(d, _)| d == day)
            .map(|(_, event)| event.as_str());
        let (tables, notes) = event_tables(events);
        for (event, table) in tables {
            let columns = &properties[&(*day, event.clone())];
            let renamed = notes
                .iter()
                .filter(|note| note.starts_with(&format!("event {event:?} ")))
                .cloned()
                .collect();
            shapes.insert(
                (*day, table.clone()),
                TableColumns::for_event(columns, renamed),
            );
            event_table.entry(*day).or_default().insert(event, table);
        }
    }

    let dup_counts: Vec<u64> = duplicates.iter().map(|d| d.len() as u64).collect();
    let parts = parallel_workers(files.len(), workers, |worker, next| {
        write_files(
            config,
            files,
            next,
            worker,
            tz,
            days,
            &duplicates,
            &shapes,
            &event_table,
            layout,
            staging,
        )
    })?;

    let mut tables: BTreeMap<(NaiveDate, String), StagedTable> = BTreeMap::new();
    for ((day, table), columns) in &shapes {
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
    let mut written = 0;
    for part in parts {
        written += part.events;
        for (key, file) in part.files {
            let table = tables
                .get_mut(&key)
                .expect("every part is of a known table");
            table.rows += file.rows;
            table.files.push(file);
        }
    }
    for ((day, name), table) in tables.iter_mut() {
        if table.files.is_empty() {
            let day_layout = PartitionLayout {
                date: *day,
                ..layout.clone()
            };
            let key = day_layout.part_key(name, 0);
            let path = crate::lake::staged_path(staging, &key)?;
            let schema = shapes[&(*day, name.clone())].schema.clone();
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
    let mut warnings: Vec<String> = scans.iter().filter_map(|s| s.read.error.clone()).collect();
    let other_days: u64 = scans.iter().map(|s| s.other_days).sum();
    if other_days > 0 {
        warnings.push(format!(
            "{other_days} events belong to other days and were left to those days' runs"
        ));
    }
    for table in tables.values() {
        for note in &table.notes {
            warnings.push(format!("{} {}: {note}", table.table, table.dt));
        }
    }
    let quarantined: u64 = scans.iter().map(|s| s.quarantined).sum();
    let lines: u64 = scans.iter().map(|s| s.read.lines).sum();
    let duplicates: u64 = dup_counts.iter().sum();
    Ok(SegmentOutcome {
        staged: StagedExport {
            source: config.source.clone(),
            job_id: layout.job_id.clone(),
            date: layout.date,
            tables: tables.into_values().collect(),
            items_read: lines,
            items_written: written,
            quarantined,
            quarantine,
            warnings,
        },
        lines,
        written,
        duplicates,
        other_days,
        quarantined,
        bytes: scans.iter().map(|s| s.read.bytes).sum(),
    })
}

fn scan_file(
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
            scan.other_days += 1;
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
            .rows
            .entry((day, event.call.table().to_string()))
            .or_default() += 1;
        if let (Some(name), Some(map)) = (&event.event, properties) {
            let columns = scan.properties.entry((day, name.to_string())).or_default();
            columns.observe(&map);
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
    scan.read = read;
    scan.quarantined = quarantine.count();
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

struct WorkerPart {
    events: u64,
    files: Vec<((NaiveDate, String), StagedFile)>,
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
    shapes: &BTreeMap<(NaiveDate, String), TableColumns>,
    event_table: &HashMap<NaiveDate, HashMap<String, String>>,
    layout: &PartitionLayout,
    staging: &Path,
) -> Result<WorkerPart> {
    let mut tables: HashMap<(NaiveDate, String), TableRows> = HashMap::new();
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
            if let (Some(name), Some(map)) = (&event.event, &properties) {
                let table = &event_table[&day][name.as_ref() as &str];
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
                    let columns = shapes[&key].clone();
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
    Ok(WorkerPart { events, files: out })
}

/// Runs `work(index)` for every index on up to `workers` threads; results in index order.
fn parallel<T: Send>(
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
