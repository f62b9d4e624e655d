use super::plan::FlattenPlan;
use super::tables::{TablePart, table_shapes};
use crate::lake::SchemaColumn;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What one input (a file, a scan segment, a stream batch) gave.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InputSummary {
    pub input: String,
    /// Non-empty lines (for files) or records (for pages and streams) read.
    pub lines: u64,
    /// Bytes of (uncompressed) input read.
    pub bytes: u64,
    /// Records that parsed as items.
    pub items: u64,
    /// Items written to the tables.
    pub written: u64,
    /// Lines and items rejected, with their reasons in the quarantine file.
    pub quarantined: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_items: Option<u64>,
    /// Set when the input could not be read to its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl InputSummary {
    pub fn new(input: &str, expected_items: Option<u64>) -> Self {
        Self {
            input: input.to_string(),
            lines: 0,
            bytes: 0,
            items: 0,
            written: 0,
            quarantined: 0,
            expected_items,
            error: None,
        }
    }

    /// Why this input's counts do not add up, if they do not.
    pub fn discrepancy(&self) -> Option<String> {
        if let Some(error) = &self.error {
            return Some(error.clone());
        }
        match self.expected_items {
            Some(expected) if expected != self.items => Some(format!(
                "{}: the export manifest lists {expected} items but {} were read",
                self.input, self.items
            )),
            _ => None,
        }
    }
}

/// The output of one part of a flatten run: one input, or a group of small files read in turn.
#[derive(Debug)]
pub struct PartOutcome {
    pub tables: Vec<TablePart>,
    pub inputs: Vec<InputSummary>,
    pub quarantine: Option<PathBuf>,
}

/// A whole flatten run: every table's files, every input's counts.
#[derive(Debug, Serialize)]
pub struct FlattenOutcome {
    pub plan: FlattenPlan,
    pub tables: Vec<TableOutput>,
    pub inputs: Vec<InputSummary>,
    pub items_read: u64,
    pub items_written: u64,
    pub quarantined: u64,
    /// Local path of the merged quarantine file, if anything was rejected.
    #[serde(skip)]
    pub quarantine_file: Option<PathBuf>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct TableOutput {
    pub table: String,
    pub rows: u64,
    pub schema: Vec<SchemaColumn>,
    pub files: Vec<OutputFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputFile {
    pub key: String,
    #[serde(skip)]
    pub path: PathBuf,
    pub rows: u64,
    pub bytes: u64,
}

impl FlattenOutcome {
    /// Gathers the parts (in input order) into per-table outputs.
    pub fn from_parts(
        plan: FlattenPlan,
        mut parts: Vec<PartOutcome>,
        quarantine_file: Option<PathBuf>,
    ) -> Self {
        let mut tables: Vec<TableOutput> = table_shapes(&plan)
            .into_iter()
            .map(|shape| TableOutput {
                table: shape.name,
                rows: 0,
                schema: SchemaColumn::from_arrow(&shape.schema),
                files: vec![],
            })
            .collect();
        let mut inputs = Vec::new();
        for part in parts.drain(..) {
            for table_part in part.tables {
                if let Some(table) = tables.iter_mut().find(|t| t.table == table_part.table) {
                    table.rows += table_part.file.rows;
                    table.files.push(OutputFile {
                        key: table_part.key,
                        path: table_part.file.path,
                        rows: table_part.file.rows,
                        bytes: table_part.file.bytes,
                    });
                }
            }
            inputs.extend(part.inputs);
        }
        let warnings = inputs
            .iter()
            .filter_map(InputSummary::discrepancy)
            .collect();
        Self {
            plan,
            tables,
            items_read: inputs.iter().map(|i| i.items).sum(),
            items_written: inputs.iter().map(|i| i.written).sum(),
            quarantined: inputs.iter().map(|i| i.quarantined).sum(),
            inputs,
            quarantine_file,
            warnings,
        }
    }

    pub fn output_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    pub fn table(&self, name: &str) -> Option<&TableOutput> {
        self.tables.iter().find(|t| t.table == name)
    }
}
