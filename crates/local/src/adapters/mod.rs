//! The embedded adapters of the core's ports, each keeping its files below the local root
//! (`paths`): a folder for S3, a JSON catalog for Glue, DataFusion for Redshift, an outbox of
//! `.eml` files for SES, state and callback files for DynamoDB and Step Functions. They import
//! nothing of the services above them.

pub mod callbacks;
pub mod catalog;
pub mod fs_store;
pub mod lake_items;
pub mod lake_table;
pub mod outbox;
pub mod paths;
pub mod secrets;
pub mod state;
pub mod warehouse;
