//! Where things live in the lake and what a committed run says about itself.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub const MANIFEST_FILE: &str = "_manifest.json";

/// The partition one run writes: `<root><table>/dt=<date>/run=<job_id>/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionLayout {
    /// Prefix above the table folders, such as `lake/search_queries/`; empty for a bare output folder.
    pub root: String,
    pub date: NaiveDate,
    pub job_id: String,
    /// Prefix of the quarantine files: `quarantine/<source>/` in the lake.
    pub quarantine_root: String,
}

impl PartitionLayout {
    /// The layout of the lake proper, `lake/<source>/<table>/dt=…/run=…/`.
    pub fn lake(source: &str, date: NaiveDate, job_id: &str) -> Self {
        Self {
            root: format!("lake/{source}/"),
            date,
            job_id: job_id.to_string(),
            quarantine_root: format!("quarantine/{source}/"),
        }
    }

    /// The layout of a lake folder named `lake_folder` (`lake` for `<root>/lake`), written through
    /// a store at its parent: `<lake_folder>/<source>/<table>/dt=…/run=…/`, every key as the lake
    /// proper has it when the folder is `lake`, so that `daybook load` reads what the CLI's
    /// exports wrote; rejected records in `<lake_folder>/_quarantine/<source>/`, so that nothing
    /// is written outside the folder given.
    pub fn in_folder(lake_folder: &str, source: &str, date: NaiveDate, job_id: &str) -> Self {
        Self {
            root: format!("{lake_folder}/{source}/"),
            date,
            job_id: job_id.to_string(),
            quarantine_root: format!("{lake_folder}/_quarantine/{source}/"),
        }
    }

    /// A bare output folder: tables at the top, rejected records in `_quarantine/`.
    pub fn folder(date: NaiveDate, job_id: &str) -> Self {
        Self {
            root: String::new(),
            date,
            job_id: job_id.to_string(),
            quarantine_root: "_quarantine/".into(),
        }
    }

    /// `<quarantine root>dt=<date>/<job_id>.jsonl`.
    pub fn quarantine_key(&self) -> String {
        format!(
            "{}dt={}/{}.jsonl",
            self.quarantine_root, self.date, self.job_id
        )
    }

    pub fn run_prefix(&self, table: &str) -> String {
        format!("{}{table}/dt={}/run={}/", self.root, self.date, self.job_id)
    }

    pub fn part_key(&self, table: &str, part: usize) -> String {
        format!("{}part-{part:05}.parquet", self.run_prefix(table))
    }

    pub fn manifest_key(&self, table: &str) -> String {
        format!("{}{MANIFEST_FILE}", self.run_prefix(table))
    }
}

/// Folder of a source's run commits, beside its tables: `lake/<source>/_runs/`.
pub const RUNS_FOLDER: &str = "_runs";

/// The record that commits one run of a source for one day, written after every table's
/// manifest: `<root>_runs/dt=<date>/<job_id>.json`. Until it exists the run is not the day's
/// data, whatever manifests it published, so a run killed half-way never mixes with another.
pub fn commit_key(root: &str, date: NaiveDate, job_id: &str) -> String {
    format!("{root}{RUNS_FOLDER}/dt={date}/{job_id}.json")
}

/// A source's run committed for one day: its tables, all from that run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCommit {
    pub source: String,
    pub dt: NaiveDate,
    pub job_id: String,
    pub tables: Vec<CommittedRunTable>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommittedRunTable {
    pub table: String,
    pub run_prefix: String,
    pub manifest_key: String,
    pub rows: u64,
}

pub fn job_key(job_id: &str, file: &str) -> String {
    format!("jobs/{job_id}/{file}")
}

/// `_manifest.json` of one table's run folder: written last, it is what makes the run complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableManifest {
    pub source: String,
    pub table: String,
    pub dt: NaiveDate,
    pub job_id: String,
    pub rows: u64,
    pub files: Vec<ManifestFile>,
    pub schema: Vec<SchemaColumn>,
    /// Items of the whole source rejected in this run (they are in the quarantine file).
    pub quarantined_items: u64,
    /// What a reader should know about this table's data, such as columns whose types conflicted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub key: String,
    pub rows: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaColumn {
    pub name: String,
    /// The Arrow type, as Arrow prints it.
    #[serde(rename = "type")]
    pub ty: String,
    /// The same type in Hive DDL, as Glue and Redshift Spectrum declare it.
    pub hive_type: String,
    pub nullable: bool,
}

impl SchemaColumn {
    pub fn from_arrow(schema: &arrow::datatypes::Schema) -> Vec<Self> {
        schema
            .fields()
            .iter()
            .map(|f| SchemaColumn {
                name: f.name().clone(),
                ty: f.data_type().to_string(),
                hive_type: hive_type(f.data_type()),
                nullable: f.is_nullable(),
            })
            .collect()
    }
}

/// Where a key's file is staged under `staging`, once the key is known to stay there (a table
/// named after an attribute, event or table of the source must not lead the path elsewhere).
pub fn staged_path(
    staging: &std::path::Path,
    key: &str,
) -> Result<std::path::PathBuf, crate::store::StoreError> {
    crate::store::check_key(key, false)?;
    Ok(staging.join(key))
}

/// The Hive type Glue tables and Spectrum use for an Arrow type read from Parquet. Every type
/// daybook writes has one; a type with no Hive equivalent (a time of day, a duration, an
/// interval, a union) is written as text by the exporters, and is declared `unsupported<…>` here
/// so that Glue refuses the table instead of Spectrum misreading the column.
pub fn hive_type(data_type: &arrow::datatypes::DataType) -> String {
    use arrow::datatypes::DataType::*;
    match data_type {
        Boolean => "boolean".into(),
        Int8 => "tinyint".into(),
        Int16 | UInt8 => "smallint".into(),
        Int32 | UInt16 => "int".into(),
        Int64 | UInt32 => "bigint".into(),
        UInt64 => "decimal(20,0)".into(),
        Float16 | Float32 => "float".into(),
        Float64 => "double".into(),
        Utf8 | LargeUtf8 | Utf8View | Null => "string".into(),
        Dictionary(_, values) => hive_type(values),
        Decimal128(p, s) | Decimal256(p, s) => format!("decimal({p},{s})"),
        Date32 | Date64 => "date".into(),
        Timestamp(_, _) => "timestamp".into(),
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => "binary".into(),
        List(f) | LargeList(f) | FixedSizeList(f, _) => {
            format!("array<{}>", hive_type(f.data_type()))
        }
        Struct(fields) => format!(
            "struct<{}>",
            fields
                .iter()
                .map(|f| format!("{}:{}", f.name(), hive_type(f.data_type())))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Map(entries, _) => match entries.data_type() {
            Struct(kv) if kv.len() == 2 => format!(
                "map<{},{}>",
                hive_type(kv[0].data_type()),
                hive_type(kv[1].data_type())
            ),
            other => format!("unsupported<{other}>"),
        },
        other => format!("unsupported<{other}>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_types_match_what_glue_expects() {
        use arrow::datatypes::{DataType, Field, Fields};
        assert_eq!(hive_type(&DataType::Decimal128(10, 2)), "decimal(10,2)");
        assert_eq!(hive_type(&DataType::Utf8), "string");
        let fields = Fields::from(vec![
            Field::new("sku", DataType::Utf8, true),
            Field::new("qty", DataType::Int64, true),
        ]);
        assert_eq!(
            hive_type(&DataType::Struct(fields)),
            "struct<sku:string,qty:bigint>"
        );
    }

    #[test]
    fn types_without_a_hive_equivalent_are_never_declared_as_text() {
        use arrow::datatypes::{DataType, TimeUnit};
        assert_eq!(hive_type(&DataType::UInt8), "smallint");
        assert_eq!(
            hive_type(&DataType::Dictionary(
                Box::new(DataType::Int32),
                Box::new(DataType::Utf8)
            )),
            "string"
        );
        for odd in [
            DataType::Time64(TimeUnit::Microsecond),
            DataType::Duration(TimeUnit::Second),
        ] {
            assert!(hive_type(&odd).starts_with("unsupported<"), "{odd}");
        }
    }

    #[test]
    fn keys_follow_the_lake_layout() {
        let layout = PartitionLayout::lake(
            "search_queries",
            NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
            "job-1",
        );
        assert_eq!(
            layout.part_key("isbn13_list", 3),
            "lake/search_queries/isbn13_list/dt=2026-11-21/run=job-1/part-00003.parquet"
        );
        assert_eq!(
            layout.manifest_key("_items"),
            "lake/search_queries/_items/dt=2026-11-21/run=job-1/_manifest.json"
        );
        assert_eq!(
            layout.quarantine_key(),
            "quarantine/search_queries/dt=2026-11-21/job-1.jsonl"
        );
    }
}
