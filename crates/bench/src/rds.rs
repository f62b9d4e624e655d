//! The RDS benchmark: one table streamed from a database to Parquet through the export path.

use daybook_core::lake::PartitionLayout;
use daybook_core::ports::{PortError, StateStore};
use daybook_core::relational::{RdsSource, TableExport};
use std::path::Path;
use std::time::Instant;

/// No watermarks in a benchmark: nothing is remembered between runs.
struct NoState;

#[async_trait::async_trait]
impl StateStore for NoState {
    async fn put_if_absent(
        &self,
        _key: &str,
        _value: serde_json::Value,
    ) -> Result<Option<serde_json::Value>, PortError> {
        Ok(None)
    }
    async fn get(&self, _key: &str) -> Result<Option<serde_json::Value>, PortError> {
        Ok(None)
    }
    async fn put(&self, _key: &str, _value: serde_json::Value) -> Result<(), PortError> {
        Ok(())
    }
    async fn remove_if(
        &self,
        _key: &str,
        _expected: &serde_json::Value,
    ) -> Result<bool, PortError> {
        Ok(false)
    }
    async fn list(&self, _prefix: &str) -> Result<Vec<(String, serde_json::Value)>, PortError> {
        Ok(vec![])
    }
}

/// A local folder as the object store: the bench writes where the staging is, as locally.
struct Folder(std::path::PathBuf);

#[async_trait::async_trait]
impl daybook_core::store::ObjectStore for Folder {
    fn location(&self, key: &str) -> String {
        self.0.join(key).display().to_string()
    }
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), daybook_core::store::StoreError> {
        let path = self.0.join(key);
        std::fs::create_dir_all(path.parent().expect("keys have folders"))
            .and_then(|_| std::fs::write(&path, body))
            .map_err(|e| daybook_core::store::StoreError::failed("write", self.location(key), e))
    }
    async fn put_file(
        &self,
        key: &str,
        path: &Path,
    ) -> Result<(), daybook_core::store::StoreError> {
        let target = self.0.join(key);
        std::fs::create_dir_all(target.parent().expect("keys have folders"))
            .and_then(|_| std::fs::rename(path, &target))
            .map_err(|e| daybook_core::store::StoreError::failed("move", self.location(key), e))
    }
    async fn share_link(
        &self,
        key: &str,
        _expires_in: std::time::Duration,
    ) -> Result<String, daybook_core::store::StoreError> {
        Ok(format!("file://{}", self.location(key)))
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, daybook_core::store::StoreError> {
        std::fs::read(self.0.join(key))
            .map_err(|e| daybook_core::store::StoreError::failed("read", self.location(key), e))
    }
    async fn fetch_to_local(
        &self,
        key: &str,
        _scratch: &Path,
    ) -> Result<std::path::PathBuf, daybook_core::store::StoreError> {
        Ok(self.0.join(key))
    }
    async fn list(&self, _prefix: &str) -> Result<Vec<String>, daybook_core::store::StoreError> {
        Ok(vec![])
    }
    fn scratch_root(&self) -> std::path::PathBuf {
        self.0.clone()
    }
}

pub fn export(url: &str, table: &str, out: &Path) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let started = Instant::now();
        let db = daybook_rds::Database::connect(url, None).await?;
        let source = RdsSource {
            source: "bench".into(),
            url: Some(url.into()),
            secret_arn: None,
            ssl_root_cert: None,
            tables: vec![TableExport::new(table)],
            row_group_rows: 65_536,
        };
        let layout = PartitionLayout::folder(
            chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("a valid date"),
            "bench",
        );
        let report =
            daybook_rds::export_tables(&db, &Folder(out.to_path_buf()), &NoState, &source, &layout)
                .await?;
        db.close().await;
        let seconds = started.elapsed().as_secs_f64();
        let bytes: u64 = std::fs::read_dir(out.join(table).join("dt=2026-11-21/run=bench"))?
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum();
        println!("rds: {} rows of {table}", report.items_read);
        println!("  wall time      {seconds:.2} s");
        println!("  rows/s         {:.0}", report.items_read as f64 / seconds);
        println!(
            "  output         {:.0} MB of Snappy Parquet",
            bytes as f64 / 1e6
        );
        println!(
            "  peak RSS       {:.0} MiB",
            super::peak_rss_kib()? as f64 / 1024.0
        );
        anyhow::Ok(())
    })
}
