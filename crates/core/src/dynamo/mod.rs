//! DynamoDB's JSON wire format (`{"S": "..."}`, `{"N": "..."}`, ...) as a Rust value.

pub(crate) mod item;
mod line;
mod plain_json;
mod scan;
mod value;

#[cfg(test)]
pub(crate) use item::parse_with_serde;
pub use item::{ExportLine, Item};
pub use line::parse_export_line;
pub use plain_json::write_string as write_json_string;
pub use value::{AttributeKind, AttributeValue, Text};
