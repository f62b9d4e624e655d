//! The fields each part of a definition may have, checked once when it is parsed: a misspelt
//! field (`ResultSelecter`, `MaxAttemps`) is an error naming it and where it is, never a field
//! silently left at its default. The lists are the Amazon States Language's (JSONPath), less
//! what this runner does not carry out, which is refused with that said.

use serde_json::{Map, Value};

const COMMON: &[&str] = &["Type", "Comment"];
const FLOW: &[&str] = &["Next", "End"];
const IO: &[&str] = &["InputPath", "OutputPath"];
const RESULT: &[&str] = &[
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Retry",
    "Catch",
];

/// Accepted and without effect here: they shape how AWS schedules or labels work, not what it
/// computes (a Map's concurrency, a Distributed Map's label).
const NO_EFFECT_LOCALLY: &[&str] = &["MaxConcurrency", "MaxConcurrencyPath", "Label"];

/// Part of the language, not carried out by this runner: a definition with one is refused
/// rather than run differently from AWS.
const NOT_CARRIED_OUT: &[&str] = &[
    "QueryLanguage",
    "Assign",
    "Arguments",
    "Output",
    "Credentials",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
    "ResultWriter",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCountPath",
    "Items",
];

fn state_fields(kind: &str) -> Vec<&'static str> {
    let mut fields: Vec<&str> = COMMON.to_vec();
    let (flow, io, result, own): (bool, bool, bool, &[&str]) = match kind {
        "Pass" => (true, true, false, &["Parameters", "Result", "ResultPath"]),
        "Task" => (
            true,
            true,
            true,
            &["Resource", "TimeoutSeconds", "TimeoutSecondsPath"],
        ),
        "Choice" => (false, true, false, &["Choices", "Default"]),
        "Wait" => (
            true,
            true,
            false,
            &["Seconds", "SecondsPath", "Timestamp", "TimestampPath"],
        ),
        "Succeed" => (false, true, false, &[]),
        "Fail" => (
            false,
            false,
            false,
            &["Error", "ErrorPath", "Cause", "CausePath"],
        ),
        "Parallel" => (true, true, true, &["Branches"]),
        "Map" => (
            true,
            true,
            true,
            &[
                "ItemProcessor",
                "Iterator",
                "ItemsPath",
                "ItemSelector",
                "ItemReader",
                "ItemBatcher",
                "ToleratedFailureCount",
            ],
        ),
        _ => (false, false, false, &[]),
    };
    if flow {
        fields.extend(FLOW);
    }
    if io {
        fields.extend(IO);
    }
    if result {
        fields.extend(RESULT);
    }
    fields.extend(own);
    if kind == "Map" {
        fields.extend(NO_EFFECT_LOCALLY);
    }
    fields
}

fn check(object: &Map<String, Value>, allowed: &[&str], place: &str) -> Result<(), String> {
    for field in object.keys() {
        if allowed.contains(&field.as_str()) {
            continue;
        }
        if NOT_CARRIED_OUT.contains(&field.as_str()) {
            return Err(format!(
                "{place} has {field}, which this runner does not carry out"
            ));
        }
        return Err(format!(
            "{place} has the field {field:?}, which it may not have; it may have {}",
            allowed.join(", ")
        ));
    }
    Ok(())
}

fn objects(value: Option<&Value>) -> impl Iterator<Item = &Map<String, Value>> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

/// The top level of a definition, a branch or an item processor.
pub fn check_machine(machine: &Map<String, Value>, place: &str) -> Result<(), String> {
    check(
        machine,
        &[
            "StartAt",
            "States",
            "Comment",
            "Version",
            "TimeoutSeconds",
            "ProcessorConfig",
        ],
        place,
    )?;
    if let Some(config) = machine.get("ProcessorConfig").and_then(Value::as_object) {
        check(
            config,
            &["Mode", "ExecutionType"],
            &format!("the ProcessorConfig of {place}"),
        )?;
    }
    Ok(())
}

/// One state, its retriers, catchers, choice rules, item reader and batcher.
pub fn check_state(name: &str, state: &Map<String, Value>) -> Result<(), String> {
    let kind = state
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let place = format!("state {name:?}");
    check(state, &state_fields(kind), &place)?;
    for retrier in objects(state.get("Retry")) {
        check(
            retrier,
            &[
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            ],
            &format!("a Retry of {place}"),
        )?;
    }
    for catcher in objects(state.get("Catch")) {
        check(
            catcher,
            &["ErrorEquals", "Next", "ResultPath", "Comment"],
            &format!("a Catch of {place}"),
        )?;
    }
    for rule in objects(state.get("Choices")) {
        check_rule(rule, true, &format!("a choice rule of {place}"))?;
    }
    if let Some(reader) = state.get("ItemReader").and_then(Value::as_object) {
        check(
            reader,
            &["Resource", "Parameters", "ReaderConfig"],
            &format!("the ItemReader of {place}"),
        )?;
    }
    if let Some(batcher) = state.get("ItemBatcher").and_then(Value::as_object) {
        check(
            batcher,
            &[
                "MaxItemsPerBatch",
                "MaxItemsPerBatchPath",
                "MaxInputBytesPerBatch",
                "MaxInputBytesPerBatchPath",
                "BatchInput",
            ],
            &format!("the ItemBatcher of {place}"),
        )?;
    }
    Ok(())
}

const COMPARISONS: &[&str] = &[
    "StringEquals",
    "StringLessThan",
    "StringGreaterThan",
    "StringLessThanEquals",
    "StringGreaterThanEquals",
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThan",
    "NumericLessThanEquals",
    "NumericGreaterThanEquals",
    "BooleanEquals",
    "TimestampEquals",
    "TimestampLessThan",
    "TimestampGreaterThan",
    "TimestampLessThanEquals",
    "TimestampGreaterThanEquals",
];
const TESTS: &[&str] = &[
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
    "StringMatches",
];

/// A choice rule: `Next` only at the top, one operator (or And, Or, Not) per rule.
fn check_rule(rule: &Map<String, Value>, top: bool, place: &str) -> Result<(), String> {
    let mut operators: Vec<String> = Vec::new();
    for field in rule.keys() {
        let known = match field.as_str() {
            "Variable" | "Comment" => true,
            "Next" => top,
            "And" | "Or" | "Not" => {
                operators.push(field.clone());
                true
            }
            other => {
                let is_operator = TESTS.contains(&other)
                    || COMPARISONS.contains(&other)
                    || other
                        .strip_suffix("Path")
                        .is_some_and(|base| COMPARISONS.contains(&base));
                if is_operator {
                    operators.push(other.to_string());
                }
                is_operator
            }
        };
        if !known {
            return Err(format!(
                "{place} has the field {field:?}, which is no choice rule field"
            ));
        }
    }
    if operators.len() != 1 {
        return Err(format!(
            "{place} has {} operators ({}); a rule has exactly one",
            operators.len(),
            operators.join(", ")
        ));
    }
    for nested in objects(rule.get("And")).chain(objects(rule.get("Or"))) {
        check_rule(nested, false, place)?;
    }
    if let Some(nested) = rule.get("Not").and_then(Value::as_object) {
        check_rule(nested, false, place)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state(value: Value) -> Result<(), String> {
        check_state("S", value.as_object().unwrap())
    }

    #[test]
    fn a_misspelt_field_is_named_with_where_it_is() {
        let err =
            state(json!({"Type": "Task", "Resource": "f", "ResultSelecter": {}, "End": true}))
                .unwrap_err();
        assert!(
            err.contains("state \"S\"") && err.contains("ResultSelecter"),
            "{err}"
        );
        let err = state(json!({"Type": "Task", "Resource": "f", "End": true,
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttemps": 3}]}))
        .unwrap_err();
        assert!(
            err.contains("a Retry of") && err.contains("MaxAttemps"),
            "{err}"
        );
        let err = state(json!({"Type": "Choice", "Default": "A",
            "Choices": [{"Variable": "$.a", "StringEqual": "x", "Next": "A"}]}))
        .unwrap_err();
        assert!(err.contains("StringEqual"), "{err}");
    }

    #[test]
    fn a_definition_is_refused_for_a_misspelt_field_deep_inside_it() {
        let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
            "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "ResultPth": "$.x", "End": true}}}]}}});
        let err =
            crate::Definition::parse(&definition.to_string(), &Default::default()).unwrap_err();
        assert!(
            err.contains("in a branch of \"P\"") && err.contains("ResultPth"),
            "{err}"
        );
        let definition = json!({"StartAt": "P", "Statse": {}});
        let err =
            crate::Definition::parse(&definition.to_string(), &Default::default()).unwrap_err();
        assert!(err.contains("Statse"), "{err}");
    }

    #[test]
    fn a_field_of_another_state_type_is_refused() {
        let err = state(json!({"Type": "Pass", "Resource": "f", "End": true})).unwrap_err();
        assert!(err.contains("Resource"), "{err}");
        let err = state(json!({"Type": "Fail", "Error": "E", "Next": "A"})).unwrap_err();
        assert!(err.contains("Next"), "{err}");
    }

    #[test]
    fn what_the_runner_does_not_carry_out_is_refused_as_such() {
        let err =
            state(json!({"Type": "Task", "Resource": "f", "End": true, "HeartbeatSeconds": 60}))
                .unwrap_err();
        assert!(err.contains("does not carry out"), "{err}");
    }

    #[test]
    fn a_rule_has_one_operator_and_next_only_at_the_top() {
        let err = state(json!({"Type": "Choice", "Choices": [{"Variable": "$.a",
            "StringEquals": "x", "NumericEquals": 1, "Next": "A"}]}))
        .unwrap_err();
        assert!(err.contains("2 operators"), "{err}");
        let err = state(
            json!({"Type": "Choice", "Choices": [{"Not": {"Variable": "$.a",
            "IsNull": true, "Next": "B"}, "Next": "A"}]}),
        )
        .unwrap_err();
        assert!(err.contains("\"Next\""), "{err}");
        state(
            json!({"Type": "Choice", "Default": "A", "Choices": [{"And": [
            {"Variable": "$.a", "NumericGreaterThanEqualsPath": "$.b"},
            {"Not": {"Variable": "$.c", "IsPresent": true}}], "Next": "A"}]}),
        )
        .unwrap();
    }
}
