use aws_config::{BehaviorVersion, SdkConfig};

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

pub fn sfn_client(config: &SdkConfig) -> aws_sdk_sfn::Client {
    aws_sdk_sfn::Client::new(config)
}
