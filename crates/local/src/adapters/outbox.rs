use async_trait::async_trait;
use daybook_core::ports::{Envelope, Mailer, PortError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// SES takes at most 50 recipients in one message (To, Cc and Bcc together).
const MAX_RECIPIENTS: usize = 50;

/// The local mailer: each message is an `.eml` file (raw MIME) any mail client opens.
pub struct OutboxMailer {
    dir: PathBuf,
    counter: AtomicU32,
}

impl OutboxMailer {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            counter: AtomicU32::new(0),
        }
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    /// Writes the message exactly as SES would receive it (`<name>.eml`) and its envelope
    /// beside it (`<name>.eml.json`: who it went to, the configuration set and tags).
    async fn send_raw(&self, envelope: &Envelope, raw: Vec<u8>) -> Result<String, PortError> {
        let fail = |e: std::io::Error| {
            PortError::new(format!("writing to the outbox {}: {e}", self.dir.display()))
        };
        check_envelope(envelope)?;
        std::fs::create_dir_all(&self.dir).map_err(fail)?;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{}-{n:03}.eml",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f")
        );
        let sidecar = serde_json::to_vec_pretty(envelope).expect("envelopes serialise");
        std::fs::write(self.dir.join(format!("{name}.json")), sidecar).map_err(fail)?;
        std::fs::write(self.dir.join(&name), raw).map_err(fail)?;
        Ok(name)
    }
}

/// What SES refuses before sending, refused here too, so that a local run does not pass with an
/// envelope the deployed stack would bounce: no recipient, more than 50, or an address without
/// a domain.
fn check_envelope(envelope: &Envelope) -> Result<(), PortError> {
    if envelope.to.is_empty() {
        return Err(PortError::new(format!(
            "a message from {} has no recipient; SES refuses it",
            envelope.from
        )));
    }
    if envelope.to.len() > MAX_RECIPIENTS {
        return Err(PortError::new(format!(
            "a message from {} has {} recipients; SES takes at most {MAX_RECIPIENTS} in one message",
            envelope.from,
            envelope.to.len()
        )));
    }
    for address in std::iter::once(&envelope.from).chain(&envelope.to) {
        let domain = address
            .rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('>'));
        if domain.is_none_or(str::is_empty) {
            return Err(PortError::new(format!(
                "{address:?} has no domain (name@example.com); SES refuses the message"
            )));
        }
    }
    Ok(())
}
