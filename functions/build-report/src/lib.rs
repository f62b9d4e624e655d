//! The handler of `build-report`, apart from the runtime so tests call it directly.

use daybook_aws::{RedshiftWarehouse, S3Store};
use daybook_aws::{lambda, sdk};

/// Built once per container, at init.
pub struct Adapters {
    pub store: S3Store,
    pub warehouse: RedshiftWarehouse,
}

impl Adapters {
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = sdk::load().await;
        Ok(Self {
            store: lambda::lake_store(&config)?,
            warehouse: lambda::warehouse(&config)?,
        })
    }
}

/// Runs the step; the error names the step's input, what to do, and its kind (for Retry).
pub async fn handle(
    adapters: &Adapters,
    event: daybook_report::build::BuildInput,
) -> Result<serde_json::Value, daybook_aws::lambda::HandlerError> {
    let output = daybook_report::build::build_report(
        &adapters.store,
        &adapters.warehouse,
        &event,
        chrono::Utc::now(),
    )
    .await?;
    Ok(serde_json::to_value(output).expect("step outputs serialise"))
}
