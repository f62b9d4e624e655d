use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A rejected record and why; one JSON line in `quarantine/<source>/dt=<date>/<job_id>.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    /// The file, page or stream batch the record came from.
    pub input: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub reason: String,
    /// The record as parsed, when it parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<serde_json::Value>,
    /// The start of the raw text, when it did not parse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

/// Longest raw excerpt kept in a quarantine record: enough to recognise the line.
pub const RAW_EXCERPT_CHARS: usize = 2000;

pub fn excerpt(raw: &str) -> String {
    match raw.char_indices().nth(RAW_EXCERPT_CHARS) {
        Some((at, _)) => format!("{}…", &raw[..at]),
        None => raw.to_string(),
    }
}

/// The share of bad records above which a run publishes nothing: half.
pub fn default_max_quarantined_share() -> f64 {
    0.5
}

/// Records kept in full per quarantine part (an input file, a worker's share); the ones after
/// are counted, and one closing record says how many. A few kilobytes of gzip can hold millions
/// of junk lines: the quarantine stays small whatever the input.
pub const KEPT_PER_PART: u64 = 10_000;

/// Appends quarantine records to a local JSON-lines file, created on the first record.
pub struct QuarantineWriter {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    count: u64,
    /// The input of the last record not kept, for the closing record.
    last_input: Option<String>,
}

impl QuarantineWriter {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: None,
            count: 0,
            last_input: None,
        }
    }

    fn append(&mut self, record: &QuarantineRecord) -> std::io::Result<()> {
        if self.file.is_none() {
            if let Some(parent) = self.path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            self.file = Some(BufWriter::new(File::create(&self.path)?));
        }
        let file = self.file.as_mut().expect("opened above");
        serde_json::to_writer(&mut *file, record)?;
        file.write_all(b"\n")
    }

    /// Counts `record`, and keeps it if fewer than [`KEPT_PER_PART`] were kept.
    pub fn write(&mut self, record: &QuarantineRecord) -> std::io::Result<()> {
        self.count += 1;
        if self.count <= KEPT_PER_PART {
            self.append(record)
        } else {
            if self.last_input.as_deref() != Some(record.input.as_str()) {
                self.last_input = Some(record.input.clone());
            }
            Ok(())
        }
    }

    /// Every record counted, kept or not.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The file written, if any record was, closed by a record for those not kept.
    pub fn finish(mut self) -> std::io::Result<Option<PathBuf>> {
        if self.count > KEPT_PER_PART {
            let not_kept = self.count - KEPT_PER_PART;
            let closing = QuarantineRecord {
                input: self.last_input.take().unwrap_or_default(),
                line: None,
                reason: format!(
                    "{not_kept} more records were quarantined and not kept: each part keeps its first {KEPT_PER_PART}, which are above; the counts include them all"
                ),
                item: None,
                raw: None,
            };
            self.append(&closing)?;
        }
        match self.file {
            Some(mut file) => {
                file.flush()?;
                Ok(Some(self.path))
            }
            None => Ok(None),
        }
    }
}

/// Concatenates the workers' quarantine files into one.
pub fn merge_files(parts: &[PathBuf], into: &Path) -> std::io::Result<()> {
    if let Some(parent) = into.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut out = BufWriter::new(File::create(into)?);
    for part in parts {
        std::io::copy(&mut File::open(part)?, &mut out)?;
        std::fs::remove_file(part)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_keeps_its_first_records_and_counts_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = QuarantineWriter::new(dir.path().join("q.jsonl"));
        for line in 0..KEPT_PER_PART + 5_000 {
            writer
                .write(&QuarantineRecord {
                    input: "junk.gz".into(),
                    line: Some(line),
                    reason: "not JSON".into(),
                    item: None,
                    raw: Some("x".repeat(100)),
                })
                .unwrap();
        }
        assert_eq!(writer.count(), KEPT_PER_PART + 5_000);
        let path = writer.finish().unwrap().unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(text.lines().count() as u64, KEPT_PER_PART + 1);
        assert!(
            text.lines()
                .last()
                .unwrap()
                .contains("5000 more records were quarantined")
        );
    }
}
