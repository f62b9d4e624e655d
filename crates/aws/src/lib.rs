//! daybook's adapters over the AWS SDKs: S3 as the object store, DynamoDB as an item source and
//! state store, Glue as the catalog, Redshift (Data API) as the warehouse, SESv2 as the mailer, Step Functions' task tokens for approvals.
//! Each is built once at start-up from an `SdkConfig`.

pub mod convert;
pub mod dynamodb_reader;
pub mod dynamodb_state;
pub mod glue_catalog;
pub mod glue_crawler;
pub mod lambda;
pub mod link_key;
pub mod rds_secret;
pub mod redshift_warehouse;
pub mod s3_store;
pub mod sdk;
pub mod ses_mailer;
pub mod sfn_callbacks;

pub use dynamodb_reader::DynamoDbReader;
pub use dynamodb_state::DynamoDbStateStore;
pub use glue_catalog::GlueCatalog;
pub use glue_crawler::CrawlerRun;
pub use redshift_warehouse::{RedshiftTarget, RedshiftWarehouse, SpectrumSchema};
pub use s3_store::S3Store;
pub use ses_mailer::SesMailer;
pub use sfn_callbacks::SfnCallbacks;
