//! Lambda `flatten-dynamodb`: a state-machine step (export, Query or Scan of one table for the
//! run date) or a DynamoDB Streams micro-batch, flattened to Parquet tables in the lake bucket.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    daybook_aws::lambda::init_tracing();
    let adapters = flatten_dynamodb::Adapters::from_env().await?;
    daybook_aws::lambda::serve(adapters, flatten_dynamodb::handle).await
}
