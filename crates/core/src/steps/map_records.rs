//! What the fan-out steps of both sources (DynamoDB exports and Segment days) share: reading the
//! records a Distributed Map's children left in the store, merging their quarantine files, and
//! naming the parts that are missing.

use super::publish::Staging;
use crate::error::{Error, IoContext, Result};
use crate::lake::PartitionLayout;
use crate::quarantine::merge_files;
use crate::store::ObjectStore;

/// The children's quarantine files, fetched and merged into the run's one (with its key in the
/// lake), or none when no child quarantined anything.
pub(crate) async fn merged_quarantine(
    store: &dyn ObjectStore,
    keys: impl Iterator<Item = &str>,
    staging: &Staging,
    layout: &PartitionLayout,
    source: &str,
) -> Result<Option<(std::path::PathBuf, String)>> {
    let mut parts = Vec::new();
    for key in keys {
        parts.push(store.fetch_to_local(key, staging.path()).await?);
    }
    if parts.is_empty() {
        return Ok(None);
    }
    let merged = staging.path().join("quarantine.jsonl");
    merge_files(&parts, &merged)
        .context(|| format!("merging the quarantine of source {source:?}"))?;
    Ok(Some((merged, layout.quarantine_key())))
}

/// At most ten names, then how many more.
pub(crate) fn shorten(parts: &[String]) -> String {
    if parts.len() <= 10 {
        parts.join(", ")
    } else {
        format!("{}, … {} more", parts[..10].join(", "), parts.len() - 10)
    }
}

/// A JSON record a fan-out step wrote; a missing one means its writer never ran.
pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
    store: &dyn ObjectStore,
    key: &str,
    what: &str,
) -> Result<T> {
    let body = store.get(key).await.map_err(|e| {
        Error::Invalid(format!(
            "cannot read {what} at {}: {e}; the fan-out's plan step writes it, so run the job from its start",
            store.location(key)
        ))
    })?;
    serde_json::from_slice(&body).map_err(|source| Error::Json {
        context: format!("{what} at {}", store.location(key)),
        source,
    })
}
