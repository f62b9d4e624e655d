use anyhow::Context;
use clap::Args;
use daybook_local::runs::{StartOptions, start_daily_report};
use std::path::PathBuf;

#[derive(Args)]
pub struct StartArgs {
    /// The day to report on (default: yesterday, UTC).
    #[arg(long, value_parser = super::run_date)]
    date: Option<chrono::NaiveDate>,
    /// A value for one of the config's variables, as name=value (repeat for more); the others
    /// take their defaults. A run with other values is another job.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    variables: Vec<String>,
    /// The local folder with the config and sources (the demo's --out).
    #[arg(long, default_value = "daybook-demo")]
    root: PathBuf,
    /// Approve the report at once instead of waiting for `daybook approve` or a link.
    #[arg(long)]
    auto_approve: bool,
    /// Print the run's whole output as JSON instead of its summary.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    stack: super::stack::StackArgs,
}

/// Runs the daily report on the sources the root's config names, as the schedule would, with
/// the variables given.
pub async fn run(args: StartArgs) -> anyhow::Result<()> {
    let date = args.date.unwrap_or_else(super::yesterday);
    let job_id = daybook_core::steps::job::new_job_id(date, chrono::Utc::now(), rand::random());
    let options = StartOptions {
        root: args.root.clone(),
        date,
        job_id: job_id.clone(),
        started_by: format!(
            "daybook start ({})",
            std::env::var("USER").unwrap_or_else(|_| "cli".into())
        ),
        variables: daybook_core::variables::parse_assignments(&args.variables)
            .map_err(anyhow::Error::msg)?,
        manual_approval: !args.auto_approve,
    };
    if args.stack.on_aws() {
        // start-job checks the variables against the deployed config.
        let link =
            super::cloud::start_machine(&args.stack, "StateMachineArn", &job_id, &options.input())
                .await?;
        println!("started {job_id} for {date}\n{link}");
        println!("follow it with `daybook status {job_id} --stack …`");
        return Ok(());
    }
    eprintln!(
        "daybook start: job {job_id}, date {date}, in {}{}",
        args.root.display(),
        if args.auto_approve {
            ""
        } else {
            " (its approval waits for `daybook approve` or a link from `daybook serve`)"
        }
    );
    let started = std::time::Instant::now();
    let approval = if args.auto_approve {
        super::progress::Approval::Automatic
    } else {
        super::progress::Approval::Person
    };
    let output = start_daily_report(
        &options,
        super::progress::printer(&job_id, &args.root, approval),
    )
    .await
    .with_context(|| format!("run {job_id}"))?;
    eprintln!("done in {:.1}s", started.elapsed().as_secs_f64());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&output)?);
    } else {
        println!("{}", super::progress::summary(&args.root, &output));
    }
    Ok(())
}
