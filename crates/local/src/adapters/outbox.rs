use async_trait::async_trait;
use daybook_core::ports::{Envelope, Mailer, PortError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

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
