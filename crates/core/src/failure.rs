//! What kind of failure a step had, so the state machine can tell a retry from a stop.
//!
//! Every error a step can return reports one of these kinds. The Lambda runtime posts its
//! `error_type` as the `errorType` Step Functions matches in Retry rules, and the local runner
//! names failures the same way.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ErrorKind {
    /// Throttling, a timeout, a 5xx or a dropped connection: the same call may succeed later.
    Transient,
    /// The step's input or config cannot be acted on: retrying changes nothing; fix the input.
    InvalidInput,
    /// Anything else: the step stopped; read the message, fix the cause, then redrive.
    #[default]
    Failed,
}

impl ErrorKind {
    /// The error name Step Functions sees (`errorType`), matched by the definition's Retry rules.
    pub const fn error_type(self) -> &'static str {
        match self {
            ErrorKind::Transient => "Daybook.Transient",
            ErrorKind::InvalidInput => "Daybook.InvalidInput",
            ErrorKind::Failed => "Daybook.Failed",
        }
    }
}

/// An error that knows its kind.
pub trait Classify {
    fn kind(&self) -> ErrorKind;
}

/// The field in which the state machine hands each Task its own state's name
/// (`"state_name.$": "$$.State.Name"`), so a failure's message, and the run's alert built from
/// it, names the state to open and redrive rather than only the function.
pub const STATE_NAME_FIELD: &str = "state_name";

/// Takes the state's name out of a step's input, leaving the input the step itself reads.
pub fn take_state_name(input: &mut serde_json::Value) -> Option<String> {
    match input.as_object_mut()?.remove(STATE_NAME_FIELD)? {
        serde_json::Value::String(name) => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    #[test]
    fn error_types_are_the_names_the_definition_retries() {
        let definition = include_str!("../../../statemachines/daily-report.asl.json");
        assert!(definition.contains(ErrorKind::Transient.error_type()));
        assert_eq!(ErrorKind::InvalidInput.error_type(), "Daybook.InvalidInput");
        assert_eq!(ErrorKind::default().error_type(), "Daybook.Failed");
    }
}
