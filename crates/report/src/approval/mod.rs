//! Human approval of a report before it is sent: the request and its signed links, the
//! answer (from a link, the CLI or the Lambda console), the approval pages, and reminders.

mod announce;
mod decide;
mod fingerprint;
mod pending;
mod record;
mod request;
mod site;
mod slack;

pub use decide::{Outcome, answer_of, decide, decide_job, request_of_job};
pub use fingerprint::report_sha256;
pub use pending::{PendingApproval, Sweep, pending_approvals, sweep};
pub use record::{
    Answer, ApprovalRecord, Decision, DecisionInputError, MAX_BY_CHARS, MAX_COMMENT_CHARS,
    is_approval_id, new_approval_id,
};
pub use request::{ApprovalRequest, Approvals, LinkMaker, Requested, request_approval};
pub use site::{ApprovalSite, MAX_FORM_BYTES, SiteRequest, SiteResponse};
pub use slack::{PressAnswer, SLACK_ROUTE, SlackPress};

/// One sentence on how a request ended, for pages and the CLI.
pub fn describe_answer(answer: &Answer) -> String {
    let when = |at: &chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    match answer {
        Answer::Decided(d) => format!(
            "already {} by {} at {}{}",
            if d.approved { "approved" } else { "rejected" },
            d.by,
            when(&d.at),
            d.via_words()
        ),
        Answer::Superseded { by_job, at, .. } => format!(
            "superseded at {}: the report was asked for again (job {by_job}), and only the newest request can be answered; use the newest email",
            when(at)
        ),
        Answer::Closed { why, .. } => format!("closed: {why}"),
    }
}
