//! The lines a local run prints as it goes: one per state entered and left, retries, waits.

use daybook_asl::{Observer, RunEvent};
use std::path::Path;
use std::sync::Arc;

/// Prints each state as the runner reports it; at the approval step, how to answer it.
pub fn printer(job_id: &str, root: &Path) -> Observer {
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
        RunEvent::WaitingForCallback { state, .. } => eprintln!(
            "  … {state}: waiting. Open the Approve link in the approval email ({root}/outbox/) with `daybook serve --root {root}` running, or `daybook approve {job_id} --root {root}` (or `daybook reject`); `daybook approvals --root {root}` lists the links"
        ),
        RunEvent::Failed { state, failure } => eprintln!(
            "  ✗ {state}: {}",
            daybook_core::printable::printable(&failure.to_string())
        ),
        _ => {}
    })
}
