//! Embedded adapters for running daybook on one machine: a directory as the object store, the
//! local state-machine runner, generated data.

pub mod asl;
pub mod fs_store;
pub mod generate;

pub use fs_store::FsStore;
