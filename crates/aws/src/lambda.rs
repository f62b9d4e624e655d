//! What every daybook Lambda does at init: JSON logs, and settings from the environment.

use anyhow::Context;
use daybook_core::{Classify, ErrorKind};

/// JSON logs to CloudWatch, filtered by `RUST_LOG`.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .without_time()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
}

/// A required environment variable, with what to do when it is missing.
pub fn required(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| {
        format!("{name} is not set: set it in the function's environment (infra/template.yaml)")
    })
}

/// An optional environment variable; empty counts as unset (CloudFormation cannot omit one).
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A handler's failure as Step Functions sees it: the runtime posts `error_type` of its kind
/// (`Daybook.Transient`, `Daybook.InvalidInput`, `Daybook.Failed`) as the `errorType` that the
/// definition's Retry rules match, and the message as the cause.
#[derive(Debug)]
pub struct HandlerError {
    kind: ErrorKind,
    message: String,
}

impl HandlerError {
    /// An event or setting the function cannot act on: retrying it changes nothing.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::InvalidInput,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The same error, its message led by the state that failed and the function it ran, as
    /// `Build mart (daybook-LoadWarehouse-1a2b): …`; either may be unknown.
    pub fn in_step(self, state: Option<&str>, function: &str) -> Self {
        let lead = match (state, function) {
            (Some(state), "") => state.to_string(),
            (Some(state), function) => format!("{state} ({function})"),
            (None, "") => return self,
            (None, function) => function.to_string(),
        };
        Self {
            kind: self.kind,
            message: format!("{lead}: {}", self.message),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for HandlerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.error_type(), self.message)
    }
}

impl<E: Classify + std::fmt::Display> From<E> for HandlerError {
    fn from(error: E) -> Self {
        Self {
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.kind.error_type().to_string(),
            error_message: error.message,
        }
    }
}

/// An optional environment variable holding JSON, parsed as `T`; `what` names it in the error.
pub fn optional_json<T: serde::de::DeserializeOwned>(
    name: &str,
    what: &str,
) -> anyhow::Result<Option<T>> {
    optional(name)
        .map(|text| {
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{name} is not {what}: {e}"))
        })
        .transpose()
}

/// Worker threads for CPU-bound steps: one per vCPU the function's memory size gives it.
pub fn workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// The lake bucket from `LAKE_BUCKET`.
pub fn lake_store(config: &aws_config::SdkConfig) -> anyhow::Result<crate::S3Store> {
    Ok(crate::S3Store::new(
        crate::sdk::s3_client(config),
        required("LAKE_BUCKET")?,
    ))
}

/// The state table from `STATE_TABLE`.
#[cfg(feature = "dynamodb")]
pub fn state_store(config: &aws_config::SdkConfig) -> anyhow::Result<crate::DynamoDbStateStore> {
    Ok(crate::DynamoDbStateStore::new(
        crate::sdk::dynamodb_client(config),
        required("STATE_TABLE")?,
    ))
}

/// Glue from `GLUE_DATABASE` and `LAKE_BUCKET`, with no crawler (the stream's registrations).
#[cfg(feature = "glue")]
pub fn plain_catalog(config: &aws_config::SdkConfig) -> anyhow::Result<crate::GlueCatalog> {
    Ok(crate::GlueCatalog::new(
        aws_sdk_glue::Client::new(config),
        required("GLUE_DATABASE")?,
        required("LAKE_BUCKET")?,
    ))
}

/// Glue from `GLUE_DATABASE` and `LAKE_BUCKET`; with `GLUE_CRAWLER`, that crawler runs after
/// each load's registrations, for at most `GLUE_CRAWLER_TIMEOUT_SECONDS` (default 600).
#[cfg(feature = "glue")]
pub fn catalog(config: &aws_config::SdkConfig) -> anyhow::Result<crate::GlueCatalog> {
    let catalog = plain_catalog(config)?;
    Ok(match optional("GLUE_CRAWLER") {
        Some(name) => {
            let seconds = match optional("GLUE_CRAWLER_TIMEOUT_SECONDS") {
                Some(text) => text.parse().map_err(|_| {
                    anyhow::anyhow!(
                        "GLUE_CRAWLER_TIMEOUT_SECONDS is {text:?}: give a whole number of seconds"
                    )
                })?,
                None => 600,
            };
            catalog.with_crawler(crate::CrawlerRun::new(
                name,
                std::time::Duration::from_secs(seconds),
            ))
        }
        None => catalog,
    })
}

/// Redshift from `REDSHIFT_WORKGROUP`, or `REDSHIFT_CLUSTER` (with `REDSHIFT_DB_USER` for IAM
/// authentication), `REDSHIFT_DATABASE` and optional `REDSHIFT_SECRET_ARN`; the loader also
/// takes `REDSHIFT_READER_ROLE`, the Redshift role it grants read access to the marts.
#[cfg(feature = "redshift")]
pub fn warehouse(config: &aws_config::SdkConfig) -> anyhow::Result<crate::RedshiftWarehouse> {
    let target = match (optional("REDSHIFT_WORKGROUP"), optional("REDSHIFT_CLUSTER")) {
        (Some(workgroup), _) => crate::RedshiftTarget::Workgroup(workgroup),
        (None, Some(id)) => crate::RedshiftTarget::Cluster {
            id,
            db_user: optional("REDSHIFT_DB_USER"),
        },
        (None, None) => anyhow::bail!(
            "neither REDSHIFT_WORKGROUP nor REDSHIFT_CLUSTER is set: name the Redshift target in the function's environment"
        ),
    };
    let warehouse = crate::RedshiftWarehouse::new(
        aws_sdk_redshiftdata::Client::new(config),
        target,
        required("REDSHIFT_DATABASE")?,
        optional("REDSHIFT_SECRET_ARN"),
    );
    let warehouse = match optional("REDSHIFT_SPECTRUM_ROLE_ARN") {
        Some(iam_role) => warehouse.with_spectrum(crate::SpectrumSchema {
            glue_database: required("GLUE_DATABASE")?,
            iam_role,
        }),
        None => warehouse,
    };
    // A statement may wait at most this long, which the template keeps well under the
    // function's own timeout: a slow statement ends as a retried Daybook.Transient, not as a
    // Lambda killed mid-way.
    let warehouse = match optional("REDSHIFT_STATEMENT_TIMEOUT_SECONDS") {
        Some(text) => {
            let seconds: u64 = text.parse().map_err(|_| {
                anyhow::anyhow!(
                    "REDSHIFT_STATEMENT_TIMEOUT_SECONDS is {text:?}: give a whole number of seconds"
                )
            })?;
            warehouse.with_poll(crate::redshift_warehouse::PollPolicy {
                deadline: std::time::Duration::from_secs(seconds),
                ..Default::default()
            })
        }
        None => warehouse,
    };
    Ok(warehouse.with_reader_role(optional("REDSHIFT_READER_ROLE"))?)
}

#[cfg(feature = "ses")]
pub fn mailer(config: &aws_config::SdkConfig) -> crate::SesMailer {
    crate::SesMailer::new(aws_sdk_sesv2::Client::new(config))
}

pub use crate::invocation::{INVOCATION_MARGIN, invocation_deadline, with_invocation_deadline};

/// The Lambda's deadline (milliseconds since the epoch, from the runtime API) as an instant of
/// this process, less the margin.
fn deadline_of(context: &lambda_runtime::Context) -> std::time::Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let left = std::time::Duration::from_millis(context.deadline.saturating_sub(now_ms));
    std::time::Instant::now() + left.saturating_sub(INVOCATION_MARGIN)
}

/// Runs a function: `adapters` built once at init, then `handler` per event. The event is
/// parsed here, so a payload of the wrong shape fails as `Daybook.InvalidInput` like any other
/// input the handler refuses, rather than with the runtime's own error name.
pub async fn serve<A, E, O, F, Fut>(adapters: A, handler: F) -> Result<(), lambda_runtime::Error>
where
    A: Sync + 'static,
    E: serde::de::DeserializeOwned + Send + 'static,
    O: serde::Serialize,
    F: Fn(&'static A, E) -> Fut,
    Fut: std::future::Future<Output = Result<O, HandlerError>> + Send,
{
    // The adapters live as long as the process, like the runtime loop itself.
    let adapters: &'static A = Box::leak(Box::new(adapters));
    let handler = &handler;
    // The cause of a failed execution (and its alert) starts with the state and function that
    // failed.
    let function: &'static str = Box::leak(
        optional("AWS_LAMBDA_FUNCTION_NAME")
            .unwrap_or_default()
            .into_boxed_str(),
    );
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            let deadline = deadline_of(&event.context);
            let mut payload = event.payload;
            let state = daybook_core::failure::take_state_name(&mut payload);
            let result = match parse_event::<E>(payload) {
                // Boxed: the handler's future nested in the deadline's scope is otherwise a
                // type too deep for the compiler to lay out in the biggest functions.
                Ok(input) => {
                    with_invocation_deadline(deadline, Box::pin(handler(adapters, input))).await
                }
                Err(error) => Err(error),
            };
            result.map_err(|error| error.in_step(state.as_deref(), function))
        },
    ))
    .await
}

/// The event as the handler's input type, or an `InvalidInput` naming what does not match.
/// The state's name the definition adds to every Task's input is not the handler's to read.
pub fn parse_event<E: serde::de::DeserializeOwned>(
    mut payload: serde_json::Value,
) -> Result<E, HandlerError> {
    daybook_core::failure::take_state_name(&mut payload);
    serde_path_to_error::deserialize(payload).map_err(|e| {
        let at = match e.path().to_string().as_str() {
            "." => "the event".to_string(),
            path => format!("field {path}"),
        };
        HandlerError::invalid_input(format!(
            "the event does not match what this function takes ({}): {at}: {}; compare it with the function's sample in events/",
            std::any::type_name::<E>(),
            e.inner()
        ))
    })
}

/// What the approval functions (request-approval, approval-api) use: the mail adapters,
/// Step Functions to answer or close a waiting run, and the link key and site.
#[cfg(all(
    feature = "dynamodb",
    feature = "ses",
    feature = "sfn",
    feature = "secrets"
))]
pub struct ApprovalAdapters {
    pub store: crate::S3Store,
    pub mailer: crate::SesMailer,
    pub state: crate::DynamoDbStateStore,
    pub callbacks: crate::SfnCallbacks,
    pub secrets: aws_sdk_secretsmanager::Client,
    /// Slack: the approval message and the answers to button presses.
    pub web: daybook_core::web::HyperWeb,
    pub chat_secrets: crate::secrets::SecretsManagerSecrets,
    /// `LINK_KEY_SECRET_ARN`: the secret holding the keyring.
    pub link_key_secret: String,
    /// `APPROVAL_URL`: where the approval pages are served (the HTTP API's URL). The API's
    /// own function has none (the API refers to the function, so the function cannot refer
    /// to the API): its reminders reuse the links recorded with each request.
    pub approval_url: Option<String>,
}

#[cfg(all(
    feature = "dynamodb",
    feature = "ses",
    feature = "sfn",
    feature = "secrets"
))]
impl ApprovalAdapters {
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = crate::sdk::load().await;
        let MailAdapters {
            store,
            mailer,
            state,
        } = MailAdapters::from_config(&config)?;
        Ok(Self {
            store,
            mailer,
            state,
            callbacks: crate::SfnCallbacks::new(crate::sdk::sfn_client(&config)),
            secrets: aws_sdk_secretsmanager::Client::new(&config),
            web: daybook_core::web::HyperWeb::new(),
            chat_secrets: crate::secrets::SecretsManagerSecrets {
                client: aws_sdk_secretsmanager::Client::new(&config),
            },
            link_key_secret: required("LINK_KEY_SECRET_ARN")?,
            approval_url: optional("APPROVAL_URL"),
        })
    }

    /// The keyring's JSON, read now (a rotation shows at once).
    pub async fn link_key(&self) -> Result<String, daybook_core::ports::PortError> {
        crate::link_key::read(&self.secrets, &self.link_key_secret).await
    }
}

/// What the two email functions (request-approval, send-report) use: the lake for the report
/// files, SES, and the state table for pending approvals and sent-report records.
#[cfg(all(feature = "dynamodb", feature = "ses"))]
pub struct MailAdapters {
    pub store: crate::S3Store,
    pub mailer: crate::SesMailer,
    pub state: crate::DynamoDbStateStore,
}

#[cfg(all(feature = "dynamodb", feature = "ses"))]
impl MailAdapters {
    pub async fn from_env() -> anyhow::Result<Self> {
        Self::from_config(&crate::sdk::load().await)
    }

    pub fn from_config(config: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self {
            store: lake_store(config)?,
            mailer: mailer(config),
            state: state_store(config)?,
        })
    }
}
