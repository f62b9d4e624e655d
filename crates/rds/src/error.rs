use daybook_core::{Classify, ErrorKind};
use thiserror::Error;

/// Failures of a relational export, each naming the database (password hidden) or the table.
#[derive(Debug, Error)]
pub enum RdsError {
    #[error("connecting to {target}: {message}")]
    Connect {
        target: String,
        message: String,
        /// Transient when the server could not be reached in time (a restart, a failover).
        kind: ErrorKind,
    },
    #[error("exporting {table}: {message}")]
    Query { table: String, message: String },
    #[error(
        "exporting {table}: column {column} has type {type_name}, which daybook cannot export; cast it in a custom \"query\" (e.g. CAST({column} AS TEXT))"
    )]
    Unsupported {
        table: String,
        column: String,
        type_name: String,
    },
    #[error(transparent)]
    Core(#[from] daybook_core::Error),
}

impl Classify for RdsError {
    fn kind(&self) -> ErrorKind {
        match self {
            RdsError::Connect { kind, .. } => *kind,
            RdsError::Query { .. } => ErrorKind::Failed,
            RdsError::Unsupported { .. } => ErrorKind::InvalidInput,
            RdsError::Core(e) => e.kind(),
        }
    }
}

/// Whether a database error may go away by itself: the server unreachable or slow to answer.
pub(crate) fn connect_kind(error: &sqlx::Error) -> ErrorKind {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
            ErrorKind::Transient
        }
        _ => ErrorKind::Failed,
    }
}
