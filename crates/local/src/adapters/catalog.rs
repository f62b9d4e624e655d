use async_trait::async_trait;
use chrono::NaiveDate;
use daybook_core::lake::SchemaColumn;
use daybook_core::ports::{Catalog, PartitionRef, PortError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const CATALOG_FILE: &str = "catalog/catalog.json";

/// The local stand-in for the Glue Data Catalog: tables, their schema, and for each `dt` the run
/// folder that is current.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CatalogFile {
    /// Lake tables, queried as `lake.<name>`.
    pub tables: BTreeMap<String, CatalogTable>,
    /// Marts, queried as `marts.<name>`.
    #[serde(default)]
    pub marts: BTreeMap<String, CatalogTable>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CatalogTable {
    pub schema: Vec<SchemaColumn>,
    /// dt → run prefix (relative to the lake root).
    pub partitions: BTreeMap<NaiveDate, String>,
}

pub struct LocalCatalog {
    path: PathBuf,
    lock: Mutex<()>,
}

impl LocalCatalog {
    pub fn new(root: &Path) -> Self {
        Self {
            path: root.join(CATALOG_FILE),
            lock: Mutex::new(()),
        }
    }

    pub fn load(&self) -> Result<CatalogFile, PortError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                PortError::new(format!(
                    "the local catalog {} is not valid: {e}; delete it and rerun the load step",
                    self.path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CatalogFile::default()),
            Err(e) => Err(PortError::new(format!(
                "reading the local catalog {}: {e}",
                self.path.display()
            ))),
        }
    }

    fn lock_file(&self) -> Result<std::fs::File, PortError> {
        let folder = self.path.parent().expect("catalog path has a folder");
        let fail = |e: std::io::Error| {
            PortError::new(format!(
                "locking the local catalog {}: {e}",
                self.path.display()
            ))
        };
        std::fs::create_dir_all(folder).map_err(fail)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(folder.join(".catalog.lock"))
            .map_err(fail)?;
        lock.lock().map_err(fail)?;
        Ok(lock)
    }

    /// Points a lake table's (or, with `mart`, a mart's) partition at a run folder, under the
    /// lock, writing the file atomically.
    pub fn set_partitions(
        &self,
        table: &str,
        mart: bool,
        schema: &[SchemaColumn],
        partitions: &[PartitionRef],
    ) -> Result<(), PortError> {
        let _guard = self.lock.lock().expect("catalog lock poisoned");
        // Other clients of the same file (another process, or another `LocalCatalog` in this
        // one, as parallel Map children have) wait too: Glue applies each call whole.
        let _file_lock = self.lock_file()?;
        let mut file = self.load()?;
        let tables = if mart {
            &mut file.marts
        } else {
            &mut file.tables
        };
        let entry = tables.entry(table.to_string()).or_default();
        entry.schema = schema.to_vec();
        for p in partitions {
            entry.partitions.insert(p.dt, p.run_prefix.clone());
        }
        let bytes = serde_json::to_vec_pretty(&file).expect("catalog serialises");
        let fail = |e: std::io::Error| {
            PortError::new(format!(
                "writing the local catalog {}: {e}",
                self.path.display()
            ))
        };
        std::fs::create_dir_all(self.path.parent().expect("catalog path has a folder"))
            .map_err(fail)?;
        let temp = self.path.with_extension("json.partial");
        std::fs::write(&temp, bytes).map_err(fail)?;
        std::fs::rename(&temp, &self.path).map_err(fail)
    }
}

#[async_trait]
impl Catalog for LocalCatalog {
    async fn register_partitions(
        &self,
        table: &str,
        schema: &[SchemaColumn],
        partitions: &[PartitionRef],
    ) -> Result<(), PortError> {
        self.set_partitions(table, false, schema, partitions)
    }
}
