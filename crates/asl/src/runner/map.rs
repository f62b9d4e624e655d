//! Map states, inline and distributed: items from the input or an ItemReader, batches, the
//! tolerated failures, and each iteration's progress for a redrive.

use super::*;

impl Runner {
    /// Runs the processor once per item, at most MaxConcurrency at a time; once an iteration
    /// fails no new one starts (as on AWS). On a redrive, iterations that succeeded keep their
    /// output and the others resume where they stopped, or start.
    pub(super) async fn run_map(
        &self,
        state: &Value,
        input: &Value,
        context: &Value,
        execution: &Execution,
        prior: Option<Vec<BranchProgress>>,
    ) -> Result<Value, Stop> {
        let distributed = is_distributed(state);
        if distributed
            && ["ToleratedFailureCount", "ToleratedFailurePercentage"]
                .iter()
                .any(|f| state.get(*f).and_then(Value::as_f64).unwrap_or(0.0) > 0.0)
        {
            return Err(Failure::runtime(
                "the local runner does not tolerate failed child executions: leave ToleratedFailureCount and ToleratedFailurePercentage at 0",
            )
            .into());
        }
        let items = if state.get("ItemReader").is_some() {
            read_items(self.items.as_deref(), state, input, context).await?
        } else {
            let items = match state.get("ItemsPath").and_then(Value::as_str) {
                Some(path) => select(path, input, context)?,
                None => input.clone(),
            };
            items
                .as_array()
                .cloned()
                .ok_or_else(|| Failure::runtime("Map ItemsPath must select an array"))?
        };
        let processor = state
            .get("ItemProcessor")
            .or_else(|| state.get("Iterator"))
            .ok_or_else(|| Failure::runtime("Map state has no ItemProcessor"))?;
        let definition = Definition::from_value(processor).map_err(Failure::from)?;
        let states = Arc::new(definition.states);
        let mut selector = state
            .get("ItemSelector")
            .or_else(|| state.get("Parameters"))
            .cloned();
        // A batch is made of selected items: each is selected with its own `$$.Map.Item`.
        let items = match state.get("ItemBatcher") {
            Some(batcher) => {
                let selected = match selector.take() {
                    Some(template) => items
                        .into_iter()
                        .enumerate()
                        .map(|(index, item)| {
                            let mut item_context = context.clone();
                            item_context["Map"] =
                                json!({ "Item": { "Index": index, "Value": item } });
                            apply_template(&template, input, &item_context)
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                    None => items,
                };
                batch(selected, batcher, input, context)?
            }
            None => items,
        };
        let total = items.len();
        let limit = count_field(state, "MaxConcurrency", input, context)?.unwrap_or(0);
        let limit = match limit {
            0 => items.len().max(1),
            n => n as usize,
        };
        let mut prior = prior.unwrap_or_default().into_iter();
        let failed = std::sync::atomic::AtomicBool::new(false);
        let failed = &failed;
        let runs = items.into_iter().enumerate().map(|(index, item)| {
            let states = states.clone();
            let start_at = definition.start_at.clone();
            let selector = selector.clone();
            let execution = execution.clone();
            let mut item_context = context.clone();
            item_context["Map"] = json!({ "Item": { "Index": index, "Value": item } });
            let before = prior.next().unwrap_or(BranchProgress::NotStarted);
            async move {
                let resume = match before {
                    BranchProgress::Succeeded { output } => return Some(Ok(output)),
                    BranchProgress::Failed { at } | BranchProgress::Aborted { at } => Some(at),
                    BranchProgress::NotStarted => None,
                };
                if failed.load(std::sync::atomic::Ordering::SeqCst) {
                    return None;
                }
                let item_input = match &selector {
                    Some(template) => match apply_template(template, input, &item_context) {
                        Ok(value) => value,
                        Err(failure) => {
                            failed.store(true, std::sync::atomic::Ordering::SeqCst);
                            return Some(Err(Interrupted {
                                failure,
                                resume: ResumePoint {
                                    state: start_at,
                                    input: item.clone(),
                                    branches: None,
                                },
                            }));
                        }
                    },
                    None => item.clone(),
                };
                let result = self
                    .run_states(
                        start_at,
                        states,
                        item_input,
                        execution,
                        Some((index, item)),
                        resume,
                    )
                    .await;
                if result.is_err() {
                    failed.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                Some(result)
            }
        });
        let results: Vec<Option<Result<Value, Interrupted>>> =
            futures::stream::iter(runs).buffered(limit).collect().await;
        let failed = results.iter().filter(|r| matches!(r, Some(Err(_)))).count();
        collect_branches(results).map_err(|mut stop| {
            if distributed {
                stop.failure = exceeded(state, &stop.failure, failed, total);
            }
            stop
        })
    }
}
