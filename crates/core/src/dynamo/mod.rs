//! DynamoDB's JSON wire format (`{"S": "..."}`, `{"N": "..."}`, ...) as a Rust value.

mod item;
mod value;

pub use item::{ExportLine, Item};
pub use value::{AttributeKind, AttributeValue};
