use async_trait::async_trait;
use daybook_core::store::{ObjectStore, StoreError, check_key};
use std::path::{Path, PathBuf};

/// The object store as a directory: key `a/b/c` is the file `<root>/a/b/c`.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
    /// Where a server shows the store's files (`daybook serve`'s `/files`): links people open
    /// from its pages, which a browser would not follow to `file://`.
    links_at: Option<String>,
    /// The folder below the root that holds staged files (`.staging` in it); the root itself
    /// when none.
    scratch_in: Option<String>,
}

impl FsStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            links_at: None,
            scratch_in: None,
        }
    }

    /// Stages files in `<root>/<folder>/.staging` rather than `<root>/.staging`: a command
    /// told to write in one folder of the root writes nothing beside it.
    pub fn with_scratch_in(mut self, folder: &str) -> Self {
        self.scratch_in = Some(folder.to_string());
        self
    }

    /// Links to `<base>/<key>` instead of `file://` paths.
    pub fn with_links_at(mut self, base: impl Into<String>) -> Self {
        self.links_at = Some(base.into());
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// The file of `key`, once the key is known to stay under the root: no `..`, and no
    /// symbolic link on the way (a linked `lake/marts` or data file would read or write
    /// wherever it points).
    fn file(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key, false)?;
        let mut at = self.root.clone();
        for part in key.split('/') {
            at.push(part);
            match std::fs::symlink_metadata(&at) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(StoreError::InvalidKey {
                        key: key.to_string(),
                        reason: "it passes through a symbolic link, which could lead outside the local root; replace the link with the folder or file itself",
                    });
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(self.path(key))
    }

    fn failed(&self, operation: &'static str, key: &str, e: std::io::Error) -> StoreError {
        if e.kind() == std::io::ErrorKind::NotFound {
            StoreError::NotFound {
                location: self.location(key),
            }
        } else {
            StoreError::failed(operation, self.location(key), e)
        }
    }

    fn ensure_parent(&self, key: &str) -> Result<PathBuf, StoreError> {
        let path = self.file(key)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| self.failed("creating the folder for", key, e))?;
        }
        Ok(path)
    }
}

#[async_trait]
impl ObjectStore for FsStore {
    fn location(&self, key: &str) -> String {
        self.path(key).display().to_string()
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        let path = self.ensure_parent(key)?;
        // Write then rename, so a reader never sees half a file.
        let temp = path.with_extension("daybook-partial");
        std::fs::write(&temp, body).map_err(|e| self.failed("writing", key, e))?;
        std::fs::rename(&temp, &path).map_err(|e| self.failed("writing", key, e))
    }

    async fn put_file(&self, key: &str, source: &Path) -> Result<(), StoreError> {
        let path = self.ensure_parent(key)?;
        if std::fs::rename(source, &path).is_err() {
            std::fs::copy(source, &path).map_err(|e| self.failed("copying into", key, e))?;
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        std::fs::read(self.file(key)?).map_err(|e| self.failed("reading", key, e))
    }

    async fn share_link(
        &self,
        key: &str,
        _expires_in: std::time::Duration,
    ) -> Result<String, StoreError> {
        let path = self.file(key)?;
        if let Some(base) = &self.links_at {
            return Ok(format!("{base}/{key}"));
        }
        let path = std::path::absolute(&path).map_err(|e| self.failed("finding", key, e))?;
        Ok(file_url(&path))
    }

    async fn fetch_to_local(&self, key: &str, _scratch: &Path) -> Result<PathBuf, StoreError> {
        let path = self.file(key)?;
        std::fs::metadata(&path).map_err(|e| self.failed("reading", key, e))?;
        Ok(path)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        check_key(prefix, true)?;
        let mut keys = Vec::new();
        let (dir, _) = prefix.rsplit_once('/').unwrap_or(("", prefix));
        let start = self.root.join(dir);
        if start.is_dir() {
            walk(&self.root, &start, &mut keys).map_err(|e| self.failed("listing", prefix, e))?;
        }
        keys.retain(|k| k.starts_with(prefix));
        keys.sort();
        Ok(keys)
    }

    fn scratch_root(&self) -> PathBuf {
        match &self.scratch_in {
            Some(folder) => self.root.join(folder).join(".staging"),
            None => self.root.join(".staging"),
        }
    }
}

fn walk(root: &Path, dir: &Path, keys: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        // A link is not followed, nor listed: what it points to is outside the store.
        if entry.file_type()?.is_symlink() {
            continue;
        }
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == ".staging") {
                continue;
            }
            walk(root, &path, keys)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            keys.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// A `file://` URL for an absolute path, with the characters a URL cannot hold escaped.
pub fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' | b'=' => {
                url.push(byte as char)
            }
            other => url.push_str(&format!("%{other:02X}")),
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trips_and_lists_by_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path());
        store.put("a/b/one.json", b"1".to_vec()).await.unwrap();
        store.put("a/c/two.json", b"2".to_vec()).await.unwrap();
        assert_eq!(store.get("a/b/one.json").await.unwrap(), b"1");
        assert_eq!(
            store.list("a/").await.unwrap(),
            vec!["a/b/one.json", "a/c/two.json"]
        );
        assert_eq!(store.list("a/b").await.unwrap(), vec!["a/b/one.json"]);
        let missing = store.get("nope").await.unwrap_err();
        assert!(matches!(missing, StoreError::NotFound { .. }), "{missing}");
    }

    #[tokio::test]
    async fn no_key_reads_or_writes_outside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let store = FsStore::new(&root);
        for key in ["../escaped", "a/../../escaped", "/tmp/escaped-by-daybook"] {
            let error = store.put(key, b"x".to_vec()).await.unwrap_err();
            assert!(
                matches!(error, StoreError::InvalidKey { .. }),
                "{key}: {error}"
            );
        }
        assert!(!dir.path().join("escaped").exists());
        assert!(!std::path::Path::new("/tmp/escaped-by-daybook").exists());
        let error = store.get("/etc/passwd").await.unwrap_err();
        assert!(matches!(error, StoreError::InvalidKey { .. }), "{error}");
        assert!(store.list("../").await.is_err());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_symbolic_link_inside_the_root_is_neither_followed_nor_listed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(root.join("lake")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.json"), b"{}").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("lake/marts")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.json"), root.join("lake/data.json"))
            .unwrap();
        let store = FsStore::new(&root);
        let error = store
            .put("lake/marts/m/part.parquet", b"x".to_vec())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert!(
            !outside.join("m").exists(),
            "nothing was written through the link"
        );
        assert!(store.get("lake/data.json").await.is_err());
        assert!(store.list("lake/").await.unwrap().is_empty());
    }
}
