//! The first Map's step: each file's lines checked, its message keys and property types
//! recorded for the resolve step.

use super::*;

/// The first pass over one iteration's files: each file's keys, types and quarantine, recorded.
pub async fn scan_files(
    store: &dyn ObjectStore,
    task: &SegmentFilesTask,
    workers: usize,
) -> Result<FilesDone> {
    let started = Instant::now();
    let job = &task.job;
    let mut done = FilesDone {
        files: Vec::new(),
        lines: 0,
        elapsed_ms: 0,
    };
    for (plan, files) in by_source(store, task).await? {
        let source = plan.config.source.clone();
        let staging = Staging::new(store, &job.job_id, &format!("scan-{source}"))?;
        let local = download(store, &files, &staging).await?;
        let config = plan.config.clone();
        let tz = config.time_zone().map_err(Error::Invalid)?;
        let days = DaySelection::Only(job.date);
        let indexes: Vec<usize> = files.iter().map(|f| f.index).collect();
        let staging_path = staging.path().to_path_buf();
        let scans = tokio::task::spawn_blocking(move || {
            parallel(local.len(), workers, |at| {
                scan_file(&config, &local[at], indexes[at], tz, days, &staging_path)
            })
        })
        .await
        .map_err(|e| Error::Invalid(format!("segment scan worker failed: {e}")))??;
        for (file, scan) in files.iter().zip(scans) {
            let quarantine_key = match &scan.quarantine {
                Some(path) => {
                    let key =
                        folder(&job.job_id).record_key(&source, "quarantine", file.index, "jsonl");
                    store.put_file(&key, path).await?;
                    Some(key)
                }
                None => None,
            };
            store
                .put(
                    &folder(&job.job_id).record_key(&source, "keys", file.index, "bin"),
                    encode_keys(&scan.keys),
                )
                .await?;
            done.lines += scan.summary.read.lines;
            done.files.push(file.index);
            let record = ScanRecord {
                index: file.index,
                summary: scan.summary,
                quarantine_key,
            };
            store
                .put(
                    &folder(&job.job_id).record_key(&source, "scans", file.index, "json"),
                    to_json(&record)?,
                )
                .await?;
        }
    }
    done.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(done)
}

/// A file's message keys as the resolve step reads them: (line, key) pairs, little-endian.
pub(super) fn encode_keys(keys: &[(u32, u128)]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(keys.len() * 20);
    for (line, key) in keys {
        bytes.extend_from_slice(&line.to_le_bytes());
        bytes.extend_from_slice(&key.to_le_bytes());
    }
    bytes
}

pub(super) fn decode_keys(bytes: &[u8]) -> Option<Vec<(u32, u128)>> {
    if !bytes.len().is_multiple_of(20) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(20)
            .map(|pair| {
                let (line, key) = pair.split_at(4);
                (
                    u32::from_le_bytes(line.try_into().expect("4 bytes")),
                    u128::from_le_bytes(key.try_into().expect("16 bytes")),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn message_keys_survive_their_file_and_a_torn_file_is_refused() {
        let keys = vec![(1, u128::MAX), (7, 42), (u32::MAX, 0)];
        let bytes = super::encode_keys(&keys);
        assert_eq!(super::decode_keys(&bytes), Some(keys));
        assert_eq!(super::decode_keys(&bytes[..bytes.len() - 1]), None);
    }
}
