//! Lambda `start-job`: resolves the run date and job id, snapshots the config to jobs/<id>/input.json.

use lambda_runtime::{LambdaEvent, run, service_fn};
use start_job::{Adapters, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    daybook_aws::lambda::init_tracing();
    let adapters = Adapters::from_env().await?;
    let adapters = &adapters;
    run(service_fn(
        move |event: LambdaEvent<daybook_core::steps::start::StartTask>| async move {
            handle(adapters, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
