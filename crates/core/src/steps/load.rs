use super::JobContext;
use super::publish::ExportReport;
use crate::config::bind_run_date;
use crate::error::{Error, Result};
use crate::lake::{SchemaColumn, TableManifest};
use crate::marts::{catalog_table_name, mart_sql};
use crate::ports::{Catalog, MartRun, PartitionRef, Refresh, Warehouse};
use crate::quality::{CheckResult, ChecksConfig, LoadedTable, run_checks, stopping};
use crate::store::ObjectStore;
use crate::variables::bind_variables;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadInput {
    pub job: JobContext,
    /// Export reports, as the exports' Parallel/Map states nest them.
    pub exports: serde_json::Value,
    /// The marts of the run: checked by name before anything is written.
    pub marts: Vec<String>,
    #[serde(default)]
    pub checks: ChecksConfig,
    /// Whether this step builds the marts too. The state machine builds each in an iteration
    /// of its own (`MartTask`), so that no invocation waits on more than one statement.
    #[serde(default = "build_marts_here")]
    pub build_marts: bool,
}

fn build_marts_here() -> bool {
    true
}

/// One mart to build for the job's date: an iteration of the definition's "Build marts" Map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MartTask {
    pub job: JobContext,
    pub mart: String,
}

/// What load-warehouse is invoked with: the load (registration, checks), a look at the
/// catalog refresh it started, or one mart.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum LoadStep {
    Mart(MartTask),
    Refresh(RefreshTask),
    Load(LoadInput),
}

impl<'de> Deserialize<'de> for LoadStep {
    /// A `mart` field makes it a mart task; anything else is read as the load, so an error
    /// names the load's own fields rather than "no variant matched".
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = serde_json::Value::deserialize(deserializer)?;
        if value.get("mart").is_some() {
            serde_json::from_value(value)
                .map(LoadStep::Mart)
                .map_err(|e| D::Error::custom(format!("a mart task: {e}")))
        } else if value.get("refresh").is_some() {
            serde_json::from_value(value)
                .map(LoadStep::Refresh)
                .map_err(|e| D::Error::custom(format!("a look at the catalog refresh: {e}")))
        } else {
            serde_json::from_value(value)
                .map(LoadStep::Load)
                .map_err(|e| D::Error::custom(format!("a load: {e}")))
        }
    }
}

/// Builds one mart for the task's date (one statement batch, one wait).
pub async fn build_mart(warehouse: &dyn Warehouse, task: &MartTask) -> Result<MartRun> {
    let resolved = resolve_marts(std::slice::from_ref(&task.mart))?;
    let (mart, sql) = &resolved[0];
    materialize_mart(warehouse, &task.job, mart, sql).await
}

async fn materialize_mart(
    warehouse: &dyn Warehouse,
    job: &JobContext,
    mart: &str,
    sql: &str,
) -> Result<MartRun> {
    let select = bind_variables(&bind_run_date(sql, job.date), &job.variables)
        .map_err(|e| Error::Invalid(format!("mart {mart}: {e}")))?;
    warehouse
        .materialize(mart, &select, job.date, &job.job_id)
        .await
        .map_err(|e| Error::port(format!("building mart {mart} for {}", job.date), e))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadOutput {
    pub tables: Vec<RegisteredTable>,
    #[serde(default)]
    pub checks: Vec<CheckResult>,
    pub marts: Vec<MartRun>,
    /// A catalog refresh (a crawl) still running, which the state machine waits for before
    /// the marts; always present, null when there is none, for its Choice rule.
    #[serde(default)]
    pub refresh: Option<Refresh>,
}

/// A look at a catalog refresh under way: an iteration of the definition's wait loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshTask {
    pub refresh: Refresh,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredTable {
    pub table: String,
    pub dt: NaiveDate,
    pub rows: u64,
    pub run_prefix: String,
}

/// One committed run folder of one lake table.
#[derive(Debug, Clone, PartialEq)]
pub struct CommittedTable {
    pub source: String,
    pub table: String,
    pub manifest_key: String,
    pub run_prefix: String,
}

/// The load step of the state machine: the tables the exports just committed, for the job's date.
pub async fn load_warehouse(
    store: &dyn ObjectStore,
    catalog: &dyn Catalog,
    warehouse: &dyn Warehouse,
    input: &LoadInput,
) -> Result<LoadOutput> {
    let committed: Vec<CommittedTable> = collect_reports(store, &input.exports)
        .await?
        .into_iter()
        .flat_map(|report| {
            report.tables.into_iter().map(move |t| CommittedTable {
                source: report.source.clone(),
                table: t.table,
                manifest_key: t.manifest_key,
                run_prefix: t.run_prefix,
            })
        })
        .collect();
    let mut marts = resolve_marts(&input.marts)?;
    if !input.build_marts {
        marts.clear();
    }
    let tables = register(store, catalog, &committed).await?;
    let mut refresh = catalog
        .start_refresh()
        .await
        .map_err(|e| Error::port("starting the catalog refresh", e))?;
    if input.build_marts {
        // Invoked on its own (not by the state machine): the marts wait for the refresh here.
        while let Some(running) = refresh {
            tokio::time::sleep(std::time::Duration::from_secs(running.poll_seconds)).await;
            refresh = poll_refresh(catalog, &RefreshTask { refresh: running }).await?;
        }
    }
    let (checks, marts) =
        check_and_build(warehouse, &input.job, &tables, &input.checks, &marts).await?;
    Ok(LoadOutput {
        tables,
        checks,
        marts,
        refresh,
    })
}

/// One look at the catalog refresh: `None` once it has finished well.
pub async fn poll_refresh(catalog: &dyn Catalog, task: &RefreshTask) -> Result<Option<Refresh>> {
    catalog
        .poll_refresh(&task.refresh)
        .await
        .map_err(|e| Error::port("waiting for the catalog refresh", e))
}

/// Points each table's partitions at their committed run folders, one catalog call per table.
/// The table takes the schema of its newest day, so a column added today is visible.
pub async fn register(
    store: &dyn ObjectStore,
    catalog: &dyn Catalog,
    committed: &[CommittedTable],
) -> Result<Vec<RegisteredTable>> {
    let mut by_table: BTreeMap<String, Vec<(TableManifest, &CommittedTable)>> = BTreeMap::new();
    for table in committed {
        let bytes = store.get(&table.manifest_key).await?;
        let manifest: TableManifest =
            serde_json::from_slice(&bytes).map_err(|source| Error::Json {
                context: format!("reading {}", store.location(&table.manifest_key)),
                source,
            })?;
        let name = catalog_table_name(&table.source, &table.table);
        check_catalog_name(&name, table)?;
        let runs = by_table.entry(name.clone()).or_default();
        if let Some((_, other)) = runs
            .iter()
            .find(|(_, other)| (&other.source, &other.table) != (&table.source, &table.table))
        {
            return Err(Error::Invalid(format!(
                "table {:?} of source {:?} and table {:?} of source {:?} would both be catalog table {name}: one would replace the other's data. Rename one source in the config; nothing was registered",
                table.table, table.source, other.table, other.source
            )));
        }
        runs.push((manifest, table));
    }
    let mut registered = Vec::new();
    for (name, mut runs) in by_table {
        runs.sort_by_key(|(m, _)| m.dt);
        let schema: &[SchemaColumn] = &runs.last().expect("a table has a run").0.schema;
        let partitions: Vec<PartitionRef> = runs
            .iter()
            .map(|(m, t)| PartitionRef {
                dt: m.dt,
                run_prefix: t.run_prefix.clone(),
            })
            .collect();
        catalog
            .register_partitions(&name, schema, &partitions)
            .await
            .map_err(|e| Error::port(format!("registering {name}"), e))?;
        registered.extend(runs.iter().map(|(m, t)| RegisteredTable {
            table: name.clone(),
            dt: m.dt,
            rows: m.rows,
            run_prefix: t.run_prefix.clone(),
        }));
    }
    Ok(registered)
}

/// A catalog name Glue and Spectrum take as it is (they fold case, and a `-` or `.` needs
/// quoting everywhere), checked before anything is registered.
fn check_catalog_name(name: &str, table: &CommittedTable) -> Result<()> {
    let plain = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "table {:?} of source {:?} (run {}) would be catalog table {name:?}, which Glue cannot hold as it is: names are lower-case letters, digits and _. Export that source again with this version (it names tables so), or rename the source; nothing was registered",
        table.table, table.source, table.run_prefix
    )))
}

/// The SQL of each named mart. Run before anything is written, so that a typo in the
/// configuration fails the run up front.
pub fn resolve_marts(names: &[String]) -> Result<Vec<(String, &'static str)>> {
    names
        .iter()
        .map(|mart| {
            mart_sql(mart)
                .map(|sql| (mart.clone(), sql))
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "mart {mart:?} is not in sql/marts/; the known marts are {}",
                        crate::marts::known_marts().join(", ")
                    ))
                })
        })
        .collect()
}

/// Runs the day's data-quality checks, then (unless a stopping check failed) builds the marts,
/// each (name, SQL) in turn.
pub async fn check_and_build(
    warehouse: &dyn Warehouse,
    job: &JobContext,
    tables: &[RegisteredTable],
    checks: &ChecksConfig,
    marts: &[(String, &str)],
) -> Result<(Vec<CheckResult>, Vec<MartRun>)> {
    warehouse
        .prepare()
        .await
        .map_err(|e| Error::port("preparing the warehouse", e))?;
    let loaded: Vec<LoadedTable> = tables
        .iter()
        .filter(|t| t.dt == job.date)
        .map(|t| LoadedTable {
            table: t.table.clone(),
            manifest_rows: t.rows,
        })
        .collect();
    let results = run_checks(warehouse, checks, &loaded, job.date)
        .await
        .map_err(|e| {
            Error::port(
                format!("running the data-quality checks for {}", job.date),
                e,
            )
        })?;
    let stops = stopping(&results);
    if !stops.is_empty() {
        let list: Vec<String> = stops
            .iter()
            .map(|r| format!("{} {}: {}", r.table, r.check, r.detail))
            .collect();
        return Err(Error::Invalid(format!(
            "data-quality checks failed for {}, so no mart was built: {}. Fix the source and start a new run for the date (a redrive would check the same exports again), or set the check's on_failure to \"warn\"",
            job.date,
            list.join("; ")
        )));
    }
    let mut runs = Vec::new();
    for (mart, sql) in marts {
        runs.push(materialize_mart(warehouse, job, mart, sql).await?);
    }
    Ok((results, runs))
}

/// Finds every export report in the nested arrays the Parallel and Map states produce: a
/// summary's report is read from its key; a whole report passed inline is taken as it is.
async fn collect_reports(
    store: &dyn ObjectStore,
    value: &serde_json::Value,
) -> Result<Vec<ExportReport>> {
    let mut reports = Vec::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Array(items) => stack.extend(items.iter().rev()),
            serde_json::Value::Object(map)
                if map.get("tables").is_some_and(|t| t.is_array())
                    && map.contains_key("source") =>
            {
                reports.push(
                    serde_json::from_value(v.clone()).map_err(|source| Error::Json {
                        context: "reading an export report passed to load-warehouse".into(),
                        source,
                    })?,
                )
            }
            serde_json::Value::Object(map) if map.contains_key("report_key") => {
                let key = map["report_key"].as_str().unwrap_or_default();
                let bytes = store.get(key).await?;
                reports.push(
                    serde_json::from_slice(&bytes).map_err(|source| Error::Json {
                        context: format!("reading the export report {}", store.location(key)),
                        source,
                    })?,
                )
            }
            serde_json::Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    Ok(reports)
}
