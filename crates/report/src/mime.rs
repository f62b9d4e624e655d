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

/// The `To` address of a message built once for many recipients; [`with_recipient`] puts each
/// recipient in its place. No real address can look like it.
pub const RECIPIENT_PLACEHOLDER: &str = "daybook-recipient@invalid";

/// One recipient's copy of a message built with [`RECIPIENT_PLACEHOLDER`] as its `To`.
pub fn with_recipient(message: &[u8], recipient: &str) -> Vec<u8> {
    let placeholder = RECIPIENT_PLACEHOLDER.as_bytes();
    // The placeholder appears once, in the headers, before the first blank line.
    let headers_end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(message.len());
    match message[..headers_end]
        .windows(placeholder.len())
        .position(|w| w == placeholder)
    {
        Some(at) => [
            &message[..at],
            recipient.as_bytes(),
            &message[at + placeholder.len()..],
        ]
        .concat(),
        None => message.to_vec(),
    }
}

/// Whether `address` can stand alone in a `To` header: one address, nothing that would start
/// another header or another address.
pub fn is_plain_address(address: &str) -> bool {
    let mut parts = address.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;:\"()[]\\".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_recipient_gets_a_copy_addressed_to_them_alone() {
        let raw = build(Email {
            from: "reports@example.com",
            to: &[RECIPIENT_PLACEHOLDER.to_string()],
            subject: "Daily — 2026-11-21",
            text: "text",
            html: "<p>html</p>",
            attachments: vec![],
            job_id: "job-1",
        })
        .unwrap();
        let copy = String::from_utf8(with_recipient(&raw, "ana@example.com")).unwrap();
        assert!(copy.contains("ana@example.com"));
        assert!(!copy.contains(RECIPIENT_PLACEHOLDER));
    }

    #[test]
    fn only_plain_addresses_are_sent_to() {
        assert!(is_plain_address("ana@example.com"));
        for bad in [
            "ana",
            "a@b",
            "ana@example.com\r\nBcc: x@y.z",
            "a@b.c, d@e.f",
            "<a@b.c>",
        ] {
            assert!(!is_plain_address(bad), "{bad:?}");
        }
    }
}
