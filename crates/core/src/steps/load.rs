use super::JobContext;
use super::publish::ExportReport;
use crate::config::bind_run_date;
use crate::error::{Error, Result};
use crate::lake::TableManifest;
use crate::marts::{catalog_table_name, mart_sql};
use crate::ports::{Catalog, MartRun, Warehouse};
use crate::store::ObjectStore;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadInput {
    pub job: JobContext,
    /// Flatten reports, as the exports' Parallel/Map states nest them.
    pub exports: serde_json::Value,
    pub marts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadOutput {
    pub tables: Vec<RegisteredTable>,
    pub marts: Vec<MartRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredTable {
    pub table: String,
    pub rows: u64,
    pub run_prefix: String,
}

/// Points each exported table's partition at its committed run folder, then builds the marts.
pub async fn load_warehouse(
    store: &dyn ObjectStore,
    catalog: &dyn Catalog,
    warehouse: &dyn Warehouse,
    input: &LoadInput,
) -> Result<LoadOutput> {
    let mut tables = Vec::new();
    for report in collect_reports(&input.exports)? {
        for table in &report.tables {
            let bytes = store.get(&table.manifest_key).await?;
            let manifest: TableManifest =
                serde_json::from_slice(&bytes).map_err(|source| Error::Json {
                    context: format!("reading {}", store.location(&table.manifest_key)),
                    source,
                })?;
            let name = catalog_table_name(&report.source, &table.table);
            catalog
                .register_partition(&name, &manifest.schema, manifest.dt, &table.run_prefix)
                .await
                .map_err(|e| {
                    Error::Invalid(format!("registering {name} dt={}: {e}", manifest.dt))
                })?;
            tables.push(RegisteredTable {
                table: name,
                rows: manifest.rows,
                run_prefix: table.run_prefix.clone(),
            });
        }
    }
    let mut marts = Vec::new();
    for mart in &input.marts {
        let sql = mart_sql(mart)
            .ok_or_else(|| Error::Invalid(format!("mart {mart:?} is not in sql/marts/")))?;
        let run = warehouse
            .materialize(
                mart,
                &bind_run_date(sql, input.job.date),
                input.job.date,
                &input.job.job_id,
            )
            .await
            .map_err(|e| {
                Error::Invalid(format!("building mart {mart} for {}: {e}", input.job.date))
            })?;
        marts.push(run);
    }
    Ok(LoadOutput { tables, marts })
}

/// Finds every flatten report in the nested arrays the Parallel and Map states produce.
fn collect_reports(value: &serde_json::Value) -> Result<Vec<ExportReport>> {
    let mut reports = Vec::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Array(items) => stack.extend(items.iter().rev()),
            serde_json::Value::Object(map)
                if map.contains_key("tables") && map.contains_key("source") =>
            {
                reports.push(
                    serde_json::from_value(v.clone()).map_err(|source| Error::Json {
                        context: "reading an export report passed to load-warehouse".into(),
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
