//! The handler of `export-rds`, apart from the runtime so tests call it directly.

use daybook_aws::{DynamoDbStateStore, S3Store, lambda, sdk};
use daybook_rds::{Database, RdsTask, run_rds_task};
use serde_json::Value;

/// Built once per container, at init.
pub struct Adapters {
    pub store: S3Store,
    pub state: DynamoDbStateStore,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl Adapters {
    /// From `LAKE_BUCKET`, `STATE_TABLE` and the SDK's usual environment.
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = sdk::load().await;
        Ok(Self {
            store: lambda::lake_store(&config)?,
            state: lambda::state_store(&config)?,
            secrets: aws_sdk_secretsmanager::Client::new(&config),
        })
    }
}

pub use lambda::HandlerError;

pub async fn handle(adapters: &Adapters, task: RdsTask) -> Result<Value, HandlerError> {
    let url = match (&task.source.url, &task.source.secret_arn) {
        (url, Some(arn)) => {
            daybook_aws::rds_secret::rds_url(&adapters.secrets, arn, url.as_deref()).await?
        }
        (Some(url), None) => url.clone(),
        (None, None) => {
            return Err(HandlerError::invalid_input(format!(
                "RDS source {} has neither secret_arn nor url: give the read replica's Secrets Manager secret",
                task.source.source
            )));
        }
    };
    let ca = match &task.source.ssl_root_cert {
        Some(named) => Some(
            daybook_core::relational::ca_bundle(&adapters.store, named)
                .await
                .map_err(HandlerError::invalid_input)?,
        ),
        None => None,
    };
    let db = Database::connect(&url, ca.as_deref()).await?;
    let report = run_rds_task(&db, &adapters.store, &adapters.state, &task).await;
    db.close().await;
    // The state machine gets the summary; the whole report is in the job's folder.
    Ok(serde_json::to_value(report?.summary()).expect("summaries serialise"))
}
