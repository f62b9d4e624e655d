//! Relational sources (RDS PostgreSQL and MySQL read replicas, SQLite locally) as configured:
//! which tables, whole or incrementally, and how to connect.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RdsSource {
    /// The lake source name: tables go to `lake/<source>/<table>/`.
    pub source: String,
    /// `postgres://…`, `mysql://…` or `sqlite://path`; on AWS leave it out and give `secret_arn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A Secrets Manager secret with the credentials, in any shape AWS documents: one made for
    /// RDS (engine, host, port, username, password, dbname) or an RDS-managed master secret
    /// (username and password only, the rest from `url`, given then without credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_arn: Option<String>,
    /// The CA bundle (the RDS global bundle) to verify the server's certificate and host name
    /// against (`verify-full`): its PEM text, or the key of a PEM file in the lake's store
    /// (`config/rds-global-bundle.pem`). Without it the connection is still encrypted
    /// (`sslmode=require`) but the server is not verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_root_cert: Option<String>,
    pub tables: Vec<TableExport>,
    #[serde(default = "default_row_group_rows")]
    pub row_group_rows: usize,
}

fn default_row_group_rows() -> usize {
    65_536
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableExport {
    /// The table in the database, optionally `schema.table`.
    pub table: String,
    /// The lake table's name (default: the table's name without its schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Export only rows whose value in this column is above the last run's highest (`id`,
    /// `updated_at`); without it every run exports the whole table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<String>,
    /// A SELECT to export instead of the whole table (its columns must include the watermark).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

impl RdsSource {
    /// The source and every lake table are plain names, and no two tables share one.
    pub fn check_names(&self) -> Result<(), String> {
        crate::naming::check_plain(&self.source, "source")?;
        let mut seen = std::collections::BTreeSet::new();
        for table in &self.tables {
            let name = table.lake_name();
            crate::naming::check_plain(&name, "lake table (set `name` to choose one)")?;
            if !seen.insert(name.clone()) {
                return Err(format!(
                    "two tables of source {:?} are named {name:?} in the lake: give one a `name`",
                    self.source
                ));
            }
        }
        Ok(())
    }
}

impl TableExport {
    pub fn new(table: &str) -> Self {
        Self {
            table: table.to_string(),
            name: None,
            watermark: None,
            query: None,
        }
    }

    pub fn lake_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            self.table
                .rsplit('.')
                .next()
                .unwrap_or(&self.table)
                .to_string()
        })
    }

    /// The state-store key of this table's high-water mark.
    pub fn watermark_key(&self, source: &str) -> String {
        format!("watermarks/{source}/{}", self.lake_name())
    }
}

/// The high-water mark an incremental export leaves for the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Watermark {
    pub column: String,
    /// The highest value exported, as a SQL literal of the column's type.
    pub value: String,
    /// The mark this job started from: a rerun of the same job starts there again, so that it
    /// exports the same rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    pub job_id: String,
}

/// Hides the password of a connection URL, for messages and logs.
/// The PEM bytes `ssl_root_cert` names: the text itself when it is PEM, else the object at that
/// key of `store`.
pub async fn ca_bundle(
    store: &dyn crate::store::ObjectStore,
    ssl_root_cert: &str,
) -> Result<Vec<u8>, String> {
    if ssl_root_cert.trim_start().starts_with("-----BEGIN") {
        return Ok(ssl_root_cert.as_bytes().to_vec());
    }
    let bytes = store.get(ssl_root_cert).await.map_err(|e| {
        format!(
            "reading the CA bundle ssl_root_cert = {ssl_root_cert:?}: {e}; give the PEM text itself, or put the bundle at that key (e.g. config/rds-global-bundle.pem)"
        )
    })?;
    if !String::from_utf8_lossy(&bytes).contains("-----BEGIN CERTIFICATE-----") {
        return Err(format!(
            "{} holds no PEM certificate: ssl_root_cert must be a CA bundle such as RDS's global-bundle.pem",
            store.location(ssl_root_cert)
        ));
    }
    Ok(bytes)
}

pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_url("postgres://report:s3cr%40t@db.example.com:5432/shop?sslmode=require"),
            "postgres://report:***@db.example.com:5432/shop?sslmode=require"
        );
        assert_eq!(redact_url("sqlite://shop.sqlite"), "sqlite://shop.sqlite");
    }

    #[test]
    fn lake_names_drop_the_schema() {
        assert_eq!(TableExport::new("sales.orders").lake_name(), "orders");
        assert_eq!(
            TableExport::new("orders").watermark_key("shop"),
            "watermarks/shop/orders"
        );
    }
}
