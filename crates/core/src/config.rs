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
