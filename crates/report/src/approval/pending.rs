//! Requests still waiting for an answer: listed for operators, reminded once.

use super::decide::answer_of;
use super::record::{Answer, ApprovalRecord, answer_key, record_key};
use super::request::{Approvals, Preview, send_previews};
use crate::{ReportError, Result};
use chrono::{DateTime, Utc};
use daybook_core::ports::StateStore;

/// A request nobody has answered, before its deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingApproval {
    pub record: ApprovalRecord,
    pub age: chrono::Duration,
}

/// Every open request, oldest first.
pub async fn pending_approvals(
    state: &dyn StateStore,
    now: DateTime<Utc>,
) -> Result<Vec<PendingApproval>> {
    let mut pending = Vec::new();
    for (key, value) in state.list(&record_key("")).await? {
        let record: ApprovalRecord = serde_json::from_value(value).map_err(|e| {
            ReportError::Approval(format!("the approval record {key} is unreadable: {e}"))
        })?;
        if record.deadline < now || answer_of(state, &record.approval_id).await?.is_some() {
            continue;
        }
        pending.push(PendingApproval {
            age: now - record.requested_at,
            record,
        });
    }
    pending.sort_by_key(|p| p.record.requested_at);
    Ok(pending)
}

/// What a sweep did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Sweep {
    /// Requests whose approvers were reminded now.
    pub reminded: Vec<String>,
    /// Requests past their deadline, closed now; their runs were failed.
    pub expired: Vec<String>,
}

/// Reminds approvers of open requests past their reminder time (once per request), and closes
/// requests past their deadline, failing their runs as `Daybook.ApprovalTimedOut` with a cause
/// naming who was asked. Runs on a schedule: the approval function every 15 minutes,
/// `daybook serve` every minute.
pub async fn sweep(approvals: &Approvals<'_>, now: DateTime<Utc>) -> Result<Sweep> {
    let mut done = Sweep::default();
    for (key, value) in approvals.state.list(&record_key("")).await? {
        let record: ApprovalRecord = serde_json::from_value(value).map_err(|e| {
            ReportError::Approval(format!("the approval record {key} is unreadable: {e}"))
        })?;
        if answer_of(approvals.state, &record.approval_id)
            .await?
            .is_some()
        {
            continue;
        }
        if record.deadline <= now {
            if expire(approvals, &record, now).await? {
                done.expired.push(record.approval_id.clone());
            }
            continue;
        }
        if record.remind_at().is_some_and(|at| at <= now)
            && send_previews(approvals, &record, Preview::Reminder).await? > 0
        {
            done.reminded.push(record.approval_id.clone());
        }
    }
    Ok(done)
}

async fn expire(
    approvals: &Approvals<'_>,
    record: &ApprovalRecord,
    now: DateTime<Utc>,
) -> Result<bool> {
    let why = format!(
        "nobody answered the approval of report {} for {} by its deadline {} ({} hours); asked: {}. Redrive the run to ask again",
        record.report.name,
        record.job.date,
        record.deadline.format("%Y-%m-%d %H:%M UTC"),
        record.email.approval_deadline_hours,
        record.email.approvers.join(", ")
    );
    let closed = Answer::Closed {
        at: now,
        why: why.clone(),
    };
    let key = answer_key(&record.approval_id);
    if approvals
        .state
        .put_if_absent(
            &key,
            serde_json::to_value(&closed).expect("answers serialise"),
        )
        .await?
        .is_some()
    {
        return Ok(false);
    }
    if let Err(e) = approvals
        .callbacks
        .fail(&record.token, "Daybook.ApprovalTimedOut", &why)
        .await
    {
        tracing::warn!(job = %record.job.job_id, %e, "the expired approval's run was not waiting any more");
    }
    Ok(true)
}
