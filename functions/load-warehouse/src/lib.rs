//! The handler of `load-warehouse`, apart from the runtime so tests call it directly.

use daybook_aws::{GlueCatalog, RedshiftWarehouse, S3Store};
use daybook_aws::{lambda, sdk};
use daybook_core::steps::load::{self, LoadStep};

/// Built once per container, at init.
pub struct Adapters {
    pub store: S3Store,
    pub catalog: GlueCatalog,
    pub warehouse: RedshiftWarehouse,
}

impl Adapters {
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = sdk::load().await;
        Ok(Self {
            store: lambda::lake_store(&config)?,
            catalog: lambda::catalog(&config)?,
            warehouse: lambda::warehouse(&config)?,
        })
    }
}

/// Runs the step; the error names the step's input, what to do, and its kind (for Retry).
pub async fn handle(
    adapters: &Adapters,
    event: LoadStep,
) -> Result<serde_json::Value, daybook_aws::lambda::HandlerError> {
    let output = match event {
        LoadStep::Load(input) => serde_json::to_value(
            load::load_warehouse(
                &adapters.store,
                &adapters.catalog,
                &adapters.warehouse,
                &input,
            )
            .await?,
        ),
        LoadStep::Mart(task) => {
            serde_json::to_value(load::build_mart(&adapters.warehouse, &task).await?)
        }
        LoadStep::Refresh(task) => {
            serde_json::to_value(load::poll_refresh(&adapters.catalog, &task).await?)
        }
    };
    Ok(output.expect("step outputs serialise"))
}
