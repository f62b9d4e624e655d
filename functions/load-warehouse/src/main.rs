//! Lambda `load-warehouse`: registers the exported tables in Glue and builds the day's marts on Redshift.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    daybook_aws::lambda::init_tracing();
    let adapters = load_warehouse::Adapters::from_env().await?;
    daybook_aws::lambda::serve(adapters, load_warehouse::handle).await
}
