use async_trait::async_trait;
use daybook_core::ports::{PortError, StateStore};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Idempotency and approval records as JSON files, with the guarantees of DynamoDB's
/// conditional writes: every change (`put_if_absent`, `put`, `remove_if`) holds the folder's
/// lock (`.lock`, an OS file lock, so other processes such as `daybook serve` wait too), and a
/// record's file appears whole, by rename, so a reader never sees half a record.
pub struct FileStateStore {
    dir: PathBuf,
}

/// Temporary files of writers in this process are told apart by this counter (and the pid).
static WRITES: AtomicU64 = AtomicU64::new(0);

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

    /// The folder's lock, held until the guard is dropped. No `.await` happens while it is
    /// held, so a task waiting for it never waits for a task on its own thread.
    fn lock(&self, key: &str) -> Result<std::fs::File, PortError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| self.fail(key, e))?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(".lock"))
            .map_err(|e| self.fail(key, e))?;
        lock.lock().map_err(|e| self.fail(key, e))?;
        Ok(lock)
    }

    fn read(&self, key: &str, path: &Path) -> Result<Option<Value>, PortError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| self.fail(key, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.fail(key, e)),
        }
    }

    /// Writes the record whole beside its place, then renames it there.
    fn write(&self, key: &str, path: &Path, value: &Value) -> Result<(), PortError> {
        std::fs::create_dir_all(path.parent().expect("state path has a folder"))
            .map_err(|e| self.fail(key, e))?;
        let temp = path.with_extension(format!(
            "{}-{}.partial",
            std::process::id(),
            WRITES.fetch_add(1, Ordering::Relaxed)
        ));
        let written = std::fs::File::create(&temp)
            .and_then(|mut file| {
                file.write_all(value.to_string().as_bytes())?;
                file.sync_all()
            })
            .and_then(|()| std::fs::rename(&temp, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written.map_err(|e| self.fail(key, e))
    }
}

#[async_trait]
impl StateStore for FileStateStore {
    async fn put_if_absent(&self, key: &str, value: Value) -> Result<Option<Value>, PortError> {
        let path = self.file(key)?;
        let _lock = self.lock(key)?;
        if let Some(existing) = self.read(key, &path)? {
            return Ok(Some(existing));
        }
        self.write(key, &path, &value)?;
        Ok(None)
    }

    async fn get(&self, key: &str) -> Result<Option<Value>, PortError> {
        let path = self.file(key)?;
        self.read(key, &path)
    }

    async fn put(&self, key: &str, value: Value) -> Result<(), PortError> {
        let path = self.file(key)?;
        let _lock = self.lock(key)?;
        self.write(key, &path, &value)
    }

    async fn remove_if(&self, key: &str, expected: &Value) -> Result<bool, PortError> {
        let path = self.file(key)?;
        let _lock = self.lock(key)?;
        if self.read(key, &path)?.as_ref() != Some(expected) {
            return Ok(false);
        }
        std::fs::remove_file(&path).map_err(|e| self.fail(key, e))?;
        Ok(true)
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
