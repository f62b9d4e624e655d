use clap::Args;
use daybook_local::executions::ExecutionStore;
use daybook_local::paths::LocalPaths;
use std::path::PathBuf;

#[derive(Args)]
pub struct StatusArgs {
    /// The run's job id (its execution name); the newest run when left out.
    job_id: Option<String>,
    /// The local folder the runs use (the demo's --out).
    #[arg(long, default_value = "daybook-demo")]
    root: PathBuf,
    #[command(flatten)]
    pub stack: super::stack::StackArgs,
}

pub async fn run(args: StatusArgs) -> anyhow::Result<()> {
    if args.stack.on_aws() {
        return super::cloud::status(&args.stack, args.job_id.as_deref()).await;
    }
    let store = ExecutionStore::new(&LocalPaths::new(&args.root).executions());
    let record = match &args.job_id {
        Some(job) => store.load(job).map_err(anyhow::Error::msg)?,
        None => store
            .list()
            .map_err(anyhow::Error::msg)?
            .into_iter()
            .next()
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no runs in {}: start one with `daybook demo --out {}`",
                    args.root.display(),
                    args.root.display()
                )
            })?,
    };
    print!(
        "{}",
        daybook_core::printable::printable_lines(&record.status_text(chrono::Utc::now()))
    );
    Ok(())
}
