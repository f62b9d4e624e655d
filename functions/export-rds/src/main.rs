//! Lambda `export-rds`: one configured database's tables for the run date, to the lake bucket.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    daybook_aws::lambda::init_tracing();
    let adapters = export_rds::Adapters::from_env().await?;
    daybook_aws::lambda::serve(adapters, export_rds::handle).await
}
