//! The [`Secrets`] port on files: `secrets/<name>` below the local root holds the secret
//! `<name>` (`secrets/daybook/slack-bot`), as Secrets Manager would.

use async_trait::async_trait;
use daybook_core::ports::{PortError, Secrets};
use std::path::PathBuf;

pub struct FileSecrets {
    pub dir: PathBuf,
}

#[async_trait]
impl Secrets for FileSecrets {
    async fn read(&self, name: &str) -> Result<String, PortError> {
        if name.split('/').any(|part| part.is_empty() || part == "..") {
            return Err(PortError::new(format!(
                "the secret name {name:?} is not a plain path of names"
            )));
        }
        let path = self.dir.join(name);
        let text = tokio::fs::read_to_string(&path).await.map_err(|e| {
            PortError::new(format!(
                "reading the secret {name} from {}: {e}; write the token or key into that file",
                path.display()
            ))
        })?;
        let text = text.trim().to_string();
        if text.is_empty() {
            return Err(PortError::new(format!(
                "the secret {name} ({}) is empty: write the token or key into it",
                path.display()
            )));
        }
        Ok(text)
    }
}
