//! The pipeline's configuration: sources, marts, the report and who receives it.

pub use crate::fan_out::FanOut;
use crate::flatten::FlattenConfig;
pub use deliver::{
    ApprovalConfig, Destination, SlackApproval, SlackDestination, TeamsDestination,
    WebhookDestination,
};
pub use report::{
    ChartKind, ChartSpec, ColumnDisplay, Locale, OnProblem, PivotSpec, ReportDefinition,
    ReportSection, SectionHistory, UnusualRule, ValueFormat, masked,
};
pub use send_when::{Condition, Measure, SendWhen, Verdict};
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
    /// Where the report goes: `"email"` (the default) and any of Slack, Teams and webhooks.
    /// Always written out, as the send step reads it from the run's snapshot.
    #[serde(default = "email_only")]
    pub deliver: Vec<Destination>,
    /// Approval from Slack, or none for an alert (see [`ApprovalConfig`]).
    #[serde(default)]
    pub approval: ApprovalConfig,
    /// Variables a run may be started with (`--var name=value`), each with its type and
    /// default, usable as `{var.name}` in mart and section SQL.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub variables: std::collections::BTreeMap<String, crate::variables::VariableSpec>,
}

/// One configured source, of whichever type: what every source has in common.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SourceConfig<'a> {
    DynamoDb(&'a DynamoDbSource),
    Rds(&'a crate::relational::RdsSource),
    Segment(&'a crate::segment::SegmentConfig),
}

impl<'a> SourceConfig<'a> {
    /// Its lake folder (`lake/<name>/`) and the first part of its catalog tables' names.
    pub fn name(&self) -> &'a str {
        match self {
            SourceConfig::DynamoDb(s) => &s.flatten.source,
            SourceConfig::Rds(s) => &s.source,
            SourceConfig::Segment(s) => &s.source,
        }
    }

    /// What its type checks of its own settings when the run starts.
    pub fn check(&self) -> Result<(), String> {
        match self {
            SourceConfig::DynamoDb(_) => Ok(()),
            SourceConfig::Rds(s) => s.check_names(),
            SourceConfig::Segment(s) => s.check_limits(),
        }
    }
}

impl PipelineConfig {
    /// Every source of every type, in the config's order (DynamoDB, RDS, Segment): a new type
    /// of source is added here once, not chained by hand wherever sources are walked.
    pub fn sources(&self) -> impl Iterator<Item = SourceConfig<'_>> {
        self.dynamodb
            .iter()
            .map(SourceConfig::DynamoDb)
            .chain(self.rds.iter().map(SourceConfig::Rds))
            .chain(self.segment.iter().map(SourceConfig::Segment))
    }

    /// Every `{var.name}` of `sql` is a declared variable.
    fn check_variables_used(&self, sql: &str) -> Result<(), String> {
        for name in crate::variables::referenced(sql) {
            if !self.variables.contains_key(name) {
                return Err(format!(
                    "the SQL uses {{var.{name}}}, which the config does not declare (it declares {}): add it under \"variables\" with its type and default",
                    crate::variables::listed(self.variables.keys(), "none")
                ));
            }
        }
        Ok(())
    }

    /// Every source, lake table and report name is plain and sources do not share a name: each
    /// is a folder of the lake and part of catalog names, where two would overwrite each other.
    pub fn check_names(&self) -> Result<(), String> {
        use crate::naming::check_plain;
        let mut seen = std::collections::BTreeSet::new();
        for source in self.sources() {
            let source = source.name();
            check_plain(source, "source")?;
            if !seen.insert(source) {
                return Err(format!(
                    "two sources are named {source:?}: each needs its own name, or one would overwrite the other's tables"
                ));
            }
        }
        for source in self.sources() {
            source.check()?;
        }
        crate::variables::check_declarations(&self.variables)?;
        for section in &self.report.sections {
            self.check_variables_used(&section.sql)
                .map_err(|e| format!("report section {:?}: {e}", section.title))?;
            if let Some(chart) = &section.chart {
                chart
                    .check()
                    .map_err(|e| format!("report section {:?}: {e}", section.title))?;
            }
            section
                .check()
                .map_err(|e| format!("report section {:?}: {e}", section.title))?;
        }
        self.report.check_summary()?;
        self.report.check_send_when()?;
        deliver::check_destinations(&self.deliver)?;
        self.approval.check(&self.email.approvers)?;
        if self.approval.skip && self.report.send_when.is_always() {
            return Err("approval skip is set, but the report's send_when is always: only an alert (a report sent when a condition holds) may go without approval; set report.send_when, or remove skip".into());
        }
        if !(1..=168).contains(&self.email.link_expiry_hours) {
            return Err(format!(
                "email link_expiry_hours is {}: the email's links last 1 to 168 hours (7 days)",
                self.email.link_expiry_hours
            ));
        }
        let email = &self.email;
        if !(1..=168).contains(&email.approval_deadline_hours) {
            return Err(format!(
                "email approval_deadline_hours is {}: a run waits 1 to 168 hours (7 days) for its approval",
                email.approval_deadline_hours
            ));
        }
        if email.remind_after_hours >= email.approval_deadline_hours {
            return Err(format!(
                "email remind_after_hours ({}) is not before approval_deadline_hours ({}): set it lower, or 0 for no reminder",
                email.remind_after_hours, email.approval_deadline_hours
            ));
        }
        check_header_fields(email, &self.report.title)?;
        for mart in &self.marts {
            if let Some(sql) = crate::marts::mart_sql(mart) {
                self.check_variables_used(sql)
                    .map_err(|e| format!("mart {mart}: {e}"))?;
            }
        }
        // The report's name is a folder (`reports/<name>/`) and part of file names only.
        crate::naming::check_folder(&self.report.name, "report name")
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
    /// `manifest-files.json`, with `{date}` replaced by the run date. With `fan_out`, the
    /// export's files are flattened by a Distributed Map, a few files per iteration, instead of
    /// in one invocation: for exports too big for 15 minutes or 10 GB.
    Export {
        export_prefix: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fan_out: Option<FanOut>,
    },
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

impl DynamoDbSource {
    /// The export settings of a source flattened by the Distributed Map.
    pub fn fan_out(&self) -> Option<(&str, FanOut)> {
        match &self.read {
            DynamoDbRead::Export {
                export_prefix,
                fan_out: Some(fan_out),
            } => Some((export_prefix, *fan_out)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    pub from: String,
    /// Shown in the `To` header.
    pub to: Vec<String>,
    /// Shown in the `Cc` header.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    /// Sent a copy, named in no header.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<String>,
    pub approvers: Vec<String>,
    /// `{title}`, `{date}` (with its weekday: `Sun 2026-12-06`) and `{summary}` (the report in
    /// one line: its summary numbers and their moves, and how many things need a look) are
    /// filled in.
    #[serde(default = "default_subject")]
    pub subject: String,
    /// The SES configuration set that receives delivery, bounce and complaint events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_set: Option<String>,
    /// SES message tags (name → value) on every message; daybook adds `report` and `job`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: std::collections::BTreeMap<String, String>,
    /// How long the links in the email (full report, and a workbook too large to attach)
    /// work: at most 168 hours (7 days). On AWS they are the approval API's signed links,
    /// which presign the file when opened, so they last this long whatever signed the email.
    #[serde(default = "default_link_hours")]
    pub link_expiry_hours: u32,
    /// Largest message sent with the workbook attached, in bytes (SES v2 takes 40 MB); above
    /// it the workbook goes as a link.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: u64,
    /// Hours after the approval request that approvers who have not answered get a reminder;
    /// 0 sends none.
    #[serde(default = "default_remind_hours")]
    pub remind_after_hours: u32,
    /// Hours the run waits for a decision before it fails, naming who was asked; the approval
    /// links stop working then too (1 to 168).
    #[serde(default = "default_deadline_hours")]
    pub approval_deadline_hours: u32,
}

impl EmailConfig {
    /// From `from` to `to`, approved by `approvers`, every other setting its default.
    pub fn new(from: &str, to: &[&str], approvers: &[&str]) -> Self {
        let owned = |list: &[&str]| list.iter().map(|a| a.to_string()).collect();
        Self {
            from: from.into(),
            to: owned(to),
            cc: vec![],
            bcc: vec![],
            approvers: owned(approvers),
            subject: default_subject(),
            configuration_set: None,
            tags: Default::default(),
            link_expiry_hours: default_link_hours(),
            max_message_bytes: default_max_message_bytes(),
            remind_after_hours: default_remind_hours(),
            approval_deadline_hours: default_deadline_hours(),
        }
    }

    /// Everyone who receives the report, in the order To, Cc, Bcc, each address once.
    pub fn recipients(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for address in self.to.iter().chain(&self.cc).chain(&self.bcc) {
            if !all.iter().any(|a| a.eq_ignore_ascii_case(address)) {
                all.push(address.clone());
            }
        }
        all
    }

    /// The recipients as an approver is shown them: each once, a Bcc one marked as hidden
    /// from the others (recipients see only To and Cc in the message's headers).
    pub fn recipients_for_approvers(&self) -> Vec<String> {
        self.recipients()
            .into_iter()
            .map(|address| {
                let shown = |list: &[String]| list.iter().any(|a| a.eq_ignore_ascii_case(&address));
                if !shown(&self.to) && !shown(&self.cc) {
                    format!("{address} (Bcc: hidden from the other recipients)")
                } else {
                    address
                }
            })
            .collect()
    }
}

fn email_only() -> Vec<Destination> {
    vec![Destination::Email]
}

fn default_link_hours() -> u32 {
    72
}

fn default_remind_hours() -> u32 {
    4
}

fn default_deadline_hours() -> u32 {
    24
}

fn default_max_message_bytes() -> u64 {
    40_000_000
}

fn default_subject() -> String {
    "{title} — {date}: {summary}".into()
}

/// Fills `{run_date}` with a SQL date literal every engine accepts.
pub fn bind_run_date(sql: &str, date: chrono::NaiveDate) -> String {
    sql.replace("{run_date}", &format!("DATE '{date}'"))
}

/// A section's query with its dates bound: `{run_date}`, and `{first_date}` for a trend of
/// `days` days ending on the run date.
pub fn bind_section_dates(sql: &str, date: chrono::NaiveDate, days: Option<u32>) -> String {
    let first = date
        .checked_sub_days(chrono::Days::new(u64::from(days.unwrap_or(1).max(1) - 1)))
        .unwrap_or(date);
    bind_run_date(sql, date).replace("{first_date}", &format!("DATE '{first}'"))
}

/// Fields that become email headers are one line: a CR or LF in one would add headers of its
/// own (a Bcc) or a body; and the sender is one address, as each recipient is.
fn check_header_fields(email: &EmailConfig, title: &str) -> Result<(), String> {
    for (field, value) in [
        ("email.subject", email.subject.as_str()),
        ("report.title", title),
        ("email.from", email.from.as_str()),
    ] {
        if let Some(c) = value.chars().find(|c| c.is_control()) {
            return Err(format!(
                "{field} has the control character {c:?}: a header is one line of text; remove it"
            ));
        }
    }
    if !is_plain_address(&email.from) {
        return Err(format!(
            "email.from is {:?}: give one plain address, such as reports@example.com (the verified SES identity or an address of its domain)",
            email.from
        ));
    }
    Ok(())
}

/// One plain address (`name@domain.tld`): no display name, comment, list or header syntax.
pub fn is_plain_address(address: &str) -> bool {
    let mut parts = address.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;:\"()[]\\".contains(c))
}

pub mod deliver;
mod report;
pub mod send_when;
#[cfg(test)]
mod tests;
