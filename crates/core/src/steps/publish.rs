//! Publishing an export's staged files under the commit rule, and the report every export step
//! returns (DynamoDB, Segment, RDS alike), which the load step reads.

use crate::error::{Error, IoContext, Result};
use crate::lake::{
    CommittedRunTable, MANIFEST_FILE, ManifestFile, RunCommit, TableManifest, commit_key, job_key,
};
pub use crate::staged::{StagedExport, StagedFile, StagedTable};
use crate::store::ObjectStore;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// An export step's output: what the load step registers and the report shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportReport {
    pub source: String,
    pub job_id: String,
    pub date: NaiveDate,
    pub tables: Vec<PublishedTable>,
    /// Records read (items, events or rows).
    pub items_read: u64,
    pub items_written: u64,
    pub quarantined: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine_key: Option<String>,
    pub warnings: Vec<String>,
    /// Source-specific counts (duplicates dropped, events of other days, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, u64>,
    pub elapsed_ms: u64,
    /// Where this report is kept: `jobs/<job>/<step>-<source>.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_key: Option<String>,
}

/// What an export step hands the state machine: its counts and the key of its full report,
/// which the load step reads. The full report lists every table, and Step Functions caps the
/// data a state carries at 256 KiB, so it travels through S3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportSummary {
    pub source: String,
    pub job_id: String,
    pub date: NaiveDate,
    pub report_key: String,
    pub tables: usize,
    pub items_read: u64,
    pub items_written: u64,
    pub quarantined: u64,
    pub warnings: usize,
}

impl ExportReport {
    /// The summary a step returns; the report must have been written by `write_step_output`.
    pub fn summary(&self) -> ExportSummary {
        ExportSummary {
            source: self.source.clone(),
            job_id: self.job_id.clone(),
            date: self.date,
            report_key: self.report_key.clone().unwrap_or_default(),
            tables: self.tables.len(),
            items_read: self.items_read,
            items_written: self.items_written,
            quarantined: self.quarantined,
            warnings: self.warnings.len(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedTable {
    pub table: String,
    /// The run folder the catalog partition should point at.
    pub run_prefix: String,
    pub manifest_key: String,
    pub rows: u64,
    pub files: usize,
}

/// Publishes data files, then the quarantine, then each table's manifest: a run folder with a
/// manifest is complete, and the load step only points the catalog at complete folders.
pub async fn publish(store: &dyn ObjectStore, staged: &StagedExport) -> Result<ExportReport> {
    if let Some(error) = nothing_written(store, staged).await? {
        return Err(error);
    }
    if let Some(error) = too_much_quarantined(store, staged).await? {
        return Err(error);
    }
    for table in &staged.tables {
        for file in &table.files {
            if let Some(path) = &file.path {
                store.put_file(&file.key, path).await?;
            }
        }
    }
    let quarantine_key = match &staged.quarantine {
        Some((path, key)) => {
            store.put_file(key, path).await?;
            Some(key.clone())
        }
        None => None,
    };
    let mut tables = Vec::new();
    for table in &staged.tables {
        let manifest = TableManifest {
            source: staged.source.clone(),
            table: table.table.clone(),
            dt: table.dt,
            job_id: staged.job_id.clone(),
            rows: table.rows,
            files: table
                .files
                .iter()
                .map(|f| ManifestFile {
                    key: f.key.clone(),
                    rows: f.rows,
                    bytes: f.bytes,
                })
                .collect(),
            schema: table.schema.clone(),
            quarantined_items: staged.quarantined,
            notes: table.notes.clone(),
        };
        let key = format!("{}{MANIFEST_FILE}", table.run_prefix);
        store.put(&key, to_json(&manifest)?).await?;
        tables.push(PublishedTable {
            table: table.table.clone(),
            run_prefix: table.run_prefix.clone(),
            manifest_key: key,
            rows: table.rows,
            files: table.files.len(),
        });
    }
    commit_runs(store, staged, &tables).await?;
    Ok(ExportReport {
        source: staged.source.clone(),
        job_id: staged.job_id.clone(),
        date: staged.date,
        tables,
        items_read: staged.items_read,
        items_written: staged.items_written,
        quarantined: staged.quarantined,
        quarantine_key,
        warnings: staged.warnings.clone(),
        counts: BTreeMap::new(),
        elapsed_ms: 0,
        report_key: None,
    })
}

/// Commits the run for each day it wrote, once every table's manifest is out (see
/// [`crate::lake::RunCommit`]).
async fn commit_runs(
    store: &dyn ObjectStore,
    staged: &StagedExport,
    published: &[PublishedTable],
) -> Result<()> {
    let mut by_day: BTreeMap<NaiveDate, (String, Vec<CommittedRunTable>)> = BTreeMap::new();
    for (table, out) in staged.tables.iter().zip(published) {
        let suffix = format!("{}/dt={}/run={}/", table.table, table.dt, staged.job_id);
        let root = table
            .run_prefix
            .strip_suffix(&suffix)
            .unwrap_or_default()
            .to_string();
        by_day
            .entry(table.dt)
            .or_insert_with(|| (root, Vec::new()))
            .1
            .push(CommittedRunTable {
                table: out.table.clone(),
                run_prefix: out.run_prefix.clone(),
                manifest_key: out.manifest_key.clone(),
                rows: out.rows,
            });
    }
    for (dt, (root, tables)) in by_day {
        let commit = RunCommit {
            source: staged.source.clone(),
            dt,
            job_id: staged.job_id.clone(),
            tables,
        };
        store
            .put(&commit_key(&root, dt, &staged.job_id), to_json(&commit)?)
            .await?;
    }
    Ok(())
}

/// A run that quarantined every item it read publishes no manifest: its empty tables would
/// become the day's data. The quarantine is published, so the reasons can be read.
async fn nothing_written(store: &dyn ObjectStore, staged: &StagedExport) -> Result<Option<Error>> {
    if staged.items_written > 0 || staged.quarantined == 0 {
        return Ok(None);
    }
    let Some((path, key)) = &staged.quarantine else {
        return Ok(None);
    };
    // Read before publishing: a store may move the file into place.
    let first = std::fs::File::open(path)
        .ok()
        .and_then(|file| {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(file), &mut line).ok()?;
            serde_json::from_str::<serde_json::Value>(&line).ok()
        })
        .and_then(|record| record["reason"].as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    store.put_file(key, path).await?;
    Ok(Some(Error::Invalid(format!(
        "every one of the {} records read from source {:?} was quarantined, the first because: {first}. Nothing was published, so {} keeps its previous data. Read the reasons in {}, then fix the source's config (a key attribute's name?) or its input and run again",
        staged.quarantined,
        staged.source,
        staged.date,
        store.location(key)
    ))))
}

/// A run that quarantined more than its source's `max_quarantined_share` of what it read
/// publishes its quarantine (to be read) and nothing else.
async fn too_much_quarantined(
    store: &dyn ObjectStore,
    staged: &StagedExport,
) -> Result<Option<Error>> {
    // A file that broke part-way is one more record than the items read from it.
    let seen = staged.items_read.max(staged.quarantined);
    let share = staged.quarantined as f64 / seen.max(1) as f64;
    if seen == 0 || share <= staged.max_quarantined_share {
        return Ok(None);
    }
    let Some((path, key)) = &staged.quarantine else {
        return Ok(None);
    };
    store.put_file(key, path).await?;
    Ok(Some(Error::Invalid(format!(
        "{} of the {} records read from source {:?} ({:.1}%) were quarantined, over its max_quarantined_share of {:.1}%: nothing was published, so {} keeps its previous data. Read the reasons in {}; if the input is right, raise max_quarantined_share in the source's config",
        staged.quarantined,
        seen,
        staged.source,
        share * 100.0,
        staged.max_quarantined_share * 100.0,
        staged.date,
        store.location(key)
    ))))
}

/// Records the step's report as `jobs/<job>/<step>-<source>.json`, and notes the key in it.
pub async fn write_step_output(
    store: &dyn ObjectStore,
    step: &str,
    report: &mut ExportReport,
) -> Result<()> {
    let key = job_key(&report.job_id, &format!("{step}-{}.json", report.source));
    report.report_key = Some(key.clone());
    store.put(&key, to_json(report)?).await?;
    Ok(())
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|source| Error::Json {
        context: "serialising a manifest".into(),
        source,
    })
}

/// Where a staging folder for one job lives; removed when the step is done.
pub struct Staging(PathBuf);

impl Staging {
    pub fn new(store: &dyn ObjectStore, job_id: &str, step: &str) -> Result<Self> {
        // Every export stages first: a job id that is not one plain name stops here.
        super::job::check_job_id(job_id).map_err(Error::Invalid)?;
        // Unique within the process too: the local runner runs a Map's iterations side by side.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let serial = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = store
            .scratch_root()
            .join(format!("{job_id}-{step}-{}-{serial}", std::process::id()));
        std::fs::create_dir_all(&path)
            .context(|| format!("creating staging folder {}", path.display()))?;
        Ok(Self(path))
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
