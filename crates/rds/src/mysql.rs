//! MySQL and MariaDB types (RDS MySQL, RDS MariaDB and Aurora MySQL read replicas).

use crate::columns::{Cell, ColumnKind, cell_or_null as opt};
use crate::plan::PlannedColumn;
use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use sqlx::Row;
use sqlx::mysql::MySqlRow;

/// Every column's declared type, with decimal precision: MariaDB's JSON is a LONGTEXT that the
/// wire protocol reports as a blob, so text columns are known by their declared type.
pub const DECIMALS_SQL: &str = "SELECT CAST(column_name AS CHAR), CAST(data_type AS CHAR), \
     CAST(coalesce(numeric_precision, 0) AS SIGNED), CAST(coalesce(numeric_scale, 0) AS SIGNED) \
     FROM information_schema.columns \
     WHERE table_name = ? AND table_schema = coalesce(?, DATABASE())";

/// Declared types whose values are text whatever the protocol says.
pub fn is_text_type(data_type: &str) -> bool {
    matches!(
        data_type.to_ascii_lowercase().as_str(),
        "char"
            | "varchar"
            | "tinytext"
            | "text"
            | "mediumtext"
            | "longtext"
            | "json"
            | "enum"
            | "set"
    )
}

pub fn kind(type_name: &str) -> Option<ColumnKind> {
    Some(match type_name {
        "BOOLEAN" => ColumnKind::Bool,
        "TINYINT" => ColumnKind::Int8,
        "SMALLINT" | "TINYINT UNSIGNED" | "YEAR" => ColumnKind::Int16,
        "MEDIUMINT" | "INT" | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" => ColumnKind::Int32,
        "BIGINT" | "INT UNSIGNED" => ColumnKind::Int64,
        "BIGINT UNSIGNED" => ColumnKind::Decimal {
            precision: 20,
            scale: 0,
        },
        "FLOAT" => ColumnKind::Float32,
        "DOUBLE" => ColumnKind::Float64,
        "DECIMAL" => ColumnKind::Decimal {
            precision: 0,
            scale: 0,
        },
        "CHAR" | "VARCHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET" => {
            ColumnKind::Text
        }
        "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" | "BIT" => {
            ColumnKind::Binary
        }
        "DATE" => ColumnKind::Date,
        "DATETIME" => ColumnKind::Timestamp { zoned: false },
        "TIMESTAMP" => ColumnKind::Timestamp { zoned: true },
        "TIME" => ColumnKind::Time,
        "JSON" => ColumnKind::Json,
        _ => return None,
    })
}

pub fn cell(row: &MySqlRow, column: &PlannedColumn) -> Result<Cell, sqlx::Error> {
    let i = column.index;
    Ok(match &column.kind {
        ColumnKind::Bool => opt(row.try_get::<Option<bool>, _>(i)?, Cell::Bool),
        ColumnKind::Int8 => opt(row.try_get::<Option<i8>, _>(i)?, |v| Cell::Int(v.into())),
        ColumnKind::Int16 if column.type_name == "TINYINT UNSIGNED" => {
            opt(row.try_get::<Option<u8>, _>(i)?, |v| Cell::Int(v.into()))
        }
        ColumnKind::Int32 if column.type_name.ends_with("UNSIGNED") => {
            opt(row.try_get::<Option<u32>, _>(i)?, |v| Cell::Int(v.into()))
        }
        ColumnKind::Int64 if column.type_name == "INT UNSIGNED" => {
            opt(row.try_get::<Option<u32>, _>(i)?, |v| Cell::Int(v.into()))
        }
        ColumnKind::Decimal { .. } if column.type_name == "BIGINT UNSIGNED" => {
            opt(row.try_get::<Option<u64>, _>(i)?, |v| {
                Cell::Decimal(BigDecimal::from(v))
            })
        }
        ColumnKind::Int16 => opt(row.try_get_unchecked::<Option<i16>, _>(i)?, |v| {
            Cell::Int(v.into())
        }),
        ColumnKind::Int32 => opt(row.try_get_unchecked::<Option<i32>, _>(i)?, |v| {
            Cell::Int(v.into())
        }),
        ColumnKind::Int64 => opt(row.try_get::<Option<i64>, _>(i)?, Cell::Int),
        ColumnKind::Float32 => opt(row.try_get::<Option<f32>, _>(i)?, |v| Cell::Float(v.into())),
        ColumnKind::Float64 => opt(row.try_get::<Option<f64>, _>(i)?, Cell::Float),
        ColumnKind::Decimal { .. } => opt(row.try_get::<Option<BigDecimal>, _>(i)?, Cell::Decimal),
        ColumnKind::Text if column.type_name == "DECIMAL" => {
            opt(row.try_get::<Option<BigDecimal>, _>(i)?, |v| {
                Cell::Text(v.to_string())
            })
        }
        ColumnKind::Text | ColumnKind::Uuid | ColumnKind::Json => {
            opt(row.try_get_unchecked::<Option<String>, _>(i)?, Cell::Text)
        }
        ColumnKind::Binary => opt(
            row.try_get_unchecked::<Option<Vec<u8>>, _>(i)?,
            Cell::Binary,
        ),
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
        ColumnKind::List(_) => {
            return Err(sqlx::Error::Decode("MySQL has no array columns".into()));
        }
    })
}
