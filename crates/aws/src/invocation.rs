//! One time budget per invocation: the Lambda's deadline less a margin, which every wait of
//! the invocation (Redshift statements) shares.

tokio::task_local! {
    static INVOCATION_DEADLINE: std::time::Instant;
}

/// What an invocation keeps of its time for ending well: cancelling a statement still running
/// and answering with a retryable error, rather than being killed as `Sandbox.Timedout`, which
/// no Retry of the definition matches.
pub const INVOCATION_MARGIN: std::time::Duration = std::time::Duration::from_secs(20);

/// When the invocation under way must have finished its waits: the Lambda's deadline less
/// [`INVOCATION_MARGIN`]; `None` outside an invocation.
pub fn invocation_deadline() -> Option<std::time::Instant> {
    INVOCATION_DEADLINE.try_with(|d| *d).ok()
}

/// Runs `work` as an invocation that must have finished its waits by `deadline`.
pub async fn with_invocation_deadline<F: std::future::Future>(
    deadline: std::time::Instant,
    work: F,
) -> F::Output {
    INVOCATION_DEADLINE.scope(deadline, work).await
}
