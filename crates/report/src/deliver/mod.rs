//! The report where teams read: a short form of it (the summary line, the headline numbers
//! and their moves, what needs a look, a chart, links to the full report) as a Slack message,
//! a Teams card or a signed webhook document. Each is made here from the built report; the
//! send step decides when and keeps the ledger.

pub mod post;
pub mod slack;
pub mod teams;
pub mod webhook;

pub use post::{Post, PostNumber, post_of};

/// Where posts go out from: the web client and the secrets' store.
pub struct Posting<'a> {
    pub web: &'a dyn daybook_core::ports::Web,
    pub secrets: &'a dyn daybook_core::ports::Secrets,
}

/// Why a service refused or could not take a post, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    /// Rate limits, timeouts and 5xx answers: the step is retried. The rest name the cause
    /// and wait for the config or the service to be fixed.
    pub transient: bool,
}

impl Refusal {
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: false,
        }
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: true,
        }
    }

    pub fn with_context(self, context: &str) -> Self {
        Self {
            message: format!("{context}: {}", self.message),
            ..self
        }
    }
}

impl From<daybook_core::ports::PortError> for Refusal {
    fn from(error: daybook_core::ports::PortError) -> Self {
        use daybook_core::Classify;
        Self {
            transient: error.kind() == daybook_core::ErrorKind::Transient,
            message: error.to_string(),
        }
    }
}

/// How a status that is not a success reads: 429 and 5xx pass by themselves; the rest need a
/// fix. `Retry-After` is named so the operator sees how long the service asked to wait.
pub(crate) fn refusal_of(
    what: &str,
    response: &daybook_core::ports::WebResponse,
    fix: &str,
) -> Refusal {
    let status = response.status;
    let body = response.body_text();
    if status == 429 {
        let wait = response.header("retry-after").unwrap_or("unstated");
        return Refusal::transient(format!(
            "{what}: rate limited (429, Retry-After {wait} s); the step is tried again"
        ));
    }
    if status >= 500 || status == 408 {
        return Refusal::transient(format!(
            "{what}: the service answered {status} ({body}); the step is tried again"
        ));
    }
    Refusal::failed(format!("{what}: refused with {status} ({body}); {fix}"))
}

/// How long a rate limit asks to wait, in seconds (`Retry-After`), if it says.
pub fn retry_after(response: &daybook_core::ports::WebResponse) -> Option<u64> {
    response.header("retry-after")?.trim().parse().ok()
}
