use crate::{ReportError, Result};
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;

pub const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// An attachment: file name, content type, bytes.
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The message as sent: multipart/alternative text and HTML, then attachments, as raw MIME.
pub struct Email<'a> {
    pub from: &'a str,
    pub to: &'a [String],
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    pub attachments: Vec<Attachment>,
    /// Idempotency and tracing: ends up in the `X-Daybook-Job` header.
    pub job_id: &'a str,
}

pub fn build(email: Email<'_>) -> Result<Vec<u8>> {
    let recipients: Vec<Address<'_>> = email
        .to
        .iter()
        .map(|a| Address::new_address(None::<&str>, a.as_str()))
        .collect();
    let mut message = MessageBuilder::new()
        .from(Address::new_address(Some("daybook"), email.from))
        .to(Address::new_list(recipients))
        .subject(email.subject)
        .header(
            "X-Daybook-Job",
            mail_builder::headers::raw::Raw::new(email.job_id),
        )
        .text_body(email.text)
        .html_body(email.html);
    for attachment in email.attachments {
        message = message.attachment(attachment.content_type, attachment.name, attachment.bytes);
    }
    message.write_to_vec().map_err(|e| ReportError::Render {
        what: format!("email {:?}", email.subject),
        message: e.to_string(),
    })
}
