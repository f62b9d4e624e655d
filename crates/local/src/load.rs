//! `daybook load`: rebuilds a day in the local warehouse from what the lake already holds, the
//! way the load step does after the exports: newest committed run of each table registered,
//! checks run, marts built.

use crate::catalog::LocalCatalog;
use crate::fs_store::FsStore;
use crate::warehouse::{DataFusionWarehouse, MARTS_SOURCE};
use chrono::NaiveDate;
use daybook_core::config::PipelineConfig;
use daybook_core::lake::MANIFEST_FILE;
use daybook_core::steps::JobContext;
use daybook_core::steps::load::{
    CommittedTable, LoadOutput, check_and_build, register, resolve_marts,
};
use daybook_core::steps::start::DEFAULT_CONFIG_KEY;
use daybook_core::store::ObjectStore;
use std::collections::BTreeMap;
use std::path::Path;

/// The newest committed run (a run folder with its manifest) of every lake table for `date`.
/// Job ids start with the date and the start time, so the newest sorts last.
pub async fn committed_runs(
    store: &dyn ObjectStore,
    date: NaiveDate,
) -> Result<Vec<CommittedTable>, String> {
    let keys = store
        .list("lake/")
        .await
        .map_err(|e| format!("listing the lake: {e}"))?;
    let day = format!("/dt={date}/run=");
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
        if *source == MARTS_SOURCE {
            continue;
        }
        let run_prefix = key.trim_end_matches(MANIFEST_FILE).to_string();
        let candidate = CommittedTable {
            source: source.to_string(),
            table: table.to_string(),
            manifest_key: key.clone(),
            run_prefix,
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
    Ok(newest.into_values().collect())
}

/// Registers, checks and builds `date` with the root's pipeline config.
pub async fn load_date(root: &Path, date: NaiveDate, job_id: &str) -> Result<LoadOutput, String> {
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
