//! A connection to one relational source and the streaming of a query's rows into Parquet.

use crate::columns::{Cell, ColumnBuilder, ColumnKind};
use crate::error::RdsError;
use crate::plan::{ColumnMeta, PlannedColumn, plan_columns};
#[cfg(feature = "sqlite")]
use crate::sqlite;
use crate::{mysql, postgres};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use daybook_core::parquet_sink::{ParquetSink, WrittenFile};
use daybook_core::relational::redact_url;
use futures::TryStreamExt;
use sqlx::{Column, Executor, Row, TypeInfo};
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub enum Database {
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
}

/// How long to wait for a connection before saying the database is unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

impl Database {
    /// Connects to `url`. TLS is required for any host but loopback unless the URL says
    /// otherwise, and `ca_pem` (the RDS CA bundle, PEM) turns on full verification of the
    /// server's certificate and host name.
    pub async fn connect(url: &str, ca_pem: Option<&[u8]>) -> Result<Self, RdsError> {
        let target = redact_url(url);
        let failed = |e: sqlx::Error| RdsError::Connect {
            target: target.clone(),
            message: connect_advice(&e),
            kind: crate::error::connect_kind(&e),
        };
        let loopback = [
            "@localhost",
            "@127.0.0.1",
            "@[::1]",
            "://localhost",
            "://127.0.0.1",
        ]
        .iter()
        .any(|h| url.contains(h));
        let explicit = url.contains("sslmode=") || url.contains("ssl-mode=");
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
            let mut options = PgConnectOptions::from_str(url).map_err(failed)?;
            if let Some(ca) = ca_pem {
                options = options
                    .ssl_root_cert_from_pem(ca.to_vec())
                    .ssl_mode(PgSslMode::VerifyFull);
            } else if !explicit && !loopback {
                options = options.ssl_mode(PgSslMode::Require);
            }
            probe::<sqlx::PgConnection>(&options)
                .await
                .map_err(failed)?;
            let pool = PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(CONNECT_TIMEOUT)
                .connect_lazy_with(options);
            Ok(Database::Postgres(pool))
        } else if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions, MySqlSslMode};
            let url = url.replacen("mariadb://", "mysql://", 1);
            let mut options = MySqlConnectOptions::from_str(&url).map_err(failed)?;
            if let Some(ca) = ca_pem {
                options = options
                    .ssl_ca_from_pem(ca.to_vec())
                    .ssl_mode(MySqlSslMode::VerifyIdentity);
            } else if !explicit && !loopback {
                options = options.ssl_mode(MySqlSslMode::Required);
            }
            probe::<sqlx::MySqlConnection>(&options)
                .await
                .map_err(failed)?;
            let pool = MySqlPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(CONNECT_TIMEOUT)
                .connect_lazy_with(options);
            Ok(Database::MySql(pool))
        } else if url.starts_with("sqlite:") {
            Self::connect_sqlite(url, failed).await
        } else {
            Err(RdsError::Connect {
                target,
                message: "the URL must start with postgres://, mysql:// or sqlite:".into(),
                kind: daybook_core::ErrorKind::InvalidInput,
            })
        }
    }

    #[cfg(feature = "sqlite")]
    async fn connect_sqlite(
        url: &str,
        failed: impl Fn(sqlx::Error) -> RdsError,
    ) -> Result<Self, RdsError> {
        use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
        let options = SqliteConnectOptions::from_str(url)
            .map_err(&failed)?
            .read_only(true);
        probe::<sqlx::SqliteConnection>(&options)
            .await
            .map_err(&failed)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Database::Sqlite(pool))
    }

    #[cfg(not(feature = "sqlite"))]
    async fn connect_sqlite(
        url: &str,
        _failed: impl Fn(sqlx::Error) -> RdsError,
    ) -> Result<Self, RdsError> {
        Err(RdsError::Connect {
            target: redact_url(url),
            message: "this build reads PostgreSQL and MySQL only: SQLite is the `sqlite` feature \
                      of daybook-rds, which the daybook command has"
                .into(),
            kind: daybook_core::ErrorKind::InvalidInput,
        })
    }

    pub fn engine(&self) -> &'static str {
        match self {
            Database::Postgres(_) => "postgres",
            Database::MySql(_) => "mysql",
            #[cfg(feature = "sqlite")]
            Database::Sqlite(_) => "sqlite",
        }
    }

    /// Catalog facts about `table`'s columns: decimal precision (and SQLite's declared types).
    pub async fn column_meta(
        &self,
        table: &str,
    ) -> Result<HashMap<String, ColumnMeta>, sqlx::Error> {
        let (schema, name) = match table.rsplit_once('.') {
            Some((schema, name)) => (Some(schema.to_string()), name.to_string()),
            None => (None, table.to_string()),
        };
        let mut meta = HashMap::new();
        match self {
            Database::Postgres(pool) => {
                let rows: Vec<(String, i32, i32)> = sqlx::query_as(postgres::DECIMALS_SQL)
                    .bind(&name)
                    .bind(&schema)
                    .fetch_all(pool)
                    .await?;
                for (column, precision, scale) in rows {
                    meta.insert(column, decimal_meta(i64::from(precision), i64::from(scale)));
                }
            }
            Database::MySql(pool) => {
                let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(mysql::DECIMALS_SQL)
                    .bind(&name)
                    .bind(&schema)
                    .fetch_all(pool)
                    .await?;
                for (column, data_type, precision, scale) in rows {
                    let mut column_meta = ColumnMeta::default();
                    if data_type.eq_ignore_ascii_case("decimal") {
                        column_meta = decimal_meta(precision, scale);
                    } else if mysql::is_text_type(&data_type) {
                        column_meta.declared = Some(data_type);
                    }
                    meta.insert(column, column_meta);
                }
            }
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => {
                let rows: Vec<(String, String, Option<String>)> =
                    sqlx::query_as(sqlite::DECIMALS_SQL)
                        .bind(&name)
                        .bind(&schema)
                        .fetch_all(pool)
                        .await?;
                for (column, declared, _) in rows {
                    meta.insert(
                        column,
                        ColumnMeta {
                            precision_scale: sqlite::declared_precision(&declared),
                            declared: Some(declared),
                        },
                    );
                }
            }
        }
        Ok(meta)
    }

    /// The result columns of `sql`, without running it: (name, engine type name).
    pub async fn describe(&self, sql: &str) -> Result<Vec<(String, String)>, sqlx::Error> {
        fn names<C: Column>(columns: &[C]) -> Vec<(String, String)> {
            columns
                .iter()
                .map(|c| (c.name().to_string(), c.type_info().name().to_string()))
                .collect()
        }
        Ok(match self {
            Database::Postgres(pool) => names(pool.describe(sql).await?.columns()),
            Database::MySql(pool) => names(pool.describe(sql).await?.columns()),
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => names(pool.describe(sql).await?.columns()),
        })
    }

    pub fn plan(
        &self,
        table: &str,
        columns: &[(String, String)],
        meta: &HashMap<String, ColumnMeta>,
        notes: &mut Vec<String>,
    ) -> Result<Vec<PlannedColumn>, RdsError> {
        match self {
            Database::Postgres(_) => plan_columns(table, columns, meta, postgres::kind, notes),
            Database::MySql(_) => plan_columns(table, columns, meta, mysql::kind, notes),
            #[cfg(feature = "sqlite")]
            Database::Sqlite(_) => plan_columns(table, columns, meta, sqlite::kind, notes),
        }
    }

    /// How this engine quotes names and marks a parameter.
    pub fn dialect(&self) -> Dialect {
        match self {
            Database::Postgres(_) => Dialect::Postgres,
            Database::MySql(_) => Dialect::MySql,
            #[cfg(feature = "sqlite")]
            Database::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Streams the rows of `sql` into `writer`; memory is one row group whatever the table's
    /// size. `after` (the previous run's watermark, with its column's kind) is bound to the
    /// query's one parameter.
    pub async fn stream(
        &self,
        sql: &str,
        after: Option<(&Cell, &ColumnKind)>,
        writer: &mut TableWriter,
    ) -> Result<(), String> {
        match self {
            Database::Postgres(pool) => {
                let query = sqlx::query(sql);
                let query = match after {
                    None => query,
                    Some((Cell::Decimal(v), _)) => query.bind(v.clone()),
                    Some((Cell::Timestamp(t), ColumnKind::Timestamp { zoned: false })) => {
                        query.bind(t.naive_utc())
                    }
                    Some((cell, _)) => bind(query, cell),
                };
                stream_rows(pool, query, postgres::cell, writer).await
            }
            Database::MySql(pool) => {
                let query = sqlx::query(sql);
                let query = match after {
                    None => query,
                    Some((Cell::Decimal(v), _)) => query.bind(v.clone()),
                    Some((Cell::Timestamp(t), _)) => query.bind(t.naive_utc()),
                    Some((cell, _)) => bind(query, cell),
                };
                stream_rows(pool, query, mysql::cell, writer).await
            }
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => {
                // SQLite compares dates and times as the text they are stored as.
                let query = sqlx::query(sql);
                let query = match after {
                    None => query,
                    Some((Cell::Decimal(v), _)) => {
                        query.bind(bigdecimal::ToPrimitive::to_f64(v).unwrap_or(f64::NAN))
                    }
                    Some((Cell::Date(d), _)) => query.bind(d.to_string()),
                    Some((Cell::Timestamp(t), _)) => {
                        query.bind(t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
                    }
                    Some((cell, _)) => bind(query, cell),
                };
                stream_rows(pool, query, sqlite::cell, writer).await
            }
        }
    }

    pub async fn close(&self) {
        match self {
            Database::Postgres(pool) => pool.close().await,
            Database::MySql(pool) => pool.close().await,
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => pool.close().await,
        }
    }
}

/// One connection made and closed before the pool is built, so that a refused connection or a
/// wrong password is reported as such instead of as a pool timeout.
async fn probe<C: sqlx::Connection>(options: &C::Options) -> Result<(), sqlx::Error> {
    let connection = tokio::time::timeout(CONNECT_TIMEOUT, C::connect_with(options))
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)??;
    connection.close().await
}

fn decimal_meta(precision: i64, scale: i64) -> ColumnMeta {
    ColumnMeta {
        precision_scale: Some((
            u8::try_from(precision).unwrap_or(u8::MAX),
            i8::try_from(scale).unwrap_or(0),
        )),
        declared: None,
    }
}

fn connect_advice(error: &sqlx::Error) -> String {
    let text = error.to_string();
    // rustls reports a refused certificate through the connection's I/O error.
    let certificate = text.contains("certificate") || text.contains("UnknownIssuer");
    let advice = match error {
        sqlx::Error::Io(_) if certificate => {
            "; the server's certificate was refused: check ssl_root_cert (the RDS CA bundle, which must sign the server's certificate) and that the url names the host the certificate was issued for"
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => {
            "; check the host and port, that the database is up, and that its security group lets this function in"
        }
        sqlx::Error::Database(_) if text.contains("password") || text.contains("Access denied") => {
            "; check the user name and password (the secret's username and password on AWS)"
        }
        sqlx::Error::Tls(_) if !cfg!(feature = "tls") => {
            "; this daybook was built without TLS, which every host but loopback needs: \
             install it with `cargo install --path crates/cli --features aws`"
        }
        sqlx::Error::Tls(_) => "; check ssl_root_cert (the RDS CA bundle) and the host name",
        _ => "",
    };
    format!("{text}{advice}")
}

/// How an engine writes a name and a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql,
    Sqlite,
}

impl Dialect {
    /// `name` (or `schema.name`) quoted part by part, so whatever it holds stays a name.
    pub fn quote(self, name: &str) -> String {
        let quote = match self {
            Dialect::MySql => '`',
            Dialect::Postgres | Dialect::Sqlite => '"',
        };
        name.split('.')
            .map(|part| {
                let doubled = part.replace(quote, &format!("{quote}{quote}"));
                format!("{quote}{doubled}{quote}")
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The query's first parameter.
    pub fn parameter(self) -> &'static str {
        match self {
            Dialect::Postgres => "$1",
            Dialect::MySql | Dialect::Sqlite => "?",
        }
    }
}

type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>;

/// Binds a watermark of a kind every engine encodes alike.
fn bind<'q, DB: sqlx::Database>(query: Query<'q, DB>, cell: &Cell) -> Query<'q, DB>
where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    f64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    chrono::NaiveDate: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    chrono::DateTime<chrono::Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    match cell {
        Cell::Int(v) => query.bind(*v),
        Cell::Float(v) => query.bind(*v),
        Cell::Date(v) => query.bind(*v),
        Cell::Timestamp(v) => query.bind(*v),
        Cell::Text(v) => query.bind(v.clone()),
        // Cell::from_literal makes none of these; binding nothing makes the engine refuse the
        // query for its missing parameter rather than export the wrong rows.
        Cell::Null
        | Cell::Bool(_)
        | Cell::Binary(_)
        | Cell::Time(_)
        | Cell::List(_)
        | Cell::Decimal(_) => query,
    }
}

async fn stream_rows<'q, DB>(
    pool: &sqlx::Pool<DB>,
    query: Query<'q, DB>,
    decode: fn(&DB::Row, &PlannedColumn) -> Result<Cell, sqlx::Error>,
    writer: &mut TableWriter,
) -> Result<(), String>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    let mut connection = pool.acquire().await.map_err(|e| e.to_string())?;
    let mut rows = query.fetch(&mut *connection);
    let mut cells = Vec::with_capacity(writer.columns.len());
    while let Some(row) = rows.try_next().await.map_err(|e| e.to_string())? {
        cells.clear();
        for column in &writer.columns {
            let cell = decode(&row, column).map_err(|e| {
                format!(
                    "row {} column {}: {e}",
                    writer.rows + writer.pending as u64 + 1,
                    column.name
                )
            })?;
            cells.push(cell);
        }
        debug_assert_eq!(row.len(), writer.columns.len());
        writer.push(&cells)?;
    }
    Ok(())
}

/// One table's Parquet file being written, with the highest watermark value seen.
pub struct TableWriter {
    pub columns: Vec<PlannedColumn>,
    builders: Vec<ColumnBuilder>,
    schema: Arc<Schema>,
    sink: EncodingThread,
    pending: usize,
    row_group_rows: usize,
    pub rows: u64,
    watermark: Option<usize>,
    pub watermark_literal: Option<String>,
}

impl TableWriter {
    pub fn create(
        path: &Path,
        columns: Vec<PlannedColumn>,
        watermark: Option<&str>,
        row_group_rows: usize,
    ) -> Result<Self, String> {
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|c| Field::new(&c.name, c.kind.arrow(), true))
                .collect::<Vec<_>>(),
        ));
        let watermark = match watermark {
            None => None,
            Some(name) => Some(columns.iter().position(|c| c.name == name).ok_or_else(|| {
                format!("the watermark column {name} is not among the columns exported")
            })?),
        };
        let sink = EncodingThread::start(
            ParquetSink::create(path, schema.clone(), row_group_rows, &[])
                .map_err(|e| format!("creating {}: {e}", path.display()))?,
        );
        Ok(Self {
            builders: columns
                .iter()
                .map(|c| ColumnBuilder::new(&c.kind))
                .collect(),
            columns,
            schema,
            sink,
            pending: 0,
            row_group_rows,
            rows: 0,
            watermark,
            watermark_literal: None,
        })
    }

    fn push(&mut self, cells: &[Cell]) -> Result<(), String> {
        for ((builder, cell), column) in self.builders.iter_mut().zip(cells).zip(&self.columns) {
            builder.append(cell).map_err(|e| {
                format!(
                    "row {} column {}: {e}",
                    self.rows + self.pending as u64 + 1,
                    column.name
                )
            })?;
        }
        // Rows come ordered by the watermark column, so the last value seen is the highest.
        if let Some(at) = self.watermark
            && let Some(literal) = cells[at].literal()
        {
            self.watermark_literal = Some(literal);
        }
        self.pending += 1;
        if self.pending >= self.row_group_rows {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        if self.pending == 0 {
            return Ok(());
        }
        let arrays = self.builders.iter_mut().map(|b| b.finish()).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| e.to_string())?;
        self.sink.write_row_group(batch)?;
        self.rows += self.pending as u64;
        self.pending = 0;
        Ok(())
    }

    pub fn finish(mut self) -> Result<(WrittenFile, Arc<Schema>, Option<String>), String> {
        self.flush()?;
        let schema = self.schema.clone();
        let literal = self.watermark_literal.take();
        let file = self.sink.finish()?;
        Ok((file, schema, literal))
    }
}

/// The Parquet file written on a thread of its own: a row group is encoded and compressed
/// while the next one is read from the database (the export was one core's work while the
/// database's side of the wire used the other). One row group waits at most, so memory stays
/// about two row groups.
struct EncodingThread {
    batches: Option<std::sync::mpsc::SyncSender<RecordBatch>>,
    thread: Option<std::thread::JoinHandle<Result<WrittenFile, String>>>,
}

impl EncodingThread {
    fn start(mut sink: ParquetSink) -> Self {
        let (batches, receiver) = std::sync::mpsc::sync_channel::<RecordBatch>(1);
        let thread = std::thread::spawn(move || {
            for batch in receiver {
                sink.write_row_group(&batch).map_err(|e| e.to_string())?;
            }
            sink.finish().map_err(|e| e.to_string())
        });
        Self {
            batches: Some(batches),
            thread: Some(thread),
        }
    }

    fn write_row_group(&mut self, batch: RecordBatch) -> Result<(), String> {
        let sent = self
            .batches
            .as_ref()
            .map(|batches| batches.send(batch).is_ok())
            .unwrap_or(false);
        if sent {
            return Ok(());
        }
        // The thread stopped: its error says why.
        Err(self
            .join()
            .err()
            .unwrap_or_else(|| "the Parquet writer stopped early".into()))
    }

    fn finish(mut self) -> Result<WrittenFile, String> {
        self.join()
    }

    fn join(&mut self) -> Result<WrittenFile, String> {
        self.batches = None;
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| "the Parquet writer's thread panicked".to_string())?,
            None => Err("the Parquet writer already stopped".into()),
        }
    }
}
