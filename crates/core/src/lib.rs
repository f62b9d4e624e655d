//! daybook's domain: DynamoDB flattening, the lake layout and manifests, and the ports that
//! adapters implement. Nothing here knows whether it runs on AWS or on a laptop.

pub mod config;
pub mod dynamo;
pub mod error;
pub mod failure;
pub mod fan_out;
pub mod flatten;
pub mod history;
pub mod lake;
pub mod lines;
pub mod marts;
pub mod naming;
pub mod parquet_sink;
pub mod ports;
pub mod printable;
#[cfg(test)]
mod properties;
pub mod quality;
pub mod quarantine;
pub mod relational;
pub mod segment;
pub mod staged;
pub mod steps;
pub mod store;
pub mod variables;
#[cfg(feature = "web")]
pub mod web;

pub use error::{Error, Result};
pub use failure::{Classify, ErrorKind};
