//! Relational sources: PostgreSQL and MySQL (RDS read replicas) and SQLite (the embedded
//! default) exported to Parquet through one code path on sqlx. Types map faithfully (decimals
//! keep precision and scale, timestamps become UTC instants, arrays lists), rows stream in row
//! groups, and incremental tables keep their high-water mark in the state store.

pub mod columns;
pub mod db;
pub mod error;
pub mod export;
mod mysql;
pub mod plan;
mod postgres;
#[cfg(feature = "shop")]
pub mod shop;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use db::Database;
pub use error::RdsError;
pub use export::{RdsTask, export_tables, run_rds_task};
