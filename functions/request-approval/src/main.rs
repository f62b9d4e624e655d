//! Lambda `request-approval`: records the pending approval (task token kept server-side) and emails the approvers a preview.

use lambda_runtime::{LambdaEvent, run, service_fn};
use request_approval::{Adapters, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    daybook_aws::lambda::init_tracing();
    let adapters = Adapters::from_env().await?;
    let adapters = &adapters;
    run(service_fn(
        move |event: LambdaEvent<daybook_report::steps::ApprovalRequest>| async move {
            handle(adapters, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
