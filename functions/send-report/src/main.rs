//! Lambda `send-report`: sends the approved report with SES, once per job, report and recipient list.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    daybook_aws::lambda::init_tracing();
    let adapters = send_report::Adapters::from_env().await?;
    daybook_aws::lambda::serve(adapters, send_report::handle).await
}
