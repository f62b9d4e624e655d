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

/// Appends quarantine records to a local JSON-lines file, created on the first record.
pub struct QuarantineWriter {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    count: u64,
}

impl QuarantineWriter {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: None,
            count: 0,
        }
    }

    pub fn write(&mut self, record: &QuarantineRecord) -> std::io::Result<()> {
        if self.file.is_none() {
            if let Some(parent) = self.path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            self.file = Some(BufWriter::new(File::create(&self.path)?));
        }
        let file = self.file.as_mut().expect("opened above");
        serde_json::to_writer(&mut *file, record)?;
        file.write_all(b"\n")?;
        self.count += 1;
        Ok(())
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The file written, if any record was.
    pub fn finish(self) -> std::io::Result<Option<PathBuf>> {
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
