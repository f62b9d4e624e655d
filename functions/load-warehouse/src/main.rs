//! Lambda `load-warehouse`: registers the exported tables in Glue and builds the day's marts on Redshift.

use lambda_runtime::{LambdaEvent, run, service_fn};
use load_warehouse::{Adapters, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    daybook_aws::lambda::init_tracing();
    let adapters = Adapters::from_env().await?;
    let adapters = &adapters;
    run(service_fn(
        move |event: LambdaEvent<daybook_core::steps::load::LoadInput>| async move {
            handle(adapters, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
