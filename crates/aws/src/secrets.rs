//! The [`Secrets`] port on Secrets Manager: a destination's token or key by name.

use crate::sdk::{classified, describe};
use async_trait::async_trait;
use daybook_core::ports::{PortError, Secrets};

pub struct SecretsManagerSecrets {
    pub client: aws_sdk_secretsmanager::Client,
}

#[async_trait]
impl Secrets for SecretsManagerSecrets {
    async fn read(&self, name: &str) -> Result<String, PortError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .map_err(|e| {
                classified(
                    PortError::new(format!(
                        "reading the secret {name}: {}; create it (aws secretsmanager create-secret --name {name} --secret-string …) in the stack's account and region; the stack's roles read secrets under daybook/chat/",
                        describe(&e)
                    )),
                    &e,
                )
            })?;
        output
            .secret_string()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                PortError::new(format!(
                    "the secret {name} has no string value: put the token or key in it as text"
                ))
            })
    }
}
