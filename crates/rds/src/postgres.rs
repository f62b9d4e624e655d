//! PostgreSQL types (RDS PostgreSQL and Aurora PostgreSQL read replicas).

use crate::columns::{Cell, ColumnKind, cell_or_null as opt};
use crate::plan::PlannedColumn;
use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

pub const DECIMALS_SQL: &str = "SELECT column_name::text, numeric_precision::int4, numeric_scale::int4 \
     FROM information_schema.columns \
     WHERE table_name = $1 AND table_schema = coalesce($2, current_schema()) \
       AND data_type = 'numeric' AND numeric_precision IS NOT NULL";

pub fn kind(type_name: &str) -> Option<ColumnKind> {
    if let Some(element) = type_name
        .strip_suffix("[]")
        .or_else(|| type_name.strip_prefix('_'))
    {
        let inner = kind(element)?;
        return matches!(
            inner,
            ColumnKind::Int16
                | ColumnKind::Int32
                | ColumnKind::Int64
                | ColumnKind::Float32
                | ColumnKind::Float64
                | ColumnKind::Bool
                | ColumnKind::Text
        )
        .then(|| ColumnKind::List(Box::new(inner)));
    }
    Some(match type_name {
        "INT2" => ColumnKind::Int16,
        "INT4" | "OID" => ColumnKind::Int32,
        "INT8" => ColumnKind::Int64,
        "FLOAT4" => ColumnKind::Float32,
        "FLOAT8" => ColumnKind::Float64,
        // The precision comes from the catalog; without one the column stays text (see plan).
        "NUMERIC" => ColumnKind::Decimal {
            precision: 0,
            scale: 0,
        },
        "BOOL" => ColumnKind::Bool,
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "CITEXT" => ColumnKind::Text,
        "BYTEA" => ColumnKind::Binary,
        "DATE" => ColumnKind::Date,
        "TIMESTAMP" => ColumnKind::Timestamp { zoned: false },
        "TIMESTAMPTZ" => ColumnKind::Timestamp { zoned: true },
        "TIME" => ColumnKind::Time,
        "UUID" => ColumnKind::Uuid,
        "JSON" | "JSONB" => ColumnKind::Json,
        _ => return None,
    })
}

pub fn cell(row: &PgRow, column: &PlannedColumn) -> Result<Cell, sqlx::Error> {
    let i = column.index;
    Ok(match &column.kind {
        ColumnKind::Int16 => opt(row.try_get::<Option<i16>, _>(i)?, |v| Cell::Int(v.into())),
        ColumnKind::Int32 if column.type_name == "OID" => opt(
            row.try_get::<Option<sqlx::postgres::types::Oid>, _>(i)?,
            |v| Cell::Int(v.0.into()),
        ),
        ColumnKind::Int32 => opt(row.try_get::<Option<i32>, _>(i)?, |v| Cell::Int(v.into())),
        ColumnKind::Int64 => opt(row.try_get::<Option<i64>, _>(i)?, Cell::Int),
        ColumnKind::Float32 => opt(row.try_get::<Option<f32>, _>(i)?, |v| Cell::Float(v.into())),
        ColumnKind::Float64 => opt(row.try_get::<Option<f64>, _>(i)?, Cell::Float),
        ColumnKind::Decimal { .. } => opt(row.try_get::<Option<BigDecimal>, _>(i)?, Cell::Decimal),
        ColumnKind::Text if column.type_name == "NUMERIC" => {
            opt(row.try_get::<Option<BigDecimal>, _>(i)?, |v| {
                Cell::Text(v.to_string())
            })
        }
        ColumnKind::Bool => opt(row.try_get::<Option<bool>, _>(i)?, Cell::Bool),
        ColumnKind::Text => opt(row.try_get_unchecked::<Option<String>, _>(i)?, Cell::Text),
        ColumnKind::Binary => opt(row.try_get::<Option<Vec<u8>>, _>(i)?, Cell::Binary),
        ColumnKind::Date => opt(row.try_get::<Option<NaiveDate>, _>(i)?, Cell::Date),
        ColumnKind::Timestamp { zoned: false } => {
            opt(row.try_get::<Option<NaiveDateTime>, _>(i)?, |v| {
                Cell::Timestamp(v.and_utc())
            })
        }
        ColumnKind::Timestamp { zoned: true } => {
            opt(row.try_get::<Option<DateTime<Utc>>, _>(i)?, Cell::Timestamp)
        }
        ColumnKind::Time => opt(row.try_get::<Option<NaiveTime>, _>(i)?, Cell::Time),
        ColumnKind::Uuid => opt(row.try_get::<Option<uuid::Uuid>, _>(i)?, |v| {
            Cell::Text(v.to_string())
        }),
        ColumnKind::Json => opt(row.try_get::<Option<serde_json::Value>, _>(i)?, |v| {
            Cell::Text(v.to_string())
        }),
        ColumnKind::List(inner) => match inner.as_ref() {
            ColumnKind::Int16 => list(row.try_get::<Option<Vec<Option<i16>>>, _>(i)?, |v| {
                Cell::Int(v.into())
            }),
            ColumnKind::Int32 => list(row.try_get::<Option<Vec<Option<i32>>>, _>(i)?, |v| {
                Cell::Int(v.into())
            }),
            ColumnKind::Int64 => list(row.try_get::<Option<Vec<Option<i64>>>, _>(i)?, Cell::Int),
            ColumnKind::Float32 => list(row.try_get::<Option<Vec<Option<f32>>>, _>(i)?, |v| {
                Cell::Float(v.into())
            }),
            ColumnKind::Float64 => {
                list(row.try_get::<Option<Vec<Option<f64>>>, _>(i)?, Cell::Float)
            }
            ColumnKind::Bool => list(row.try_get::<Option<Vec<Option<bool>>>, _>(i)?, Cell::Bool),
            _ => list(
                row.try_get_unchecked::<Option<Vec<Option<String>>>, _>(i)?,
                Cell::Text,
            ),
        },
        ColumnKind::Int8 => opt(row.try_get::<Option<i8>, _>(i)?, |v| Cell::Int(v.into())),
    })
}

fn list<T>(value: Option<Vec<Option<T>>>, cell: impl Fn(T) -> Cell) -> Cell {
    match value {
        None => Cell::Null,
        Some(values) => Cell::List(values.into_iter().map(|v| opt(v, &cell)).collect()),
    }
}
