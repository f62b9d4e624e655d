use crate::{ReportError, Result};
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::mime::MimePart;

pub const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// An attachment: file name, content type, bytes.
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A picture shown inside the HTML part, named there by `cid:<content_id>`.
pub struct Inline {
    pub content_id: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The message as sent: multipart/mixed of multipart/related (multipart/alternative of text
/// and HTML, then the inline pictures) and the attachments, as raw MIME.
pub struct Email<'a> {
    pub from: &'a str,
    /// The `To` and `Cc` headers. Bcc recipients are in no header: each copy goes to its
    /// recipient by the envelope.
    pub to: &'a [String],
    pub cc: &'a [String],
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    pub inline: Vec<Inline>,
    pub attachments: Vec<Attachment>,
    /// Idempotency and tracing: ends up in the `X-Daybook-Job` header.
    pub job_id: &'a str,
}

pub fn build(email: Email<'_>) -> Result<Vec<u8>> {
    // Built as a tree, so that the pictures are beside the HTML that shows them (related)
    // and only the workbook is an attachment (mixed): clients that see the pictures as loose
    // attachments, Outlook among them, then show them in place.
    let alternative = MimePart::new(
        "multipart/alternative",
        vec![
            MimePart::new("text/plain", email.text),
            MimePart::new("text/html", email.html),
        ],
    );
    let body = if email.inline.is_empty() {
        alternative
    } else {
        let mut parts = vec![alternative];
        parts.extend(email.inline.into_iter().map(|inline| {
            MimePart::new(inline.content_type, inline.bytes)
                .inline()
                .cid(inline.content_id)
        }));
        MimePart::new("multipart/related", parts)
    };
    let body = if email.attachments.is_empty() {
        body
    } else {
        let mut parts = vec![body];
        parts.extend(email.attachments.into_iter().map(|attachment| {
            MimePart::new(attachment.content_type, attachment.bytes).attachment(attachment.name)
        }));
        MimePart::new("multipart/mixed", parts)
    };
    // The start check refuses line breaks in the config's header fields; here, whatever still
    // reaches a header (a subject made from a title, a job id) cannot end it: control
    // characters are shown, not sent, and the builder encodes the rest (RFC 2047).
    let subject = daybook_core::printable::printable(email.subject);
    let job_id = daybook_core::printable::printable(email.job_id);
    let mut message = MessageBuilder::new()
        .from(Address::new_address(Some("daybook"), email.from))
        .subject(subject.as_ref())
        .header(
            "X-Daybook-Job",
            mail_builder::headers::raw::Raw::new(job_id.as_ref()),
        )
        .body(body);
    if !email.to.is_empty() {
        message = message.to(list(email.to));
    }
    if !email.cc.is_empty() {
        message = message.cc(list(email.cc));
    }
    message.write_to_vec().map_err(|e| ReportError::Render {
        what: format!("email {:?}", email.subject),
        message: e.to_string(),
    })
}

fn list(addresses: &[String]) -> Address<'_> {
    Address::new_list(
        addresses
            .iter()
            .map(|a| Address::new_address(None::<&str>, a.as_str()))
            .collect(),
    )
}

/// About how large a message is once built: its text parts as they are (quoted-printable
/// adds little to mostly-ASCII text) and its binary parts in base64 (4 bytes per 3, and a line
/// break per 76 characters), with room for headers and part boundaries.
pub fn encoded_size(text_bytes: usize, binary_bytes: usize) -> u64 {
    let base64 = (binary_bytes as u64).div_ceil(3) * 4;
    text_bytes as u64 * 11 / 10 + base64 + base64 / 76 * 2 + 16 * 1024
}

/// Whether `address` can stand alone in a `To` header: one address, nothing that would start
/// another header or another address.
pub use daybook_core::config::is_plain_address;

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_line_break_reaching_a_header_cannot_add_one() {
        let raw = build(Email {
            from: "reports@example.com",
            to: &["team@example.com".to_string()],
            cc: &[],
            subject: "Daily\r\nBcc: evil@example.com\r\n\r\nfake body",
            text: "text",
            html: "<p>html</p>",
            inline: Vec::new(),
            attachments: Vec::new(),
            job_id: "job-1\r\nBcc: evil@example.com",
        })
        .unwrap();
        let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert!(message.bcc().is_none(), "no Bcc header");
        assert_eq!(message.body_text(0).as_deref(), Some("text"));
        assert!(
            message.subject().unwrap().contains("Bcc: evil"),
            "shown in the subject"
        );
    }
}
