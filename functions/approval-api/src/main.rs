//! Lambda `approval-api`: the approval pages behind the email links, console decisions and
//! reminders.
// The handler nests the approval library's futures deeper than rustc's default layout limit.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    daybook_aws::lambda::init_tracing();
    let adapters = approval_api::Adapters::from_env().await?;
    daybook_aws::lambda::serve(adapters, approval_api::handle).await
}
