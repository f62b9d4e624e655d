use async_trait::async_trait;
use daybook_core::ports::{PortError, StateStore};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Idempotency and approval records as JSON files; `put_if_absent` relies on create-new.
pub struct FileStateStore {
    dir: PathBuf,
}

impl FileStateStore {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The record's file, once the key (which holds job ids the CLI was given) is known to stay
    /// in the state folder.
    fn file(&self, key: &str) -> Result<PathBuf, PortError> {
        daybook_core::store::check_key(key, false).map_err(|e| {
            PortError::with_kind(e.to_string(), daybook_core::ErrorKind::InvalidInput)
        })?;
        Ok(self.path(key))
    }

    fn fail(&self, key: &str, e: impl std::fmt::Display) -> PortError {
        PortError::new(format!("state record {}: {e}", self.path(key).display()))
    }
}

#[async_trait]
impl StateStore for FileStateStore {
    async fn put_if_absent(&self, key: &str, value: Value) -> Result<Option<Value>, PortError> {
        let path = self.file(key)?;
        std::fs::create_dir_all(path.parent().expect("state path has a folder"))
            .map_err(|e| self.fail(key, e))?;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                file.write_all(value.to_string().as_bytes())
                    .map_err(|e| self.fail(key, e))?;
                Ok(None)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self.get(key).await,
            Err(e) => Err(self.fail(key, e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Value>, PortError> {
        match std::fs::read(self.file(key)?) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| self.fail(key, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.fail(key, e)),
        }
    }

    async fn put(&self, key: &str, value: Value) -> Result<(), PortError> {
        let path = self.file(key)?;
        std::fs::create_dir_all(path.parent().expect("state path has a folder"))
            .map_err(|e| self.fail(key, e))?;
        let temp = path.with_extension("partial");
        std::fs::write(&temp, value.to_string()).map_err(|e| self.fail(key, e))?;
        std::fs::rename(&temp, &path).map_err(|e| self.fail(key, e))
    }

    async fn remove_if(&self, key: &str, expected: &Value) -> Result<bool, PortError> {
        if self.get(key).await?.as_ref() != Some(expected) {
            return Ok(false);
        }
        match std::fs::remove_file(self.file(key)?) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.fail(key, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, Value)>, PortError> {
        let mut found = Vec::new();
        let mut folders = vec![self.dir.clone()];
        while let Some(folder) = folders.pop() {
            let entries = match std::fs::read_dir(&folder) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.fail(prefix, e)),
            };
            for entry in entries {
                let path = entry.map_err(|e| self.fail(prefix, e))?.path();
                if path.is_dir() {
                    folders.push(path);
                    continue;
                }
                let Some(key) = path
                    .strip_prefix(&self.dir)
                    .ok()
                    .and_then(|p| p.to_str())
                    .and_then(|p| p.strip_suffix(".json"))
                else {
                    continue;
                };
                if key.starts_with(prefix)
                    && let Some(value) = self.get(key).await?
                {
                    found.push((key.to_string(), value));
                }
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(found)
    }
}
