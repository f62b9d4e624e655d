use serde::{Deserialize, Serialize};

/// A state's failure, named as Step Functions names errors (`States.TaskFailed`, or the
/// task's own error name) with a human cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause")]
    pub cause: String,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new("States.Runtime", cause)
    }

    pub fn timeout(cause: impl Into<String>) -> Self {
        Self::new("States.Timeout", cause)
    }

    /// Whether a Retry or Catch `ErrorEquals` list covers this error, with the documented
    /// rules for `States.ALL` and `States.TaskFailed`. `States.ALL` matches any error but the
    /// terminal `States.DataLimitExceeded` and `States.Runtime` (developer guide, "Handling
    /// errors in Step Functions workflows").
    pub fn matches(&self, error_equals: &[String]) -> bool {
        error_equals.iter().any(|name| match name.as_str() {
            "States.ALL" => !matches!(
                self.error.as_str(),
                "States.DataLimitExceeded" | "States.Runtime"
            ),
            "States.TaskFailed" => {
                self.error != "States.Timeout" && !self.error.starts_with("States.")
                    || self.error == "States.TaskFailed"
            }
            other => other == self.error,
        })
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::Failure;

    #[test]
    fn states_all_catches_everything_but_the_terminal_errors() {
        let all = ["States.ALL".to_string()];
        assert!(Failure::new("Daybook.Failed", "").matches(&all));
        assert!(Failure::timeout("").matches(&all));
        assert!(Failure::new("States.TaskFailed", "").matches(&all));
        assert!(!Failure::runtime("a path matched nothing").matches(&all));
        assert!(!Failure::new("States.DataLimitExceeded", "").matches(&all));
    }
}
