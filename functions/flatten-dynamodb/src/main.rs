//! Lambda `flatten-dynamodb`: a state-machine step (export, Query or Scan of one table for the
//! run date) or a DynamoDB Streams micro-batch, flattened to Parquet tables in the lake bucket.

use anyhow::Context;
use flatten_dynamodb::{Adapters, FlattenEvent, handle};
use lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    daybook_aws::lambda::init_tracing();
    let adapters = Adapters::from_env()
        .await
        .context("building the adapters from the environment")?;
    let adapters = &adapters;
    run(service_fn(
        move |event: LambdaEvent<FlattenEvent>| async move {
            handle(adapters, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
