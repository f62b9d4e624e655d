//! The local warehouse: DataFusion over the lake's Parquet, tables and partitions from the
//! local catalog, marts written back to the lake as Parquet.

use crate::adapters::catalog::LocalCatalog;
use crate::adapters::lake_table::LakeTable;
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType, Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    UInt32Type, UInt64Type,
};
use arrow::util::display::ArrayFormatter;
use async_trait::async_trait;
use chrono::NaiveDate;
use datafusion::catalog::MemorySchemaProvider;
use datafusion::common::ScalarValue;
use datafusion::prelude::{DataFrame, ParquetReadOptions, SessionContext, lit};
use daybook_core::lake::{PartitionLayout, SchemaColumn};
use daybook_core::marts::{LAKE_SCHEMA, MARTS_SCHEMA};
use daybook_core::parquet_sink::ParquetSink;
use daybook_core::ports::{MartRun, PartitionRef, PortError, QueryResult, Warehouse};
use daybook_core::variables::{BoundSql, Placeholders};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Marts live in the lake like any source: `lake/marts/<mart>/dt=…/run=…/`.
pub const MARTS_SOURCE: &str = "marts";

pub struct DataFusionWarehouse {
    root: PathBuf,
    catalog: LocalCatalog,
}

impl DataFusionWarehouse {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            catalog: LocalCatalog::new(root),
        }
    }

    /// A session for `sql` with the catalog tables it names registered, each as the union of
    /// its current partitions with its `dt` as a DATE column. Only the named ones: each
    /// partition costs a read of its Parquet footers, and a lake of many days has thousands.
    /// SQL that does not parse gets every table, and DataFusion's own message.
    async fn session(&self, sql: &str) -> Result<SessionContext, PortError> {
        // information_schema (and SHOW TABLES, SHOW COLUMNS) list what is registered.
        let ctx = SessionContext::new_with_config(
            datafusion::prelude::SessionConfig::new().with_information_schema(true),
        );
        let wanted: Option<std::collections::HashSet<String>> = {
            let state = ctx.state();
            let dialect = state.config().options().sql_parser.dialect;
            state
                .sql_to_statement(sql, &dialect)
                .and_then(|statement| state.resolve_table_references(&statement))
                .ok()
                .map(|references| {
                    references
                        .iter()
                        .map(|r| match r.schema() {
                            Some(schema) => format!("{schema}.{}", r.table()),
                            None => r.table().to_string(),
                        })
                        .collect()
                })
                // A question about the tables themselves needs them all.
                .filter(|wanted: &std::collections::HashSet<String>| {
                    !wanted
                        .iter()
                        .any(|name| name.starts_with("information_schema."))
                })
        };
        let catalog = self.catalog.load()?;
        let default_catalog = ctx
            .catalog("datafusion")
            .expect("the default catalog exists");
        for schema in [LAKE_SCHEMA, MARTS_SCHEMA] {
            default_catalog
                .register_schema(schema, Arc::new(MemorySchemaProvider::new()))
                .map_err(|e| PortError::new(format!("creating schema {schema}: {e}")))?;
        }
        let tables = catalog
            .tables
            .iter()
            .map(|(n, t)| (format!("{LAKE_SCHEMA}.{n}"), t));
        let marts = catalog
            .marts
            .iter()
            .map(|(n, t)| (format!("{MARTS_SCHEMA}.{n}"), t));
        for (name, table) in tables.chain(marts) {
            let folders = table
                .partitions
                .iter()
                .map(|(dt, prefix)| (*dt, self.root.join(prefix)))
                .collect();
            if let Some(provider) = LakeTable::new(&name, &table.schema, folders) {
                ctx.register_table(name.as_str(), Arc::new(provider))
                    .map_err(|e| PortError::new(format!("registering table {name}: {e}")))?;
                continue;
            }
            if wanted.as_ref().is_some_and(|w| !w.contains(&name)) {
                continue;
            }
            let mut combined: Option<DataFrame> = None;
            for (dt, prefix) in &table.partitions {
                let folder = self.root.join(prefix);
                let frame = ctx
                    .read_parquet(
                        folder.to_string_lossy().as_ref(),
                        ParquetReadOptions::default().file_extension(".parquet"),
                    )
                    .await
                    .and_then(|df| {
                        df.with_column("dt", lit(ScalarValue::Date32(Some(days_since_epoch(*dt)))))
                    })
                    .map_err(|e| {
                        PortError::new(format!(
                            "reading table {name} partition dt={dt} at {}: {e}",
                            folder.display()
                        ))
                    })?;
                combined = Some(match combined {
                    None => frame,
                    Some(all) => all.union_by_name(frame).map_err(|e| {
                        PortError::new(format!("combining the partitions of {name}: {e}"))
                    })?,
                });
            }
            if let Some(frame) = combined {
                ctx.register_table(name.as_str(), frame.into_view())
                    .map_err(|e| PortError::new(format!("registering table {name}: {e}")))?;
            }
        }
        Ok(ctx)
    }

    /// Runs `sql` and returns its Arrow batches (for `daybook query`). Only queries run: DDL,
    /// DML, `COPY … TO` and `SET` are refused before anything happens, so an ad-hoc query can
    /// neither write files nor change the session.
    pub async fn query_batches(&self, sql: &str) -> Result<Vec<RecordBatch>, PortError> {
        self.query_bound_batches(&BoundSql::plain(sql)).await
    }

    /// `query_batches` with the statement's variables bound as DataFusion parameters.
    pub async fn query_bound_batches(
        &self,
        bound: &BoundSql,
    ) -> Result<Vec<RecordBatch>, PortError> {
        let text = bound.render(Placeholders::Dollar);
        let sql = text.as_str();
        let ctx = self.session(sql).await?;
        let read_only = datafusion::execution::context::SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let frame = ctx.sql_with_options(sql, read_only).await.map_err(|e| {
            let advice = if e.to_string().contains("not supported") {
                "; daybook query only reads: write a SELECT (or WITH … SELECT)"
            } else {
                ""
            };
            PortError::with_kind(
                format!("{e}{advice}\nSQL:\n{bound}"),
                daybook_core::ErrorKind::InvalidInput,
            )
        })?;
        with_parameters(frame, bound)?
            .collect()
            .await
            .map_err(|e| PortError::new(format!("{e}\nSQL:\n{bound}")))
    }
}

/// Batches as an aligned text table.
pub fn format_table(batches: &[RecordBatch]) -> String {
    arrow::util::pretty::pretty_format_batches(batches)
        .map(|t| t.to_string())
        .unwrap_or_else(|e| format!("(cannot print the result: {e})"))
}

fn days_since_epoch(date: NaiveDate) -> i32 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

#[async_trait]
impl Warehouse for DataFusionWarehouse {
    async fn materialize(
        &self,
        mart: &str,
        bound: &BoundSql,
        dt: NaiveDate,
        job_id: &str,
    ) -> Result<MartRun, PortError> {
        let text = bound.render(Placeholders::Dollar);
        let select = text.as_str();
        let ctx = self.session(select).await?;
        let frame = ctx
            .sql(select)
            .await
            .map_err(|e| PortError::new(format!("{e}\nSQL:\n{bound}")))?;
        let frame = with_parameters(frame, bound)?;
        let planned = Arc::new(frame.schema().as_arrow().clone());
        let batches = frame
            .collect()
            .await
            .map_err(|e| PortError::new(format!("{e}\nSQL:\n{select}")))?;
        // The executed batches are the truth: DataFusion's plan can widen a decimal sum's
        // precision differently from the aggregate it runs.
        let schema = batches.first().map_or(planned, |b| b.schema());
        let layout = PartitionLayout::lake(MARTS_SOURCE, dt, job_id);
        let key = layout.part_key(mart, 0);
        let path = self.root.join(&key);
        let fail = |e: std::io::Error| {
            PortError::new(format!("writing mart {mart} to {}: {e}", path.display()))
        };
        let mut sink = ParquetSink::create(&path, schema.clone(), 128 * 1024, &[]).map_err(fail)?;
        for batch in &batches {
            sink.write(batch).map_err(fail)?;
        }
        let written = sink.finish().map_err(fail)?;
        let run_prefix = layout.run_prefix(mart);
        self.catalog.set_partitions(
            mart,
            true,
            &SchemaColumn::from_arrow(&schema),
            &[PartitionRef {
                dt,
                run_prefix: run_prefix.clone(),
            }],
        )?;
        Ok(MartRun {
            mart: mart.to_string(),
            dt,
            rows: written.rows,
            location: run_prefix,
        })
    }

    async fn query_with(&self, sql: &BoundSql) -> Result<QueryResult, PortError> {
        let batches = self.query_bound_batches(sql).await?;
        Ok(to_query_result(&batches))
    }
}

/// The frame with its `$name` placeholders given their values, as text: the SQL around each
/// casts it to its type (see `daybook_core::variables`).
fn with_parameters(frame: DataFrame, bound: &BoundSql) -> Result<DataFrame, PortError> {
    if !bound.has_parameters() {
        return Ok(frame);
    }
    let values: Vec<(String, ScalarValue)> = bound
        .parameters()
        .iter()
        .map(|p| (p.name.clone(), ScalarValue::Utf8(Some(p.value.clone()))))
        .collect();
    frame
        .with_param_values(values)
        .map_err(|e| PortError::new(format!("binding the variables: {e}\nSQL:\n{bound}")))
}

/// Rows as JSON values: integers and floats as numbers, everything else as display text.
pub fn to_query_result(batches: &[RecordBatch]) -> QueryResult {
    let Some(first) = batches.first() else {
        return QueryResult::default();
    };
    let columns = first
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut rows = Vec::new();
    for batch in batches {
        let cells: Vec<Vec<Value>> = batch.columns().iter().map(column_values).collect();
        for r in 0..batch.num_rows() {
            rows.push(cells.iter().map(|c| c[r].clone()).collect());
        }
    }
    QueryResult { columns, rows }
}

fn column_values(array: &ArrayRef) -> Vec<Value> {
    let len = array.len();
    macro_rules! numbers {
        ($t:ty) => {{
            let values = array.as_primitive::<$t>();
            (0..len)
                .map(|i| {
                    if values.is_null(i) {
                        Value::Null
                    } else {
                        serde_json::json!(values.value(i))
                    }
                })
                .collect()
        }};
    }
    match array.data_type() {
        DataType::Int8 => numbers!(Int8Type),
        DataType::Int16 => numbers!(Int16Type),
        DataType::Int32 => numbers!(Int32Type),
        DataType::Int64 => numbers!(Int64Type),
        DataType::UInt32 => numbers!(UInt32Type),
        DataType::UInt64 => numbers!(UInt64Type),
        DataType::Float32 => numbers!(Float32Type),
        DataType::Float64 => numbers!(Float64Type),
        DataType::Boolean => {
            let values = array.as_boolean();
            (0..len)
                .map(|i| {
                    if values.is_null(i) {
                        Value::Null
                    } else {
                        Value::Bool(values.value(i))
                    }
                })
                .collect()
        }
        DataType::Date32 => {
            let values = array.as_primitive::<Date32Type>();
            (0..len)
                .map(|i| match values.is_null(i) {
                    true => Value::Null,
                    false => Value::String(
                        (NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
                            + chrono::Days::new(values.value(i) as u64))
                        .to_string(),
                    ),
                })
                .collect()
        }
        DataType::Decimal128(_, _) => {
            let formatter = ArrayFormatter::try_new(array.as_ref(), &Default::default())
                .expect("decimals format");
            (0..len)
                .map(|i| match array.is_null(i) {
                    true => Value::Null,
                    false => {
                        let text = formatter.value(i).to_string();
                        text.parse::<f64>()
                            .map(|f| serde_json::json!(f))
                            .unwrap_or(Value::String(text))
                    }
                })
                .collect()
        }
        _ => {
            let formatter = ArrayFormatter::try_new(array.as_ref(), &Default::default());
            (0..len)
                .map(|i| match (&formatter, array.is_null(i)) {
                    (_, true) => Value::Null,
                    (Ok(f), false) => Value::String(f.value(i).to_string()),
                    (Err(_), false) => Value::Null,
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DataFusionWarehouse;
    use daybook_core::Classify;

    #[tokio::test]
    async fn ad_hoc_queries_only_read() {
        let root = tempfile::tempdir().unwrap();
        let warehouse = DataFusionWarehouse::new(root.path());
        let rows = warehouse.query_batches("SELECT 1 AS one").await.unwrap();
        assert_eq!(rows[0].num_rows(), 1);
        let target = root.path().join("copied.csv");
        for sql in [
            format!("COPY (SELECT 1 AS one) TO '{}'", target.display()),
            "CREATE TABLE t AS SELECT 1 AS one".to_string(),
            "CREATE EXTERNAL TABLE e STORED AS CSV LOCATION '/etc/passwd'".to_string(),
            "SET datafusion.execution.batch_size = 1".to_string(),
        ] {
            let error = warehouse.query_batches(&sql).await.unwrap_err();
            assert_eq!(error.kind(), daybook_core::ErrorKind::InvalidInput, "{sql}");
            assert!(error.to_string().contains("only reads"), "{sql}: {error}");
        }
        assert!(!target.exists(), "COPY wrote nothing");
    }

    /// Writes day `day` of `lake.visits` (pages and views, and visitors when `wide`), and points
    /// the catalog at it with the table's columns as that load had them.
    fn visits_day(root: &std::path::Path, day: u32, wide: bool) -> std::path::PathBuf {
        use arrow::array::{ArrayRef, Int64Array, StringArray};
        use arrow::datatypes::{DataType, Field, Schema};
        let mut fields = vec![
            Field::new("page", DataType::Utf8, true),
            Field::new("views", DataType::Int64, true),
        ];
        let mut columns: Vec<ArrayRef> = vec![
            std::sync::Arc::new(StringArray::from(vec!["/", "/books"])),
            std::sync::Arc::new(Int64Array::from(vec![10 * i64::from(day), 1])),
        ];
        if wide {
            fields.push(Field::new("visitors", DataType::Int64, true));
            columns.push(std::sync::Arc::new(Int64Array::from(vec![3, 1])));
        }
        let schema = std::sync::Arc::new(Schema::new(fields));
        let batch = arrow::array::RecordBatch::try_new(schema.clone(), columns).unwrap();
        let dt = chrono::NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        let run_prefix = format!("lake/web/visits/dt={dt}/run=r{day}/");
        let file = root.join(&run_prefix).join("part-0.parquet");
        let mut sink =
            daybook_core::parquet_sink::ParquetSink::create(&file, schema.clone(), 1024, &[])
                .unwrap();
        sink.write(&batch).unwrap();
        sink.finish().unwrap();
        crate::adapters::catalog::LocalCatalog::new(root)
            .set_partitions(
                "visits",
                false,
                &daybook_core::lake::SchemaColumn::from_arrow(&schema),
                &[daybook_core::ports::PartitionRef { dt, run_prefix }],
            )
            .unwrap();
        file
    }

    /// A day's query reads that day's partition and no other: a lake of a year costs a day's
    /// query what a lake of a week does. A broken file on another day proves it is not read.
    #[tokio::test]
    async fn a_query_reads_only_the_partitions_its_dt_conditions_leave() {
        use daybook_core::ports::Warehouse;
        let root = tempfile::tempdir().unwrap();
        visits_day(root.path(), 1, false);
        let broken = visits_day(root.path(), 2, false);
        visits_day(root.path(), 3, true);
        std::fs::write(&broken, b"not parquet").unwrap();
        let warehouse = DataFusionWarehouse::new(root.path());
        let day = |sql: &str| {
            let warehouse = &warehouse;
            let sql = sql.to_string();
            async move { warehouse.query(&sql).await }
        };
        let first = day("SELECT sum(views) AS views, max(visitors) AS visitors FROM lake.visits WHERE dt = DATE '2026-11-01'")
            .await
            .unwrap();
        // Day 1 was loaded before the table had visitors: NULL, as Spectrum reads it.
        assert_eq!(
            first.rows,
            vec![vec![serde_json::json!(11), serde_json::Value::Null]]
        );
        let later =
            day("SELECT sum(views) AS views FROM lake.visits WHERE dt >= DATE '2026-11-03'")
                .await
                .unwrap();
        assert_eq!(later.rows, vec![vec![serde_json::json!(31)]]);
        let all = day("SELECT sum(views) AS views FROM lake.visits")
            .await
            .unwrap_err();
        assert!(all.to_string().contains("dt=2026-11-02"), "{all}");
    }
}
