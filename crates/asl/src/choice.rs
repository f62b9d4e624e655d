//! Choice rules: the comparison operators, their `…Path` forms, `Is…` tests and And/Or/Not.

use super::error::Failure;
use super::selection::select;
use serde_json::Value;

/// Whether one Choice rule (a JSON object from the definition) holds for the input.
pub fn rule_matches(rule: &Value, input: &Value, context: &Value) -> Result<bool, Failure> {
    let object = rule
        .as_object()
        .ok_or_else(|| Failure::runtime("a Choice rule must be an object"))?;
    if let Some(all) = object.get("And") {
        return all_of(all, input, context, true);
    }
    if let Some(any) = object.get("Or") {
        return all_of(any, input, context, false);
    }
    if let Some(not) = object.get("Not") {
        return Ok(!rule_matches(not, input, context)?);
    }
    let variable = object
        .get("Variable")
        .and_then(Value::as_str)
        .ok_or_else(|| Failure::runtime(format!("Choice rule {rule} has no Variable")))?;
    let (operator, operand) = object
        .iter()
        .find(|(k, _)| !matches!(k.as_str(), "Variable" | "Next" | "Comment"))
        .ok_or_else(|| {
            Failure::runtime(format!("Choice rule {rule} has no comparison operator"))
        })?;

    let value = select(variable, input, context).ok();
    if operator == "IsPresent" {
        return Ok(value.is_some() == operand.as_bool().unwrap_or(true));
    }
    let Some(value) = value else {
        return Err(Failure::runtime(format!(
            "Choice rule variable {variable} is not in the input; guard it with IsPresent"
        )));
    };
    let expect = operand.as_bool().unwrap_or(true);
    let type_test = match operator.as_str() {
        "IsNull" => Some(value.is_null()),
        "IsString" => Some(value.is_string()),
        "IsNumeric" => Some(value.is_number()),
        "IsBoolean" => Some(value.is_boolean()),
        "IsTimestamp" => Some(
            value
                .as_str()
                .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
        ),
        _ => None,
    };
    if let Some(result) = type_test {
        return Ok(result == expect);
    }

    let (operator, operand) = match operator.strip_suffix("Path") {
        Some(base) => (
            base,
            select(operand.as_str().unwrap_or_default(), input, context)?,
        ),
        None => (operator.as_str(), operand.clone()),
    };
    if operator == "StringMatches" {
        return Ok(match (value.as_str(), operand.as_str()) {
            (Some(v), Some(pattern)) => glob_matches(pattern, v),
            _ => false,
        });
    }
    let (kind, comparison) = ["String", "Numeric", "Boolean", "Timestamp"]
        .iter()
        .find_map(|k| operator.strip_prefix(k).map(|rest| (*k, rest)))
        .ok_or_else(|| Failure::runtime(format!("Choice operator {operator} is not supported")))?;
    let ordering = match kind {
        "String" => value.as_str().zip(operand.as_str()).map(|(a, b)| a.cmp(b)),
        "Numeric" => value
            .as_f64()
            .zip(operand.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        "Boolean" => value
            .as_bool()
            .zip(operand.as_bool())
            .map(|(a, b)| a.cmp(&b)),
        _ => value
            .as_str()
            .zip(operand.as_str())
            .and_then(|(a, b)| {
                Some((
                    chrono::DateTime::parse_from_rfc3339(a).ok()?,
                    chrono::DateTime::parse_from_rfc3339(b).ok()?,
                ))
            })
            .map(|(a, b)| a.cmp(&b)),
    };
    // A value of the wrong type never matches, as in Step Functions.
    let Some(ordering) = ordering else {
        return Ok(false);
    };
    use std::cmp::Ordering::*;
    Ok(match comparison {
        "Equals" => ordering == Equal,
        "LessThan" => ordering == Less,
        "GreaterThan" => ordering == Greater,
        "LessThanEquals" => ordering != Greater,
        "GreaterThanEquals" => ordering != Less,
        other => {
            return Err(Failure::runtime(format!(
                "Choice comparison {kind}{other} is not supported"
            )));
        }
    })
}

fn all_of(
    rules: &Value,
    input: &Value,
    context: &Value,
    conjunction: bool,
) -> Result<bool, Failure> {
    let rules = rules
        .as_array()
        .ok_or_else(|| Failure::runtime("And/Or takes a list of rules"))?;
    for rule in rules {
        if rule_matches(rule, input, context)? != conjunction {
            return Ok(!conjunction);
        }
    }
    Ok(conjunction)
}

/// `StringMatches`: `*` matches any run of characters; `\*` is a literal star.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut parts: Vec<String> = vec![String::new()];
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => parts.last_mut().unwrap().extend(chars.next()),
            '*' => parts.push(String::new()),
            _ => parts.last_mut().unwrap().push(c),
        }
    }
    let (first, rest) = parts.split_first().unwrap();
    let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
        return false;
    };
    if rest.is_empty() {
        return remaining.is_empty();
    }
    let (last, middle) = rest.split_last().unwrap();
    for part in middle {
        match remaining.find(part.as_str()) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.ends_with(last.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(rule: Value, input: Value) -> bool {
        rule_matches(&rule, &input, &json!({})).unwrap()
    }

    #[test]
    fn comparisons_and_paths() {
        assert!(check(
            json!({"Variable": "$.a", "StringEquals": "x"}),
            json!({"a": "x"})
        ));
        assert!(check(
            json!({"Variable": "$.n", "NumericGreaterThanEquals": 3}),
            json!({"n": 3})
        ));
        assert!(!check(
            json!({"Variable": "$.n", "NumericLessThan": 3}),
            json!({"n": 3})
        ));
        assert!(check(
            json!({"Variable": "$.n", "NumericEqualsPath": "$.m"}),
            json!({"n": 2, "m": 2})
        ));
        assert!(check(
            json!({"Variable": "$.ok", "BooleanEquals": true}),
            json!({"ok": true})
        ));
        assert!(!check(
            json!({"Variable": "$.a", "NumericEquals": 1}),
            json!({"a": "1"})
        ));
        assert!(check(
            json!({"Variable": "$.t", "TimestampLessThan": "2026-01-02T00:00:00Z"}),
            json!({"t": "2026-01-01T00:00:00Z"})
        ));
    }

    #[test]
    fn type_tests_and_boolean_logic() {
        assert!(check(
            json!({"Variable": "$.a", "IsPresent": false}),
            json!({})
        ));
        assert!(check(
            json!({"Variable": "$.a", "IsNull": true}),
            json!({"a": null})
        ));
        assert!(check(
            json!({"And": [{"Variable": "$.a", "IsString": true}, {"Not": {"Variable": "$.a", "StringEquals": "b"}}]}),
            json!({"a": "x"})
        ));
        assert!(check(
            json!({"Or": [{"Variable": "$.a", "StringEquals": "b"}, {"Variable": "$.a", "StringMatches": "*.csv"}]}),
            json!({"a": "log.csv"})
        ));
    }

    #[test]
    fn a_missing_variable_is_a_runtime_error() {
        let err = rule_matches(
            &json!({"Variable": "$.x", "StringEquals": "a"}),
            &json!({}),
            &json!({}),
        )
        .unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }
}
