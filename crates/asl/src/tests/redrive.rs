//! Redrive: where a failed execution resumes, what it reruns, and what a failed Parallel
//! branch does to its siblings.

use super::*;

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
