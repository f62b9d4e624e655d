//! The hash of a report's files as approvers see them, so that the send step sends exactly
//! what was approved: a rebuilt report has another hash and needs a new approval.

use crate::Result;
use crate::artifacts::ReportArtifacts;
use daybook_core::store::ObjectStore;
use sha2::{Digest, Sha256};

/// SHA-256 over every stored file of the report (email HTML, text, full HTML, workbook, data,
/// pictures), each prefixed by its key and length so that moving bytes between files changes it.
pub async fn report_sha256(store: &dyn ObjectStore, report: &ReportArtifacts) -> Result<String> {
    let mut hash = Sha256::new();
    for key in &report.stored_keys() {
        let bytes = store.get(key).await?;
        hash.update((key.len() as u64).to_be_bytes());
        hash.update(key.as_bytes());
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(&bytes);
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
