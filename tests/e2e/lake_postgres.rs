//! The local lake copied into a real PostgreSQL, so that every mart can run on both engines:
//! each catalog table becomes `lake.<name>` with its partitions' rows and a `dt` column, loaded
//! with COPY. Timestamps go in as `timestamp` (UTC values), as Redshift Spectrum shows them.

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, Schema};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use daybook_core::ports::QueryResult;
use daybook_local::catalog::LocalCatalog;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection, Row};
use std::path::Path;

fn postgres_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 | DataType::Int16 => "smallint".into(),
        DataType::Int32 | DataType::UInt16 => "integer".into(),
        DataType::Int64 | DataType::UInt32 => "bigint".into(),
        DataType::UInt64 => "numeric(20,0)".into(),
        DataType::Float32 => "real".into(),
        DataType::Float64 => "double precision".into(),
        DataType::Decimal128(p, s) => format!("numeric({p},{s})"),
        DataType::Date32 => "date".into(),
        DataType::Timestamp(_, _) => "timestamp".into(),
        _ => "text".into(),
    }
}

/// COPY's text format: tab-separated, `\N` for null, backslash escapes.
fn copy_text(batch: &RecordBatch, dt: &str) -> String {
    let options = FormatOptions::default();
    let formatters: Vec<ArrayFormatter> = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("the column formats"))
        .collect();
    let mut out = String::new();
    for row in 0..batch.num_rows() {
        for (column, formatter) in batch.columns().iter().zip(&formatters) {
            if column.is_null(row) {
                out.push_str("\\N");
            } else {
                for c in formatter.value(row).to_string().chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
            out.push('\t');
        }
        out.push_str(dt);
        out.push('\n');
    }
    out
}

/// Each Parquet file's schema (an empty day has a file with no rows) and its batches.
fn read_partition(folder: &Path) -> Vec<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .unwrap_or_else(|e| panic!("reading {}: {e}", folder.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let builder =
                ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
                    .unwrap();
            let schema = builder.schema().clone();
            let batches = builder.build().unwrap().map(|b| b.unwrap()).collect();
            (schema, batches)
        })
        .collect()
}

/// Copies every lake table of the local catalog at `root` into schema `lake` of `url`.
pub async fn load_lake(root: &Path, url: &str) {
    let catalog = LocalCatalog::new(root).load().unwrap();
    let mut connection = PgConnection::connect(url).await.unwrap();
    connection
        .execute("DROP SCHEMA IF EXISTS lake CASCADE; CREATE SCHEMA lake")
        .await
        .unwrap();
    for (name, table) in &catalog.tables {
        let mut created: Option<Schema> = None;
        for (dt, prefix) in &table.partitions {
            for (schema, batches) in read_partition(&root.join(prefix)) {
                if created.is_none() {
                    let columns: Vec<String> = schema
                        .fields()
                        .iter()
                        .map(|f| format!("\"{}\" {}", f.name(), postgres_type(f.data_type())))
                        .collect();
                    connection
                        .execute(
                            format!("CREATE TABLE lake.{name} ({}, dt date)", columns.join(", "))
                                .as_str(),
                        )
                        .await
                        .unwrap();
                    created = Some(schema.as_ref().clone());
                }
                let names: Vec<String> = schema
                    .fields()
                    .iter()
                    .map(|f| format!("\"{}\"", f.name()))
                    .collect();
                for batch in batches {
                    let mut copy = connection
                        .copy_in_raw(&format!(
                            "COPY lake.{name} ({}, dt) FROM STDIN",
                            names.join(", ")
                        ))
                        .await
                        .unwrap();
                    copy.send(copy_text(&batch, &dt.to_string()).into_bytes())
                        .await
                        .unwrap();
                    copy.finish()
                        .await
                        .unwrap_or_else(|e| panic!("copying {name} dt={dt}: {e}"));
                }
            }
        }
        assert!(
            created.is_some(),
            "{name} has no Parquet file to take its columns from"
        );
    }
}

/// Runs `sql` on PostgreSQL; each row as a JSON object.
pub async fn query(url: &str, sql: &str) -> Vec<serde_json::Map<String, Value>> {
    let mut connection = PgConnection::connect(url).await.unwrap();
    let rows = sqlx::query(&format!(
        "SELECT row_to_json(q)::text FROM (\n{sql}\n) AS q"
    ))
    .fetch_all(&mut connection)
    .await
    .unwrap_or_else(|e| panic!("PostgreSQL rejects:\n{sql}\n{e}"));
    rows.iter()
        .map(|r| serde_json::from_str(&r.get::<String, _>(0)).unwrap())
        .collect()
}

/// Rows as objects, for comparison with PostgreSQL's.
pub fn records(result: &QueryResult) -> Vec<serde_json::Map<String, Value>> {
    result
        .rows
        .iter()
        .map(|r| {
            result
                .columns
                .iter()
                .cloned()
                .zip(r.iter().cloned())
                .collect()
        })
        .collect()
}

/// Rows in an engine-neutral, order-neutral form: numbers rounded to 6 places (engines sum
/// floats in different orders), rows sorted.
pub fn normalized(rows: &[serde_json::Map<String, Value>]) -> Vec<String> {
    let mut out: Vec<String> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|(k, v)| {
                    let value = match v {
                        Value::Number(n) => {
                            let f = n.as_f64().unwrap();
                            format!("{:.6}", (f * 1e6).round() / 1e6)
                        }
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    format!("{k}={value}")
                })
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    out.sort();
    out
}
