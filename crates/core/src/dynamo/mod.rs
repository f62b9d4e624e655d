//! DynamoDB's JSON wire format (`{"S": "..."}`, `{"N": "..."}`, ...) as a Rust value.

mod item;
mod value;

pub use item::{ExportLine, Item, parse_export_line};
pub use value::{AttributeKind, AttributeValue, Text};
