//! The pipeline's configuration: sources, marts, the report and who receives it.

use crate::flatten::FlattenConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// DynamoDB tables to flatten, each read from an export under `export_prefix`.
    #[serde(default)]
    pub dynamodb: Vec<DynamoDbSource>,
    /// Relational databases whose tables are exported (RDS read replicas, SQLite locally).
    #[serde(default)]
    pub rds: Vec<crate::relational::RdsSource>,
    /// Segment sources written by Segment's S3 destination.
    #[serde(default)]
    pub segment: Vec<crate::segment::SegmentConfig>,
    /// Marts to build, by file name under `sql/marts/` (without `.sql`), in order.
    pub marts: Vec<String>,
    /// Data-quality checks run before the marts are built.
    #[serde(default)]
    pub checks: crate::quality::ChecksConfig,
    pub report: ReportDefinition,
    pub email: EmailConfig,
}

impl PipelineConfig {
    /// Every source, lake table and report name is plain and sources do not share a name: each
    /// is a folder of the lake and part of catalog names, where two would overwrite each other.
    pub fn check_names(&self) -> Result<(), String> {
        use crate::naming::check_plain;
        let sources = self
            .dynamodb
            .iter()
            .map(|s| s.flatten.source.as_str())
            .chain(self.rds.iter().map(|s| s.source.as_str()))
            .chain(self.segment.iter().map(|s| s.source.as_str()));
        let mut seen = std::collections::BTreeSet::new();
        for source in sources {
            check_plain(source, "source")?;
            if !seen.insert(source) {
                return Err(format!(
                    "two sources are named {source:?}: each needs its own name, or one would overwrite the other's tables"
                ));
            }
        }
        for rds in &self.rds {
            rds.check_names()?;
        }
        // The report's name is a folder (`reports/<name>/`) and part of file names only.
        let name = &self.report.name;
        let segment = name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if segment {
            Ok(())
        } else {
            Err(format!(
                "report name {name:?} is a folder and file name: use lower-case letters, digits, - and _, at most 64 characters"
            ))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DynamoDbSource {
    #[serde(flatten)]
    pub flatten: FlattenConfig,
    #[serde(flatten)]
    pub read: DynamoDbRead,
}

/// How a DynamoDB table's items for the day are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "read", rename_all = "snake_case", deny_unknown_fields)]
pub enum DynamoDbRead {
    /// A DynamoDB export to S3 (DYNAMODB_JSON); `export_prefix` is the folder holding
    /// `manifest-files.json`, with `{date}` replaced by the run date.
    Export { export_prefix: String },
    /// A Query on an index whose partition key holds the day (`date_format`, default `%Y-%m-%d`).
    Query {
        table: String,
        index: String,
        date_attribute: String,
        #[serde(default)]
        date_format: Option<String>,
    },
    /// A parallel Scan of the whole table over `segments` workers.
    Scan { table: String, segments: u32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportDefinition {
    /// Short name used in paths: `reports/<name>/dt=…/`.
    pub name: String,
    pub title: String,
    /// ISO 4217 code of the money columns (`USD`, `EUR`, `KRW`, …): its symbol and decimals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    pub sections: Vec<ReportSection>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A query over marts; `{run_date}` becomes the date literal.
    pub sql: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartSpec>,
    /// How the query's columns are shown, by column name: a label and a format. A column not
    /// listed gets its name in words (`zero_result_rate` → "Zero result rate") and a format
    /// from its values.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub columns: std::collections::BTreeMap<String, ColumnDisplay>,
    /// Run the query for the day before and the same day a week before too, and show how each
    /// number moved (rows are matched by their text columns).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compare: bool,
    /// Show the section's first row as headline numbers at the top of the email.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub headline: bool,
}

/// A column's label and format in the email, the text part and the workbook.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDisplay {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<ValueFormat>,
}

/// How a value reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueFormat {
    /// As it is.
    Text,
    /// A whole number with separators: 12,345.
    Count,
    /// Two decimal places with separators: 1,234.50.
    Decimal,
    /// A share (0.002) as a percentage with one decimal: 0.2%.
    Percent,
    /// The report's currency, with its decimals: $1,234.50, ₩12,345.
    Money,
    /// A date, as the query gives it (`2026-11-21`).
    Date,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartSpec {
    /// Column holding the bar labels.
    pub category: String,
    /// Column holding the bar lengths.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    pub from: String,
    pub to: Vec<String>,
    pub approvers: Vec<String>,
    /// `{title}` and `{date}` are filled in.
    #[serde(default = "default_subject")]
    pub subject: String,
}

fn default_subject() -> String {
    "{title} — {date}".into()
}

/// Fills `{run_date}` with a SQL date literal every engine accepts.
pub fn bind_run_date(sql: &str, date: chrono::NaiveDate) -> String {
    sql.replace("{run_date}", &format!("DATE '{date}'"))
}
