//! `daybook load`: rebuilds a day in the local warehouse from what the lake already holds, the
//! way the load step does after the exports: newest committed run of each table registered,
//! checks run, marts built.

use crate::adapters::catalog::LocalCatalog;
use crate::adapters::fs_store::FsStore;
use crate::adapters::warehouse::{DataFusionWarehouse, MARTS_SOURCE};
use chrono::NaiveDate;
use daybook_core::config::PipelineConfig;
use daybook_core::lake::{MANIFEST_FILE, RUNS_FOLDER, RunCommit};
use daybook_core::steps::JobContext;
use daybook_core::steps::load::{
    CommittedTable, LoadOutput, check_and_build, register, resolve_marts,
};
use daybook_core::steps::start::DEFAULT_CONFIG_KEY;
use daybook_core::store::ObjectStore;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The tables of `date` as the newest committed run of each source wrote them. A run is
/// committed by its record in `lake/<source>/_runs/dt=<date>/` (written after all its
/// manifests), so the tables of a run killed half-way are never read beside another run's.
/// A source with no commit record (a lake written before them) gets the newest manifest of each
/// table, and is refused if those come from different runs. Job ids start with the date and
/// the start time, so the newest sorts last.
pub async fn committed_runs(
    store: &dyn ObjectStore,
    date: NaiveDate,
) -> Result<Vec<CommittedTable>, String> {
    let keys = store
        .list("lake/")
        .await
        .map_err(|e| format!("listing the lake: {e}"))?;
    let day = format!("/dt={date}/");
    let commits = format!("/{RUNS_FOLDER}/dt={date}/");
    let mut newest_commit: BTreeMap<String, String> = BTreeMap::new();
    for key in keys
        .iter()
        .filter(|k| k.contains(&commits) && k.ends_with(".json"))
    {
        // lake/<source>/_runs/dt=<date>/<job>.json
        let Some(source) = key.split('/').nth(1) else {
            continue;
        };
        let entry = newest_commit.entry(source.to_string()).or_default();
        if *key > *entry {
            *entry = key.clone();
        }
    }
    let mut tables = Vec::new();
    for (source, key) in &newest_commit {
        let bytes = store
            .get(key)
            .await
            .map_err(|e| format!("reading the run commit {key}: {e}"))?;
        let commit: RunCommit = serde_json::from_slice(&bytes)
            .map_err(|e| format!("reading the run commit {key}: {e}"))?;
        tables.extend(commit.tables.into_iter().map(|t| CommittedTable {
            source: source.clone(),
            table: t.table,
            manifest_key: t.manifest_key,
            run_prefix: t.run_prefix,
        }));
    }
    let mut newest: BTreeMap<(String, String), CommittedTable> = BTreeMap::new();
    for key in keys
        .iter()
        .filter(|k| k.ends_with(MANIFEST_FILE) && k.contains(&day))
    {
        // lake/<source>/<table>/dt=<date>/run=<job>/_manifest.json
        let parts: Vec<&str> = key.split('/').collect();
        let [_, source, table, _, _, _] = parts.as_slice() else {
            continue;
        };
        if *source == MARTS_SOURCE || newest_commit.contains_key(*source) {
            continue;
        }
        let candidate = CommittedTable {
            source: source.to_string(),
            table: table.to_string(),
            manifest_key: key.clone(),
            run_prefix: key.trim_end_matches(MANIFEST_FILE).to_string(),
        };
        newest
            .entry((source.to_string(), table.to_string()))
            .and_modify(|current| {
                if candidate.run_prefix > current.run_prefix {
                    *current = candidate.clone();
                }
            })
            .or_insert(candidate);
    }
    let mut runs_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for table in newest.values() {
        let run = table
            .run_prefix
            .rsplit("run=")
            .next()
            .unwrap_or_default()
            .trim_end_matches('/');
        runs_of.entry(&table.source).or_default().insert(run);
    }
    if let Some((source, runs)) = runs_of.iter().find(|(_, runs)| runs.len() > 1) {
        return Err(format!(
            "the tables of source {source} for {date} come from different runs ({}) and none of them is committed: one was stopped part-way. Export the source again for {date}",
            runs.iter().copied().collect::<Vec<_>>().join(", ")
        ));
    }
    tables.extend(newest.into_values());
    Ok(tables)
}

/// Registers, checks and builds `date` with the root's pipeline config; the marts with the
/// `given` values of its variables (`--var`), the others at their defaults.
pub async fn load_date(
    root: &Path,
    date: NaiveDate,
    job_id: &str,
    given: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Result<LoadOutput, String> {
    let config_path = root.join(DEFAULT_CONFIG_KEY);
    let config: PipelineConfig = std::fs::read(&config_path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
        .map_err(|e| {
            format!(
                "reading the pipeline config {}: {e} (run `daybook demo --out {}` once to create one)",
                config_path.display(),
                root.display()
            )
        })?;
    // Checked before anything is registered, as start-job checks a run's.
    let variables = daybook_core::variables::resolve(&config.variables, given)
        .map_err(|e| format!("the config's variables: {e}"))?;
    let store = FsStore::new(root);
    let committed = committed_runs(&store, date).await?;
    if committed.is_empty() {
        return Err(format!(
            "no committed export for {date} under {}: run the exports (or `daybook demo --date {date}`) first",
            root.join("lake").display()
        ));
    }
    let catalog = LocalCatalog::new(root);
    let warehouse = DataFusionWarehouse::new(root);
    let tables = register(&store, &catalog, &committed)
        .await
        .map_err(|e| e.to_string())?;
    let job = JobContext {
        job_id: job_id.to_string(),
        date,
        variables,
    };
    let marts = resolve_marts(&config.marts).map_err(|e| e.to_string())?;
    let (checks, marts) = check_and_build(&warehouse, &job, &tables, &config.checks, &marts)
        .await
        .map_err(|e| e.to_string())?;
    Ok(LoadOutput {
        tables,
        checks,
        marts,
        // The local catalog has no crawler to wait for.
        refresh: None,
    })
}

#[cfg(test)]
mod tests {
    use super::committed_runs;
    use crate::adapters::fs_store::FsStore;
    use chrono::NaiveDate;
    use daybook_core::lake::{CommittedRunTable, RunCommit, commit_key};
    use daybook_core::store::ObjectStore;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    async fn manifest(store: &FsStore, source: &str, table: &str, job: &str) -> CommittedRunTable {
        let run_prefix = format!("lake/{source}/{table}/dt={}/run={job}/", day());
        let manifest_key = format!("{run_prefix}_manifest.json");
        store.put(&manifest_key, b"{}".to_vec()).await.unwrap();
        CommittedRunTable {
            table: table.into(),
            run_prefix,
            manifest_key,
            rows: 1,
        }
    }

    async fn commit(store: &FsStore, source: &str, job: &str, tables: Vec<CommittedRunTable>) {
        let record = RunCommit {
            source: source.into(),
            dt: day(),
            job_id: job.into(),
            tables,
        };
        let key = commit_key(&format!("lake/{source}/"), day(), job);
        store
            .put(&key, serde_json::to_vec(&record).unwrap())
            .await
            .unwrap();
    }

    /// A second run stopped after publishing one of its two tables: the day stays the first
    /// run's, both tables from it.
    #[tokio::test]
    async fn a_run_stopped_part_way_is_not_read_beside_the_committed_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path());
        let first = vec![
            manifest(&store, "shop", "orders", "20261122-060000-aaaaaa").await,
            manifest(&store, "shop", "customers", "20261122-060000-aaaaaa").await,
        ];
        commit(&store, "shop", "20261122-060000-aaaaaa", first).await;
        manifest(&store, "shop", "orders", "20261122-070000-bbbbbb").await;
        let tables = committed_runs(&store, day()).await.unwrap();
        assert_eq!(tables.len(), 2);
        assert!(
            tables
                .iter()
                .all(|t| t.run_prefix.contains("run=20261122-060000-aaaaaa")),
            "{tables:?}"
        );
    }

    #[tokio::test]
    async fn uncommitted_tables_of_different_runs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path());
        manifest(&store, "shop", "orders", "20261122-060000-aaaaaa").await;
        manifest(&store, "shop", "customers", "20261122-060000-aaaaaa").await;
        manifest(&store, "shop", "orders", "20261122-070000-bbbbbb").await;
        let error = committed_runs(&store, day()).await.unwrap_err();
        assert!(
            error.contains("source shop") && error.contains("different runs"),
            "{error}"
        );
    }
}
