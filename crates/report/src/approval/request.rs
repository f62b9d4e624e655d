//! The approval step: record the request (the task token stays in the state table), supersede
//! an earlier request for the same report and date, and email each approver a preview with
//! their own signed links.

use super::record::{
    Answer, ApprovalRecord, answer_key, current_key, job_key, new_approval_id, record_key,
    reminder_key,
};
use crate::artifacts::{Framing, ReportArtifacts, build_message, envelope};
use crate::signed_link::{Keyring, LinkClaims};
use crate::{ReportError, Result};
use chrono::{DateTime, Utc};
use daybook_core::config::{ApprovalConfig, EmailConfig};
use daybook_core::ports::{Envelope, Mailer, StateStore, TaskCallbacks};
use daybook_core::steps::JobContext;
use daybook_core::store::ObjectStore;
use serde::{Deserialize, Serialize};

/// The input of `request-approval` (the state machine's `.waitForTaskToken` payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// The state machine's task token; kept server-side, never put in an email.
    pub token: String,
    pub job: JobContext,
    pub report: ReportArtifacts,
    pub email: EmailConfig,
    /// Approval in Slack besides the email (the config's `approval`).
    #[serde(default)]
    pub approval: ApprovalConfig,
}

/// Makes approvers' links: the approval site's address and the key that signs them.
#[derive(Debug, Clone)]
pub struct LinkMaker {
    pub keyring: Keyring,
    /// Where the approval pages are served: the HTTP API's URL, or `daybook serve` locally.
    pub base_url: String,
}

impl LinkMaker {
    pub fn link(&self, approval_id: &str, approver: &str, expires_at: DateTime<Utc>) -> String {
        let token = self.keyring.sign(&LinkClaims {
            approval_id: approval_id.into(),
            approver: approver.into(),
            expires_at,
        });
        format!("{}/approvals/{token}", self.base_url.trim_end_matches('/'))
    }
}

/// Everything the approval step talks to.
pub struct Approvals<'a> {
    pub store: &'a dyn ObjectStore,
    pub mailer: &'a dyn Mailer,
    pub state: &'a dyn StateStore,
    pub callbacks: &'a dyn TaskCallbacks,
    pub links: &'a LinkMaker,
    /// Slack, for a config with `approval.slack`; none where no request is made (reminders).
    pub posting: Option<&'a crate::deliver::Posting<'a>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requested {
    pub requested: bool,
    pub approval_id: String,
    pub approvers: Vec<String>,
    pub deadline: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded: Option<String>,
}

/// Records the request and emails the approvers. A retry reuses the request and emails only
/// approvers who have not had it: with the same task token (the function retried), and with a
/// new one for the same job, report and date while nobody has answered (Step Functions gives
/// each attempt of a `.waitForTaskToken` task a token of its own), the run then waiting on the
/// new token.
pub async fn request_approval(
    approvals: &Approvals<'_>,
    request: &ApprovalRequest,
    now: DateTime<Utc>,
) -> Result<Requested> {
    let refused: Vec<&String> = request
        .email
        .approvers
        .iter()
        .filter(|a| !crate::render::mime::is_plain_address(a))
        .collect();
    if request.email.approvers.is_empty() || !refused.is_empty() {
        return Err(ReportError::Invalid(format!(
            "report {} needs approvers, each one plain email address (email.approvers is {:?}): fix the config and start a new run",
            request.report.name, request.email.approvers
        )));
    }
    let state = approvals.state;
    let earlier = match state.get(&job_key(&request.job.job_id)).await? {
        Some(pointer) => load(state, pointer["approval_id"].as_str().unwrap_or_default()).await?,
        None => None,
    };
    let open = match &earlier {
        Some(record) => state.get(&answer_key(&record.approval_id)).await?.is_none(),
        None => false,
    };
    let record = match earlier {
        Some(record) if record.token == request.token => record,
        Some(mut record)
            if open
                && record.report.name == request.report.name
                && record.job.date == request.job.date =>
        {
            record.token = request.token.clone();
            state
                .put(
                    &record_key(&record.approval_id),
                    serde_json::to_value(&record).expect("records serialise"),
                )
                .await?;
            record
        }
        _ => {
            let approval_id = new_approval_id();
            let deadline =
                now + chrono::Duration::hours(i64::from(request.email.approval_deadline_hours));
            let links = request
                .email
                .approvers
                .iter()
                .map(|a| (a.clone(), approvals.links.link(&approval_id, a, deadline)))
                .collect();
            let record = ApprovalRecord {
                report_sha256: super::report_sha256(approvals.store, &request.report).await?,
                approval_id,
                token: request.token.clone(),
                job: request.job.clone(),
                report: request.report.clone(),
                email: request.email.clone(),
                approval: request.approval.clone(),
                requested_at: now,
                deadline,
                links,
            };
            state
                .put(
                    &record_key(&record.approval_id),
                    serde_json::to_value(&record).expect("records serialise"),
                )
                .await?;
            state
                .put(
                    &job_key(&record.job.job_id),
                    serde_json::json!({ "approval_id": record.approval_id }),
                )
                .await?;
            record
        }
    };
    let superseded = supersede_earlier(approvals, &record, now).await?;
    send_previews(approvals, &record, Preview::First).await?;
    super::announce::announce(approvals.store, state, approvals.posting, &record).await?;
    Ok(Requested {
        requested: true,
        approval_id: record.approval_id,
        approvers: record.email.approvers,
        deadline: record.deadline,
        superseded,
    })
}

pub(crate) async fn load(
    state: &dyn StateStore,
    approval_id: &str,
) -> Result<Option<ApprovalRecord>> {
    if !super::is_approval_id(approval_id) {
        return Ok(None);
    }
    match state.get(&record_key(approval_id)).await? {
        None => Ok(None),
        Some(value) => serde_json::from_value(value).map(Some).map_err(|e| {
            ReportError::Approval(format!(
                "the approval record {approval_id} is unreadable ({e}): start a new run to ask again"
            ))
        }),
    }
}

/// Makes `record` the request that counts for its report and date. An earlier request still
/// open is closed: its links say so, and a run of another job that waits on it is failed
/// (a redrive of the same run left its old task behind already).
async fn supersede_earlier(
    approvals: &Approvals<'_>,
    record: &ApprovalRecord,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let state = approvals.state;
    let key = current_key(&record.report.name, record.job.date);
    let previous = state.get(&key).await?;
    state
        .put(
            &key,
            serde_json::json!({ "approval_id": record.approval_id }),
        )
        .await?;
    let Some(previous_id) = previous
        .as_ref()
        .and_then(|p| p["approval_id"].as_str())
        .filter(|id| *id != record.approval_id)
    else {
        return Ok(None);
    };
    let Some(previous) = load(state, previous_id).await? else {
        return Ok(None);
    };
    let answer = Answer::Superseded {
        by_approval: record.approval_id.clone(),
        by_job: record.job.job_id.clone(),
        at: now,
    };
    let claimed = state
        .put_if_absent(
            &answer_key(previous_id),
            serde_json::to_value(&answer).expect("answers serialise"),
        )
        .await?;
    if claimed.is_some() {
        return Ok(None);
    }
    if previous.job.job_id != record.job.job_id {
        let cause = format!(
            "job {} asked again for the approval of report {} for {}; this run stops here and its links no longer work",
            record.job.job_id, record.report.name, record.job.date
        );
        if let Err(e) = approvals
            .callbacks
            .fail(&previous.token, "Daybook.Superseded", &cause)
            .await
        {
            tracing::warn!(job = %previous.job.job_id, %e, "the superseded run was not waiting any more");
        }
    }
    Ok(Some(previous_id.to_string()))
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Preview {
    First,
    Reminder,
}

/// Emails each approver the report as recipients will get it, under a banner with their own
/// Approve and Reject links. Each approver is recorded once sent, so a retry does not repeat.
pub(crate) async fn send_previews(
    approvals: &Approvals<'_>,
    record: &ApprovalRecord,
    kind: Preview,
) -> Result<usize> {
    let mut failed = Vec::new();
    let mut sent_now = 0;
    for (n, approver) in record.email.approvers.iter().enumerate() {
        // By position: an address is no safe key (a file name locally).
        let ledger = match kind {
            Preview::First => format!("approval-sent/{}/{n}", record.approval_id),
            Preview::Reminder => format!("{}/{n}", reminder_key(&record.approval_id)),
        };
        let claim = serde_json::json!({ "status": "sending" });
        if approvals
            .state
            .put_if_absent(&ledger, claim.clone())
            .await?
            .is_some()
        {
            continue;
        }
        let sent = async {
            let raw = preview_message(approvals, record, approver, kind).await?;
            let envelope = Envelope {
                to: vec![approver.clone()],
                ..envelope(&record.email, &record.report.name, &record.job.job_id)
            };
            Ok::<String, ReportError>(approvals.mailer.send_raw(&envelope, raw).await?)
        }
        .await;
        match sent {
            Ok(message_id) => {
                approvals
                    .state
                    .put(
                        &ledger,
                        serde_json::json!({ "status": "sent", "message_id": message_id }),
                    )
                    .await?;
                sent_now += 1;
            }
            Err(e) => {
                let _ = approvals.state.remove_if(&ledger, &claim).await;
                failed.push(format!("{approver} ({e})"));
            }
        }
    }
    if failed.is_empty() {
        Ok(sent_now)
    } else {
        Err(ReportError::Approval(format!(
            "the approval email of job {} did not go to: {}. Fix those addresses (email.approvers) or SES, then redrive",
            record.job.job_id,
            failed.join("; ")
        )))
    }
}

async fn preview_message(
    approvals: &Approvals<'_>,
    record: &ApprovalRecord,
    approver: &str,
    kind: Preview,
) -> Result<Vec<u8>> {
    let link = record.links.get(approver).cloned().unwrap_or_else(|| {
        approvals
            .links
            .link(&record.approval_id, approver, record.deadline)
    });
    let banner = crate::render::html::ApprovalBanner {
        approver,
        job_id: &record.job.job_id,
        recipients: record.email.recipients_for_approvers(),
        approve_link: format!("{link}?decision=approve"),
        reject_link: format!("{link}?decision=reject"),
        deadline: record.deadline,
        reminder: kind == Preview::Reminder,
        variables: daybook_core::variables::shown(&record.job.variables),
    };
    let subject = format!(
        "{}Approve: {}",
        if kind == Preview::Reminder {
            "Reminder: "
        } else {
            ""
        },
        record
            .report
            .subject("{title} — {date}: {summary}", record.job.date)
    );
    let to = [approver.to_string()];
    build_message(
        approvals.store,
        &record.job,
        &record.report,
        &record.email,
        Framing {
            subject,
            to: &to,
            cc: &[],
            banner_html: crate::render::html::render_approval_banner(&banner)?,
            banner_text: banner.text(),
        },
    )
    .await
}
