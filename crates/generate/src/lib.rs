//! Realistic generated data for the demo, the tests and the benchmarks: deterministic for a seed.

pub mod dynamodb;
pub mod segment;
pub mod shop;
mod vocabulary;
