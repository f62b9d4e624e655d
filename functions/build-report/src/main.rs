//! Lambda `build-report`: runs the report's queries on Redshift and stores it as HTML, text, xlsx and JSON.

use build_report::{Adapters, handle};
use lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    daybook_aws::lambda::init_tracing();
    let adapters = Adapters::from_env().await?;
    let adapters = &adapters;
    run(service_fn(
        move |event: LambdaEvent<daybook_report::steps::BuildInput>| async move {
            handle(adapters, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
