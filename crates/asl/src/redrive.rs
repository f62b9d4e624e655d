//! Where a failed execution stopped, kept so that a Redrive can resume it as Step Functions
//! does: from the state that failed, with the input it had, rerunning only the Parallel
//! branches and Map iterations that did not succeed. States that succeeded are not run again.

use super::error::Failure;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The state an execution (or one branch or iteration of it) stopped in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResumePoint {
    pub state: String,
    pub input: Value,
    /// For a Parallel or Map state: how far each branch or iteration got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branches: Option<Vec<BranchProgress>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum BranchProgress {
    /// Finished: a redrive reuses this output.
    Succeeded { output: Value },
    /// Stopped here: a redrive resumes it from this point.
    Failed { at: ResumePoint },
    /// Stopped here because a sibling branch failed; a redrive resumes it from this point too.
    Aborted { at: ResumePoint },
    /// Never started (a Map stops starting iterations after one fails).
    NotStarted,
}

/// An execution (or branch) that ended in a failure, and where to resume it.
#[derive(Debug, Clone, PartialEq)]
pub struct Interrupted {
    pub failure: Failure,
    pub resume: ResumePoint,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (in state {:?})", self.failure, self.resume.state)
    }
}

impl std::error::Error for Interrupted {}

impl ResumePoint {
    /// The innermost state that failed, as a path of state names ("Export sources / Export
    /// Segment sources / Export Segment source"), for messages.
    pub fn failed_path(&self) -> String {
        let inner = self.branches.iter().flatten().find_map(|b| match b {
            BranchProgress::Failed { at } => Some(at.failed_path()),
            _ => None,
        });
        match inner {
            Some(inner) => format!("{} / {inner}", self.state),
            None => self.state.clone(),
        }
    }
}
