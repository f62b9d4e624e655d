//! The warehouse on Redshift through the Data API: marts materialised per date in one
//! transaction (BatchExecuteStatement), queries polled with backoff and read page by page, the
//! run's variables passed as the Data API's parameters.

use crate::sdk::{classified, describe};
use async_trait::async_trait;
use aws_sdk_redshiftdata::Client;
use aws_sdk_redshiftdata::types::{Field, SqlParameter, StatusString};
use chrono::NaiveDate;
use daybook_core::marts::{LAKE_SCHEMA, MARTS_SCHEMA};
use daybook_core::ports::{MartRun, PortError, QueryResult, Warehouse};
use daybook_core::variables::{BoundSql, Placeholders};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Where statements run: a Serverless workgroup or a provisioned cluster.
#[derive(Debug, Clone, PartialEq)]
pub enum RedshiftTarget {
    Workgroup(String),
    Cluster { id: String, db_user: Option<String> },
}

/// How DescribeStatement is polled: starting delay, doubling up to `max_delay`, given up after `deadline`.
#[derive(Debug, Clone, Copy)]
pub struct PollPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    pub deadline: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            deadline: Duration::from_secs(600),
        }
    }
}

/// The external schema that shows the Glue database to Redshift Spectrum.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrumSchema {
    pub glue_database: String,
    /// The role Redshift assumes to read Glue and S3; `default` uses the cluster's default role.
    pub iam_role: String,
}

pub struct RedshiftWarehouse {
    client: Client,
    target: RedshiftTarget,
    database: String,
    secret_arn: Option<String>,
    poll: PollPolicy,
    spectrum: Option<SpectrumSchema>,
    reader_role: Option<String>,
}

/// Expands to a request builder with the target, database and secret set.
macro_rules! targeted {
    ($self:ident, $builder:expr) => {{
        let builder = $builder
            .database(&$self.database)
            .set_secret_arn($self.secret_arn.clone());
        match &$self.target {
            RedshiftTarget::Workgroup(name) => builder.workgroup_name(name),
            RedshiftTarget::Cluster { id, db_user } => {
                builder.cluster_identifier(id).set_db_user(db_user.clone())
            }
        }
    }};
}

impl RedshiftWarehouse {
    pub fn new(
        client: Client,
        target: RedshiftTarget,
        database: impl Into<String>,
        secret_arn: Option<String>,
    ) -> Self {
        Self {
            client,
            target,
            database: database.into(),
            secret_arn,
            poll: PollPolicy::default(),
            spectrum: None,
            reader_role: None,
        }
    }

    /// The Redshift role that reads the marts without building them. With IAM authentication
    /// each function's role is a database user of its own (`IAMR:<role name>`), which exists
    /// only once it has connected; so the loader grants to a Redshift role, and each reading
    /// function's IAM role carries the tag `RedshiftDbRoles` naming it, which Redshift grants
    /// at every login (Redshift management guide, "Granting permissions to federated users").
    pub fn with_reader_role(mut self, role: Option<String>) -> Result<Self, PortError> {
        if let Some(role) = &role {
            let plain = !role.is_empty()
                && role.len() <= 127
                && role.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !role.starts_with(|c: char| c.is_ascii_digit());
            if !plain {
                return Err(PortError::with_kind(
                    format!(
                        "the reader role {role:?} is not a plain Redshift role name (letters, digits and _, not starting with a digit); fix REDSHIFT_READER_ROLE"
                    ),
                    daybook_core::ErrorKind::InvalidInput,
                ));
            }
        }
        self.reader_role = role;
        Ok(self)
    }

    /// Creates the `lake` external schema from the Glue database when it is absent.
    pub fn with_spectrum(mut self, spectrum: SpectrumSchema) -> Self {
        self.spectrum = Some(spectrum);
        self
    }

    /// Runs statements as one transaction and waits for them; the finished statement's status.
    /// In `session`, they see its temporary tables; a session names its own target, so the
    /// request names none.
    async fn batch(
        &self,
        statements: Vec<String>,
        name: String,
        what: &str,
        session: Option<String>,
    ) -> Result<
        aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput,
        PortError,
    > {
        let request = match session {
            Some(id) => self.client.batch_execute_statement().session_id(id),
            None => targeted!(self, self.client.batch_execute_statement()),
        }
        .set_sqls(Some(statements))
        .statement_name(name);
        let started = request.send().await.map_err(|e| {
            classified(
                PortError::new(format!("{what}: BatchExecuteStatement: {}", describe(&e))),
                &e,
            )
        })?;
        self.wait(&started.id.unwrap_or_default(), what).await
    }

    pub fn with_poll(mut self, poll: PollPolicy) -> Self {
        self.poll = poll;
        self
    }

    /// Waits for a statement to finish; its Redshift error text if it failed.
    async fn wait(
        &self,
        id: &str,
        what: &str,
    ) -> Result<
        aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput,
        PortError,
    > {
        let started = Instant::now();
        let mut delay = self.poll.first_delay;
        loop {
            let status = self
                .client
                .describe_statement()
                .id(id)
                .send()
                .await
                .map_err(|e| {
                    classified(
                        PortError::new(format!("{what}: DescribeStatement {id}: {}", describe(&e))),
                        &e,
                    )
                })?;
            match status.status {
                Some(StatusString::Finished) => return Ok(status),
                Some(StatusString::Failed) | Some(StatusString::Aborted) => {
                    let error = status
                        .error
                        .as_deref()
                        .unwrap_or("the statement failed without an error message");
                    // Concurrent transactions on the same tables (Redshift's error 1023), or two
                    // days creating the same mart at the same moment: the next attempt wins.
                    let concurrent = [
                        "Serializable isolation violation",
                        "ERROR: 1023",
                        "pg_type_typname_nsp_index",
                    ];
                    let kind = if concurrent.iter().any(|c| error.contains(c)) {
                        daybook_core::ErrorKind::Transient
                    } else {
                        daybook_core::ErrorKind::Failed
                    };
                    return Err(PortError::with_kind(
                        format!(
                            "{what}: Redshift says: {error}{}",
                            failed_statement(&status)
                        ),
                        kind,
                    ));
                }
                _ => {}
            }
            if started.elapsed() >= self.poll.deadline {
                let _ = self.client.cancel_statement().id(id).send().await;
                return Err(PortError::transient(format!(
                    "{what}: still running after {}s, cancelled; raise the poll deadline or make the statement cheaper",
                    self.poll.deadline.as_secs()
                )));
            }
            // All of an invocation's waits share its time: the statement is cancelled while
            // there is time left to say so, and the state machine retries the step.
            let invocation = crate::invocation::invocation_deadline();
            if let Some(end) = invocation.filter(|end| Instant::now() + delay >= *end) {
                let _ = self.client.cancel_statement().id(id).send().await;
                return Err(PortError::transient(format!(
                    "{what}: still running {}s into this invocation, whose time is up in {}s; cancelled so that the state machine retries the step. A statement this slow wants a larger function timeout, or a cheaper mart",
                    started.elapsed().as_secs(),
                    end.saturating_duration_since(Instant::now()).as_secs()
                )));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.poll.max_delay);
        }
    }
}

#[async_trait]
impl Warehouse for RedshiftWarehouse {
    async fn prepare(&self) -> Result<(), PortError> {
        let mut statements = vec![format!("CREATE SCHEMA IF NOT EXISTS {MARTS_SCHEMA}")];
        if let Some(spectrum) = &self.spectrum {
            let role = match spectrum.iam_role.as_str() {
                "default" => "default".to_string(),
                arn => format!("'{arn}'"),
            };
            statements.push(format!(
                "CREATE EXTERNAL SCHEMA IF NOT EXISTS {LAKE_SCHEMA} FROM DATA CATALOG DATABASE '{}' IAM_ROLE {role}",
                spectrum.glue_database
            ));
        }
        if let Some(role) = &self.reader_role {
            let to = format!("ROLE {role}");
            statements.push(format!("GRANT USAGE ON SCHEMA {MARTS_SCHEMA} TO {to}"));
            statements.push(format!(
                "GRANT SELECT ON ALL TABLES IN SCHEMA {MARTS_SCHEMA} TO {to}"
            ));
            // Marts this loader creates later are readable too, without another grant.
            statements.push(format!(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA {MARTS_SCHEMA} GRANT SELECT ON TABLES TO {to}"
            ));
            if self.spectrum.is_some() {
                statements.push(format!("GRANT USAGE ON SCHEMA {LAKE_SCHEMA} TO {to}"));
            }
        }
        let prepared = self
            .batch(
                statements,
                "daybook-schemas".into(),
                "creating the marts and lake schemas",
                None,
            )
            .await;
        match (prepared, &self.reader_role) {
            (Err(e), Some(role))
                if e.to_string().contains("does not exist") && e.to_string().contains(role) =>
            {
                Err(PortError::with_kind(
                    format!(
                        "{e}. The Redshift role {role} is made once, by an administrator, before the first run: CREATE ROLE {role}; (see docs/deploying.md, Redshift access)"
                    ),
                    daybook_core::ErrorKind::InvalidInput,
                ))
            }
            (result, _) => result.map(|_| ()),
        }
    }

    async fn materialize(
        &self,
        mart: &str,
        select: &BoundSql,
        dt: NaiveDate,
        job_id: &str,
    ) -> Result<MartRun, PortError> {
        let table = format!("{MARTS_SCHEMA}.{mart}");
        let what = format!("mart {mart} for {dt}");
        let rows_of = select
            .wrapped(
                &format!("SELECT DATE '{dt}' AS dt, q.* FROM (\n"),
                "\n) AS q",
            )
            .with_empty_values_inlined();
        // BatchExecuteStatement takes no parameters. With variables, the SELECT fills a
        // temporary table on its own (ExecuteStatement takes them) in a new session, and the
        // batch below reads that table in the same session; without, the batch fills it.
        let stage = format!("daybook_stage_{mart}");
        let (mut statements, session) = if rows_of.has_parameters() {
            let session = self
                .stage(
                    &stage,
                    &rows_of,
                    format!("daybook-{job_id}-{mart}-stage"),
                    &what,
                )
                .await?;
            (Vec::new(), Some(session))
        } else {
            let select = rows_of.render(Placeholders::Colon);
            (vec![format!("CREATE TEMP TABLE {stage} AS {select}")], None)
        };
        // One form for the first build and every later one, in one transaction: the table is
        // made from the staged rows' columns if it is not there (two days of a backfill may
        // both be first), then the day's rows are replaced, so a reader never sees a half-built
        // day. Two days writing the same mart at once is Redshift's serializable isolation
        // error 1023, retried as transient.
        statements.extend([
            format!("CREATE TABLE IF NOT EXISTS {table} (LIKE {stage})"),
            format!("DELETE FROM {table} WHERE dt = DATE '{dt}'"),
            format!("INSERT INTO {table} SELECT * FROM {stage}"),
        ]);
        let status = self
            .batch(
                statements,
                format!("daybook-{job_id}-{mart}"),
                &what,
                session,
            )
            .await?;
        let rows = status
            .sub_statements
            .unwrap_or_default()
            .last()
            .map(|s| s.result_rows.max(0) as u64)
            .unwrap_or(0);
        Ok(MartRun {
            mart: mart.to_string(),
            dt,
            rows,
            location: table,
        })
    }

    async fn query_with(&self, bound: &BoundSql) -> Result<QueryResult, PortError> {
        let bound = &bound.with_empty_values_inlined();
        let sql = bound.render(Placeholders::Colon);
        let what = format!("query {:?}", sql.chars().take(80).collect::<String>());
        let started = targeted!(self, self.client.execute_statement())
            .sql(&sql)
            .set_parameters(parameters(bound))
            .send()
            .await
            .map_err(|e| {
                classified(
                    PortError::new(format!("{what}: ExecuteStatement: {}", describe(&e))),
                    &e,
                )
            })?;
        let id = started.id.unwrap_or_default();
        self.wait(&id, &what).await?;
        let mut result = QueryResult::default();
        let mut numeric_columns: Vec<bool> = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .get_statement_result()
                .id(&id)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| {
                    classified(
                        PortError::new(format!("{what}: GetStatementResult: {}", describe(&e))),
                        &e,
                    )
                })?;
            if result.columns.is_empty() {
                let metadata = page.column_metadata.unwrap_or_default();
                numeric_columns = metadata
                    .iter()
                    .map(|c| is_decimal_type(c.type_name.as_deref().unwrap_or_default()))
                    .collect();
                result.columns = metadata
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| c.name.unwrap_or_else(|| format!("column{}", i + 1)))
                    .collect();
            }
            result.rows.extend(page.records.into_iter().map(|record| {
                record
                    .into_iter()
                    .enumerate()
                    .map(|(i, field)| {
                        field_value(field, numeric_columns.get(i).copied().unwrap_or(false))
                    })
                    .collect()
            }));
            token = page.next_token;
            if token.is_none() {
                return Ok(result);
            }
        }
    }
}

/// Seconds a staging session outlives its last statement: the batch that reads the staged
/// rows starts right after it.
const STAGE_SESSION_SECONDS: i32 = 120;

impl RedshiftWarehouse {
    /// Runs `select` with its parameters into the temporary table `stage` of a new session,
    /// waits for it, and returns the session's id.
    async fn stage(
        &self,
        stage: &str,
        select: &BoundSql,
        name: String,
        what: &str,
    ) -> Result<String, PortError> {
        let started = targeted!(self, self.client.execute_statement())
            .sql(format!(
                "CREATE TEMP TABLE {stage} AS {}",
                select.render(Placeholders::Colon)
            ))
            .set_parameters(parameters(select))
            .session_keep_alive_seconds(STAGE_SESSION_SECONDS)
            .statement_name(name)
            .send()
            .await
            .map_err(|e| {
                classified(
                    PortError::new(format!(
                        "{what}: ExecuteStatement (staging the rows with the run's variables): {}",
                        describe(&e)
                    )),
                    &e,
                )
            })?;
        let session = started.session_id.ok_or_else(|| {
            PortError::new(format!(
                "{what}: Redshift started no session for the staged rows; the Data API in this region may not support sessions (SessionKeepAliveSeconds)"
            ))
        })?;
        self.wait(&started.id.unwrap_or_default(), what).await?;
        Ok(session)
    }
}

/// The statement's parameters as the Data API takes them: every value as text.
fn parameters(bound: &BoundSql) -> Option<Vec<SqlParameter>> {
    bound.has_parameters().then(|| {
        bound
            .parameters()
            .iter()
            .map(|p| {
                SqlParameter::builder()
                    .name(&p.name)
                    .value(&p.value)
                    .build()
                    .expect("name and value are set")
            })
            .collect()
    })
}

/// In a batch, which statement failed, with the start of its text.
fn failed_statement(
    status: &aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput,
) -> String {
    status
        .sub_statements()
        .iter()
        .enumerate()
        .find(|(_, s)| {
            s.status() == Some(&aws_sdk_redshiftdata::types::StatementStatusString::Failed)
        })
        .map(|(i, s)| {
            let text: String = s
                .query_string()
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect();
            format!("\nin statement {} of the batch:\n{text}", i + 1)
        })
        .unwrap_or_default()
}

/// Redshift returns NUMERIC/DECIMAL values as text; reports want them as numbers.
fn is_decimal_type(type_name: &str) -> bool {
    matches!(
        type_name.to_ascii_lowercase().as_str(),
        "numeric" | "decimal"
    )
}

fn field_value(field: Field, decimal: bool) -> Value {
    match field {
        Field::LongValue(n) => Value::from(n),
        Field::DoubleValue(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Field::BooleanValue(b) => Value::Bool(b),
        Field::StringValue(s) if decimal => s
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::String(s)),
        Field::StringValue(s) => Value::String(s),
        Field::IsNull(_) => Value::Null,
        Field::BlobValue(b) => Value::String(format!("<{} bytes>", b.into_inner().len())),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_decimal_columns_turn_text_into_numbers() {
        assert_eq!(
            field_value(Field::StringValue("9781234567897".into()), false),
            Value::String("9781234567897".into())
        );
        assert_eq!(
            field_value(Field::StringValue("12.50".into()), true),
            serde_json::json!(12.5)
        );
        assert_eq!(
            field_value(Field::StringValue("n/a".into()), true),
            Value::String("n/a".into())
        );
        assert!(is_decimal_type("NUMERIC"));
        assert!(!is_decimal_type("varchar"));
    }
}
