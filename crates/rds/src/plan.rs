//! The columns of one export: their database types mapped to Arrow, checked before any row.

use crate::columns::ColumnKind;
use crate::error::RdsError;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct PlannedColumn {
    pub name: String,
    pub index: usize,
    /// The engine's name for the type, as sqlx reports it.
    pub type_name: String,
    pub kind: ColumnKind,
}

/// What the catalog says of a table's columns that the result metadata does not.
#[derive(Debug, Clone, Default)]
pub struct ColumnMeta {
    /// Declared precision and scale of exact numerics.
    pub precision_scale: Option<(u8, i8)>,
    /// The declared type (SQLite, where it is all there is).
    pub declared: Option<String>,
}

/// Maps each result column to a kind; decimals take their precision from `meta`, and a numeric
/// without one stays text (every digit kept) with a note saying so.
pub fn plan_columns(
    table: &str,
    columns: &[(String, String)],
    meta: &HashMap<String, ColumnMeta>,
    kind_of: impl Fn(&str) -> Option<ColumnKind>,
    notes: &mut Vec<String>,
) -> Result<Vec<PlannedColumn>, RdsError> {
    columns
        .iter()
        .enumerate()
        .map(|(index, (name, type_name))| {
            let column_meta = meta.get(name).cloned().unwrap_or_default();
            let kind = column_meta
                .declared
                .as_deref()
                .and_then(declared_kind)
                .or_else(|| kind_of(type_name))
                .ok_or_else(|| RdsError::Unsupported {
                    table: table.to_string(),
                    column: name.clone(),
                    type_name: type_name.clone(),
                })?;
            let kind = match kind {
                ColumnKind::Decimal { precision: 0, .. } => match column_meta.precision_scale {
                    Some((precision, scale)) if (1..=38).contains(&precision) => {
                        ColumnKind::Decimal { precision, scale }
                    }
                    _ => {
                        notes.push(format!(
                            "column {name} is {type_name} without a precision of at most 38 digits: exported as text to keep every digit"
                        ));
                        ColumnKind::Text
                    }
                },
                other => other,
            };
            Ok(PlannedColumn {
                name: name.clone(),
                index,
                type_name: type_name.clone(),
                kind,
            })
        })
        .collect()
}

/// SQLite's declared types, by its own affinity rules plus the date and decimal names people use.
pub fn declared_kind(declared: &str) -> Option<ColumnKind> {
    let upper = declared.to_ascii_uppercase();
    let has = |needle: &str| upper.contains(needle);
    Some(if has("BOOL") {
        ColumnKind::Bool
    } else if has("DATETIME") || has("TIMESTAMP") {
        ColumnKind::Timestamp { zoned: false }
    } else if has("DATE") {
        ColumnKind::Date
    } else if has("TIME") {
        ColumnKind::Time
    } else if has("INT") {
        ColumnKind::Int64
    } else if has("CHAR") || has("CLOB") || has("TEXT") || has("UUID") || has("JSON") {
        ColumnKind::Text
    } else if has("BLOB") {
        ColumnKind::Binary
    } else if has("REAL") || has("FLOA") || has("DOUB") {
        ColumnKind::Float64
    } else if has("DEC") || has("NUMERIC") {
        ColumnKind::Decimal {
            precision: 0,
            scale: 0,
        }
    } else {
        return None;
    })
}
