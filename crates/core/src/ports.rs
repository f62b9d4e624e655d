//! The ports other than the object store: each has an AWS adapter and an embedded one.

use crate::failure::{Classify, ErrorKind};
use crate::lake::SchemaColumn;
use crate::variables::BoundSql;
use async_trait::async_trait;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A failure inside an adapter, with enough context for an operator, and whether the same
/// call may succeed later (throttling, timeouts, 5xx).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PortError {
    message: String,
    kind: ErrorKind,
}

impl PortError {
    pub fn new(message: impl Into<String>) -> Self {
        Self::with_kind(message, ErrorKind::Failed)
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Self::with_kind(message, ErrorKind::Transient)
    }

    pub fn with_kind(message: impl Into<String>, kind: ErrorKind) -> Self {
        Self {
            message: message.into(),
            kind,
        }
    }

    /// The same failure with more context in front of its message.
    pub fn context(self, context: impl std::fmt::Display) -> Self {
        Self {
            message: format!("{context}: {}", self.message),
            kind: self.kind,
        }
    }
}

impl Classify for PortError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

/// A partition `dt` of a lake table and the committed run folder it reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionRef {
    pub dt: NaiveDate,
    pub run_prefix: String,
}

/// Table definitions and partitions: the Glue Data Catalog on AWS, a JSON file locally.
#[async_trait]
pub trait Catalog: Send + Sync {
    /// Creates or updates `table` with `schema` and points each partition at its run folder
    /// (creating the partitions that do not exist).
    async fn register_partitions(
        &self,
        table: &str,
        schema: &[SchemaColumn],
        partitions: &[PartitionRef],
    ) -> Result<(), PortError>;

    /// Starts what runs once all of a load's tables are registered (a crawler, where one is
    /// configured), without waiting for it; `None` when nothing does.
    async fn start_refresh(&self) -> Result<Option<Refresh>, PortError> {
        Ok(None)
    }

    /// Looks at a started refresh once: `Some` (updated) while it runs, `None` when it has
    /// finished well; an error when it failed or ran past its deadline.
    async fn poll_refresh(&self, refresh: &Refresh) -> Result<Option<Refresh>, PortError> {
        let _ = refresh;
        Ok(None)
    }
}

/// A catalog refresh under way (a crawl), carried by the state machine between its polls so
/// that no function waits for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refresh {
    /// What runs (the crawler's name).
    pub name: String,
    /// Whether the crawl under way is the one this run started (else another one is, and this
    /// run's starts when that one ends).
    pub started: bool,
    pub deadline: chrono::DateTime<chrono::Utc>,
    /// How long the state machine waits between two looks.
    pub poll_seconds: u64,
}

/// Rows of a query, with values as JSON (numbers, strings, booleans, nulls).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// One mart materialised for one date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MartRun {
    pub mart: String,
    pub dt: NaiveDate,
    pub rows: u64,
    pub location: String,
}

/// SQL over the lake and the marts: Redshift on AWS, DataFusion locally.
#[async_trait]
pub trait Warehouse: Send + Sync {
    /// Makes sure the `lake` and `marts` schemas exist, before checks and marts run.
    async fn prepare(&self) -> Result<(), PortError> {
        Ok(())
    }
    /// Replaces the mart's rows for `dt` with the result of `select` (one transaction), its
    /// variables bound as the engine's parameters.
    async fn materialize(
        &self,
        mart: &str,
        select: &BoundSql,
        dt: NaiveDate,
        job_id: &str,
    ) -> Result<MartRun, PortError>;
    /// Runs a query with its variables bound as the engine's parameters.
    async fn query_with(&self, sql: &BoundSql) -> Result<QueryResult, PortError>;
    /// Runs a query that has no variables.
    async fn query(&self, sql: &str) -> Result<QueryResult, PortError> {
        self.query_with(&BoundSql::plain(sql)).await
    }
}

/// Who a raw message goes to, whatever its headers say (a Bcc recipient is in no header), and
/// how SES files it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub from: String,
    pub to: Vec<String>,
    /// The SES configuration set that receives the message's events (delivery, bounce, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_set: Option<String>,
    /// SES message tags, passed on to the configuration set's event destinations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
}

/// Sends a raw MIME message: SESv2 on AWS, `.eml` files in an outbox locally.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Returns the message id the service gave (or the outbox file name).
    async fn send_raw(&self, envelope: &Envelope, raw: Vec<u8>) -> Result<String, PortError>;
}

/// Idempotency records: DynamoDB conditional writes on AWS, files locally.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Records `key` with `value` unless it exists; returns the existing value if it does.
    async fn put_if_absent(
        &self,
        key: &str,
        value: serde_json::Value,
    ) -> Result<Option<serde_json::Value>, PortError>;
    async fn get(&self, key: &str) -> Result<Option<serde_json::Value>, PortError>;
    async fn put(&self, key: &str, value: serde_json::Value) -> Result<(), PortError>;
    /// Removes `key` if it still holds `expected` (a claim this attempt made); returns whether
    /// it did. Another writer's newer value is left alone.
    async fn remove_if(&self, key: &str, expected: &serde_json::Value) -> Result<bool, PortError>;
    /// Every record whose key starts with `prefix`, in key order. For the small sets an
    /// operator lists (pending approvals), not for the idempotency ledger.
    async fn list(&self, prefix: &str) -> Result<Vec<(String, serde_json::Value)>, PortError>;
}

/// Answers a task that waits for a callback (`.waitForTaskToken`): SendTaskSuccess on AWS,
/// a decision file read by the local runner.
#[async_trait]
pub trait TaskCallbacks: Send + Sync {
    async fn succeed(&self, token: &str, output: serde_json::Value) -> Result<(), PortError>;
    /// SendTaskFailure: the task fails with `error` (a name its Catch can match) and `cause`.
    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), PortError>;
}

/// A POST to a service outside AWS (Slack's Web API, a Teams workflow, a webhook).
#[derive(Debug, Clone, PartialEq)]
pub struct WebRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Its answer, whatever the status: the caller reads the service's own error words.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WebResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WebResponse {
    /// The first header of `name`, any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text, cut for an error message.
    pub fn body_text(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        text.chars().take(300).collect()
    }
}

/// Posts to the web: the same HTTPS client on AWS and on a laptop. A connection that fails or
/// times out is transient; any answer, even 4xx or 5xx, is returned for the caller to read.
#[async_trait]
pub trait Web: Send + Sync {
    async fn post(&self, request: WebRequest) -> Result<WebResponse, PortError>;
}

/// Credentials by name (`daybook/slack-bot`): Secrets Manager on AWS, files locally.
#[async_trait]
pub trait Secrets: Send + Sync {
    async fn read(&self, name: &str) -> Result<String, PortError>;
}

/// A URL as an error shows it: its scheme, host and first path part, never the rest (a
/// Teams workflow's URL is its credential, a response URL a capability).
pub fn shown_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let mut parts = rest.splitn(3, '/');
    let host = parts.next().unwrap_or_default();
    match parts.next() {
        Some(first) if !first.is_empty() => format!("{scheme}://{host}/{first}/…"),
        _ => format!("{scheme}://{host}/"),
    }
}
