//! What the state table keeps per approval request, and the answer a run receives.

use crate::artifacts::ReportArtifacts;
use chrono::{DateTime, Utc};
use daybook_core::config::EmailConfig;
use daybook_core::steps::JobContext;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One request for approval. The task token stays here, in the state table: links carry only
/// the random approval id, signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub approval_id: String,
    pub token: String,
    pub job: JobContext,
    pub report: ReportArtifacts,
    pub email: EmailConfig,
    /// Who may decide in Slack, as the config said when the request was made.
    #[serde(default)]
    pub approval: daybook_core::config::ApprovalConfig,
    pub requested_at: DateTime<Utc>,
    /// When the run stops waiting (the state machine's timeout) and the links expire.
    pub deadline: DateTime<Utc>,
    /// The hash of the report files the approvers were shown ([`super::fingerprint`]).
    pub report_sha256: String,
    /// Each approver's link, for `daybook approvals` (reading this table already allows
    /// answering the run, so the links add no power).
    pub links: BTreeMap<String, String>,
}

impl ApprovalRecord {
    pub fn remind_at(&self) -> Option<DateTime<Utc>> {
        (self.email.remind_after_hours > 0).then(|| {
            self.requested_at + chrono::Duration::hours(i64::from(self.email.remind_after_hours))
        })
    }

    /// The report in short, as the Slack message and the Teams card of this request show it.
    pub async fn post(
        &self,
        store: &dyn daybook_core::store::ObjectStore,
    ) -> crate::Result<crate::deliver::Post> {
        crate::deliver::post_of(
            store,
            &self.report,
            &self.job.job_id,
            self.email.link_expiry_hours,
            &self.report_sha256,
            None,
        )
        .await
    }

    pub fn is_approver(&self, who: &str) -> bool {
        self.email
            .approvers
            .iter()
            .any(|a| a.eq_ignore_ascii_case(who))
    }
}

/// A person's answer; it becomes the approval step's output (`$.approval`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub approved: bool,
    pub by: String,
    pub at: DateTime<Utc>,
    /// The run's failure cause when rejected.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// How it was given: `link`, `CLI`, `Lambda console`, `demo`.
    #[serde(default)]
    pub via: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// The report files approved; the send step sends only these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_sha256: Option<String>,
}

/// Longest comment kept: a sentence or two, not a document.
pub const MAX_COMMENT_CHARS: usize = 1000;
/// Longest name of who decides: a name or an email address.
pub const MAX_BY_CHARS: usize = 200;

/// Why a decision's input is refused, whichever way it came (link, console, CLI).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionInputError {
    #[error(
        "\"by\" names who decides: your name or email, one line, up to {MAX_BY_CHARS} characters"
    )]
    By,
    #[error("the comment has {0} characters; keep it under {MAX_COMMENT_CHARS}")]
    LongComment(usize),
}

impl Decision {
    /// The one way to make a decision: the approval API, the approval site, the console event
    /// and the CLI all come through here, so each checks its input alike.
    pub fn new(
        approved: bool,
        by: &str,
        comment: Option<&str>,
        via: &str,
        at: DateTime<Utc>,
    ) -> Result<Self, DecisionInputError> {
        let by = by.trim();
        if by.is_empty() || by.chars().count() > MAX_BY_CHARS || by.chars().any(char::is_control) {
            return Err(DecisionInputError::By);
        }
        if let Some(length) = comment
            .map(|c| c.chars().count())
            .filter(|n| *n > MAX_COMMENT_CHARS)
        {
            return Err(DecisionInputError::LongComment(length));
        }
        // Every comment and name is shown safely in the terminal, the emails and the run's
        // failure cause.
        let comment = comment
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| daybook_core::printable::printable(c).into_owned());
        let by = &*daybook_core::printable::printable(by);
        let reason = match (&comment, approved) {
            (_, true) => "approved".to_string(),
            (Some(c), false) => format!("rejected by {by}: {c}"),
            (None, false) => format!("rejected by {by}"),
        };
        Ok(Self {
            approved,
            by: by.to_string(),
            at,
            reason,
            comment,
            via: via.to_string(),
            approval_id: None,
            report_sha256: None,
        })
    }

    /// ` (from the Lambda console)` and the like, or nothing for a link.
    pub fn via_words(&self) -> String {
        match self.via.as_str() {
            "" | "link" => String::new(),
            via => format!(" (from the {via})"),
        }
    }

    /// One line for the sent email and the run record.
    pub fn summary(&self) -> String {
        let verb = if self.approved {
            "Approved"
        } else {
            "Rejected"
        };
        let when = self.at.format("%Y-%m-%d %H:%M UTC");
        match &self.comment {
            Some(c) => format!("{verb} by {} at {when}: “{c}”", self.by),
            None => format!("{verb} by {} at {when}", self.by),
        }
    }
}

/// How an approval request ended, kept under [`answer_key`]; the first writer wins, so two
/// answers at once give one decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Answer {
    Decided(Decision),
    /// A redrive or a newer run of the same report and date asked again.
    Superseded {
        by_approval: String,
        by_job: String,
        at: DateTime<Utc>,
    },
    /// The run stopped waiting before the answer arrived (timed out, failed, aborted).
    Closed {
        at: DateTime<Utc>,
        why: String,
    },
}

pub fn record_key(approval_id: &str) -> String {
    format!("approval/{approval_id}")
}

pub fn answer_key(approval_id: &str) -> String {
    format!("approval-answer/{approval_id}")
}

pub fn reminder_key(approval_id: &str) -> String {
    format!("approval-reminded/{approval_id}")
}

/// The latest approval request of a job: `daybook approve JOB` answers it.
pub fn job_key(job_id: &str) -> String {
    format!("approval-job/{job_id}")
}

/// The approval request that counts for a report and date; an earlier one is superseded.
pub fn current_key(report: &str, date: chrono::NaiveDate) -> String {
    format!("approval-current/{report}/{date}")
}

/// A new approval id: 128 random bits as 32 hex digits, unguessable and safe in a URL.
pub fn new_approval_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Whether `id` has the shape [`new_approval_id`] gives (checked before it becomes a key).
pub fn is_approval_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
