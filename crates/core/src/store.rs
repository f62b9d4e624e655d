//! The object-store port: S3 on AWS, a directory locally.

use crate::failure::{Classify, ErrorKind};
use async_trait::async_trait;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{location} does not exist")]
    NotFound { location: String },
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

    /// A folder where a step stages its output before publishing it; the local store keeps it
    /// beside its data so that publishing is a rename.
    fn scratch_root(&self) -> PathBuf {
        std::env::temp_dir()
    }
}
