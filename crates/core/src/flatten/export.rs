//! DynamoDB exports to S3 in DYNAMODB_JSON format: `manifest-files.json` plus gzip JSON lines.

use super::outcome::{InputSummary, PartOutcome};
use super::plan::FlattenPlan;
use super::tables::TableSet;
use crate::dynamo::{Item, parse_export_line};
use crate::error::{Error, IoContext, Result};
use crate::lake::PartitionLayout;
use crate::lines::Line;
use crate::quarantine::{QuarantineRecord, QuarantineWriter, excerpt};
use flate2::read::MultiGzDecoder;
use serde::Deserialize;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

pub const MANIFEST_FILES: &str = "manifest-files.json";

/// One data file listed in `manifest-files.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExportManifestEntry {
    #[serde(rename = "dataFileS3Key")]
    pub data_key: String,
    #[serde(rename = "itemCount")]
    pub item_count: Option<u64>,
}

impl ExportManifestEntry {
    /// The file's path below the export folder (`data/<name>.json.gz`), whatever bucket prefix
    /// the export was written under.
    pub fn relative_path(&self) -> String {
        match self.data_key.rfind("/data/") {
            Some(at) => self.data_key[at + 1..].to_string(),
            None => self.data_key.clone(),
        }
    }
}

/// Parses `manifest-files.json`: one JSON object per line.
pub fn parse_manifest(text: &str, origin: &str) -> Result<Vec<ExportManifestEntry>> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line).map_err(|source| Error::Json {
                context: format!(
                    "{origin} line {}: not a DynamoDB export manifest entry (expected {{\"dataFileS3Key\": …, \"itemCount\": …}})",
                    n + 1
                ),
                source,
            })
        })
        .collect()
}

/// A data file on local disk, with the name to report it by and the count the manifest promised.
#[derive(Debug, Clone)]
pub struct ExportFile {
    pub label: String,
    pub path: PathBuf,
    pub expected_items: Option<u64>,
}

fn open_lines(path: &Path) -> std::io::Result<Box<dyn BufRead>> {
    let file = File::open(path)?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(MultiGzDecoder::new(BufReader::with_capacity(1 << 20, file)))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 20, reader)))
}

/// Up to `limit` well-formed items from the start of the files, to discover the schema from.
pub fn sample_items(files: &[ExportFile], limit: usize) -> Vec<Item<'static>> {
    let mut sample = Vec::new();
    for file in files {
        let Ok(mut lines) = open_lines(&file.path) else {
            continue;
        };
        // Lines that are too long, not UTF-8 or not items are skipped here; the flatten itself
        // quarantines them with their reason.
        let mut bytes = Vec::new();
        while sample.len() < limit {
            match crate::lines::read_line(&mut lines, &mut bytes, MAX_LINE_BYTES) {
                Ok((Line::End, _)) | Err(_) => break,
                Ok((Line::Oversized(_), _)) => {}
                Ok((Line::Kept, _)) => {
                    if let Ok(line) = std::str::from_utf8(&bytes)
                        && let Ok(item) = parse_export_line(line.trim_end())
                    {
                        sample.push(item.into_owned());
                    }
                }
            }
        }
        if sample.len() >= limit {
            break;
        }
    }
    sample
}

/// Longest export line read into memory. A DynamoDB item is at most 400 KB; its line is longer
/// (type tags, base64 for binary, escapes), but never by this much.
pub const MAX_LINE_BYTES: usize = 4 << 20;

/// Flattens a group of export files, in order, into part `part` of every table: small files
/// share a part instead of each making one-row Parquet files. Each file keeps its own counts.
pub fn flatten_group(
    plan: &FlattenPlan,
    files: &[&ExportFile],
    part: usize,
    layout: &PartitionLayout,
    staging: &Path,
) -> Result<PartOutcome> {
    let label = files
        .first()
        .map(|f| f.label.as_str())
        .unwrap_or("no files");
    let mut tables = TableSet::create(plan, layout, staging, part)
        .context(|| format!("creating output files for {label}"))?;
    let mut quarantine =
        QuarantineWriter::new(staging.join(format!(".quarantine/part-{part:05}.jsonl")));
    let mut inputs = Vec::with_capacity(files.len());
    for file in files {
        let written_before = tables.items_written();
        let mut summary = read_file(file, &mut tables, &mut quarantine)?;
        summary.written = tables.items_written() - written_before;
        inputs.push(summary);
    }
    let parts = tables
        .finish(layout, part)
        .context(|| format!("closing output files for {label}"))?;
    let quarantine_file = quarantine
        .finish()
        .context(|| format!("closing quarantine for {label}"))?;
    Ok(PartOutcome {
        tables: parts,
        inputs,
        quarantine: quarantine_file,
    })
}

/// Reads one export file's lines into the tables, quarantining what cannot be written; its
/// counts (but `written`, which the caller takes from the tables).
fn read_file(
    file: &ExportFile,
    tables: &mut TableSet,
    quarantine: &mut QuarantineWriter,
) -> Result<InputSummary> {
    let quarantined_before = quarantine.count();
    let mut summary = InputSummary::new(&file.label, file.expected_items);
    let reject = |q: &mut QuarantineWriter, record: QuarantineRecord| {
        q.write(&record)
            .context(|| format!("writing quarantine for {}", file.label))
    };
    match open_lines(&file.path) {
        Err(e) => {
            summary.error = Some(format!("cannot open {}: {e}", file.label));
            reject(
                quarantine,
                QuarantineRecord {
                    input: file.label.clone(),
                    line: None,
                    reason: format!("data file could not be opened: {e}"),
                    item: None,
                    raw: None,
                },
            )?;
        }
        Ok(mut lines) => {
            // Bytes, not text: a line that is not UTF-8 is quarantined alone, and the lines
            // after it are still read.
            let mut bytes = Vec::new();
            let mut number = 0u64;
            loop {
                let line = match crate::lines::read_line(&mut lines, &mut bytes, MAX_LINE_BYTES) {
                    Ok((Line::End, _)) => break,
                    Ok((line, _)) => line,
                    Err(e) => {
                        let reason = format!(
                            "data file is truncated or corrupt after line {number} ({e}); the items before it were kept, re-export to recover the rest"
                        );
                        summary.error = Some(format!("{}: {reason}", file.label));
                        reject(
                            quarantine,
                            QuarantineRecord {
                                input: file.label.clone(),
                                line: Some(number + 1),
                                reason,
                                item: None,
                                raw: None,
                            },
                        )?;
                        break;
                    }
                };
                number += 1;
                // A line that cannot be read as text: quarantined alone, with its number.
                let unreadable = |reason: String, raw: Option<String>| QuarantineRecord {
                    input: file.label.clone(),
                    line: Some(number),
                    reason,
                    item: None,
                    raw,
                };
                if let Line::Oversized(length) = line {
                    summary.bytes += length;
                    summary.lines += 1;
                    let reason = format!(
                        "the line is {length} bytes, over the {MAX_LINE_BYTES}-byte limit (a DynamoDB item is at most 400 KB); it was not read into memory"
                    );
                    reject(quarantine, unreadable(reason, None))?;
                    continue;
                }
                summary.bytes += bytes.len() as u64;
                let line = match std::str::from_utf8(&bytes) {
                    Ok(line) => line,
                    Err(e) => {
                        summary.lines += 1;
                        let raw = excerpt(String::from_utf8_lossy(&bytes).trim_end());
                        let reason = format!("the line is not UTF-8 text: {e}");
                        reject(quarantine, unreadable(reason, Some(raw)))?;
                        continue;
                    }
                };
                let text = line.trim_end_matches(['\n', '\r']);
                if text.trim().is_empty() {
                    continue;
                }
                summary.lines += 1;
                let item = match parse_export_line(text) {
                    Ok(item) => item,
                    Err(e) => {
                        reject(
                            quarantine,
                            QuarantineRecord {
                                input: file.label.clone(),
                                line: Some(number),
                                reason: format!("not a DynamoDB JSON export line: {e}"),
                                item: None,
                                raw: Some(excerpt(text)),
                            },
                        )?;
                        continue;
                    }
                };
                summary.items += 1;
                match tables
                    .push(&item)
                    .context(|| format!("writing rows from {}", file.label))?
                {
                    Ok(()) => {}
                    Err(reason) => reject(
                        quarantine,
                        QuarantineRecord {
                            input: file.label.clone(),
                            line: Some(number),
                            reason,
                            item: Some(item.to_dynamodb_json()),
                            raw: None,
                        },
                    )?,
                }
            }
        }
    }
    summary.quarantined = quarantine.count() - quarantined_before;
    Ok(summary)
}
