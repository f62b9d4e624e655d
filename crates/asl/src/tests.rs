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

#[tokio::test]
async fn a_redrive_resumes_the_failed_branch_and_keeps_the_states_that_succeeded() {
    let h = harness(
        json!({"StartAt": "Before", "States": {
            "Before": {"Type": "Task", "Resource": "double", "ResultPath": "$.before", "Next": "P"},
            "P": {"Type": "Parallel", "ResultPath": "$.branches", "Next": "After", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "echo", "End": true}}},
                {"StartAt": "B1", "States": {
                    "B1": {"Type": "Task", "Resource": "echo", "Next": "B2"},
                    "B2": {"Type": "Task", "Resource": "flaky", "End": true}}}]},
            "After": {"Type": "Task", "Resource": "echo", "End": true}}}),
        Ok(json!(null)),
    );
    let first = h.runner.start("exec", json!({"n": 1})).await.unwrap_err();
    assert_eq!(first.failure.error, "Transient");
    assert_eq!(first.resume.state, "P");
    assert_eq!(first.resume.failed_path(), "P / B2");
    // Redriven twice: `flaky` fails on its second call too, then succeeds.
    let second = h
        .runner
        .redrive("exec", json!({"n": 1}), "t0".into(), 1, first.resume)
        .await
        .unwrap_err();
    assert_eq!(second.resume.failed_path(), "P / B2");
    let output = h
        .runner
        .redrive("exec", json!({"n": 1}), "t0".into(), 2, second.resume)
        .await
        .unwrap();
    assert_eq!(output["before"], json!({"n": 2}));
    assert_eq!(output["branches"][1], json!("recovered"));
    assert_eq!(h.calls_of("double"), 1, "Before ran once");
    assert_eq!(h.calls_of("flaky"), 3, "B2 ran on each redrive");
    // echo: A once, B1 once, After once.
    assert_eq!(h.calls_of("echo"), 3);
}

#[tokio::test]
async fn a_redrive_reruns_only_the_map_iterations_that_failed_or_never_started() {
    let h = harness(
        json!({"StartAt": "M", "States": {"M": {
            "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
            "ItemProcessor": {"StartAt": "D", "States": {"D": {"Type": "Task", "Resource": "once", "End": true}}},
            "End": true}}}),
        Ok(json!(null)),
    );
    let items = json!({"items": [{"i": 0}, {"i": 1, "fail": true}, {"i": 2}]});
    let stopped = h.runner.start("m", items.clone()).await.unwrap_err();
    assert_eq!(stopped.failure.error, "Daybook.Failed");
    match stopped.resume.branches.as_deref() {
        Some(
            [
                BranchProgress::Succeeded { .. },
                BranchProgress::Failed { .. },
                BranchProgress::NotStarted,
            ],
        ) => {}
        other => panic!("unexpected progress {other:?}"),
    }
    let output = h
        .runner
        .redrive("m", items, "t0".into(), 1, stopped.resume)
        .await
        .unwrap();
    assert_eq!(output, json!([{"i": 0}, {"i": 1, "fail": true}, {"i": 2}]));
    assert_eq!(
        h.calls_of("once"),
        4,
        "item 0 once, item 1 twice, item 2 once"
    );
}

#[tokio::test]
async fn a_redriven_execution_sees_its_redrive_count() {
    let h = harness(
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "flaky", "Next": "C"},
            "C": {"Type": "Pass", "Parameters": {"count.$": "$$.Execution.RedriveCount", "name.$": "$$.Execution.Name"}, "End": true}}}),
        Ok(json!(null)),
    );
    let first = h.runner.start("e", json!({})).await.unwrap_err();
    let second = h
        .runner
        .redrive("e", json!({}), "t0".into(), 1, first.resume)
        .await
        .unwrap_err();
    let output = h
        .runner
        .redrive("e", json!({}), "t0".into(), 2, second.resume)
        .await
        .unwrap();
    assert_eq!(output, json!({"count": 2, "name": "e"}));
}

#[tokio::test]
async fn a_first_run_sees_a_redrive_count_of_zero() {
    let output = run(
        json!({"StartAt": "C", "States": {
            "C": {"Type": "Pass", "Parameters": {"count.$": "$$.Execution.RedriveCount"}, "End": true}}}),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(output, json!({"count": 0}));
}

/// An ItemReader's S3: one bucket holding what the test put in.
struct Objects(BTreeMap<String, String>);

#[async_trait]
impl ItemSource for Objects {
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
        if bucket != "lake" {
            return Err("NoSuchBucket".into());
        }
        self.0
            .get(key)
            .map(|body| body.clone().into_bytes())
            .ok_or_else(|| format!("NoSuchKey: {key}"))
    }
}

fn distributed_map(reader_key: &str, task: &str) -> Value {
    json!({"StartAt": "M", "States": {"M": {
        "Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                       "Parameters": {"Bucket": "lake", "Key.$": reader_key}},
        "ItemSelector": {"n.$": "$$.Map.Item.Value.n", "fail.$": "$$.Map.Item.Value.fail"},
        "ItemBatcher": {"MaxItemsPerBatchPath": "$.per_batch", "BatchInput": {"job.$": "$.job"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": task, "End": true}}},
        "End": true}}})
}

fn items_harness(definition: Value) -> Harness {
    let mut h = harness(definition, Ok(json!(null)));
    let objects = Objects(BTreeMap::from([(
        "jobs/j/items.json".to_string(),
        json!([{"n": 1, "fail": false}, {"n": 2, "fail": true}, {"n": 3, "fail": false}])
            .to_string(),
    )]));
    h.runner = h.runner.with_item_source(Arc::new(objects));
    h
}

#[tokio::test]
async fn a_distributed_map_reads_its_items_from_s3_and_runs_each_batch_as_a_child() {
    let h = items_harness(distributed_map("$.key", "arn:aws:lambda:r:1:function:echo"));
    let output = h
        .runner
        .execute(
            "test",
            json!({"key": "jobs/j/items.json", "per_batch": 2, "job": "j1"}),
        )
        .await
        .unwrap();
    // Two children: items selected one by one, then grouped, each with the batch input.
    assert_eq!(
        output,
        json!([
            {"Items": [{"n": 1, "fail": false}, {"n": 2, "fail": true}], "BatchInput": {"job": "j1"}},
            {"Items": [{"n": 3, "fail": false}], "BatchInput": {"job": "j1"}}
        ])
    );
}

#[tokio::test]
async fn a_failed_child_fails_the_map_run_and_a_redrive_reruns_only_that_child() {
    let h = items_harness(distributed_map(
        "$.key",
        "arn:aws:lambda:r:1:function:once_per_batch",
    ));
    let input = json!({"key": "jobs/j/items.json", "per_batch": 1, "job": "j1"});
    let interrupted = h.runner.start("test", input.clone()).await.unwrap_err();
    assert_eq!(
        interrupted.failure.error,
        "States.ExceedToleratedFailureThreshold"
    );
    assert!(
        interrupted
            .failure
            .cause
            .contains("1 of 3 child executions failed")
            && interrupted.failure.cause.contains("Daybook.Failed"),
        "{}",
        interrupted.failure.cause
    );
    let output = h
        .runner
        .redrive("test", input, "t".into(), 1, interrupted.resume)
        .await
        .unwrap();
    assert_eq!(output.as_array().unwrap().len(), 3);
    let calls = h.tasks.calls.lock().unwrap();
    let batches: Vec<i64> = calls
        .iter()
        .map(|(_, input)| input["Items"][0]["n"].as_i64().unwrap())
        .collect();
    // The two that succeeded ran once; the failed one again. (Children may start in any order.)
    assert_eq!(
        batches.iter().filter(|n| **n == 2).count(),
        2,
        "{batches:?}"
    );
    assert_eq!(batches.len(), 4, "{batches:?}");
}

#[tokio::test]
async fn an_item_reader_that_cannot_read_fails_with_the_item_reader_error() {
    let h = items_harness(distributed_map("$.key", "arn:aws:lambda:r:1:function:echo"));
    let failure = h
        .runner
        .execute(
            "test",
            json!({"key": "jobs/j/missing.json", "per_batch": 1}),
        )
        .await
        .unwrap_err();
    assert_eq!(failure.error, "States.ItemReaderFailed");
    assert!(failure.cause.contains("NoSuchKey"), "{}", failure.cause);
}

#[test]
fn distributed_only_fields_are_refused_on_an_inline_map_as_aws_refuses_the_definition() {
    let mut inline = distributed_map("$.key", "echo");
    inline["States"]["M"]["ItemProcessor"]["ProcessorConfig"] = json!({"Mode": "INLINE"});
    let err = Definition::parse(&inline.to_string(), &BTreeMap::new()).unwrap_err();
    assert!(
        err.contains("ItemReader") && err.contains("DISTRIBUTED"),
        "{err}"
    );
    let mut untyped = distributed_map("$.key", "echo");
    untyped["States"]["M"]["ItemProcessor"]["ProcessorConfig"] = json!({"Mode": "DISTRIBUTED"});
    let err = Definition::parse(&untyped.to_string(), &BTreeMap::new()).unwrap_err();
    assert!(err.contains("ExecutionType"), "{err}");
}

/// When a branch of a Parallel state fails, AWS stops the branches still running, and a
/// redrive reruns the failed branch and the stopped ones (RedriveExecution: "redrives only the
/// iterations and branches that failed or aborted"); a branch that had finished is kept.
#[tokio::test]
async fn a_failed_branch_stops_its_running_siblings_and_a_redrive_reruns_both() {
    let h = harness(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "Done", "States": {"Done": {"Type": "Task", "Resource": "echo", "End": true}}},
                {"StartAt": "Slow", "States": {"Slow": {"Type": "Task", "Resource": "hangs_once", "End": true}}},
                {"StartAt": "Fails", "States": {"Fails": {"Type": "Task", "Resource": "once",
                    "Parameters": {"fail": true}, "End": true}}}]}}}),
        Ok(json!(null)),
    );
    let first = tokio::time::timeout(Duration::from_secs(5), h.runner.start("p", json!({"n": 1})))
        .await
        .expect("the failure stops the branch still running")
        .unwrap_err();
    assert_eq!(
        first.failure.error, "Daybook.Failed",
        "the Parallel fails with the branch's error"
    );
    let output = tokio::time::timeout(
        Duration::from_secs(5),
        h.runner
            .redrive("p", json!({"n": 1}), "t0".into(), 1, first.resume),
    )
    .await
    .expect("the redrive ends")
    .unwrap();
    assert_eq!(output, json!([{"n": 1}, {"n": 1}, {"fail": true}]));
    assert_eq!(h.calls_of("echo"), 1, "the finished branch is kept");
    assert_eq!(h.calls_of("once"), 2);
    assert_eq!(h.calls_of("hangs_once"), 2, "the stopped branch ran again");
}
