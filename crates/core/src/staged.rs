//! What an export run has written to local disk and not yet published: the hand-over from the
//! exports (DynamoDB, Segment, RDS) to the publishing step, below both.

use crate::lake::SchemaColumn;
use chrono::NaiveDate;
use std::path::PathBuf;

/// One table's files for one day, written to local disk and not yet published.
#[derive(Debug, Clone)]
pub struct StagedTable {
    pub table: String,
    pub dt: NaiveDate,
    /// `…/<table>/dt=<dt>/run=<job>/`
    pub run_prefix: String,
    pub rows: u64,
    pub schema: Vec<SchemaColumn>,
    pub files: Vec<StagedFile>,
    /// What a reader of the table should know (columns whose types conflicted, …).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct StagedFile {
    pub key: String,
    /// The local file to upload; `None` when it is already in the store at `key` (a fan-out
    /// iteration wrote it).
    pub path: Option<PathBuf>,
    pub rows: u64,
    pub bytes: u64,
}

/// Everything one export run staged.
#[derive(Debug, Clone)]
pub struct StagedExport {
    pub source: String,
    pub job_id: String,
    pub date: NaiveDate,
    pub tables: Vec<StagedTable>,
    pub items_read: u64,
    pub items_written: u64,
    pub quarantined: u64,
    /// The local quarantine file and the key it is published under.
    pub quarantine: Option<(PathBuf, String)>,
    pub warnings: Vec<String>,
    /// Above this share of the records read quarantined, nothing is published (1.0: never).
    pub max_quarantined_share: f64,
}
