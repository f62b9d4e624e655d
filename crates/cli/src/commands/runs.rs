use clap::Args;
use daybook_core::printable::printable_lines;
use daybook_local::executions::{ExecutionStatus, ExecutionStore};
use daybook_local::paths::LocalPaths;
use std::path::PathBuf;

#[derive(Args)]
pub struct RunsArgs {
    /// How many runs to list, the newest first.
    #[arg(long, default_value_t = 20)]
    last: usize,
    /// The local folder the runs use (the demo's --out).
    #[arg(long, default_value = "daybook-demo")]
    root: PathBuf,
    #[command(flatten)]
    stack: super::stack::StackArgs,
}

/// `daybook runs`: the local executions, the newest first, with how each ended and, for a
/// failed one, where it stopped.
pub async fn run(args: RunsArgs) -> anyhow::Result<()> {
    if args.stack.on_aws() {
        for line in super::cloud::runs(&args.stack, args.last).await? {
            println!("{}", printable_lines(&line));
        }
        return Ok(());
    }
    let store = ExecutionStore::new(&LocalPaths::new(&args.root).executions());
    let records = store.list().map_err(anyhow::Error::msg)?;
    if records.is_empty() {
        println!(
            "no runs in {}: start one with `daybook demo --out {}`",
            args.root.display(),
            args.root.display()
        );
        return Ok(());
    }
    for record in records.iter().take(args.last) {
        let status = match record.status {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
        };
        let input = &record.input;
        let date = match (
            input["date"].as_str(),
            input["from"].as_str(),
            input["to"].as_str(),
        ) {
            (Some(date), _, _) => date.to_string(),
            (None, Some(from), Some(to)) => format!("{from}..{to}"),
            _ => "yesterday".to_string(),
        };
        let redriven = match record.redrive_count {
            0 => String::new(),
            n => format!("  redriven {n}×"),
        };
        let failed = match (&record.failure, &record.resume) {
            (Some(failure), Some(resume)) => format!(
                "\n    failed in {}: {}",
                resume.failed_path(),
                failure.error
            ),
            _ => String::new(),
        };
        // The run's name and date came from whoever started it: shown, never obeyed.
        let line = format!(
            "{:<40} {:<9} {:<22} started {}{redriven}{failed}",
            record.name,
            status,
            date,
            record.start_time.format("%Y-%m-%d %H:%M:%S UTC"),
        );
        println!("{}", printable_lines(&line));
    }
    if records.len() > args.last {
        println!(
            "({} older; --last {} lists them)",
            records.len() - args.last,
            records.len()
        );
    }
    Ok(())
}
