//! The handler of `start-job`, apart from the runtime so tests call it directly.

use daybook_aws::S3Store;
use daybook_aws::{lambda, sdk};

/// Built once per container, at init.
pub struct Adapters {
    pub store: S3Store,
}

impl Adapters {
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = sdk::load().await;
        Ok(Self {
            store: lambda::lake_store(&config)?,
        })
    }
}

/// Runs the step; the error text names the step's input and what to do.
pub async fn handle(
    adapters: &Adapters,
    event: daybook_core::steps::start::StartTask,
) -> Result<serde_json::Value, String> {
    let output = daybook_core::steps::start::start_job(
        &adapters.store,
        &event,
        chrono::Utc::now(),
        entropy(),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(serde_json::to_value(output).expect("step outputs serialise"))
}

/// Distinguishes job ids started in the same second.
fn entropy() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}
