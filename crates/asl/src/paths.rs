//! Input and output processing of the Amazon States Language: payload
//! templates (`"key.$": "$.path"`), and ResultPath merging.

use super::error::Failure;
use super::intrinsics;
use super::selection::abbreviate;
use super::selection::select;
use serde_json::{Map, Value};

/// Applies a payload template: keys ending in `.$` take the value of a path or intrinsic.
pub fn apply_template(template: &Value, input: &Value, context: &Value) -> Result<Value, Failure> {
    match template {
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, value) in fields {
                match key.strip_suffix(".$") {
                    Some(name) => {
                        let expression = value.as_str().ok_or_else(|| {
                            Failure::runtime(format!(
                                "the value of {key:?} must be a path or an intrinsic function"
                            ))
                        })?;
                        out.insert(name.to_string(), evaluate(expression, input, context)?);
                    }
                    None => {
                        out.insert(key.clone(), apply_template(value, input, context)?);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(values) => values
            .iter()
            .map(|v| apply_template(v, input, context))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// A `.$` value: a path, or an intrinsic function call such as `States.Format('{}', $.x)`.
pub fn evaluate(expression: &str, input: &Value, context: &Value) -> Result<Value, Failure> {
    if expression.starts_with("States.") {
        intrinsics::call(expression, input, context)
    } else {
        select(expression, input, context)
    }
}

/// Places `result` into `input` at a reference path (`$`, `$.a.b`, `$['a']`); `None` discards it.
pub fn merge_result(
    input: &Value,
    result_path: Option<&str>,
    result: Value,
) -> Result<Value, Failure> {
    let Some(path) = result_path else {
        return Ok(input.clone());
    };
    let segments = reference_segments(path)?;
    if segments.is_empty() {
        return Ok(result);
    }
    let mut output = input.clone();
    if !output.is_object() {
        return Err(Failure::runtime(format!(
            "ResultPath {path:?} needs an object input to write into, got {}",
            abbreviate(&output)
        )));
    }
    let mut cursor = &mut output;
    for (i, segment) in segments.iter().enumerate() {
        let object = cursor.as_object_mut().ok_or_else(|| {
            Failure::runtime(format!(
                "ResultPath {path:?} crosses a value that is not an object"
            ))
        })?;
        if i + 1 == segments.len() {
            object.insert(segment.clone(), result);
            break;
        }
        cursor = object
            .entry(segment.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(output)
}

/// The field names of a reference path: `$.a.b` → `[a, b]`, `$['a b'].c` → `[a b, c]`.
fn reference_segments(path: &str) -> Result<Vec<String>, Failure> {
    let rest = path
        .strip_prefix('$')
        .ok_or_else(|| Failure::runtime(format!("reference path {path:?} must start with $")))?;
    let mut segments = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut name = String::new();
                while let Some(&next) = chars.peek() {
                    if next == '.' || next == '[' {
                        break;
                    }
                    name.push(next);
                    chars.next();
                }
                segments.push(name);
            }
            '[' => {
                let quote = chars.next();
                if !matches!(quote, Some('\'') | Some('"')) {
                    return Err(Failure::runtime(format!(
                        "reference path {path:?} may only use quoted names in brackets"
                    )));
                }
                let name: String = chars.by_ref().take_while(|&ch| Some(ch) != quote).collect();
                if chars.next() != Some(']') {
                    return Err(Failure::runtime(format!(
                        "unclosed bracket in reference path {path:?}"
                    )));
                }
                segments.push(name);
            }
            _ => {
                return Err(Failure::runtime(format!(
                    "reference path {path:?} is not of the form $.a.b"
                )));
            }
        }
    }
    Ok(segments)
}

/// A whole-number field of a state given as `field` or as `<field>Path` into the input
/// (`MaxConcurrency`, `MaxItemsPerBatch`, …); `None` when neither is there.
pub fn count_field(
    state: &Value,
    field: &str,
    input: &Value,
    context: &Value,
) -> Result<Option<u64>, Failure> {
    let path_field = format!("{field}Path");
    match state.get(&path_field).and_then(Value::as_str) {
        Some(path) => select(path, input, context)?
            .as_u64()
            .map(Some)
            .ok_or_else(|| {
                Failure::runtime(format!(
                    "{path_field} {path} must select a non-negative whole number"
                ))
            }),
        None => Ok(state.get(field).and_then(Value::as_u64)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_from_input_and_context() {
        let input = json!({"a": {"b": [1, 2]}});
        let context = json!({"Execution": {"Name": "run-1"}});
        assert_eq!(select("$.a.b[1]", &input, &context).unwrap(), json!(2));
        assert_eq!(
            select("$$.Execution.Name", &input, &context).unwrap(),
            json!("run-1")
        );
        assert_eq!(select("$.a.b[*]", &input, &context).unwrap(), json!([1, 2]));
        let err = select("$.missing", &input, &context).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }

    #[test]
    fn templates_evaluate_dollar_keys_recursively() {
        let input = json!({"date": "2026-11-21", "n": 3});
        let template = json!({"job": {"date.$": "$.date"}, "fixed": 1, "list": [{"n.$": "$.n"}]});
        assert_eq!(
            apply_template(&template, &input, &json!({})).unwrap(),
            json!({"job": {"date": "2026-11-21"}, "fixed": 1, "list": [{"n": 3}]})
        );
    }

    #[test]
    fn result_path_merges_replaces_or_discards() {
        let input = json!({"a": 1});
        assert_eq!(
            merge_result(&input, Some("$.b.c"), json!(2)).unwrap(),
            json!({"a": 1, "b": {"c": 2}})
        );
        assert_eq!(merge_result(&input, Some("$"), json!(2)).unwrap(), json!(2));
        assert_eq!(merge_result(&input, None, json!(2)).unwrap(), input);
        assert_eq!(
            merge_result(&input, Some("$['x y']"), json!(3)).unwrap(),
            json!({"a": 1, "x y": 3})
        );
    }
}
