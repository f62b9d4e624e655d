//! The mailer port: a raw MIME message goes out as it is, to the envelope's recipients (a Bcc
//! recipient is in no header), and what SES refuses the outbox refuses too: an address with no
//! domain, and more than 50 recipients in one message (SES's documented limit per message).

use daybook_core::ErrorKind;
use daybook_core::failure::Classify;
use daybook_core::ports::{Envelope, Mailer};
use daybook_local::outbox::OutboxMailer;
use daybook_tests::{MotoServer, http_get};

const SENDER: &str = "reports@daybook.example";

/// What the service did with a message: who it came from, whom it went to, the bytes.
struct Delivered {
    from: String,
    to: Vec<String>,
    raw: Vec<u8>,
}

fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: {SENDER}\r\nTo: lead@daybook.example\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nRevenue 12,480 (+4.1%)\r\n"
    )
    .into_bytes()
}

fn envelope(to: &[&str]) -> Envelope {
    Envelope {
        from: SENDER.into(),
        to: to.iter().map(|a| a.to_string()).collect(),
        configuration_set: None,
        tags: vec![("daybook_job".into(), "job-1".into())],
    }
}

async fn mailer_contract(mailer: &dyn Mailer, delivered: impl Fn(&str) -> Delivered) {
    // The bytes go out unchanged, to every envelope recipient, the Bcc one included.
    let raw = message("Daily report");
    let id = mailer
        .send_raw(
            &envelope(&["lead@daybook.example", "audit@daybook.example"]),
            raw.clone(),
        )
        .await
        .unwrap();
    assert!(!id.is_empty(), "a message id");
    let sent = delivered(&id);
    assert_eq!(sent.raw, raw, "the bytes sent are the bytes given");
    assert_eq!(sent.from, SENDER);
    for recipient in ["lead@daybook.example", "audit@daybook.example"] {
        assert!(
            sent.to.iter().any(|to| to == recipient),
            "{recipient} in {:?}",
            sent.to
        );
    }

    // Every message has an id of its own.
    let second = mailer
        .send_raw(&envelope(&["lead@daybook.example"]), message("Again"))
        .await
        .unwrap();
    assert_ne!(second, id);

    // What SES refuses: an address with no domain, and more than 50 recipients. Neither is
    // worth a retry.
    let refused = mailer
        .send_raw(&envelope(&["lead"]), message("No domain"))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Failed, "{refused}");
    let many: Vec<String> = (0..51)
        .map(|n| format!("reader{n}@daybook.example"))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let refused = mailer
        .send_raw(&envelope(&many), message("Too many"))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Failed, "{refused}");
    assert!(refused.to_string().contains("50"), "{refused}");
}

#[tokio::test]
async fn the_outbox_keeps_the_mailer_contract() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let mailer = OutboxMailer::new(&outbox);
    mailer_contract(&mailer, |id| {
        let sidecar: Envelope =
            serde_json::from_slice(&std::fs::read(outbox.join(format!("{id}.json"))).unwrap())
                .unwrap();
        Delivered {
            from: sidecar.from,
            to: sidecar.to,
            raw: std::fs::read(outbox.join(id)).unwrap(),
        }
    })
    .await;
}

#[tokio::test]
async fn ses_keeps_the_mailer_contract() {
    let moto = MotoServer::start();
    let config = crate::aws_moto::sdk_config(&moto).await;
    let sesv2 = aws_sdk_sesv2::Client::new(&config);
    sesv2
        .create_email_identity()
        .email_identity(SENDER)
        .send()
        .await
        .unwrap();
    let mailer = daybook_aws::SesMailer::new(sesv2);
    mailer_contract(&mailer, |id| {
        let data: serde_json::Value =
            serde_json::from_str(&http_get(&moto.endpoint, "/moto-api/data.json")).unwrap();
        let message = data["ses"]["RawMessage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .cloned()
            .expect("SES kept the message");
        Delivered {
            from: message["source"].as_str().unwrap().to_string(),
            to: message["destinations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect(),
            raw: message["raw_data"].as_str().unwrap().as_bytes().to_vec(),
        }
    })
    .await;
}
