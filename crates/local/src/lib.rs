//! Embedded adapters for running daybook on one machine: a directory as the object store, a
//! JSON catalog, DataFusion as the warehouse, an outbox folder as the mailer, file-based state
//! and callbacks, the local state-machine runner and generated data.

pub mod approval_site;
pub mod backfill;
pub mod callbacks;
pub mod catalog;
pub mod demo;
pub mod executions;
pub mod fs_store;
pub mod lake_items;
pub mod load;
pub mod outbox;
pub mod paths;
pub mod pipeline;
pub mod state;
pub mod warehouse;

pub use fs_store::FsStore;
