//! Answering an approval request, from a link, the CLI or the Lambda console. The answer is
//! claimed in the state table before the run hears it, so two answers at once give one
//! decision, and an answer the run can no longer take is recorded as such.

use super::record::{Answer, ApprovalRecord, Decision, answer_key, job_key};
use super::request::load;
use crate::{ReportError, Result};
use chrono::{DateTime, Utc};
use daybook_core::ErrorKind;
use daybook_core::failure::Classify;
use daybook_core::ports::{StateStore, TaskCallbacks};

/// What became of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The run has it: it sends (approved) or stops (rejected).
    Decided(Decision),
    /// Someone answered first, the request was superseded, or the run had stopped waiting.
    AlreadyAnswered(Answer),
    /// The deadline passed: the run stopped waiting, the links expired.
    PastDeadline,
}

/// The state of a request now: its answer if it has one.
pub async fn answer_of(state: &dyn StateStore, approval_id: &str) -> Result<Option<Answer>> {
    let Some(value) = state.get(&answer_key(approval_id)).await? else {
        return Ok(None);
    };
    serde_json::from_value(value).map(Some).map_err(|e| {
        ReportError::Approval(format!(
            "the answer recorded for approval {approval_id} is unreadable: {e}"
        ))
    })
}

/// Answers request `record` with `decision`, once.
pub async fn decide(
    state: &dyn StateStore,
    callbacks: &dyn TaskCallbacks,
    record: &ApprovalRecord,
    mut decision: Decision,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    if let Some(answer) = answer_of(state, &record.approval_id).await? {
        return Ok(Outcome::AlreadyAnswered(answer));
    }
    if now > record.deadline {
        return Ok(Outcome::PastDeadline);
    }
    decision.approval_id = Some(record.approval_id.clone());
    decision.report_sha256 = Some(record.report_sha256.clone());
    let claim = serde_json::to_value(Answer::Decided(decision.clone())).expect("answers serialise");
    let key = answer_key(&record.approval_id);
    if let Some(first) = state.put_if_absent(&key, claim.clone()).await? {
        let first: Answer = serde_json::from_value(first).map_err(|e| {
            ReportError::Approval(format!(
                "the answer recorded for approval {} is unreadable: {e}",
                record.approval_id
            ))
        })?;
        return Ok(Outcome::AlreadyAnswered(first));
    }
    let output = serde_json::to_value(&decision).expect("decisions serialise");
    match callbacks.succeed(&record.token, output).await {
        Ok(()) => Ok(Outcome::Decided(decision)),
        Err(e) if e.kind() == ErrorKind::InvalidInput => {
            let closed = Answer::Closed {
                at: now,
                why: format!(
                    "the run of job {} was no longer waiting for an answer ({e})",
                    record.job.job_id
                ),
            };
            state
                .put(
                    &key,
                    serde_json::to_value(&closed).expect("answers serialise"),
                )
                .await?;
            Ok(Outcome::AlreadyAnswered(closed))
        }
        Err(e) => {
            // Nothing reached the run: the next try may answer it.
            if let Err(release) = state.remove_if(&key, &claim).await {
                tracing::warn!(%key, %release, "could not release the answer claim");
            }
            Err(ReportError::Port(e.context(format!(
                "answering approval {} of job {}; try again in a minute",
                record.approval_id, record.job.job_id
            ))))
        }
    }
}

/// The latest approval request of `job_id` (what the CLI and the console answer).
pub async fn request_of_job(state: &dyn StateStore, job_id: &str) -> Result<ApprovalRecord> {
    daybook_core::steps::job::check_job_id(job_id).map_err(ReportError::Invalid)?;
    let missing = || {
        ReportError::Approval(format!(
            "job {job_id} has not asked for approval: is its run waiting in its approval step, and is this the run's state store (--root or --state-table)?"
        ))
    };
    let pointer = state.get(&job_key(job_id)).await?.ok_or_else(missing)?;
    load(state, pointer["approval_id"].as_str().unwrap_or_default())
        .await?
        .ok_or_else(missing)
}

/// Answers the latest request of `job_id`; an answer that changes nothing is an error saying
/// what happened instead.
pub async fn decide_job(
    state: &dyn StateStore,
    callbacks: &dyn TaskCallbacks,
    job_id: &str,
    decision: Decision,
    now: DateTime<Utc>,
) -> Result<(ApprovalRecord, Decision)> {
    let record = request_of_job(state, job_id).await?;
    match decide(state, callbacks, &record, decision, now).await? {
        Outcome::Decided(decision) => Ok((record, decision)),
        Outcome::AlreadyAnswered(answer) => Err(ReportError::Approval(format!(
            "job {job_id}: {}",
            super::describe_answer(&answer)
        ))),
        Outcome::PastDeadline => Err(ReportError::Approval(format!(
            "job {job_id}: the approval deadline passed at {} and the run stopped waiting; start a new run to ask again",
            record.deadline.format("%Y-%m-%d %H:%M UTC")
        ))),
    }
}
