//! What the CLI's commands run locally, on the adapters: the pipeline's functions and the state
//! machine's runs (`pipeline`, `runs`, `executions`), backfills, loading a day into the local
//! warehouse, and the approval site.

pub mod approval_site;
pub mod backfill;
pub mod executions;
pub mod load;
pub mod pipeline;
pub mod runs;
