//! The Data API stand-in's engine when a test gives it a PostgreSQL: every statement it accepts
//! runs there, as Redshift would run it, and its rows come back as the Data API gives them
//! (typed fields, `ColumnMetadata`, pages). A session is one connection, so its temporary tables
//! are its own; a batch is one transaction; a `:name` parameter becomes the quoted literal
//! Redshift makes of it (the Data API sends every value as text, cast where it is used).
//! Redshift's own syntax is rewritten where PostgreSQL's differs: `GRANT … TO ROLE r` is
//! `TO r`, and `CREATE EXTERNAL SCHEMA` is the `lake` schema the test loaded.

use serde_json::{Value, json};
use sqlx::postgres::PgRow;
use sqlx::{Column, Connection, Executor, PgConnection, Row, TypeInfo, ValueRef};
use std::collections::HashMap;

/// One statement's rows: its columns (name, Redshift type name) and each row's Data API fields.
#[derive(Clone, Default)]
pub struct ResultSet {
    pub columns: Vec<(String, String)>,
    pub records: Vec<Vec<Value>>,
}

pub struct PostgresEngine {
    runtime: tokio::runtime::Runtime,
    url: String,
    sessions: HashMap<String, PgConnection>,
    /// Each statement's rows, and each of its SQL statements' row count.
    pub results: HashMap<String, (ResultSet, Vec<i64>)>,
}

/// `sql` as PostgreSQL takes it, or `None` for a statement with nothing to do there.
fn for_postgres(sql: &str, parameters: &[(String, String)]) -> Option<String> {
    if sql.starts_with("CREATE EXTERNAL SCHEMA") {
        return None;
    }
    let mut sql = sql.replace(" TO ROLE ", " TO ");
    // Longest names first, so that :day does not eat into :days.
    let mut parameters = parameters.to_vec();
    parameters.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    for (name, value) in parameters {
        sql = sql.replace(
            &format!(":{name}"),
            &format!("'{}'", value.replace('\'', "''")),
        );
    }
    Some(sql)
}

/// PostgreSQL's type name as the Data API's `typeName` says it for Redshift.
fn redshift_type(postgres: &str) -> String {
    match postgres.to_ascii_lowercase().as_str() {
        "text" | "varchar" | "name" | "bpchar" => "varchar".into(),
        other => other.into(),
    }
}

/// A value as a Data API `Field`: the text PostgreSQL's simple protocol gives, typed by column.
fn field(row: &PgRow, index: usize) -> Value {
    let raw = row.try_get_raw(index).expect("a column of the row");
    if raw.is_null() {
        return json!({ "isNull": true });
    }
    let kind = raw.type_info().name().to_ascii_lowercase();
    let text = raw
        .as_str()
        .expect("simple-protocol values are text")
        .to_string();
    match kind.as_str() {
        "int2" | "int4" | "int8" => json!({ "longValue": text.parse::<i64>().unwrap() }),
        "float4" | "float8" => json!({ "doubleValue": text.parse::<f64>().unwrap() }),
        "bool" => json!({ "booleanValue": text == "t" }),
        _ => json!({ "stringValue": text }),
    }
}

impl PostgresEngine {
    /// Connects to `url` and makes the Redshift roles the README's one-time steps make.
    pub fn new(url: &str, roles: &[&str]) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let engine = Self {
            runtime,
            url: url.to_string(),
            sessions: HashMap::new(),
            results: HashMap::new(),
        };
        // A thread of its own: the test calling this may be inside a runtime already.
        std::thread::scope(|scope| {
            scope.spawn(|| {
                engine.runtime.block_on(async {
                    let mut connection = PgConnection::connect(url).await.unwrap();
                    for role in roles {
                        sqlx::raw_sql(&format!("CREATE ROLE {role}"))
                            .execute(&mut connection)
                            .await
                            .unwrap();
                    }
                })
            });
        });
        engine
    }

    /// Runs statement `id`'s SQL (a batch in one transaction) in `session`'s connection or a
    /// connection of its own; PostgreSQL's error, as Redshift words its own.
    pub fn run(
        &mut self,
        id: &str,
        session: Option<&str>,
        sqls: &[String],
        parameters: &[(String, String)],
    ) -> Result<(), String> {
        let mut connection = match session.and_then(|s| self.sessions.remove(s)) {
            Some(connection) => connection,
            None => self
                .runtime
                .block_on(PgConnection::connect(&self.url))
                .map_err(|e| e.to_string())?,
        };
        let batch = sqls.len() > 1;
        let outcome = self.runtime.block_on(async {
            if batch {
                sqlx::raw_sql("BEGIN").execute(&mut connection).await?;
            }
            let mut result = ResultSet::default();
            let mut counts = Vec::new();
            for sql in sqls {
                let Some(sql) = for_postgres(sql, parameters) else {
                    counts.push(0);
                    continue;
                };
                let reads = {
                    let head = sql.trim_start().to_ascii_uppercase();
                    head.starts_with("SELECT") || head.starts_with("WITH")
                };
                if reads {
                    let rows = sqlx::raw_sql(&sql).fetch_all(&mut connection).await?;
                    counts.push(rows.len() as i64);
                    // No rows, no row description: the Data API still names the columns.
                    let columns = match rows.first() {
                        Some(row) => row
                            .columns()
                            .iter()
                            .map(|c| (c.name().to_string(), redshift_type(c.type_info().name())))
                            .collect(),
                        None => connection
                            .describe(sql.as_str())
                            .await?
                            .columns()
                            .iter()
                            .map(|c| (c.name().to_string(), redshift_type(c.type_info().name())))
                            .collect(),
                    };
                    result = ResultSet {
                        columns,
                        records: rows
                            .iter()
                            .map(|row| (0..row.len()).map(|i| field(row, i)).collect())
                            .collect(),
                    };
                } else {
                    let done = sqlx::raw_sql(&sql).execute(&mut connection).await?;
                    counts.push(done.rows_affected() as i64);
                }
            }
            if batch {
                sqlx::raw_sql("COMMIT").execute(&mut connection).await?;
            }
            Ok::<_, sqlx::Error>((result, counts))
        });
        let outcome = match outcome {
            Ok(done) => Ok(done),
            Err(error) => {
                if batch {
                    let _ = self
                        .runtime
                        .block_on(sqlx::raw_sql("ROLLBACK").execute(&mut connection));
                }
                Err(match error {
                    sqlx::Error::Database(e) => e.message().to_string(),
                    other => other.to_string(),
                })
            }
        };
        if let Some(session) = session {
            self.sessions.insert(session.to_string(), connection);
        }
        let (result, counts) = outcome?;
        self.results.insert(id.to_string(), (result, counts));
        Ok(())
    }
}
