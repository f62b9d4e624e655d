//! SQLite, the embedded default: values are read by the column's declared type.

use crate::columns::{Cell, ColumnKind, cell_or_null as opt};
use crate::plan::PlannedColumn;
use bigdecimal::BigDecimal;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use std::str::FromStr;

pub const DECIMALS_SQL: &str = "SELECT name, type, ?2 FROM pragma_table_info(?1)";

pub fn kind(type_name: &str) -> Option<ColumnKind> {
    Some(match type_name {
        "INTEGER" | "INT4" | "INT8" | "BIGINT" => ColumnKind::Int64,
        "REAL" => ColumnKind::Float64,
        "TEXT" | "NULL" => ColumnKind::Text,
        "BLOB" => ColumnKind::Binary,
        "NUMERIC" => ColumnKind::Decimal {
            precision: 0,
            scale: 0,
        },
        "BOOLEAN" => ColumnKind::Bool,
        "DATE" => ColumnKind::Date,
        "DATETIME" => ColumnKind::Timestamp { zoned: false },
        "TIME" => ColumnKind::Time,
        _ => return None,
    })
}

/// `DECIMAL(10,2)` → (10, 2).
pub fn declared_precision(declared: &str) -> Option<(u8, i8)> {
    let open = declared.find('(')?;
    let inside = declared[open + 1..].strip_suffix(')')?;
    let (p, s) = inside.split_once(',').unwrap_or((inside, "0"));
    Some((p.trim().parse().ok()?, s.trim().parse().ok()?))
}

pub fn cell(row: &SqliteRow, column: &PlannedColumn) -> Result<Cell, sqlx::Error> {
    let i = column.index;
    Ok(match &column.kind {
        ColumnKind::Int8 | ColumnKind::Int16 | ColumnKind::Int32 | ColumnKind::Int64 => {
            opt(row.try_get_unchecked::<Option<i64>, _>(i)?, Cell::Int)
        }
        ColumnKind::Float32 | ColumnKind::Float64 => {
            opt(row.try_get_unchecked::<Option<f64>, _>(i)?, Cell::Float)
        }
        ColumnKind::Decimal { .. } => match row.try_get_unchecked::<Option<String>, _>(i)? {
            None => Cell::Null,
            Some(text) => Cell::Decimal(BigDecimal::from_str(&text).map_err(|e| {
                sqlx::Error::Decode(format!("{text:?} is not a decimal number: {e}").into())
            })?),
        },
        ColumnKind::Text if column.type_name == "NUMERIC" => {
            opt(row.try_get_unchecked::<Option<String>, _>(i)?, Cell::Text)
        }
        ColumnKind::Bool => opt(row.try_get_unchecked::<Option<bool>, _>(i)?, Cell::Bool),
        ColumnKind::Text | ColumnKind::Uuid | ColumnKind::Json => {
            opt(row.try_get_unchecked::<Option<String>, _>(i)?, Cell::Text)
        }
        ColumnKind::Binary => opt(
            row.try_get_unchecked::<Option<Vec<u8>>, _>(i)?,
            Cell::Binary,
        ),
        ColumnKind::Date => opt(row.try_get::<Option<NaiveDate>, _>(i)?, Cell::Date),
        ColumnKind::Timestamp { .. } => opt(row.try_get::<Option<NaiveDateTime>, _>(i)?, |v| {
            Cell::Timestamp(v.and_utc())
        }),
        ColumnKind::Time => opt(row.try_get::<Option<NaiveTime>, _>(i)?, Cell::Time),
        ColumnKind::List(_) => {
            return Err(sqlx::Error::Decode("SQLite has no array columns".into()));
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn declared_precision_is_read_from_the_type() {
        assert_eq!(super::declared_precision("DECIMAL(10,2)"), Some((10, 2)));
        assert_eq!(super::declared_precision("NUMERIC(12)"), Some((12, 0)));
        assert_eq!(super::declared_precision("NUMERIC"), None);
    }
}
