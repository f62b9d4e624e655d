use clap::Args;
use daybook_report::steps::{Decision, PendingApproval, decide_approval};
use std::path::PathBuf;

/// Where the run waits: a local folder (the demo), or a deployed stack's state table.
#[derive(Args)]
pub struct Target {
    /// The job id the run printed (it is also the execution name).
    job_id: String,
    /// The local folder the run uses (the demo's --out).
    #[arg(long, default_value = "daybook-demo")]
    root: PathBuf,
    /// The deployed stack's state table (the StateTableName output): answers the run on AWS
    /// with SendTaskSuccess, using the usual AWS credentials and region.
    #[arg(long, env = "DAYBOOK_STATE_TABLE")]
    state_table: Option<String>,
    /// Who decides, for the run record.
    #[arg(long, env = "USER", default_value = "cli")]
    by: String,
}

#[derive(Args)]
pub struct ApproveArgs {
    #[command(flatten)]
    target: Target,
}

#[derive(Args)]
pub struct RejectArgs {
    #[command(flatten)]
    target: Target,
    /// Why: shown as the run's failure cause.
    #[arg(long)]
    reason: String,
}

pub async fn approve(args: ApproveArgs) -> anyhow::Result<()> {
    let pending = decide(&args.target, true, None).await?;
    println!(
        "approved {} ({} for {}); the run will send it now",
        args.target.job_id, pending.report, pending.job.date
    );
    Ok(())
}

pub async fn reject(args: RejectArgs) -> anyhow::Result<()> {
    let pending = decide(&args.target, false, Some(&args.reason)).await?;
    println!(
        "rejected {} ({} for {}); nothing will be sent",
        args.target.job_id, pending.report, pending.job.date
    );
    Ok(())
}

async fn decide(
    target: &Target,
    approved: bool,
    reason: Option<&str>,
) -> anyhow::Result<PendingApproval> {
    let Some(table) = &target.state_table else {
        return daybook_local::demo::decide(
            &target.root,
            &target.job_id,
            approved,
            &target.by,
            reason,
        )
        .await
        .map_err(anyhow::Error::msg);
    };
    let config = daybook_aws::sdk::load().await;
    let state =
        daybook_aws::DynamoDbStateStore::new(daybook_aws::sdk::dynamodb_client(&config), table);
    let callbacks = daybook_aws::SfnCallbacks::new(daybook_aws::sdk::sfn_client(&config));
    let decision = Decision::new(approved, &target.by, reason, chrono::Utc::now());
    Ok(decide_approval(&state, &callbacks, &target.job_id, &decision).await?)
}
