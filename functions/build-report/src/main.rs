//! Lambda `build-report`: runs the report's queries on Redshift and stores it as HTML, text, xlsx and JSON.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    daybook_aws::lambda::init_tracing();
    let adapters = build_report::Adapters::from_env().await?;
    daybook_aws::lambda::serve(adapters, build_report::handle).await
}
