//! Embedded adapters for running daybook on one machine: a directory as the object store, a
//! JSON catalog, DataFusion as the warehouse, an outbox folder as the mailer, file-based state
//! and callbacks, the local state-machine runner and generated data.

pub mod adapters;
pub mod demo;
pub mod services;

// The adapters and services by their own names, as the CLI and the tests use them.
pub use adapters::{callbacks, catalog, fs_store, lake_items, outbox, paths, state, warehouse};
pub use services::{approval_site, backfill, executions, load, pipeline, runs};

pub use fs_store::FsStore;
