use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use daybook_core::ErrorKind;
use daybook_core::ports::PortError;
use daybook_core::store::StoreError;

/// The SDK configuration from the environment (region, credentials, and `AWS_ENDPOINT_URL`
/// when set, which is how tests point the adapters at a local moto server).
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// An S3 client; path-style addressing when an endpoint is overridden (moto, MinIO).
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(config);
    if config.endpoint_url().is_some() {
        builder = builder.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

#[cfg(feature = "dynamodb")]
pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// The SDK's error with its service message, not just "service error".
pub fn describe<E: std::error::Error + 'static>(error: &E) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(feature = "sfn")]
pub fn sfn_client(config: &SdkConfig) -> aws_sdk_sfn::Client {
    aws_sdk_sfn::Client::new(config)
}

/// Error codes AWS services answer when the same request may succeed later: throttling
/// (S3's `SlowDown`, DynamoDB's `ProvisionedThroughputExceededException`, Glue's and Redshift
/// Data's `ThrottlingException`, SES's `TooManyRequestsException`) and passing service faults.
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "BandwidthLimitExceeded",
    "SlowDown",
    "PriorRequestNotComplete",
    "TransactionInProgressException",
    "ConcurrentModificationException",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServerException",
    "InternalServiceError",
    "InternalServiceException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServiceFailure",
    "OperationTimeoutException",
];

/// Whether an SDK call failed in a way that retrying later can fix. The SDK has already retried
/// a few times within the call; these are what is left for the state machine's Retry.
pub fn kind_of<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> ErrorKind {
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ErrorKind::Transient
        }
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let code = context.err().code().unwrap_or_default();
            if status == 429 || status >= 500 || TRANSIENT_CODES.contains(&code) {
                ErrorKind::Transient
            } else {
                ErrorKind::Failed
            }
        }
        _ => ErrorKind::Failed,
    }
}

/// An SDK failure while doing `context`, as a port error of the right kind.
pub fn port_error<E>(
    context: impl std::fmt::Display,
    error: &SdkError<E, HttpResponse>,
) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    PortError::with_kind(format!("{context}: {}", describe(error)), kind_of(error))
}

/// An SDK failure of `operation` on `location`, as a store error of the right kind.
pub fn store_error<E>(
    operation: &'static str,
    location: String,
    error: &SdkError<E, HttpResponse>,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    StoreError::failed_with(kind_of(error), operation, location, describe(error))
}

/// `error`, with the kind of the SDK failure that caused it.
pub fn classified<E: ProvideErrorMetadata>(
    error: PortError,
    cause: &SdkError<E, HttpResponse>,
) -> PortError {
    PortError::with_kind(error.to_string(), kind_of(cause))
}
