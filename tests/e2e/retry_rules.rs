//! The definition's error handling as Step Functions reads it: what each Task retries, and
//! that no failure is caught into a Fail state (a redrive could not resume it).

use serde_json::Value;

/// Every Task state of the definition retries the Lambda service's own errors and ours
/// (`Daybook.Transient`) with capped, jittered backoff, and never retries bad input or a
/// plain failure: those stop the run in that Task, ready for a redrive.
#[test]
fn every_task_retries_transient_errors_and_nothing_catches_into_a_fail_state() {
    let text = std::fs::read_to_string(
        daybook_tests::workspace_root().join("statemachines/daily-report.asl.json"),
    )
    .unwrap();
    let definition: Value = serde_json::from_str(&text).unwrap();
    let mut tasks = Vec::new();
    collect_states(&definition["States"], &mut tasks);
    assert!(tasks.len() >= 8, "found {} states", tasks.len());
    for (name, state) in &tasks {
        assert!(
            state.get("Catch").is_none(),
            "{name} catches its errors: a redrive could not resume it"
        );
        assert_ne!(
            state["Type"], "Fail",
            "{name}: failures end in the failed Task itself"
        );
        if state["Type"] != "Task" {
            continue;
        }
        // The failed execution's cause, and so its alert, names the state to open.
        let parameters = match state["Parameters"].get("Payload") {
            Some(payload) => payload,
            None => &state["Parameters"],
        };
        assert_eq!(
            parameters["state_name.$"], "$$.State.Name",
            "{name} does not pass its state's name to the function"
        );
        let retried: Vec<&str> = state["Retry"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no Retry"))
            .iter()
            .flat_map(|r| r["ErrorEquals"].as_array().unwrap())
            .filter_map(Value::as_str)
            .collect();
        for error in [
            "Daybook.Transient",
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
        ] {
            assert!(retried.contains(&error), "{name} does not retry {error}");
        }
        for error in ["Daybook.InvalidInput", "Daybook.Failed", "States.ALL"] {
            assert!(!retried.contains(&error), "{name} retries {error}");
        }
        for rule in state["Retry"].as_array().unwrap() {
            assert_eq!(rule["JitterStrategy"], "FULL", "{name}");
            assert!(rule["MaxDelaySeconds"].as_u64().is_some(), "{name}");
        }
    }
}

fn collect_states(states: &Value, into: &mut Vec<(String, Value)>) {
    for (name, state) in states.as_object().unwrap() {
        // The approval's answer is a decision, not an error: a rejection fails there on purpose.
        if name != "Rejected" {
            into.push((name.clone(), state.clone()));
        }
        for branch in state["Branches"].as_array().into_iter().flatten() {
            collect_states(&branch["States"], into);
        }
        if let Some(processor) = state.get("ItemProcessor") {
            collect_states(&processor["States"], into);
        }
    }
}
