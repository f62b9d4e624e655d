//! daybook's adapters over the AWS SDKs: S3 as the object store, DynamoDB as an item source.
//! Each is built once at start-up from an `SdkConfig`.

pub mod convert;
pub mod dynamodb_reader;
pub mod s3_store;
pub mod sdk;

pub use dynamodb_reader::DynamoDbReader;
pub use s3_store::S3Store;
