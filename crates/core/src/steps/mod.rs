//! The pipeline's steps as the state machine calls them: the same code behind a Lambda handler
//! and behind the local runner, given adapters for the ports.

pub mod backfill;
pub mod dynamodb_fan_out;
pub mod fan_out_protocol;
pub mod flatten;
pub mod invocation;
pub mod job;
pub mod load;
pub mod publish;
pub mod segment;
pub mod segment_fan_out;
pub mod start;
pub mod start_event;

pub use job::JobContext;
