//! The handler of `flatten-dynamodb`, apart from the runtime so tests call it directly.

mod stream;

use daybook_aws::glue_catalog::register_stream_report;
use daybook_aws::{DynamoDbReader, GlueCatalog, S3Store, lambda, sdk};
use daybook_core::flatten::FlattenConfig;
use daybook_core::steps::fan_out::{self, FanOutStep};
use daybook_core::steps::flatten::{FlattenTask, flatten_items, run_flatten_task};
use serde::Deserialize;
use serde_json::Value;

/// What the function is invoked with.
#[derive(Debug)]
pub enum FlattenEvent {
    /// A state-machine step: one configured source for the run's job and date.
    Step(Box<FlattenTask>),
    /// A step of a big export's Distributed Map: its plan, one iteration, or its commit.
    FanOut(Box<FanOutStep>),
    /// A DynamoDB Streams batch (event source mapping).
    Stream(aws_lambda_events::event::dynamodb::Event),
}

impl<'de> Deserialize<'de> for FlattenEvent {
    /// `mode` makes it a fan-out step and `Records` a stream batch; anything else is read as
    /// a step, so an error names the fields of the kind of event it was meant to be.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = Value::deserialize(deserializer)?;
        if value.get("mode").is_some() {
            serde_json::from_value(value)
                .map(|step| FlattenEvent::FanOut(Box::new(step)))
                .map_err(|e| D::Error::custom(format!("a fan-out step: {e}")))
        } else if value.get("Records").is_some() {
            serde_json::from_value(value)
                .map(FlattenEvent::Stream)
                .map_err(|e| D::Error::custom(format!("a DynamoDB stream batch: {e}")))
        } else {
            serde_json::from_value(value)
                .map(|task| FlattenEvent::Step(Box::new(task)))
                .map_err(|e| D::Error::custom(format!("a flatten step: {e}")))
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
        // The state machine gets the summary; the whole report is in the job's folder.
        FlattenEvent::Step(task) => {
            let report =
                run_flatten_task(&adapters.store, &adapters.reader, &task, adapters.workers)
                    .await?;
            return Ok(serde_json::to_value(report.summary()).expect("summaries serialise"));
        }
        FlattenEvent::FanOut(step) => {
            return Ok(fan_out::run(&adapters.store, &step, adapters.workers).await?);
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
