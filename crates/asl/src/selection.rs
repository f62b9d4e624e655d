//! JSONPath selection from a state's input or the context object: what paths, payload
//! templates, intrinsics and choice rules all read values with.

use super::error::Failure;
use serde_json::Value;
use serde_json_path::JsonPath;

/// Selects `path` from the state input (`$…`) or the context object (`$$…`).
pub fn select(path: &str, input: &Value, context: &Value) -> Result<Value, Failure> {
    let (document, path) = match path.strip_prefix("$$") {
        Some(rest) => (context, format!("${rest}")),
        None => (input, path.to_string()),
    };
    let parsed = JsonPath::parse(&path)
        .map_err(|e| Failure::runtime(format!("invalid JSONPath {path:?}: {e}")))?;
    let nodes = parsed.query(document).all();
    if is_definite(&path) {
        match nodes.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Failure::runtime(format!(
                "the JSONPath {path:?} could not be found in the input {}",
                abbreviate(document)
            ))),
            _ => Ok(Value::Array(nodes.into_iter().cloned().collect())),
        }
    } else {
        Ok(Value::Array(nodes.into_iter().cloned().collect()))
    }
}

/// Whether a path names one node (no wildcards, filters, slices or recursive descent).
fn is_definite(path: &str) -> bool {
    !(path.contains('*') || path.contains("..") || path.contains('?') || path.contains(':'))
}

pub(crate) fn abbreviate(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 300 {
        format!("{}…", &text[..text.floor_char_boundary(300)])
    } else {
        text
    }
}
