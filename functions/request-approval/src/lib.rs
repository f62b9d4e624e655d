//! The handler of `request-approval`, apart from the runtime so tests call it directly.

/// Built once per container, at init: the lake, SES and the state table.
pub type Adapters = daybook_aws::lambda::MailAdapters;

/// Runs the step; the error names the step's input, what to do, and its kind (for Retry).
pub async fn handle(
    adapters: &Adapters,
    event: daybook_report::steps::ApprovalRequest,
) -> Result<serde_json::Value, daybook_aws::lambda::HandlerError> {
    let output = daybook_report::steps::request_approval(
        &adapters.store,
        &adapters.mailer,
        &adapters.state,
        &event,
        chrono::Utc::now(),
    )
    .await?;
    Ok(serde_json::to_value(output).expect("step outputs serialise"))
}
