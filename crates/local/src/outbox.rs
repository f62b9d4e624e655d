use async_trait::async_trait;
use daybook_core::ports::{Mailer, PortError};
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
    async fn send_raw(&self, from: &str, to: &[String], raw: Vec<u8>) -> Result<String, PortError> {
        let fail = |e: std::io::Error| {
            PortError::new(format!("writing to the outbox {}: {e}", self.dir.display()))
        };
        std::fs::create_dir_all(&self.dir).map_err(fail)?;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{}-{n:03}.eml",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f")
        );
        let mut message = format!(
            "X-Daybook-Envelope-From: {from}\r\nX-Daybook-Envelope-To: {}\r\n",
            to.join(", ")
        )
        .into_bytes();
        message.extend(raw);
        std::fs::write(self.dir.join(&name), message).map_err(fail)?;
        Ok(name)
    }
}
