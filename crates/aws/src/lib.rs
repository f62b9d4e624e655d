//! daybook's adapters over the AWS SDKs: S3 as the object store, DynamoDB as an item source and
//! state store, Glue as the catalog, Redshift (Data API) as the warehouse, SESv2 as the mailer, Step Functions' task tokens for approvals.
//! Each is built once at start-up from an `SdkConfig`.
//!
//! S3 is always in; each other service is a cargo feature (`dynamodb`, `glue`, `redshift`,
//! `ses`, `sfn`, `secrets`), so that a Lambda compiles and links only the SDKs it calls.

#[cfg(feature = "operate")]
pub mod backfill_progress;
#[cfg(feature = "dynamodb")]
pub mod convert;
#[cfg(feature = "dynamodb")]
pub mod dynamodb_reader;
#[cfg(feature = "dynamodb")]
pub mod dynamodb_state;
#[cfg(feature = "glue")]
pub mod glue_catalog;
#[cfg(feature = "glue")]
pub mod glue_crawler;
pub mod invocation;
pub mod lambda;
#[cfg(feature = "secrets")]
pub mod link_key;
#[cfg(feature = "secrets")]
pub mod rds_secret;
#[cfg(feature = "redshift")]
pub mod redshift_warehouse;
pub mod s3_store;
pub mod sdk;
#[cfg(feature = "secrets")]
pub mod secrets;
#[cfg(feature = "ses")]
pub mod ses_mailer;
#[cfg(feature = "sfn")]
pub mod sfn_callbacks;
#[cfg(feature = "operate")]
pub mod stack;

#[cfg(feature = "dynamodb")]
pub use dynamodb_reader::DynamoDbReader;
#[cfg(feature = "dynamodb")]
pub use dynamodb_state::DynamoDbStateStore;
#[cfg(feature = "glue")]
pub use glue_catalog::GlueCatalog;
#[cfg(feature = "glue")]
pub use glue_crawler::CrawlerRun;
#[cfg(feature = "redshift")]
pub use redshift_warehouse::{RedshiftTarget, RedshiftWarehouse, SpectrumSchema};
pub use s3_store::S3Store;
#[cfg(feature = "ses")]
pub use ses_mailer::SesMailer;
#[cfg(feature = "sfn")]
pub use sfn_callbacks::SfnCallbacks;
