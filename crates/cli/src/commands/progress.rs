//! The lines a local run prints as it goes: one per state entered and left, retries, waits.

use daybook_asl::{Observer, RunEvent};
use std::path::Path;
use std::sync::Arc;

/// Who answers a run's approval step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// A person, by a link, `daybook approve` or `daybook reject`.
    Person,
    /// The run itself, at once.
    Automatic,
}

/// Prints each state as the runner reports it; at the approval step, how to answer it.
pub fn printer(job_id: &str, root: &Path, approval: Approval) -> Observer {
    let job_id = job_id.to_string();
    let root = root.display().to_string();
    Arc::new(move |event: &RunEvent| match event {
        RunEvent::Entered { state, kind } if kind != "Choice" => eprintln!("  → {state}"),
        RunEvent::Exited { state, elapsed } => {
            eprintln!("  ✓ {state} ({:.2}s)", elapsed.as_secs_f64())
        }
        RunEvent::Retrying {
            state,
            error,
            attempt,
            delay,
        } => eprintln!(
            "  ↻ {state}: {error}, retry {attempt} in {:.1}s",
            delay.as_secs_f64()
        ),
        RunEvent::Caught { state, error, next } => eprintln!("  ✗ {state}: {error} → {next}"),
        RunEvent::WaitingForCallback { state, .. } if approval == Approval::Automatic => {
            eprintln!("  … {state}: approved automatically (--manual-approval asks a person)")
        }
        RunEvent::WaitingForCallback { state, .. } => eprintln!(
            "  … {state}: waiting. Open the Approve link in the approval email ({root}/outbox/) with `daybook serve --root {root}` running, or `daybook approve {job_id} --root {root}` (or `daybook reject`); `daybook approvals --root {root}` lists the links. You may stop this process (Ctrl-C): the run waits on disk, and the approval takes it up wherever it is given"
        ),
        RunEvent::Failed { state, failure } => eprintln!(
            "  ✗ {state}: {}",
            daybook_core::printable::printable(&failure.to_string())
        ),
        _ => {}
    })
}

/// What a finished local run did, in a few lines: whom the report went to and where it is; the
/// run's whole output with `--json`.
pub fn summary(root: &Path, output: &serde_json::Value) -> String {
    let Ok(delivery) = serde_json::from_value::<daybook_report::send::Delivery>(output.clone())
    else {
        return "finished (`--json` prints the run's output)".into();
    };
    let before = delivery.messages.iter().filter(|m| m.already_sent).count();
    let mut lines = vec![format!(
        "sent to {} recipient{}{}: {}",
        delivery.recipients.len(),
        if delivery.recipients.len() == 1 {
            ""
        } else {
            "s"
        },
        match before {
            0 => String::new(),
            n => format!(" ({n} already had it from an earlier attempt)"),
        },
        delivery.recipients.join(", ")
    )];
    let email = daybook_local::paths::LocalPaths::new(root)
        .outbox()
        .join(&delivery.message_id);
    if email.exists() {
        lines.push(format!("email: {}", email.display()));
    }
    lines.join("\n")
}
