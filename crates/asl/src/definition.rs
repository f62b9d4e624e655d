use super::error::Failure;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A state machine definition, with `${Name}` placeholders already substituted (as SAM's
/// DefinitionSubstitutions does on AWS) and checked for dangling transitions.
#[derive(Debug, Clone)]
pub struct Definition {
    pub start_at: String,
    pub states: Map<String, Value>,
}

const STATE_TYPES: &[&str] = &[
    "Task", "Pass", "Choice", "Parallel", "Map", "Wait", "Succeed", "Fail",
];

impl Definition {
    pub fn parse(text: &str, substitutions: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut text = text.to_string();
        for (name, value) in substitutions {
            text = text.replace(&format!("${{{name}}}"), value);
        }
        if let Some(at) = text.find("${") {
            let name: String = text[at..].chars().take_while(|&c| c != '}').collect();
            return Err(format!(
                "the definition still has the placeholder {name}}} with no substitution for it"
            ));
        }
        let value: Value =
            serde_json::from_str(&text).map_err(|e| format!("the definition is not JSON: {e}"))?;
        Self::from_value(&value)
    }

    /// The definition as JSON (what `from_value` reads), e.g. to keep it with an execution.
    pub fn to_value(&self) -> Value {
        serde_json::json!({ "StartAt": self.start_at, "States": self.states })
    }

    pub fn from_value(value: &Value) -> Result<Self, String> {
        super::fields::check_machine(
            value
                .as_object()
                .ok_or("the definition is not a JSON object")?,
            "the definition",
        )?;
        let start_at = value
            .get("StartAt")
            .and_then(Value::as_str)
            .ok_or("the definition has no StartAt")?
            .to_string();
        let states = value
            .get("States")
            .and_then(Value::as_object)
            .ok_or("the definition has no States object")?
            .clone();
        let definition = Self { start_at, states };
        definition.validate()?;
        Ok(definition)
    }

    fn validate(&self) -> Result<(), String> {
        if !self.states.contains_key(&self.start_at) {
            return Err(format!(
                "StartAt names {:?}, which is not a state",
                self.start_at
            ));
        }
        for (name, state) in &self.states {
            let kind = state
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !STATE_TYPES.contains(&kind) {
                return Err(format!(
                    "state {name:?} has Type {kind:?}; expected one of {STATE_TYPES:?}"
                ));
            }
            super::fields::check_state(
                name,
                state.as_object().ok_or("a state is not a JSON object")?,
            )?;
            let mut targets: Vec<&str> = Vec::new();
            targets.extend(state.get("Next").and_then(Value::as_str));
            targets.extend(state.get("Default").and_then(Value::as_str));
            for list in ["Choices", "Catch"] {
                for entry in state
                    .get(list)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    targets.extend(entry.get("Next").and_then(Value::as_str));
                }
            }
            for target in targets {
                if !self.states.contains_key(target) {
                    return Err(format!(
                        "state {name:?} goes to {target:?}, which is not a state"
                    ));
                }
            }
            let terminal = matches!(kind, "Choice" | "Succeed" | "Fail")
                || state.get("End") == Some(&Value::Bool(true));
            if !terminal && state.get("Next").is_none() {
                return Err(format!("state {name:?} has neither Next nor End"));
            }
            for nested in ["Branches"] {
                for branch in state
                    .get(nested)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    Self::from_value(branch)
                        .map_err(|e| format!("in a branch of {name:?}: {e}"))?;
                }
            }
            if kind == "Map" {
                super::distributed::validate(name, state)?;
            }
            if kind == "Fail" {
                check_fail_paths(name, state)?;
            }
            if let Some(processor) = state.get("ItemProcessor").or_else(|| state.get("Iterator")) {
                Self::from_value(processor)
                    .map_err(|e| format!("in the item processor of {name:?}: {e}"))?;
            }
        }
        Ok(())
    }
}

/// The intrinsic functions a Fail state's ErrorPath and CausePath may use (Step Functions
/// developer guide, "Fail workflow state"): those that return a string.
const FAIL_PATH_INTRINSICS: &[&str] = &[
    "States.Format",
    "States.JsonToString",
    "States.ArrayGetItem",
    "States.Base64Encode",
    "States.Base64Decode",
    "States.Hash",
    "States.UUID",
];

/// AWS refuses a definition whose Fail state computes its error or cause with any other
/// intrinsic, even nested in an allowed one: so does this runner, before anything runs.
fn check_fail_paths(name: &str, state: &Value) -> Result<(), String> {
    for field in ["ErrorPath", "CausePath"] {
        let Some(expression) = state.get(field).and_then(Value::as_str) else {
            continue;
        };
        for (at, _) in expression.match_indices("States.") {
            // Inside a quoted argument it is text, not a call (quotes are escaped as \').
            let quotes = expression[..at].replace("\\'", "").matches('\'').count();
            if quotes % 2 == 1 {
                continue;
            }
            let call = &expression[at..];
            let function = &call[..call.find('(').unwrap_or(call.len())];
            if !FAIL_PATH_INTRINSICS.contains(&function) {
                return Err(format!(
                    "state {name:?}: {field} uses {function}, which a Fail state does not take (only {}); compute it in a Pass state before",
                    FAIL_PATH_INTRINSICS.join(", ")
                ));
            }
        }
    }
    Ok(())
}

impl From<String> for Failure {
    fn from(cause: String) -> Self {
        Failure::runtime(cause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_placeholders_and_rejects_leftovers() {
        let text =
            r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${Fn}","End":true}}}"#;
        let subs = BTreeMap::from([("Fn".to_string(), "local:f".to_string())]);
        let definition = Definition::parse(text, &subs).unwrap();
        assert_eq!(definition.states["A"]["Resource"], "local:f");
        let err = Definition::parse(text, &BTreeMap::new()).unwrap_err();
        assert!(err.contains("${Fn}"), "{err}");
    }

    #[test]
    fn a_fail_state_computes_its_cause_only_with_the_intrinsics_aws_allows_there() {
        let fail = |cause: &str| {
            let definition = serde_json::json!({"StartAt": "F", "States": {"F": {
                "Type": "Fail", "Error": "E", "CausePath": cause}}});
            Definition::parse(&definition.to_string(), &BTreeMap::new())
        };
        assert!(fail("States.Format('{} failed: {}', $.n, States.JsonToString($.jobs))").is_ok());
        assert!(fail("States.Format('see States.ArrayLength(x)', $.n)").is_ok());
        let err = fail("States.Format('{} failed', States.ArrayLength($.jobs))").unwrap_err();
        assert!(
            err.contains("States.ArrayLength") && err.contains("Pass state"),
            "{err}"
        );
    }

    #[test]
    fn rejects_dangling_transitions() {
        let text = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}"#;
        let err = Definition::parse(text, &BTreeMap::new()).unwrap_err();
        assert!(err.contains("\"B\", which is not a state"), "{err}");
    }
}
