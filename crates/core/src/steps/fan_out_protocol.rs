//! The protocol both fan-outs follow (a DynamoDB export over one Distributed Map, a Segment day
//! over two), so that a third source type only says what its children do:
//!
//! - the **plan** step keeps each source's plan in the job's folder and writes the one list of
//!   files the Maps' `ItemReader` reads, each file numbered by its place in its source;
//! - each **child** groups its batch by source, checks each file against its source's plan, and
//!   leaves one record per file (or per run of files) under the source's folder;
//! - the step after a Map reads every record of a pass and refuses to go on while a file has
//!   none, or has two, naming the files, so a redrive finishes them;
//! - the **commit** merges the children's quarantine files and publishes under the commit rule.
//!
//! Everything lives under `jobs/<job>/<folder>/`; a retried or redriven child rewrites the same
//! keys, because every key is named by a file's place.

use super::publish::{Staging, to_json};
use crate::error::{Error, IoContext, Result};
use crate::lake::{PartitionLayout, job_key};
use crate::quarantine::merge_files;
use crate::store::ObjectStore;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A pass's records are many small objects, read this many at a time (in order): one at a
/// time, 10,000 files' records would take minutes.
const READS_AT_ONCE: usize = 32;

/// The Maps' concurrency when the definition gives none: under the Lambda concurrency of a new
/// account's region once the other functions have theirs.
pub const DEFAULT_MAP_CONCURRENCY: u32 = 40;

pub(crate) fn default_map_concurrency() -> u32 {
    DEFAULT_MAP_CONCURRENCY
}

/// The plan step's output, for either fan-out: where the Maps' ItemReaders find the files, and
/// how to batch them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FanOutPlan {
    pub items_key: String,
    pub files: usize,
    pub files_per_iteration: u32,
    /// The Maps' `MaxConcurrencyPath` reads it; at least 1, as 0 would mean no limit on AWS.
    pub max_concurrency: u32,
    pub sources: Vec<String>,
}

/// One entry of the Maps' item list: a file of a source, by its place in that source.
pub(crate) trait MapItem {
    fn source(&self) -> &str;
    fn index(&self) -> usize;
}

/// A source's plan as the later steps read it: at least, how many files it has.
pub(crate) trait SourcePlan: Serialize + DeserializeOwned {
    fn files(&self) -> usize;
}

/// What a pass is called in the messages that name its missing files.
pub(crate) struct Pass<'a> {
    /// `source "x"`, `Segment source "x"`.
    pub source: &'a str,
    /// One input file: `export file`, `file`.
    pub file: &'a str,
    /// `export files`, `files of the day`.
    pub files: &'a str,
    /// `have no flattened part (parts 1, 2)`: what the missing files lack, given their list.
    pub missing: &'a (dyn Fn(&str) -> String + Sync),
}

/// One fan-out's folder in the job's: `jobs/<job>/<name>/`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FanOutFolder<'a> {
    job_id: &'a str,
    name: &'static str,
}

impl<'a> FanOutFolder<'a> {
    pub(crate) fn new(job_id: &'a str, name: &'static str) -> Self {
        Self { job_id, name }
    }

    pub(crate) fn key(&self, file: &str) -> String {
        job_key(self.job_id, &format!("{}/{file}", self.name))
    }

    pub(crate) fn items_key(&self) -> String {
        self.key("items.json")
    }

    /// A file of one source's (checked to be a plain name by the caller).
    pub(crate) fn source_key(&self, source: &str, file: &str) -> String {
        self.key(&format!("{source}/{file}"))
    }

    fn plan_key(&self, source: &str) -> String {
        self.source_key(source, "plan.json")
    }

    fn records_prefix(&self, source: &str, kind: &str) -> String {
        self.source_key(source, &format!("{kind}/"))
    }

    /// A file's record of `kind` (or any of its by-products, by `extension`), named by its place.
    pub(crate) fn record_key(
        &self,
        source: &str,
        kind: &str,
        index: usize,
        extension: &str,
    ) -> String {
        format!(
            "{}{index:05}.{extension}",
            self.records_prefix(source, kind)
        )
    }

    /// Keeps each source's plan and writes the Maps' item list; the plan step's output.
    pub(crate) async fn write_plan<P: SourcePlan, I: Serialize>(
        &self,
        store: &dyn ObjectStore,
        plans: &[(&str, P)],
        items: &[I],
        files_per_iteration: u32,
        max_concurrency: u32,
    ) -> Result<FanOutPlan> {
        for (source, plan) in plans {
            store.put(&self.plan_key(source), to_json(plan)?).await?;
        }
        let items_key = self.items_key();
        store.put(&items_key, to_json(&items)?).await?;
        Ok(FanOutPlan {
            items_key,
            files: items.len(),
            files_per_iteration,
            max_concurrency: max_concurrency.max(1),
            sources: plans.iter().map(|(source, _)| source.to_string()).collect(),
        })
    }

    pub(crate) async fn read_plan<P: SourcePlan>(
        &self,
        store: &dyn ObjectStore,
        source: &str,
    ) -> Result<P> {
        crate::naming::check_plain(source, "source").map_err(Error::Invalid)?;
        read_json(store, &self.plan_key(source), "the plan").await
    }

    /// A child's batch by source, in file order, each source with its plan; a file beyond its
    /// plan (the items of another run) is refused.
    pub(crate) async fn by_source<'t, P: SourcePlan, I: MapItem>(
        &self,
        store: &dyn ObjectStore,
        items: &'t [I],
        what: &str,
    ) -> Result<Vec<(P, Vec<&'t I>)>> {
        let mut grouped: BTreeMap<&str, Vec<&I>> = BTreeMap::new();
        for item in items {
            grouped.entry(item.source()).or_default().push(item);
        }
        let mut out = Vec::new();
        for (source, mut files) in grouped {
            files.sort_by_key(|f| f.index());
            let plan: P = self.read_plan(store, source).await?;
            if let Some(file) = files.iter().find(|f| f.index() >= plan.files()) {
                return Err(Error::Invalid(format!(
                    "{what} {} of source {source:?} is not in its plan of {} files; the Map's items and the plan are from different runs: start the job again",
                    file.index(),
                    plan.files()
                )));
            }
            out.push((plan, files));
        }
        Ok(out)
    }

    /// Every record of `kind` a pass left for `source`, ordered by the first file each holds.
    /// Each of the plan's `files` must be in exactly one record: a file with none was not
    /// finished (redrive), a file in two would be counted twice (the batches changed).
    pub(crate) async fn every_file_recorded<T: DeserializeOwned>(
        &self,
        store: &dyn ObjectStore,
        source: &str,
        kind: &str,
        files: usize,
        pass: &Pass<'_>,
        files_of: impl Fn(&T) -> Vec<usize>,
    ) -> Result<Vec<T>> {
        let keys = store.list(&self.records_prefix(source, kind)).await?;
        let records: Vec<T> = {
            let reads: Vec<_> = keys
                .iter()
                .map(|key| read_json::<T>(store, key, "a part's record"))
                .collect();
            let mut read = futures::stream::iter(reads).buffered(READS_AT_ONCE);
            let mut records = Vec::with_capacity(keys.len());
            while let Some(record) = read.next().await {
                records.push(record?);
            }
            records
        };
        let mut holder: Vec<Option<usize>> = vec![None; files];
        let mut kept: Vec<(usize, T)> = Vec::with_capacity(records.len());
        for (record, key) in records.into_iter().zip(&keys) {
            let held = files_of(&record);
            for &file in &held {
                match holder.get_mut(file) {
                    Some(Some(_)) => {
                        return Err(Error::Invalid(format!(
                            "{}: {} {file} is in two parts' records (the second at {}), so its rows would be published twice; the Map's batches changed within one run: start the job again",
                            pass.source,
                            pass.file,
                            store.location(key)
                        )));
                    }
                    Some(slot) => *slot = Some(kept.len()),
                    None => {
                        return Err(Error::Invalid(format!(
                            "{}: the record at {} names {} {file}, but the plan has {files} files; the records are from another run: start the job again",
                            pass.source,
                            store.location(key),
                            pass.file
                        )));
                    }
                }
            }
            if let Some(&first) = held.iter().min() {
                kept.push((first, record));
            }
        }
        let missing: Vec<String> = holder
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_none())
            .map(|(file, _)| file.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(Error::Invalid(format!(
                "{}: {} of its {files} {} {}, so nothing was published; the Map did not finish them: redrive the execution",
                pass.source,
                missing.len(),
                pass.files,
                (pass.missing)(&shorten(&missing)),
            )));
        }
        kept.sort_by_key(|(first, _)| *first);
        Ok(kept.into_iter().map(|(_, record)| record).collect())
    }
}

/// Each source a fan-out step is given: a plain name (it names keys) and configured to fan out
/// (`fans_out`), else `refused` says why it cannot be.
pub(crate) fn check_sources<'s>(
    sources: impl Iterator<Item = (&'s str, bool)>,
    refused: impl Fn(&str) -> String,
) -> Result<()> {
    for (name, fans_out) in sources {
        crate::naming::check_plain(name, "source").map_err(Error::Invalid)?;
        if !fans_out {
            return Err(Error::Invalid(refused(name)));
        }
    }
    Ok(())
}

/// The largest batch the Map hands a child: the smallest any source asks for, at least 1.
pub(crate) fn files_per_iteration(asked: impl Iterator<Item = u32>) -> u32 {
    asked.map(|n| n.max(1)).min().unwrap_or(1)
}

/// The children's quarantine files, fetched and merged into the run's one (with its key in the
/// lake), or none when no child quarantined anything.
pub(crate) async fn merged_quarantine(
    store: &dyn ObjectStore,
    keys: impl Iterator<Item = &str>,
    staging: &Staging,
    layout: &PartitionLayout,
    source: &str,
) -> Result<Option<(std::path::PathBuf, String)>> {
    let mut parts = Vec::new();
    for key in keys {
        parts.push(store.fetch_to_local(key, staging.path()).await?);
    }
    if parts.is_empty() {
        return Ok(None);
    }
    let merged = staging.path().join("quarantine.jsonl");
    merge_files(&parts, &merged)
        .context(|| format!("merging the quarantine of source {source:?}"))?;
    Ok(Some((merged, layout.quarantine_key())))
}

/// At most ten names, then how many more.
fn shorten(parts: &[String]) -> String {
    if parts.len() <= 10 {
        parts.join(", ")
    } else {
        format!("{}, … {} more", parts[..10].join(", "), parts.len() - 10)
    }
}

/// A JSON record a fan-out step wrote; a missing one means its writer never ran.
pub(crate) async fn read_json<T: DeserializeOwned>(
    store: &dyn ObjectStore,
    key: &str,
    what: &str,
) -> Result<T> {
    let body = store.get(key).await.map_err(|e| {
        Error::Invalid(format!(
            "cannot read {what} at {}: {e}; the fan-out's plan step writes it, so run the job from its start",
            store.location(key)
        ))
    })?;
    serde_json::from_slice(&body).map_err(|source| Error::Json {
        context: format!("{what} at {}", store.location(key)),
        source,
    })
}
