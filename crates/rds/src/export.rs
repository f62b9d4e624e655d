//! The export-rds step: every configured table of one database into the lake, whole or from
//! the last run's high-water mark.

use crate::columns::Cell;
use crate::db::{Database, Dialect, TableWriter};
use crate::error::RdsError;
use daybook_core::lake::{PartitionLayout, SchemaColumn};
use daybook_core::ports::StateStore;
use daybook_core::relational::{RdsSource, TableExport, Watermark};
use daybook_core::steps::JobContext;
use daybook_core::steps::publish::{
    ExportReport, StagedExport, StagedFile, StagedTable, Staging, publish, write_step_output,
};
use daybook_core::store::ObjectStore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;

/// The step's input from the state machine: the job and one configured database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RdsTask {
    pub job: JobContext,
    pub source: RdsSource,
}

/// The SELECT one table's export runs: ordered by the watermark column when there is one, and
/// only above the previous run's mark (the query's one parameter) when `after_mark`. Names are
/// quoted in the engine's dialect, so a table or column name can never be read as SQL.
pub fn export_sql(export: &TableExport, dialect: Dialect, after_mark: bool) -> String {
    let base = match &export.query {
        Some(query) => format!(
            "SELECT * FROM ({}) AS daybook_source",
            query.trim().trim_end_matches(';')
        ),
        None => format!("SELECT * FROM {}", dialect.quote(&export.table)),
    };
    match &export.watermark {
        Some(column) if after_mark => format!(
            "{base} WHERE {column} > {parameter} ORDER BY {column}",
            column = dialect.quote(column),
            parameter = dialect.parameter()
        ),
        Some(column) => format!("{base} ORDER BY {}", dialect.quote(column)),
        None => base,
    }
}

/// Exports every table of `task.source` from `db` into `store`'s lake and, once the run is
/// published, moves the incremental tables' marks forward in `state`.
pub async fn run_rds_task(
    db: &Database,
    store: &dyn ObjectStore,
    state: &dyn StateStore,
    task: &RdsTask,
) -> Result<ExportReport, RdsError> {
    let layout = PartitionLayout::lake(&task.source.source, task.job.date, &task.job.job_id);
    let mut report = export_tables(db, store, state, &task.source, &layout).await?;
    write_step_output(store, "export-rds", &mut report).await?;
    Ok(report)
}

/// [`run_rds_task`] into any layout (the CLI writes to a bare folder).
pub async fn export_tables(
    db: &Database,
    store: &dyn ObjectStore,
    state: &dyn StateStore,
    source: &RdsSource,
    layout: &PartitionLayout,
) -> Result<ExportReport, RdsError> {
    source
        .check_names()
        .map_err(|e| daybook_core::Error::Invalid(format!("{e}; nothing was exported")))?;
    let started = Instant::now();
    let staging = Staging::new(store, &layout.job_id, &format!("rds-{}", source.source))?;
    let mut tables = Vec::new();
    let mut marks = Vec::new();
    let mut counts = BTreeMap::new();
    for export in &source.tables {
        let name = export.lake_name();
        let fail = |message: String| RdsError::Query {
            table: format!("{} ({} table {})", name, db.engine(), export.table),
            message,
        };
        let key = export.watermark_key(&source.source);
        let previous: Option<Watermark> = match &export.watermark {
            None => None,
            Some(_) => state
                .get(&key)
                .await
                .map_err(|e| fail(format!("reading the watermark {key}: {e}")))?
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| fail(format!("the watermark {key} is not one daybook wrote: {e}")))?,
        };
        // A rerun of the job that moved the mark starts again from where that job started.
        let from = previous.as_ref().and_then(|mark| {
            if mark.job_id == layout.job_id {
                mark.previous.clone()
            } else {
                Some(mark.value.clone())
            }
        });
        let sql = export_sql(export, db.dialect(), from.is_some());
        let meta = db
            .column_meta(&export.table)
            .await
            .map_err(|e| fail(format!("reading the catalog: {e}")))?;
        let described = export_sql(export, db.dialect(), false);
        let columns = db.describe(&described).await.map_err(|e| {
            fail(format!(
                "{e}; check the table, column and query in the source's configuration ({sql})"
            ))
        })?;
        let mut notes = Vec::new();
        let planned = db.plan(&name, &columns, &meta, &mut notes)?;
        let part_key = layout.part_key(&name, 0);
        let path = daybook_core::lake::staged_path(staging.path(), &part_key)
            .map_err(daybook_core::Error::from)?;
        let mut writer = TableWriter::create(
            &path,
            planned,
            export.watermark.as_deref(),
            source.row_group_rows,
        )
        .map_err(fail)?;
        let after = match (&export.watermark, &from) {
            (Some(column), Some(literal)) => {
                let kind = writer
                    .columns
                    .iter()
                    .find(|c| &c.name == column)
                    .map(|c| c.kind.clone())
                    .ok_or_else(|| {
                        fail(format!("the watermark column {column} is not exported"))
                    })?;
                let cell = Cell::from_literal(literal, &kind).map_err(|e| {
                    fail(format!(
                        "{e}. Delete the state record {key} to export the whole table once, or write the last value exported there"
                    ))
                })?;
                Some((cell, kind))
            }
            _ => None,
        };
        db.stream(&sql, after.as_ref().map(|(c, k)| (c, k)), &mut writer)
            .await
            .map_err(fail)?;
        let (file, schema, high) = writer.finish().map_err(fail)?;
        counts.insert(format!("rows.{name}"), file.rows);
        if let Some(column) = &export.watermark {
            marks.push((
                key,
                Watermark {
                    column: column.clone(),
                    value: high.or_else(|| from.clone()).unwrap_or_default(),
                    previous: from.clone(),
                    job_id: layout.job_id.clone(),
                },
            ));
        }
        tables.push(StagedTable {
            table: name.clone(),
            dt: layout.date,
            run_prefix: layout.run_prefix(&name),
            rows: file.rows,
            schema: SchemaColumn::from_arrow(&schema),
            files: vec![StagedFile {
                key: part_key,
                path: Some(file.path),
                rows: file.rows,
                bytes: file.bytes,
            }],
            notes,
        });
    }
    let rows: u64 = tables.iter().map(|t| t.rows).sum();
    let warnings = tables
        .iter()
        .flat_map(|t| t.notes.iter().map(move |n| format!("{}: {n}", t.table)))
        .collect();
    let staged = StagedExport {
        source: source.source.clone(),
        job_id: layout.job_id.clone(),
        date: layout.date,
        tables,
        items_read: rows,
        items_written: rows,
        quarantined: 0,
        quarantine: None,
        warnings,
        // A relational export quarantines nothing: a bad row stops it, naming the row.
        max_quarantined_share: 1.0,
    };
    let mut report = publish(store, &staged).await?;
    for (key, mark) in marks {
        if mark.value.is_empty() {
            continue;
        }
        let value = serde_json::to_value(&mark).expect("a watermark serialises");
        state.put(&key, value).await.map_err(|e| RdsError::Query {
            table: key.clone(),
            message: format!(
                "the run was published but its watermark could not be saved ({e}); the next run will export these rows again"
            ),
        })?;
    }
    report.counts = counts;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_exports_start_above_the_mark_bound_as_a_parameter() {
        let mut export = TableExport::new("shop.orders");
        assert_eq!(
            export_sql(&export, Dialect::Postgres, false),
            r#"SELECT * FROM "shop"."orders""#
        );
        export.watermark = Some("updated_at".into());
        assert_eq!(
            export_sql(&export, Dialect::Postgres, true),
            r#"SELECT * FROM "shop"."orders" WHERE "updated_at" > $1 ORDER BY "updated_at""#
        );
        assert_eq!(
            export_sql(&export, Dialect::MySql, true),
            "SELECT * FROM `shop`.`orders` WHERE `updated_at` > ? ORDER BY `updated_at`"
        );
        export.query = Some("SELECT id, updated_at FROM orders WHERE status <> 'test';".into());
        assert_eq!(
            export_sql(&export, Dialect::Sqlite, false),
            r#"SELECT * FROM (SELECT id, updated_at FROM orders WHERE status <> 'test') AS daybook_source ORDER BY "updated_at""#
        );
    }

    #[test]
    fn a_name_holding_sql_stays_a_name() {
        let export = TableExport::new(r#"orders"; DROP TABLE customers; --"#);
        assert_eq!(
            export_sql(&export, Dialect::Sqlite, false),
            r#"SELECT * FROM "orders""; DROP TABLE customers; --""#
        );
    }

    #[test]
    fn a_tampered_watermark_is_refused_not_run() {
        use crate::columns::ColumnKind;
        for (literal, kind) in [
            ("30 OR 1=1", ColumnKind::Int64),
            ("'2026-11-21' OR 'a'='a'", ColumnKind::Text),
            ("'x'; DROP TABLE t; --", ColumnKind::Text),
            ("1e400", ColumnKind::Float64),
        ] {
            let error = Cell::from_literal(literal, &kind).unwrap_err();
            assert!(error.contains("is refused"), "{literal}: {error}");
        }
        assert_eq!(
            Cell::from_literal("'it''s'", &ColumnKind::Text).unwrap(),
            Cell::Text("it's".into())
        );
        assert_eq!(
            Cell::from_literal("30", &ColumnKind::Int32).unwrap(),
            Cell::Int(30)
        );
    }
}
