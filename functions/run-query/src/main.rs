//! Lambda `run-query`: a one-off read-only query over the marts, stored as `search/<id>/result.xlsx`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    daybook_aws::lambda::init_tracing();
    let adapters = run_query::Adapters::from_env().await?;
    daybook_aws::lambda::serve(adapters, run_query::handle).await
}
