//! The handler of `request-approval`, apart from the runtime so tests call it directly.

use daybook_aws::lambda::HandlerError;
use daybook_report::approval::{ApprovalRequest, Approvals, LinkMaker, request_approval};
use daybook_report::file_links::FileLinks;
use daybook_report::signed_link::Keyring;

/// Built once per container, at init: the lake, SES, the state table, Step Functions and the
/// link key's secret.
pub type Adapters = daybook_aws::lambda::ApprovalAdapters;

/// Runs the step; the error names the step's input, what to do, and its kind (for Retry).
pub async fn handle(
    adapters: &Adapters,
    event: ApprovalRequest,
) -> Result<serde_json::Value, HandlerError> {
    // Read per request: a rotated key signs the next email at once.
    let keyring = Keyring::from_json(&adapters.link_key().await?).map_err(|e| {
        HandlerError::invalid_input(format!(
            "the link key {} is unusable: {e}; restore it or rotate it with `daybook link-key rotate`",
            adapters.link_key_secret
        ))
    })?;
    let links = LinkMaker {
        keyring,
        base_url: adapters.approval_url.clone().ok_or_else(|| {
            HandlerError::invalid_input(
                "APPROVAL_URL is not set: set it to the approval API's URL (the stack's ApprovalUrl output)",
            )
        })?,
    };
    let now = chrono::Utc::now();
    // The previews' report links are the approval API's, so they live as long as promised.
    let store = FileLinks {
        inner: &adapters.store,
        keyring: links.keyring.clone(),
        base_url: links.base_url.clone(),
        now,
    };
    let posting = daybook_report::deliver::Posting {
        web: &adapters.web,
        secrets: &adapters.chat_secrets,
    };
    let approvals = Approvals {
        store: &store,
        mailer: &adapters.mailer,
        state: &adapters.state,
        callbacks: &adapters.callbacks,
        links: &links,
        posting: Some(&posting),
    };
    let output = request_approval(&approvals, &event, now).await?;
    Ok(serde_json::to_value(output).expect("step outputs serialise"))
}
