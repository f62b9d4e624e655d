//! The object-store port: S3 on AWS, a directory locally.

use crate::failure::{Classify, ErrorKind};
use async_trait::async_trait;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{location} does not exist")]
    NotFound { location: String },
    #[error(
        "{key:?} is not a key daybook reads or writes: {reason}. Every name that becomes part of a key (source, table, attribute, event, job id) must be a plain name"
    )]
    InvalidKey { key: String, reason: &'static str },
    #[error("{operation} {location} failed: {message}")]
    Failed {
        operation: &'static str,
        location: String,
        message: String,
        kind: ErrorKind,
    },
}

impl Classify for StoreError {
    fn kind(&self) -> ErrorKind {
        match self {
            StoreError::NotFound { .. } => ErrorKind::Failed,
            StoreError::InvalidKey { .. } => ErrorKind::InvalidInput,
            StoreError::Failed { kind, .. } => *kind,
        }
    }
}

impl StoreError {
    pub fn failed(
        operation: &'static str,
        location: impl Into<String>,
        message: impl ToString,
    ) -> Self {
        Self::failed_with(ErrorKind::Failed, operation, location, message)
    }

    pub fn failed_with(
        kind: ErrorKind,
        operation: &'static str,
        location: impl Into<String>,
        message: impl ToString,
    ) -> Self {
        StoreError::Failed {
            operation,
            location: location.into(),
            message: message.to_string(),
            kind,
        }
    }
}

/// S3's limit on a key, in bytes.
const MAX_KEY_BYTES: usize = 1024;
/// The longest file name most filesystems take, in bytes.
const MAX_SEGMENT_BYTES: usize = 255;

/// Checks that `key` names a place under a store's root, the same on a disk and in S3: a
/// relative path of plain segments (none empty, `.` or `..`, no backslash or NUL, each at most
/// 255 bytes, the whole at most 1024). A `prefix` (for listing) may be empty or end with `/`.
/// Every store checks every key, so no name in the data can read or write outside the lake.
pub fn check_key(key: &str, prefix: bool) -> Result<(), StoreError> {
    let invalid = |reason| {
        Err(StoreError::InvalidKey {
            key: key.chars().take(200).collect(),
            reason,
        })
    };
    let body = match prefix {
        true => key.strip_suffix('/').unwrap_or(key),
        false => key,
    };
    if body.is_empty() {
        return if prefix {
            Ok(())
        } else {
            invalid("it is empty")
        };
    }
    if key.len() > MAX_KEY_BYTES {
        return invalid("it is longer than 1024 bytes");
    }
    if key.starts_with('/') {
        return invalid("it starts with / (an absolute path)");
    }
    if key.contains('\0') {
        return invalid("it holds a NUL character");
    }
    if key.contains('\\') {
        return invalid("it holds a backslash");
    }
    for segment in body.split('/') {
        match segment {
            "" => return invalid("it has an empty segment (//)"),
            "." | ".." => return invalid("it has a . or .. segment"),
            s if s.len() > MAX_SEGMENT_BYTES => {
                return invalid("one of its segments is longer than 255 bytes");
            }
            _ => {}
        }
    }
    Ok(())
}

#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// How a key is shown to people: `s3://bucket/key` or a file path.
    fn location(&self, key: &str) -> String;

    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StoreError>;

    /// Uploads a local file (large files in parts where the backend supports it).
    async fn put_file(&self, key: &str, path: &Path) -> Result<(), StoreError>;

    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError>;

    /// A local path holding the object's bytes: the file itself where the store is local,
    /// else a download into `scratch`.
    async fn fetch_to_local(&self, key: &str, scratch: &Path) -> Result<PathBuf, StoreError>;

    /// Keys below a prefix, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// A link people can open to read the object: a presigned GET URL valid for `expires_in`
    /// on S3, a `file://` URL locally.
    async fn share_link(
        &self,
        key: &str,
        expires_in: std::time::Duration,
    ) -> Result<String, StoreError>;

    /// A folder where a step stages its output before publishing it; the local store keeps it
    /// beside its data so that publishing is a rename.
    fn scratch_root(&self) -> PathBuf {
        std::env::temp_dir()
    }
}

#[cfg(test)]
mod tests {
    use super::check_key;

    #[test]
    fn keys_stay_under_the_root() {
        for good in [
            "lake/a/dt=2026-11-21/run=j/part-00000.parquet",
            "config/daybook.json",
        ] {
            assert!(check_key(good, false).is_ok(), "{good}");
        }
        for prefix in ["", "lake/", "segment-logs/src/17"] {
            assert!(check_key(prefix, true).is_ok(), "{prefix:?}");
        }
        let long = "x".repeat(256);
        for bad in [
            "",
            "/etc/passwd",
            "../outside",
            "lake/../../x",
            "lake/./x",
            "lake//x",
            "lake/x/",
            "a\\b",
            "a\0b",
            long.as_str(),
        ] {
            let error = check_key(bad, false).unwrap_err().to_string();
            assert!(
                error.contains("is not a key daybook reads or writes"),
                "{bad:?}: {error}"
            );
        }
        assert!(check_key("../", true).is_err());
    }
}
