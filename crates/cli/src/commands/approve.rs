use clap::Args;
use daybook_report::approval::{ApprovalRecord, Decision, decide_job, pending_approvals};
use std::path::PathBuf;

/// Where runs wait: a local folder (the demo), or a deployed stack's state table.
#[derive(Args)]
pub struct Place {
    /// The local folder the run uses (the demo's --out).
    #[arg(long, default_value = "daybook-demo")]
    root: PathBuf,
    /// The deployed stack's state table (the StateTableName output): answers the run on AWS
    /// with SendTaskSuccess, using the usual AWS credentials and region.
    #[arg(long, env = "DAYBOOK_STATE_TABLE")]
    state_table: Option<String>,
    #[command(flatten)]
    stack: super::stack::StackArgs,
}

impl Place {
    /// The state table: --state-table, else the stack's StateTableName output.
    async fn table(&self) -> anyhow::Result<Option<String>> {
        match (&self.state_table, self.stack.on_aws()) {
            (Some(table), _) => Ok(Some(table.clone())),
            (None, true) => Ok(Some(
                super::cloud::stack_output(&self.stack, "StateTableName").await?,
            )),
            (None, false) => Ok(None),
        }
    }
}

#[derive(Args)]
pub struct Target {
    /// The job id the run printed (it is also the execution name).
    job_id: String,
    #[command(flatten)]
    place: Place,
    /// Who decides, for the run record and the sent email.
    #[arg(long, env = "USER", default_value = "cli")]
    by: String,
}

#[derive(Args)]
pub struct ApproveArgs {
    #[command(flatten)]
    target: Target,
    /// A note shown in the sent email and the run record.
    #[arg(long)]
    comment: Option<String>,
}

#[derive(Args)]
pub struct RejectArgs {
    #[command(flatten)]
    target: Target,
    /// Why: shown as the run's failure cause.
    #[arg(long)]
    reason: String,
}

#[derive(Args)]
pub struct ApprovalsArgs {
    #[command(flatten)]
    place: Place,
}

pub async fn approve(args: ApproveArgs) -> anyhow::Result<()> {
    let (record, _) = decide(&args.target, true, args.comment.as_deref()).await?;
    println!(
        "approved {} ({} for {}); the run will send it now",
        args.target.job_id, record.report.name, record.job.date
    );
    take_up(&args.target).await
}

pub async fn reject(args: RejectArgs) -> anyhow::Result<()> {
    if args.reason.trim().is_empty() {
        anyhow::bail!(
            "nothing was decided: a rejection needs a reason its run and its approvers are told (--reason \"the revenue is off by a day\")"
        );
    }
    let (record, _) = decide(&args.target, false, Some(&args.reason)).await?;
    println!(
        "rejected {} ({} for {}); nothing will be sent",
        args.target.job_id, record.report.name, record.job.date
    );
    take_up(&args.target).await
}

/// A local run whose process stopped while it waited goes on here, to its end; one whose
/// process still runs hears the decision there.
async fn take_up(target: &Target) -> anyhow::Result<()> {
    if target.place.table().await?.is_some() {
        return Ok(());
    }
    let root = &target.place.root;
    let printer = super::progress::printer(&target.job_id, root, super::progress::Approval::Person);
    match daybook_local::runs::resume_waiting_run(root, &target.job_id, printer).await {
        Ok(None) => Ok(()),
        Ok(Some(output)) => {
            println!("{}", super::progress::summary(root, &output));
            Ok(())
        }
        // A rejection ends the run as the approver chose: said above, not an error.
        Err(daybook_local::runs::RunError::Rejected { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `daybook approvals`: every open request, oldest first, with its age and each approver's link.
pub async fn list(args: ApprovalsArgs) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let pending = match args.place.table().await? {
        Some(table) => {
            let (state, _) = super::cloud::state_and_callbacks(&table).await?;
            pending_approvals(state.as_ref(), now).await?
        }
        None => {
            let paths = daybook_local::paths::LocalPaths::new(&args.place.root);
            let state = daybook_local::state::FileStateStore::new(&paths.state());
            pending_approvals(&state, now).await?
        }
    };
    if pending.is_empty() {
        println!("no approval is pending");
        return Ok(());
    }
    for p in &pending {
        let r = &p.record;
        println!(
            "{}  {} for {}  asked {} ago  closes {}",
            r.job.job_id,
            r.report.name,
            r.job.date,
            age(p.age),
            r.deadline.format("%Y-%m-%d %H:%M UTC")
        );
        for (approver, link) in &r.links {
            println!("    {approver}: {link}");
        }
    }
    println!(
        "{} pending. Answer with `daybook approve JOB` or `daybook reject JOB --reason …`, or open a link.",
        pending.len()
    );
    Ok(())
}

fn age(age: chrono::Duration) -> String {
    let minutes = age.num_minutes().max(0);
    match minutes {
        0..=59 => format!("{minutes} min"),
        60..=2879 => format!("{} h {} min", minutes / 60, minutes % 60),
        _ => format!("{} days", minutes / 1440),
    }
}

async fn decide(
    target: &Target,
    approved: bool,
    comment: Option<&str>,
) -> anyhow::Result<(ApprovalRecord, Decision)> {
    let Some(table) = target.place.table().await? else {
        return daybook_local::runs::decide(
            &target.place.root,
            &target.job_id,
            approved,
            &target.by,
            comment,
        )
        .await
        .map_err(anyhow::Error::msg);
    };
    let (state, callbacks) = super::cloud::state_and_callbacks(&table).await?;
    let now = chrono::Utc::now();
    let decision = Decision::new(approved, &target.by, comment, "CLI", now)
        .map_err(|e| anyhow::anyhow!("nothing was decided: {e}"))?;
    Ok(decide_job(
        state.as_ref(),
        callbacks.as_ref(),
        &target.job_id,
        decision,
        now,
    )
    .await?)
}
