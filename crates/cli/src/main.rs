//! `daybook`: generate data, flatten DynamoDB exports, run the daily pipeline locally, approve.

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "daybook",
    version,
    about = "Daily reports from operational data: DynamoDB, RDS and Segment to Parquet, marts, HTML/Excel, email after approval."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate realistic input data.
    #[command(subcommand)]
    Generate(commands::generate::Generate),
    /// Flatten a DynamoDB export (DYNAMODB_JSON) into Parquet tables.
    Flatten(commands::flatten::FlattenArgs),
    /// Export a source to Parquet tables in a folder.
    #[command(subcommand)]
    Export(commands::export::Export),
    /// Register a day's committed exports in the local warehouse, check them and build the marts.
    Load(commands::warehouse::LoadArgs),
    /// Run SQL on the local warehouse; print a table or write an Excel file.
    Query(commands::warehouse::QueryArgs),
    /// List the local warehouse's tables and marts, with their columns and days.
    Tables(commands::warehouse::TablesArgs),
    /// Generate a day of data and run the daily-report state machine locally, end to end.
    Demo(commands::demo::DemoArgs),
    /// Run the daily report for a date on the sources the local config names, with variables.
    Start(commands::start::StartArgs),
    /// Approve the report of a run waiting in its approval step.
    Approve(commands::approve::ApproveArgs),
    /// Reject the report of a run waiting in its approval step; nothing is sent.
    Reject(commands::approve::RejectArgs),
    /// List the approval requests nobody has answered yet, with their age and links.
    Approvals(commands::approve::ApprovalsArgs),
    /// Serve the approval links of local runs on loopback, and send their reminders.
    Serve(commands::serve::ServeArgs),
    /// Manage the key that signs approval links.
    #[command(subcommand)]
    LinkKey(commands::link_key::LinkKey),
    /// Run the daily pipeline for every day of a range (lake and marts; no email unless --send).
    Backfill(commands::backfill::BackfillArgs),
    /// List the runs (daily and backfill), the newest first, with how each ended.
    Runs(commands::runs::RunsArgs),
    /// Show a run's states with how long each took, and where it stopped.
    Status(commands::status::StatusArgs),
    /// Resume a failed local run from the state that failed (the states that succeeded are kept).
    Redrive(commands::redrive::RedriveArgs),
}

/// A reader that stops early (`daybook runs | head -1`) ends the process quietly, as it ends any
/// Unix tool, instead of a panic with a backtrace at the next write to the closed pipe.
#[cfg(unix)]
fn end_quietly_when_the_reader_leaves() {
    // SAFETY: restores the default action of one signal; no handler runs Rust code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    #[cfg(unix)]
    end_quietly_when_the_reader_leaves();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DAYBOOK_LOG")
                // sqlx's "slow statement" warnings are about its own timings, not the user's.
                .unwrap_or_else(|_| "warn,sqlx::query=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Generate(command) => commands::generate::run(command).await,
        Command::Flatten(args) => commands::flatten::run(args).await,
        Command::Export(command) => commands::export::run(command).await,
        Command::Load(args) => commands::warehouse::load(args).await,
        Command::Query(args) => commands::warehouse::query(args).await,
        Command::Tables(args) => commands::warehouse::tables(args),
        Command::Demo(args) => commands::demo::run(args).await,
        Command::Start(args) => commands::start::run(args).await,
        Command::Approve(args) => commands::approve::approve(args).await,
        Command::Reject(args) => commands::approve::reject(args).await,
        Command::Approvals(args) => commands::approve::list(args).await,
        Command::Serve(args) => commands::serve::run(args).await,
        Command::LinkKey(command) => commands::link_key::run(command).await,
        Command::Backfill(args) => commands::backfill::run(args).await,
        Command::Redrive(args) => commands::redrive::run(args).await,
        Command::Runs(args) => commands::runs::run(args).await,
        Command::Status(args) => commands::status::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
