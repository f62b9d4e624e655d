use crate::sdk::store_error;
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use daybook_core::ErrorKind;
use daybook_core::store::{ObjectStore, StoreError, check_key};
use std::path::{Path, PathBuf};
use tokio::io::AsyncReadExt;

/// Files at or above this size go up in parts.
pub const MULTIPART_THRESHOLD: u64 = 64 * 1024 * 1024;
/// S3's minimum part size is 5 MiB; 16 MiB keeps part counts low and memory modest.
pub const PART_SIZE: usize = 16 * 1024 * 1024;

/// The object store on S3: keys are object keys in one bucket.
#[derive(Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    multipart_threshold: u64,
}

impl S3Store {
    /// GetObject, with a missing key reported as `NotFound` so callers can tell it apart.
    async fn open_object(
        &self,
        key: &str,
        action: &'static str,
    ) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, StoreError> {
        check_key(key, false)?;
        self.client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                    StoreError::NotFound {
                        location: self.location(key),
                    }
                } else {
                    store_error(action, self.location(key), &e)
                }
            })
    }

    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            multipart_threshold: MULTIPART_THRESHOLD,
        }
    }

    /// Lowers the multipart threshold, so tests can exercise multipart with small files.
    pub fn with_multipart_threshold(mut self, bytes: u64) -> Self {
        self.multipart_threshold = bytes;
        self
    }

    async fn put_multipart(&self, key: &str, path: &Path) -> Result<(), StoreError> {
        let fail = |e: String| StoreError::failed("uploading", self.location(key), e);

        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| store_error("uploading", self.location(key), &e))?;
        let upload_id = upload
            .upload_id
            .ok_or_else(|| fail("S3 returned no upload id".into()))?;
        let result = async {
            let mut file = tokio::fs::File::open(path)
                .await
                .map_err(|e| fail(e.to_string()))?;
            let mut parts = Vec::new();
            for number in 1.. {
                let mut buffer = Vec::with_capacity(PART_SIZE);
                (&mut file)
                    .take(PART_SIZE as u64)
                    .read_to_end(&mut buffer)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                if buffer.is_empty() {
                    break;
                }
                let part = self
                    .client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .body(ByteStream::from(buffer))
                    .send()
                    .await
                    .map_err(|e| store_error("uploading", self.location(key), &e))?;
                parts.push(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(part.e_tag)
                        .build(),
                );
            }
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| store_error("uploading", self.location(key), &e))?;
            Ok(())
        }
        .await;
        if result.is_err() {
            // An abandoned upload keeps costing storage; abort it (best effort).
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    fn location(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        check_key(key, false)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error("writing", self.location(key), &e))
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<(), StoreError> {
        check_key(key, false)?;
        let size = std::fs::metadata(path)
            .map_err(|e| StoreError::failed("reading", path.display().to_string(), e))?
            .len();
        if size >= self.multipart_threshold {
            return self.put_multipart(key, path).await;
        }
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| StoreError::failed("reading", path.display().to_string(), e))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error("uploading", self.location(key), &e))
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let output = self.open_object(key, "reading").await?;
        let bytes = output.body.collect().await.map_err(|e| {
            StoreError::failed_with(ErrorKind::Transient, "reading", self.location(key), e)
        })?;
        Ok(bytes.into_bytes().to_vec())
    }

    async fn share_link(
        &self,
        key: &str,
        expires_in: std::time::Duration,
    ) -> Result<String, StoreError> {
        check_key(key, false)?;
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(expires_in)
            .map_err(|e| StoreError::failed("presigning a link to", self.location(key), e))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| store_error("presigning a link to", self.location(key), &e))?;
        Ok(request.uri().to_string())
    }

    async fn fetch_to_local(&self, key: &str, scratch: &Path) -> Result<PathBuf, StoreError> {
        let output = self.open_object(key, "downloading").await?;
        let path = scratch.join(key);
        let fail = |e: std::io::Error| StoreError::failed("downloading", self.location(key), e);
        tokio::fs::create_dir_all(path.parent().unwrap_or(scratch))
            .await
            .map_err(fail)?;
        let mut file = tokio::fs::File::create(&path).await.map_err(fail)?;
        let mut body = output.body.into_async_read();
        tokio::io::copy(&mut body, &mut file).await.map_err(fail)?;
        Ok(path)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        check_key(prefix, true)?;
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| store_error("listing", self.location(prefix), &e))?;
            keys.extend(
                page.contents
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|o| o.key),
            );
        }
        keys.sort();
        Ok(keys)
    }
}
