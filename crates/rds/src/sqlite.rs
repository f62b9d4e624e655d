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

/// What SQLite holds in this row's cell, whatever the column declares: SQLite keeps `'abc'` in
/// an INTEGER column as text, which reading it as a number would turn into 0.
fn storage(row: &SqliteRow, i: usize) -> Result<String, sqlx::Error> {
    use sqlx::{TypeInfo, ValueRef};
    let value = row.try_get_raw(i)?;
    Ok(if value.is_null() {
        "NULL".into()
    } else {
        value.type_info().name().to_string()
    })
}

/// Refuses a cell whose stored value is not of a class the column's kind can take.
fn expect(
    row: &SqliteRow,
    column: &PlannedColumn,
    classes: &[&str],
) -> Result<String, sqlx::Error> {
    let stored = storage(row, column.index)?;
    if stored == "NULL" || classes.contains(&stored.as_str()) {
        return Ok(stored);
    }
    let shown = row
        .try_get_unchecked::<Option<String>, _>(column.index)
        .ok()
        .flatten()
        .map(|text| text.chars().take(60).collect::<String>())
        .unwrap_or_default();
    Err(sqlx::Error::Decode(
        format!(
            "holds {stored} {shown:?} in a column declared {}: SQLite kept it as it was written; fix the value, or export the column as text with a custom query (CAST({} AS TEXT))",
            column.type_name, column.name
        )
        .into(),
    ))
}

/// SQLite's DATETIME text in any of the forms it writes, keeping an offset when there is one
/// (`2026-11-21 10:00:00+05:30` is 04:30 UTC); without an offset the time is UTC.
fn parse_datetime(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::DateTime;
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.to_utc());
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%d %H:%M%:z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.to_utc());
        }
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

pub fn cell(row: &SqliteRow, column: &PlannedColumn) -> Result<Cell, sqlx::Error> {
    let i = column.index;
    Ok(match &column.kind {
        ColumnKind::Int8 | ColumnKind::Int16 | ColumnKind::Int32 | ColumnKind::Int64 => {
            expect(row, column, &["INTEGER"])?;
            opt(row.try_get_unchecked::<Option<i64>, _>(i)?, Cell::Int)
        }
        ColumnKind::Float32 | ColumnKind::Float64 => {
            expect(row, column, &["INTEGER", "REAL"])?;
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
        ColumnKind::Bool => {
            expect(row, column, &["INTEGER"])?;
            match row.try_get_unchecked::<Option<i64>, _>(i)? {
                None => Cell::Null,
                Some(0) => Cell::Bool(false),
                Some(1) => Cell::Bool(true),
                Some(other) => {
                    return Err(sqlx::Error::Decode(
                        format!("holds {other} in a BOOLEAN column, which takes 0 or 1").into(),
                    ));
                }
            }
        }
        ColumnKind::Text | ColumnKind::Uuid | ColumnKind::Json => {
            opt(row.try_get_unchecked::<Option<String>, _>(i)?, Cell::Text)
        }
        ColumnKind::Binary => opt(
            row.try_get_unchecked::<Option<Vec<u8>>, _>(i)?,
            Cell::Binary,
        ),
        ColumnKind::Date => opt(row.try_get::<Option<NaiveDate>, _>(i)?, Cell::Date),
        ColumnKind::Timestamp { .. } => {
            match expect(row, column, &["TEXT", "INTEGER", "REAL"])?.as_str() {
                "NULL" => Cell::Null,
                "TEXT" => {
                    let text: String = row.try_get_unchecked(i)?;
                    Cell::Timestamp(parse_datetime(&text).ok_or_else(|| {
                    sqlx::Error::Decode(
                        format!("{text:?} is not a date and time (YYYY-MM-DD HH:MM:SS, with an optional offset)").into(),
                    )
                })?)
                }
                // SQLite's numeric times are seconds since 1970.
                _ => {
                    let seconds: f64 = row.try_get_unchecked(i)?;
                    Cell::Timestamp(
                        chrono::DateTime::from_timestamp_micros((seconds * 1e6).round() as i64)
                            .ok_or_else(|| {
                                sqlx::Error::Decode(format!("{seconds} is not a time").into())
                            })?,
                    )
                }
            }
        }
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
