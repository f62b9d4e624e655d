use crate::sdk::{classified, describe};
use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
use daybook_core::ports::{Envelope, Mailer, PortError};

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
    async fn send_raw(&self, envelope: &Envelope, raw: Vec<u8>) -> Result<String, PortError> {
        let fail = |why: String| {
            PortError::new(format!(
                "SES SendEmail from {} to {}: {why}",
                envelope.from,
                envelope.to.join(", ")
            ))
        };
        let message = RawMessage::builder()
            .data(Blob::new(raw))
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let tags = envelope
            .tags
            .iter()
            .map(|(name, value)| MessageTag::builder().name(name).value(value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(e.to_string()))?;
        let output = self
            .client
            .send_email()
            .from_email_address(&envelope.from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(envelope.to.clone()))
                    .build(),
            )
            .content(EmailContent::builder().raw(message).build())
            .set_configuration_set_name(envelope.configuration_set.clone())
            .set_email_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(|e| classified(fail(describe(&e)), &e))?;
        Ok(output.message_id.unwrap_or_default())
    }
}
