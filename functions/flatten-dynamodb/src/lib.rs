//! The handler of `flatten-dynamodb`, apart from the runtime so tests call it directly.

mod stream;

use daybook_aws::glue_catalog::register_stream_report;
use daybook_aws::{DynamoDbReader, GlueCatalog, S3Store, lambda, sdk};
use daybook_core::flatten::FlattenConfig;
use daybook_core::steps::flatten::flatten_items;
use daybook_core::steps::invocation::FlattenInvocation;
use serde::Deserialize;
use serde_json::Value;

/// What the function is invoked with: what the state machine sends (defined in the core, as
/// the local runner reads it too), or a DynamoDB Streams batch (event source mapping).
#[derive(Debug)]
pub enum FlattenEvent {
    Invocation(FlattenInvocation),
    Stream(aws_lambda_events::event::dynamodb::Event),
}

impl<'de> Deserialize<'de> for FlattenEvent {
    /// `Records` makes it a stream batch; anything else is the state machine's.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = Value::deserialize(deserializer)?;
        if value.get("Records").is_some() {
            serde_json::from_value(value)
                .map(FlattenEvent::Stream)
                .map_err(|e| D::Error::custom(format!("a DynamoDB stream batch: {e}")))
        } else {
            serde_json::from_value(value)
                .map(FlattenEvent::Invocation)
                .map_err(D::Error::custom)
        }
    }
}

/// Built once per container, at init.
pub struct Adapters {
    pub store: S3Store,
    pub reader: DynamoDbReader,
    /// How stream records are flattened (`DAYBOOK_STREAM_CONFIG`, a flatten config as JSON).
    pub stream_config: Option<FlattenConfig>,
    /// Where each stream micro-batch is registered (`GLUE_DATABASE`), so Spectrum reads it.
    pub stream_catalog: Option<GlueCatalog>,
    pub workers: usize,
}

impl Adapters {
    /// From `LAKE_BUCKET`, optional `DAYBOOK_STREAM_CONFIG`, and the SDK's usual environment.
    pub async fn from_env() -> anyhow::Result<Self> {
        let stream_config = lambda::optional_json("DAYBOOK_STREAM_CONFIG", "a flatten config")?;
        let config = sdk::load().await;
        let stream_catalog = match &stream_config {
            Some(_) => Some(lambda::plain_catalog(&config)?),
            None => None,
        };
        Ok(Self {
            store: lambda::lake_store(&config)?,
            reader: DynamoDbReader::new(sdk::dynamodb_client(&config)),
            stream_config,
            stream_catalog,
            workers: lambda::workers(),
        })
    }
}

pub use lambda::HandlerError;

pub async fn handle(adapters: &Adapters, event: FlattenEvent) -> Result<Value, HandlerError> {
    let report = match event {
        FlattenEvent::Invocation(invocation) => {
            return Ok(invocation
                .run(&adapters.store, &adapters.reader, adapters.workers)
                .await?);
        }
        FlattenEvent::Stream(event) => {
            let config = adapters.stream_config.as_ref().ok_or_else(|| {
                HandlerError::invalid_input(
                    "a DynamoDB stream batch arrived but DAYBOOK_STREAM_CONFIG is not set",
                )
            })?;
            let batch = stream::to_batch(&event).map_err(HandlerError::invalid_input)?;
            let layout = batch.layout(config);
            let mut report =
                flatten_items(&adapters.store, config, vec![batch.items], &layout).await?;
            if batch.removed > 0 {
                report.warnings.push(format!(
                    "{} REMOVE records were counted and not written",
                    batch.removed
                ));
            }
            if let Some(catalog) = &adapters.stream_catalog {
                register_stream_report(&adapters.store, catalog, &report).await?;
            }
            report
        }
    };
    Ok(serde_json::to_value(report).expect("reports serialise"))
}
