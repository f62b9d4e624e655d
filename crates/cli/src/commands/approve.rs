use clap::Args;
use daybook_local::demo::decide;
use std::path::PathBuf;

#[derive(Args)]
pub struct ApproveArgs {
    /// The job id the run printed (it is also the execution name).
    job_id: String,
    /// The local folder the run uses (the demo's --out).
    #[arg(long, default_value = "daybook-demo")]
    root: PathBuf,
    /// Who approves, for the run record.
    #[arg(long, env = "USER", default_value = "cli")]
    by: String,
}

#[derive(Args)]
pub struct RejectArgs {
    job_id: String,
    /// Why: shown as the run's failure cause.
    #[arg(long)]
    reason: String,
    #[arg(long, default_value = "daybook-demo")]
    root: PathBuf,
    #[arg(long, env = "USER", default_value = "cli")]
    by: String,
}

pub async fn approve(args: ApproveArgs) -> anyhow::Result<()> {
    let pending = decide(&args.root, &args.job_id, true, &args.by, None)
        .await
        .map_err(anyhow::Error::msg)?;
    println!(
        "approved {} ({} for {}); the run will send it now",
        args.job_id, pending.report, pending.job.date
    );
    Ok(())
}

pub async fn reject(args: RejectArgs) -> anyhow::Result<()> {
    let pending = decide(
        &args.root,
        &args.job_id,
        false,
        &args.by,
        Some(&args.reason),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    println!(
        "rejected {} ({} for {}); nothing will be sent",
        args.job_id, pending.report, pending.job.date
    );
    Ok(())
}
