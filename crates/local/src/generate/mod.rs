//! Realistic generated data for the demo, the tests and the benchmarks.

pub mod dynamodb;
mod vocabulary;
