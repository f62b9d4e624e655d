//! Lambda `start-job`: resolves the run date and job id, snapshots the config to jobs/<id>/input.json.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    daybook_aws::lambda::init_tracing();
    let adapters = start_job::Adapters::from_env().await?;
    daybook_aws::lambda::serve(adapters, start_job::handle).await
}
