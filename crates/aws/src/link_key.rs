//! The approval links' signing key in Secrets Manager. The stack creates it; rotating writes a
//! new version that keeps the earlier key, so links already sent still work.

use crate::sdk::{classified, describe};
use daybook_core::ports::PortError;

/// The secret's current string (the keyring as JSON).
pub async fn read(
    client: &aws_sdk_secretsmanager::Client,
    secret: &str,
) -> Result<String, PortError> {
    let output = client
        .get_secret_value()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| {
            classified(
                PortError::new(format!(
                    "reading the link key {secret}: {}; check the LinkKeySecret output and that the caller may call secretsmanager:GetSecretValue on it",
                    describe(&e)
                )),
                &e,
            )
        })?;
    output
        .secret_string()
        .map(str::to_string)
        .ok_or_else(|| PortError::new(format!("the link key {secret} has no string value")))
}

/// Stores `text` as the secret's new current version.
pub async fn write(
    client: &aws_sdk_secretsmanager::Client,
    secret: &str,
    text: &str,
) -> Result<(), PortError> {
    client
        .put_secret_value()
        .secret_id(secret)
        .secret_string(text)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            classified(
                PortError::new(format!(
                    "writing the link key {secret}: {}; the caller needs secretsmanager:PutSecretValue on it",
                    describe(&e)
                )),
                &e,
            )
        })
}
