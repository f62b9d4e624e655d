use anyhow::Context;
use clap::Args;
use daybook_local::callbacks::FileCallbacks;
use daybook_local::paths::LocalPaths;
use daybook_local::pipeline::LocalFunctions;
use daybook_local::runs::redrive_daily_report;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args)]
pub struct RedriveArgs {
    /// The job id of the failed run (it is also the execution name).
    job_id: String,
    /// The local folder the run used (the demo's --out).
    #[arg(long, default_value = "daybook-demo")]
    root: PathBuf,
    /// Print the run's whole output as JSON instead of its summary.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    stack: super::stack::StackArgs,
}

/// Resumes a failed local run in the state that failed, as the console's Redrive does on AWS.
pub async fn run(args: RedriveArgs) -> anyhow::Result<()> {
    if args.stack.on_aws() {
        let link = super::cloud::redrive(&args.stack, &args.job_id).await?;
        println!(
            "redriven {}: it resumes in the state that failed\n{link}",
            args.job_id
        );
        return Ok(());
    }
    let paths = LocalPaths::new(&args.root);
    eprintln!(
        "daybook redrive: job {} in {}",
        args.job_id,
        args.root.display()
    );
    let started = std::time::Instant::now();
    let output = redrive_daily_report(
        &args.root,
        Arc::new(LocalFunctions::new(&paths)),
        &args.job_id,
        // A redriven run that reaches the approval step again waits for a person.
        Arc::new(FileCallbacks::new(&paths.callbacks())),
        super::progress::printer(&args.job_id, &args.root, super::progress::Approval::Person),
    )
    .await
    .with_context(|| format!("redriving {}", args.job_id))?;
    eprintln!("done in {:.1}s", started.elapsed().as_secs_f64());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&output)?);
    } else {
        println!("{}", super::progress::summary(&args.root, &output));
    }
    Ok(())
}
