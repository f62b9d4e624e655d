//! Parallel states: branches run together; the first failure stops the others, and each
//! branch's progress is kept for a redrive.

use super::*;

impl Runner {
    /// Runs every branch on the same input; the outputs in branch order. On a redrive,
    /// branches that succeeded keep their output and the others resume where they stopped.
    pub(super) async fn run_parallel(
        &self,
        state: &Value,
        input: Value,
        execution: &Execution,
        prior: Option<Vec<BranchProgress>>,
    ) -> Result<Value, Stop> {
        let branches = state
            .get("Branches")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut prior = prior.unwrap_or_default().into_iter();
        let siblings = execution.abort.child_token();
        let runs = branches.iter().map(|branch| {
            let definition = Definition::from_value(branch);
            let input = input.clone();
            let mut execution = execution.clone();
            execution.abort = siblings.clone();
            let siblings = siblings.clone();
            let before = prior.next().unwrap_or(BranchProgress::NotStarted);
            async move {
                let definition = definition.map_err(|cause| Interrupted {
                    failure: Failure::from(cause),
                    resume: ResumePoint {
                        state: String::new(),
                        input: input.clone(),
                        branches: None,
                    },
                })?;
                let resume = match before {
                    BranchProgress::Succeeded { output } => return Ok(output),
                    BranchProgress::Failed { at } | BranchProgress::Aborted { at } => Some(at),
                    BranchProgress::NotStarted => None,
                };
                let result = self
                    .run_states(
                        definition.start_at,
                        Arc::new(definition.states),
                        input,
                        execution,
                        None,
                        resume,
                    )
                    .await;
                if let Err(interrupted) = &result
                    && interrupted.failure.error != ABORTED
                {
                    siblings.cancel();
                }
                result
            }
        });
        let results = futures::future::join_all(runs).await;
        collect_branches(results.into_iter().map(Some).collect())
    }
}

/// The outputs of branches (or Map iterations) in order, or the first failure with every
/// branch's progress; `None` is a branch that never started.
pub(super) fn collect_branches(
    results: Vec<Option<Result<Value, Interrupted>>>,
) -> Result<Value, Stop> {
    if results.iter().all(|r| matches!(r, Some(Ok(_)))) {
        return Ok(Value::Array(
            results.into_iter().flatten().flatten().collect(),
        ));
    }
    let mut first_failure = None;
    let progress = results
        .into_iter()
        .map(|result| match result {
            Some(Ok(output)) => BranchProgress::Succeeded { output },
            Some(Err(interrupted)) if interrupted.failure.error == ABORTED => {
                BranchProgress::Aborted {
                    at: interrupted.resume,
                }
            }
            Some(Err(interrupted)) => {
                first_failure.get_or_insert(interrupted.failure);
                BranchProgress::Failed {
                    at: interrupted.resume,
                }
            }
            None => BranchProgress::NotStarted,
        })
        .collect();
    Err(Stop {
        // Every branch stopped by an enclosing Parallel's failure: stopped itself.
        failure: first_failure.unwrap_or_else(aborted),
        branches: Some(progress),
    })
}
