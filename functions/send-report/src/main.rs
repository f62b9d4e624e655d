//! Lambda `send-report`: sends the approved report with SES, once per job, report and recipient list.

use lambda_runtime::{LambdaEvent, run, service_fn};
use send_report::{Adapters, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    daybook_aws::lambda::init_tracing();
    let adapters = Adapters::from_env().await?;
    let adapters = &adapters;
    run(service_fn(
        move |event: LambdaEvent<daybook_report::steps::SendInput>| async move {
            handle(adapters, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
