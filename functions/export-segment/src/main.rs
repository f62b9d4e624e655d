//! Lambda `export-segment`: a day's Segment batches (state-machine step) or a file that has just
//! landed (S3 put event), to Parquet tables in the lake bucket.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    daybook_aws::lambda::init_tracing();
    let adapters = export_segment::Adapters::from_env().await?;
    daybook_aws::lambda::serve(adapters, export_segment::handle).await
}
