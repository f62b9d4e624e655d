//! A Distributed Map's ItemReader, locally: objects of the lake on disk, under the bucket name
//! the local definition is given for the lake.

use crate::adapters::fs_store::FsStore;
use async_trait::async_trait;
use daybook_asl::ItemSource;
use daybook_core::store::ObjectStore;
use std::path::Path;

/// The lake bucket's name in local definitions (`${LakeBucketName}`).
pub const LOCAL_LAKE_BUCKET: &str = "daybook-local-lake";

pub struct LakeItems {
    store: FsStore,
}

impl LakeItems {
    pub fn new(root: &Path) -> Self {
        Self {
            store: FsStore::new(root),
        }
    }
}

#[async_trait]
impl ItemSource for LakeItems {
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
        // As S3 answers for any bucket but the one that exists.
        if bucket != LOCAL_LAKE_BUCKET {
            return Err(format!(
                "NoSuchBucket: the specified bucket does not exist (locally the lake is {LOCAL_LAKE_BUCKET})"
            ));
        }
        self.store.get(key).await.map_err(|e| e.to_string())
    }
}
