//! An export line to an item: the fast scanner for lines in the shape DynamoDB writes, serde
//! for the rest, so that a bad line is explained. It sits above both parsers.

use super::item::{Item, parse_with_serde, within_dynamodb_nesting};
use super::scan::scan_export_line;

/// Parses an export line; the item borrows from it. Lines in the shape DynamoDB writes take the
/// fast path; serde_json parses the rest and explains what is wrong with a bad one.
pub fn parse_export_line(line: &str) -> Result<Item<'_>, serde_json::Error> {
    match scan_export_line(line) {
        Some(item) => Ok(item),
        None => parse_with_serde(line).and_then(within_dynamodb_nesting),
    }
}
