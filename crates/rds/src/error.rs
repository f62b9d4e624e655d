use thiserror::Error;

/// Failures of a relational export, each naming the database (password hidden) or the table.
#[derive(Debug, Error)]
pub enum RdsError {
    #[error("connecting to {target}: {message}")]
    Connect { target: String, message: String },
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
