//! The approval pages behind the links: GET shows what is being decided and a form, only POST
//! decides. Served by the approval Lambda (API Gateway) and by `daybook serve`, the same code.
//! Every refusal is a page that says what happened and what to do, and shows no token.

use super::decide::{Outcome, answer_of, decide};
use super::record::{Answer, ApprovalRecord, Decision, MAX_COMMENT_CHARS};
use super::request::load;
use crate::model::data::ReportData;
use crate::signed_link::{Keyring, LinkError};
use chrono::{DateTime, Utc};
use daybook_core::ports::{StateStore, TaskCallbacks};
use daybook_core::store::ObjectStore;

pub struct ApprovalSite<'a> {
    pub store: &'a dyn ObjectStore,
    pub state: &'a dyn StateStore,
    pub callbacks: &'a dyn TaskCallbacks,
    pub keyring: &'a Keyring,
}

/// An HTTP request as the site needs it, whatever server received it.
#[derive(Debug, Clone, Default)]
pub struct SiteRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The form, `application/x-www-form-urlencoded`.
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SiteResponse {
    pub status: u16,
    pub html: String,
}

impl SiteResponse {
    /// Headers of every page: not cached, the link never sent on as a Referer, no scripts.
    pub fn headers() -> [(&'static str, &'static str); 6] {
        [
            ("content-type", "text/html; charset=utf-8"),
            ("x-content-type-options", "nosniff"),
            ("cache-control", "no-store"),
            ("referrer-policy", "no-referrer"),
            ("x-frame-options", "DENY"),
            (
                "content-security-policy",
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
            ),
        ]
    }
}

/// Longest form body read; a comment of [`MAX_COMMENT_CHARS`] characters, escaped, fits.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// What a page shows.
#[derive(serde::Serialize, Default)]
struct Page {
    /// `confirm`, `done` or `refused`.
    kind: &'static str,
    heading: String,
    message: String,
    title: String,
    date: String,
    approver: String,
    recipients: Vec<String>,
    tiles: Vec<crate::model::display::Shown>,
    problems: Vec<String>,
    checks: Option<String>,
    full_report: Option<String>,
    preselected: String,
    comment: String,
    max_comment: usize,
    deadline: String,
}

impl ApprovalSite<'_> {
    pub async fn respond(&self, request: &SiteRequest, now: DateTime<Utc>) -> SiteResponse {
        let Some(token) = request
            .path
            .strip_prefix("/approvals/")
            .filter(|t| !t.is_empty() && !t.contains('/'))
        else {
            return refused(
                404,
                "Not found",
                "There is no page here. Approval links look like …/approvals/v1.…; open the link from the approval email.",
            );
        };
        let claims = match self.keyring.verify(token, now) {
            Ok(claims) => claims,
            Err(e) => {
                let status = match e {
                    LinkError::Malformed => 400,
                    LinkError::Forged | LinkError::UnknownKey => 403,
                    LinkError::Expired(_) => 410,
                };
                return refused(status, "This link cannot be used", &e.to_string());
            }
        };
        let record = match load(self.state, &claims.approval_id).await {
            Ok(Some(record)) => record,
            Ok(None) => {
                return refused(
                    404,
                    "No such approval",
                    "This approval request is not known here: it may belong to another deployment. Open the link from the newest approval email.",
                );
            }
            Err(e) => return unavailable(&e),
        };
        if !record.is_approver(&claims.approver) {
            return refused(
                403,
                "Not an approver",
                &format!(
                    "{} is not among the approvers of this report. Ask one of them, or add the address to email.approvers for the next run.",
                    claims.approver
                ),
            );
        }
        match answer_of(self.state, &record.approval_id).await {
            Ok(Some(answer)) => return answered(&answer),
            Ok(None) => {}
            Err(e) => return unavailable(&e),
        }
        match request.method.to_ascii_uppercase().as_str() {
            "GET" | "HEAD" => {
                let preselected =
                    form_value(request.query.as_deref(), "decision").unwrap_or_default();
                self.confirm(&record, &claims.approver, &preselected, "", None, now)
                    .await
            }
            "POST" => self.post(&record, &claims.approver, request, now).await,
            _ => refused(
                405,
                "Not allowed",
                "Approval pages take GET (to look) and POST (to decide) only.",
            ),
        }
    }

    async fn post(
        &self,
        record: &ApprovalRecord,
        approver: &str,
        request: &SiteRequest,
        now: DateTime<Utc>,
    ) -> SiteResponse {
        let body = request.body.as_deref().unwrap_or_default();
        if body.len() > MAX_FORM_BYTES {
            return refused(
                413,
                "Comment too long",
                &format!(
                    "Keep the comment under {MAX_COMMENT_CHARS} characters; nothing was decided. Go back and shorten it."
                ),
            );
        }
        let comment = form_value(Some(body), "comment").unwrap_or_default();
        let approved = match form_value(Some(body), "decision").as_deref() {
            Some("approve") => true,
            Some("reject") => false,
            _ => {
                return self
                    .confirm(
                        record,
                        approver,
                        "",
                        &comment,
                        Some("Choose Approve or Reject; nothing was decided yet."),
                        now,
                    )
                    .await;
            }
        };
        let decision = match Decision::new(approved, approver, Some(&comment), "link", now) {
            Ok(decision) => decision,
            Err(refused) => {
                let message = format!(
                    "{}. Nothing was decided yet.",
                    capitalised(&refused.to_string())
                );
                return self
                    .confirm(
                        record,
                        approver,
                        if approved { "approve" } else { "reject" },
                        &comment,
                        Some(&message),
                        now,
                    )
                    .await;
            }
        };
        match decide(self.state, self.callbacks, record, decision, now).await {
            Ok(Outcome::Decided(decision)) => {
                let message = if decision.approved {
                    format!(
                        "The report goes to {} now. {}",
                        record.email.recipients_for_approvers().join(", "),
                        decision.summary()
                    )
                } else {
                    format!(
                        "Nothing will be sent; the run stops with your reason. {}",
                        decision.summary()
                    )
                };
                let page = Page {
                    kind: "done",
                    heading: if decision.approved {
                        "Approved".into()
                    } else {
                        "Rejected".into()
                    },
                    message,
                    title: record.report.title.clone(),
                    date: record.job.date.to_string(),
                    approver: approver.to_string(),
                    ..Page::default()
                };
                render(200, &page)
            }
            Ok(Outcome::AlreadyAnswered(answer)) => answered(&answer),
            Ok(Outcome::PastDeadline) => past_deadline(record),
            Err(e) => unavailable(&e),
        }
    }

    /// The page before deciding: the report's headline numbers and problems, who decides, and
    /// the form.
    async fn confirm(
        &self,
        record: &ApprovalRecord,
        approver: &str,
        preselected: &str,
        comment: &str,
        notice: Option<&str>,
        now: DateTime<Utc>,
    ) -> SiteResponse {
        if now > record.deadline {
            return past_deadline(record);
        }
        let data: ReportData = match self.store.get(&record.report.data_key).await {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(data) => data,
                Err(e) => return unavailable(&format!("the report's data is unreadable: {e}")),
            },
            Err(e) => return unavailable(&e),
        };
        let expiry =
            std::time::Duration::from_secs(u64::from(record.email.link_expiry_hours) * 3600);
        let full_report = self
            .store
            .share_link(&record.report.html_key, expiry)
            .await
            .ok();
        let checks = data
            .sections
            .iter()
            .find(|s| s.kind == crate::model::data::SectionKind::Checks)
            .and_then(|s| s.description.clone());
        let page = Page {
            kind: "confirm",
            heading: format!("Approve {}?", record.report.title),
            message: notice.unwrap_or_default().to_string(),
            title: record.report.title.clone(),
            date: record.job.date.to_string(),
            approver: approver.to_string(),
            recipients: record.email.recipients_for_approvers(),
            tiles: crate::model::display::headline(&data),
            problems: data.problems(),
            checks,
            full_report,
            preselected: preselected.to_string(),
            comment: comment.to_string(),
            max_comment: MAX_COMMENT_CHARS,
            deadline: record.deadline.format("%Y-%m-%d %H:%M UTC").to_string(),
        };
        render(200, &page)
    }
}

fn form_value(form: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(form?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn answered(answer: &Answer) -> SiteResponse {
    let heading = match answer {
        Answer::Decided(d) if d.approved => "Already approved",
        Answer::Decided(_) => "Already rejected",
        Answer::Superseded { .. } => "A newer request replaced this one",
        Answer::Closed { .. } => "This approval is closed",
    };
    refused(
        410,
        heading,
        &format!(
            "Nothing changed: this request was {}.",
            super::describe_answer(answer)
        ),
    )
}

fn past_deadline(record: &ApprovalRecord) -> SiteResponse {
    refused(
        410,
        "Too late",
        &format!(
            "The deadline passed at {}: the run stopped waiting and nothing was sent. Start a new run to ask again.",
            record.deadline.format("%Y-%m-%d %H:%M UTC")
        ),
    )
}

/// The store or Step Functions failed: say so without details that help nobody at a browser.
fn unavailable(error: &dyn std::fmt::Display) -> SiteResponse {
    tracing::error!(%error, "approval page failed");
    refused(
        503,
        "Try again in a minute",
        "The approval service could not reach its records just now. Nothing was decided; reload this page in a minute.",
    )
}

fn refused(status: u16, heading: &str, message: &str) -> SiteResponse {
    let page = Page {
        kind: "refused",
        heading: heading.to_string(),
        message: message.to_string(),
        ..Page::default()
    };
    render(status, &page)
}

fn render(status: u16, page: &Page) -> SiteResponse {
    match crate::render::html::render_approval_page(page) {
        Ok(html) => SiteResponse { status, html },
        Err(e) => {
            tracing::error!(%e, "rendering an approval page");
            SiteResponse {
                status: 500,
                html: "<!DOCTYPE html><title>Error</title><p>The page could not be shown; nothing was decided.</p>".into(),
            }
        }
    }
}

/// The sentence as a page starts it.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
