//! Lambda `request-approval`: records the pending approval (task token kept server-side) and emails the approvers a preview.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    daybook_aws::lambda::init_tracing();
    let adapters = request_approval::Adapters::from_env().await?;
    daybook_aws::lambda::serve(adapters, request_approval::handle).await
}
