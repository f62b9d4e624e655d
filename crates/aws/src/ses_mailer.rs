use crate::sdk::{classified, describe};
use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use daybook_core::ports::{Mailer, PortError};

/// Sends raw MIME through SESv2 `SendEmail`.
pub struct SesMailer {
    client: Client,
}

impl SesMailer {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send_raw(&self, from: &str, to: &[String], raw: Vec<u8>) -> Result<String, PortError> {
        let fail = |why: String| {
            PortError::new(format!(
                "SES SendEmail from {from} to {}: {why}",
                to.join(", ")
            ))
        };
        let message = RawMessage::builder()
            .data(Blob::new(raw))
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let output = self
            .client
            .send_email()
            .from_email_address(from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(to.to_vec()))
                    .build(),
            )
            .content(EmailContent::builder().raw(message).build())
            .send()
            .await
            .map_err(|e| classified(fail(describe(&e)), &e))?;
        Ok(output.message_id.unwrap_or_default())
    }
}
