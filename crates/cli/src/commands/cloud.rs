//! The commands' AWS side, present only when daybook is built with `--features aws`: the demo
//! and every local command build without the AWS SDK, which is most of a cold build.

use daybook_core::ports::{StateStore, TaskCallbacks};

/// How to get a daybook that talks to AWS, for an operator who asked for it without one.
#[cfg(not(feature = "aws"))]
fn built_without_aws(what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{what} talks to AWS, and this daybook was built without it: install it with \
         `cargo install --path crates/cli --features aws` (or run `cargo run -p daybook-cli --features aws -- …`)"
    )
}

/// The deployed stack's state table and the Step Functions callbacks, with the usual AWS
/// credentials and region.
#[cfg(feature = "aws")]
pub async fn state_and_callbacks(
    table: &str,
) -> anyhow::Result<(Box<dyn StateStore>, Box<dyn TaskCallbacks>)> {
    let config = daybook_aws::sdk::load().await;
    Ok((
        Box::new(daybook_aws::DynamoDbStateStore::new(
            daybook_aws::sdk::dynamodb_client(&config),
            table,
        )),
        Box::new(daybook_aws::SfnCallbacks::new(
            daybook_aws::sdk::sfn_client(&config),
        )),
    ))
}

#[cfg(not(feature = "aws"))]
pub async fn state_and_callbacks(
    table: &str,
) -> anyhow::Result<(Box<dyn StateStore>, Box<dyn TaskCallbacks>)> {
    Err(built_without_aws(&format!("--state-table {table}")))
}

/// Reads the link key from Secrets Manager, lets `change` make the new one and stores it.
#[cfg(feature = "aws")]
pub async fn replace_link_key(
    secret: &str,
    change: impl FnOnce(&str) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    let config = daybook_aws::sdk::load().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let current = daybook_aws::link_key::read(&client, secret).await?;
    let next = change(&current)?;
    daybook_aws::link_key::write(&client, secret, &next).await?;
    Ok(())
}

#[cfg(not(feature = "aws"))]
pub async fn replace_link_key(
    secret: &str,
    _change: impl FnOnce(&str) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    Err(built_without_aws(&format!("--secret {secret}")))
}

/// The stack, and Step Functions, with the usual AWS credentials and region.
#[cfg(feature = "aws")]
async fn stack_and_runs(
    stack: &super::stack::StackArgs,
) -> anyhow::Result<(daybook_aws::stack::Stack, daybook_aws::stack::Runs)> {
    let name = stack.name()?;
    let config = daybook_aws::sdk::load().await;
    let found =
        daybook_aws::stack::Stack::find(&aws_sdk_cloudformation::Client::new(&config), &name)
            .await?;
    Ok((
        found,
        daybook_aws::stack::Runs::new(daybook_aws::sdk::sfn_client(&config)),
    ))
}

/// The value of one of the stack's outputs.
#[cfg(feature = "aws")]
pub async fn stack_output(stack: &super::stack::StackArgs, key: &str) -> anyhow::Result<String> {
    let (found, _) = stack_and_runs(stack).await?;
    Ok(found.output(key)?.to_string())
}

#[cfg(not(feature = "aws"))]
pub async fn stack_output(_stack: &super::stack::StackArgs, _key: &str) -> anyhow::Result<String> {
    Err(built_without_aws("--stack"))
}

/// `daybook start --stack` and `daybook backfill --stack`: starts execution `name` of the
/// state machine the stack's `output` names; its console link.
#[cfg(feature = "aws")]
pub async fn start_machine(
    stack: &super::stack::StackArgs,
    output: &str,
    name: &str,
    input: &serde_json::Value,
) -> anyhow::Result<String> {
    let (found, runs) = stack_and_runs(stack).await?;
    let arn = runs.start(found.output(output)?, name, input).await?;
    Ok(daybook_aws::stack::console_link(&arn))
}

#[cfg(not(feature = "aws"))]
pub async fn start_machine(
    _stack: &super::stack::StackArgs,
    _output: &str,
    _name: &str,
    _input: &serde_json::Value,
) -> anyhow::Result<String> {
    Err(built_without_aws("--stack"))
}

/// `daybook runs --stack`: the daily state machine's newest executions, as lines.
#[cfg(feature = "aws")]
pub async fn runs(stack: &super::stack::StackArgs, last: usize) -> anyhow::Result<Vec<String>> {
    let (found, runs) = stack_and_runs(stack).await?;
    let executions = runs.list(found.output("StateMachineArn")?, last).await?;
    Ok(executions
        .iter()
        .map(|e| {
            let redriven = match e.redrive_count {
                0 => String::new(),
                n => format!("  redriven {n}×"),
            };
            format!(
                "{:<40} {:<9} started {}{redriven}",
                e.name,
                e.status,
                e.started
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_default()
            )
        })
        .collect())
}

#[cfg(not(feature = "aws"))]
pub async fn runs(_stack: &super::stack::StackArgs, _last: usize) -> anyhow::Result<Vec<String>> {
    Err(built_without_aws("daybook runs --stack"))
}

/// `daybook status --stack`: the execution's states with their durations, and its console link.
#[cfg(feature = "aws")]
pub async fn status(stack: &super::stack::StackArgs, job: Option<&str>) -> anyhow::Result<()> {
    let (found, runs) = stack_and_runs(stack).await?;
    // A backfill is an execution of the backfill state machine, named `backfill-…`.
    let machine = match job {
        Some(job) if job.starts_with("backfill-") => found.output("BackfillStateMachineArn")?,
        _ => found.output("StateMachineArn")?,
    };
    let arn = match job {
        Some(job) => daybook_aws::stack::execution_arn(machine, job),
        None => runs
            .list(machine, 1)
            .await?
            .into_iter()
            .next()
            .map(|e| e.arn)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "stack {} has no runs yet: start one with `daybook start --stack {}`",
                    found.name,
                    found.name
                )
            })?,
    };
    let execution = runs.describe(&arn).await?;
    let history = runs.history(&arn).await?;
    print!(
        "{}",
        daybook_core::printable::printable_lines(&aws_status(
            &execution,
            &history,
            chrono::Utc::now()
        ))
    );
    Ok(())
}

#[cfg(not(feature = "aws"))]
pub async fn status(_stack: &super::stack::StackArgs, _job: Option<&str>) -> anyhow::Result<()> {
    Err(built_without_aws("daybook status --stack"))
}

/// An execution's heading, its states and its console link.
#[cfg(feature = "aws")]
pub fn aws_status(
    execution: &daybook_aws::stack::Execution,
    history: &[daybook_core::history::StateVisit],
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    use daybook_core::history::{render_lines, seconds, state_lines};
    let took = match (execution.started, execution.stopped) {
        (Some(start), Some(stop)) => format!(
            ", took {}",
            seconds((stop - start).num_milliseconds() as f64 / 1e3)
        ),
        (Some(start), None) => format!(
            ", running for {}",
            seconds((now - start).num_milliseconds() as f64 / 1e3)
        ),
        _ => String::new(),
    };
    let mut out = format!(
        "{} {}, started {}{took}\n",
        execution.name,
        execution.status,
        execution
            .started
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default()
    );
    out.push_str(&render_lines(&state_lines(history, now)));
    if let Some(error) = &execution.error {
        // A rejection is the approvers' answer: a redrive would reach it again.
        let way_on = if error == "Daybook.Rejected" {
            "once the data or the report is fixed, build it again with a new run: daybook start --stack … --date <its date>".to_string()
        } else {
            format!(
                "once the cause is fixed: daybook redrive {} --stack …",
                execution.name
            )
        };
        out.push_str(&format!(
            "failed: {error}: {}\n{way_on}\n",
            execution.cause.as_deref().unwrap_or_default(),
        ));
    }
    out.push_str(&format!(
        "console: {}\n",
        daybook_aws::stack::console_link(&execution.arn)
    ));
    out
}

/// `daybook redrive --stack`: redrives the failed execution of the job.
#[cfg(feature = "aws")]
pub async fn redrive(stack: &super::stack::StackArgs, job: &str) -> anyhow::Result<String> {
    let (found, runs) = stack_and_runs(stack).await?;
    let arn = daybook_aws::stack::execution_arn(found.output("StateMachineArn")?, job);
    runs.redrive(&arn).await?;
    Ok(daybook_aws::stack::console_link(&arn))
}

#[cfg(not(feature = "aws"))]
pub async fn redrive(_stack: &super::stack::StackArgs, _job: &str) -> anyhow::Result<String> {
    Err(built_without_aws("daybook redrive --stack"))
}

/// `daybook backfill --stack`: follows backfill `name` until it ends, telling `on_day` of
/// each day as the local backfill does. An error if the backfill did not succeed.
#[cfg(feature = "aws")]
pub async fn follow_backfill(
    stack: &super::stack::StackArgs,
    name: &str,
    on_day: daybook_local::backfill::DayObserver,
) -> anyhow::Result<()> {
    use daybook_asl::Failure;
    use daybook_aws::backfill_progress::{BackfillFollower, DayChange};
    use daybook_local::backfill::DayEvent;
    let (found, runs) = stack_and_runs(stack).await?;
    let backfill =
        daybook_aws::stack::execution_arn(found.output("BackfillStateMachineArn")?, name);
    let mut follower = BackfillFollower::new(&runs, &backfill, found.output("StateMachineArn")?);
    let every = std::time::Duration::from_secs(5);
    loop {
        let (progress, changes) = follower.poll().await?;
        for change in changes {
            on_day(&match change {
                DayChange::Started { job_id, date } => DayEvent::Started { job_id, date },
                DayChange::Entered { job_id, state } => DayEvent::Entered { job_id, state },
                DayChange::Finished {
                    job_id,
                    elapsed,
                    failure,
                } => DayEvent::Finished {
                    job_id,
                    elapsed,
                    failure: failure
                        .map(|(error, cause, state)| (Failure::new(error, cause), state)),
                },
            });
        }
        if !progress.running() {
            let ended = progress.backfill;
            return match ended.status.as_str() {
                "SUCCEEDED" => Ok(()),
                status => Err(anyhow::anyhow!(
                    "backfill {name} ended {status}: {} {}\n{}",
                    ended.error.unwrap_or_default(),
                    ended.cause.unwrap_or_default(),
                    daybook_aws::stack::console_link(&backfill)
                )),
            };
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(not(feature = "aws"))]
pub async fn follow_backfill(
    _stack: &super::stack::StackArgs,
    _name: &str,
    _on_day: daybook_local::backfill::DayObserver,
) -> anyhow::Result<()> {
    Err(built_without_aws("daybook backfill --stack"))
}
