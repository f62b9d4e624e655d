//! Each state type against the documented semantics, with a virtual clock and fake tasks.

use super::*;
use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct VirtualClock {
    slept: Mutex<Vec<Duration>>,
}

#[async_trait]
impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 6, 0, 0).unwrap()
            + self.slept.lock().unwrap().iter().sum::<Duration>()
    }
    async fn sleep(&self, duration: Duration) {
        self.slept.lock().unwrap().push(duration);
    }
}

/// Tasks: `double` doubles `$.n`; `flaky` fails with `Transient` until its third call;
/// `broken` always fails; `once` fails the first time it sees an input with `"fail": true`;
/// `once_per_batch` does the same for a batch whose first item has it; `hangs_once` never ends
/// the first time; `echo` returns its input.
#[derive(Default)]
struct FakeTasks {
    calls: Mutex<Vec<(String, Value)>>,
}

#[async_trait]
impl TaskInvoker for FakeTasks {
    async fn invoke(&self, function: &str, input: Value) -> Result<Value, Failure> {
        let name = function.rsplit(':').next().unwrap_or(function).to_string();
        let (count, same_input) = {
            let mut calls = self.calls.lock().unwrap();
            calls.push((name.clone(), input.clone()));
            (
                calls.iter().filter(|(n, _)| *n == name).count(),
                calls.iter().filter(|c| c.0 == name && c.1 == input).count(),
            )
        };
        match name.as_str() {
            "double" => Ok(json!({ "n": input["n"].as_i64().unwrap_or(0) * 2 })),
            "flaky" if count < 3 => Err(Failure::new("Transient", format!("attempt {count}"))),
            "flaky" => Ok(json!("recovered")),
            "broken" => Err(Failure::new("Daybook.Broken", "always fails")),
            "once" if same_input == 1 && input["fail"] == json!(true) => Err(Failure::new(
                "Daybook.Failed",
                format!("first try of {input}"),
            )),
            "once_per_batch" if same_input == 1 && input["Items"][0]["fail"] == json!(true) => Err(
                Failure::new("Daybook.Failed", format!("first try of {input}")),
            ),
            // Runs until it is stopped, the first time; returns its input after.
            "hangs_once" if count == 1 => {
                futures::future::pending::<()>().await;
                unreachable!("a pending future never completes")
            }
            _ => Ok(input),
        }
    }
}

/// Answers every callback at once with what the test put in.
struct Answers(Result<Value, Failure>);

#[async_trait]
impl CallbackWaiter for Answers {
    async fn wait(
        &self,
        token: &str,
        _execution: &str,
        _state: &str,
        _timeout: Option<Duration>,
    ) -> Result<Value, Failure> {
        assert!(
            !token.is_empty(),
            "a task token is generated for the callback"
        );
        self.0.clone()
    }
}

struct Harness {
    runner: Runner,
    tasks: Arc<FakeTasks>,
    clock: Arc<VirtualClock>,
    events: Arc<Mutex<Vec<RunEvent>>>,
}

fn harness(definition: Value, answer: Result<Value, Failure>) -> Harness {
    let definition = Definition::parse(&definition.to_string(), &BTreeMap::new()).unwrap();
    let tasks = Arc::new(FakeTasks::default());
    let clock = Arc::new(VirtualClock::default());
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let runner = Runner::new(
        definition,
        tasks.clone(),
        Arc::new(Answers(answer)),
        clock.clone(),
    )
    .with_observer(Arc::new(move |e| sink.lock().unwrap().push(e.clone())));
    Harness {
        runner,
        tasks,
        clock,
        events,
    }
}

async fn run(definition: Value, input: Value) -> Result<Value, Failure> {
    harness(definition, Ok(json!(null)))
        .runner
        .execute("test", input)
        .await
}

#[tokio::test]
async fn pass_applies_parameters_result_path_and_output_path() {
    let output = run(
        json!({"StartAt": "P", "States": {"P": {
            "Type": "Pass", "InputPath": "$.in", "Parameters": {"x.$": "$.v", "name.$": "$$.Execution.Name"},
            "ResultPath": "$.out", "OutputPath": "$.out", "End": true}}}),
        json!({"in": {"v": 7}}),
    )
    .await
    .unwrap();
    assert_eq!(output, json!({"x": 7, "name": "test"}));
}

#[tokio::test]
async fn pass_result_replaces_the_input_unless_result_path_is_null() {
    let output = run(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Result": {"r": 1}, "ResultPath": "$.a", "Next": "B"},
            "B": {"Type": "Pass", "Result": "ignored", "ResultPath": null, "End": true}}}),
        json!({"keep": true}),
    )
    .await
    .unwrap();
    assert_eq!(output, json!({"keep": true, "a": {"r": 1}}));
}

#[tokio::test]
async fn task_result_selector_and_lambda_invoke_envelope() {
    let output = run(
        json!({"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "arn:aws:lambda:local:0:function:double", "Payload": {"n.$": "$.n"}},
            "ResultSelector": {"doubled.$": "$.Payload.n", "status.$": "$.StatusCode"},
            "ResultPath": "$.result", "End": true}}}),
        json!({"n": 21}),
    )
    .await
    .unwrap();
    assert_eq!(
        output,
        json!({"n": 21, "result": {"doubled": 42, "status": 200}})
    );
}

#[tokio::test]
async fn retry_backs_off_on_the_clock_then_succeeds() {
    let h = harness(
        json!({"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "flaky", "End": true,
            "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3}]}}}),
        Ok(json!(null)),
    );
    assert_eq!(
        h.runner.execute("r", json!({})).await.unwrap(),
        json!("recovered")
    );
    assert_eq!(
        *h.clock.slept.lock().unwrap(),
        vec![Duration::from_secs(2), Duration::from_secs(6)]
    );
}

#[tokio::test]
async fn retry_gives_up_after_max_attempts_and_catch_routes_the_error() {
    let h = harness(
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "broken", "Next": "Never",
                  "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handled"}]},
            "Never": {"Type": "Succeed"},
            "Handled": {"Type": "Pass", "End": true}}}),
        Ok(json!(null)),
    );
    let output = h.runner.execute("c", json!({"job": 1})).await.unwrap();
    assert_eq!(
        output,
        json!({"job": 1, "error": {"Error": "Daybook.Broken", "Cause": "always fails"}})
    );
    assert_eq!(
        h.tasks.calls.lock().unwrap().len(),
        3,
        "one call and two retries"
    );
    assert!(
        h.events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, RunEvent::Caught { next, .. } if next == "Handled"))
    );
}

#[tokio::test]
async fn an_uncaught_failure_ends_the_execution_with_its_error() {
    let err = run(json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "broken", "End": true}}}), json!({}))
        .await
        .unwrap_err();
    assert_eq!(err, Failure::new("Daybook.Broken", "always fails"));
}

#[tokio::test]
async fn choice_takes_the_first_matching_rule_or_the_default() {
    let definition = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
            {"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Medium"}], "Default": "Small"},
        "Big": {"Type": "Pass", "Result": "big", "End": true},
        "Medium": {"Type": "Pass", "Result": "medium", "End": true},
        "Small": {"Type": "Pass", "Result": "small", "End": true}}});
    assert_eq!(
        run(definition.clone(), json!({"n": 50})).await.unwrap(),
        json!("big")
    );
    assert_eq!(
        run(definition.clone(), json!({"n": 7})).await.unwrap(),
        json!("medium")
    );
    assert_eq!(
        run(definition, json!({"n": 1})).await.unwrap(),
        json!("small")
    );
}

#[tokio::test]
async fn choice_without_a_match_or_default_fails() {
    let err = run(
        json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericEquals": 1, "Next": "D"}]}, "D": {"Type": "Succeed"}}}),
        json!({"n": 2}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.error, "States.NoChoiceMatched");
}

#[tokio::test]
async fn parallel_returns_branch_outputs_in_order() {
    let output = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "double", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": "b", "End": true}}}]}}}),
        json!({"n": 4}),
    )
    .await
    .unwrap();
    assert_eq!(output, json!([{"n": 8}, "b"]));
}

#[tokio::test]
async fn parallel_fails_when_a_branch_fails() {
    let err = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "broken", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]}}}),
        json!({}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.error, "Daybook.Broken");
}

#[tokio::test]
async fn map_runs_each_item_with_its_selector_and_keeps_order() {
    let output = run(
        json!({"StartAt": "M", "States": {"M": {
            "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
            "ItemSelector": {"n.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "tag.$": "$.tag"},
            "ItemProcessor": {"StartAt": "D", "States": {"D": {"Type": "Task", "Resource": "echo", "End": true}}},
            "ResultPath": "$.results", "End": true}}}),
        json!({"items": [1, 2, 3], "tag": "t"}),
    )
    .await
    .unwrap();
    assert_eq!(
        output["results"],
        json!([{"n": 1, "index": 0, "tag": "t"}, {"n": 2, "index": 1, "tag": "t"}, {"n": 3, "index": 2, "tag": "t"}])
    );
}

#[tokio::test]
async fn wait_sleeps_on_the_runner_clock() {
    let h = harness(
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "U"},
            "U": {"Type": "Wait", "Timestamp": "2026-11-22T06:10:00Z", "End": true}}}),
        Ok(json!(null)),
    );
    h.runner.execute("w", json!({"delay": 30})).await.unwrap();
    assert_eq!(
        *h.clock.slept.lock().unwrap(),
        vec![Duration::from_secs(30), Duration::from_secs(570)]
    );
}

#[tokio::test]
async fn fail_state_names_its_error_and_cause() {
    let err = run(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Rejected", "CausePath": "$.why"}}}),
        json!({"why": "numbers look wrong"}),
    )
    .await
    .unwrap_err();
    assert_eq!(err, Failure::new("Rejected", "numbers look wrong"));
}

#[tokio::test]
async fn succeed_ends_the_execution_early() {
    let output = run(
        json!({"StartAt": "S", "States": {"S": {"Type": "Succeed", "OutputPath": "$.a"}, "Unused": {"Type": "Pass", "End": true}}}),
        json!({"a": 1}),
    )
    .await
    .unwrap();
    assert_eq!(output, json!(1));
}

fn approval_definition() -> Value {
    json!({"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "request-approval", "Payload": {"token.$": "$$.Task.Token", "job.$": "$.job"}},
        "TimeoutSeconds": 3600, "ResultPath": "$.approval", "End": true}}})
}

#[tokio::test]
async fn wait_for_task_token_passes_the_token_and_returns_the_callback_output() {
    let h = harness(
        approval_definition(),
        Ok(json!({"approved": true, "by": "ana"})),
    );
    let output = h.runner.execute("a", json!({"job": "j1"})).await.unwrap();
    assert_eq!(output["approval"], json!({"approved": true, "by": "ana"}));
    let calls = h.tasks.calls.lock().unwrap();
    assert_eq!(calls[0].0, "request-approval");
    assert_eq!(calls[0].1["job"], "j1");
    assert!(calls[0].1["token"].as_str().unwrap().starts_with("a-Ask-"));
}

#[tokio::test]
async fn wait_for_task_token_failure_is_the_states_failure() {
    let h = harness(
        approval_definition(),
        Err(Failure::new("Rejected", "not today")),
    );
    let err = h
        .runner
        .execute("a", json!({"job": "j1"}))
        .await
        .unwrap_err();
    assert_eq!(err, Failure::new("Rejected", "not today"));
}

impl Harness {
    fn calls_of(&self, name: &str) -> usize {
        self.tasks
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .count()
    }
}

#[tokio::test]
async fn full_jitter_waits_a_random_part_of_the_capped_backoff() {
    let h = harness(
        json!({"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "flaky", "End": true,
            "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 10, "BackoffRate": 4,
                       "MaxDelaySeconds": 15, "MaxAttempts": 3, "JitterStrategy": "FULL"}]}}}),
        Ok(json!(null)),
    );
    h.runner.execute("j", json!({})).await.unwrap();
    let slept = h.clock.slept.lock().unwrap().clone();
    assert_eq!(slept.len(), 2);
    // A random part in [0, backoff): never the whole backoff, which is what no jitter waits.
    assert!(slept[0] < Duration::from_secs(10), "{slept:?}");
    assert!(slept[1] < Duration::from_secs(15), "capped: {slept:?}");
}

mod distributed;
mod redrive;
