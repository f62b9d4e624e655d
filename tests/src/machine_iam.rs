//! What a state machine's definition makes Step Functions do with the machine's role, and the
//! role as SAM translates `infra/template.yaml`: Tasks invoke their functions; a Distributed
//! Map starts, follows, stops and redrives child executions of its own machine and reads its
//! items from S3. Step Functions checks these with the role when the execution runs, which no
//! local stand-in does, so they are checked here, statement by statement.

use crate::iam::{ACCOUNT, REGION, allows};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

/// One permission the machine's role needs: an action on a resource, and the state that needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineNeed {
    pub state: String,
    pub action: String,
    pub resource: String,
}

/// Each state machine's statements by its logical id, as `tests/iam/roles.py` translates them.
pub fn state_machine_statements(
    parameters: &Value,
    physical: &Value,
) -> BTreeMap<String, Vec<Value>> {
    let root = crate::workspace_root();
    let output = Command::new("python3")
        .arg(root.join("tests/iam/roles.py"))
        .arg("--template")
        .arg(root.join("infra/template.yaml"))
        .args(["--endpoint", "unused"])
        .args(["--parameters", &parameters.to_string()])
        .args(["--physical", &physical.to_string()])
        .arg("--state-machines")
        .output()
        .expect("python3 is not on PATH: run the README's test command (scripts/test)");
    assert!(
        output.status.success(),
        "tests/iam/roles.py failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("roles.py prints JSON")
}

/// What running `definition` (placeholders already substituted) as machine `machine` needs.
pub fn definition_needs(definition: &Value, machine: &str) -> Vec<MachineNeed> {
    let mut needs = Vec::new();
    walk(definition, machine, &mut needs);
    needs
}

fn walk(definition: &Value, machine: &str, needs: &mut Vec<MachineNeed>) {
    let Some(states) = definition["States"].as_object() else {
        return;
    };
    for (name, state) in states {
        let mut need = |action: &str, resource: String| {
            needs.push(MachineNeed {
                state: name.clone(),
                action: action.to_string(),
                resource,
            })
        };
        let resource = state["Resource"].as_str().unwrap_or_default();
        if resource.starts_with("arn:aws:lambda:") {
            need("lambda:InvokeFunction", resource.to_string());
        } else if resource.starts_with("arn:aws:states:::lambda:invoke") {
            let function = state["Parameters"]["FunctionName"]
                .as_str()
                .unwrap_or_default();
            need("lambda:InvokeFunction", function.to_string());
        }
        let distributed =
            state.pointer("/ItemProcessor/ProcessorConfig/Mode") == Some(&"DISTRIBUTED".into());
        if distributed {
            let label = state["Label"].as_str().unwrap_or(name);
            let child = format!(
                "arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}/{label}:8f9c3e1a-0b6d-4b1e-9a57-2c3d4e5f6a7b"
            );
            need(
                "states:StartExecution",
                format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}"),
            );
            for action in [
                "states:DescribeExecution",
                "states:StopExecution",
                "states:RedriveExecution",
            ] {
                need(action, child.clone());
            }
            let reader = &state["ItemReader"]["Parameters"];
            if let Some(bucket) = reader["Bucket"].as_str() {
                // The key comes from the plan step: an object in a job's folder.
                need(
                    "s3:GetObject",
                    format!("arn:aws:s3:::{bucket}/jobs/job-1/fan-out/items.json"),
                );
            }
        }
        for nested in state["Branches"].as_array().into_iter().flatten() {
            walk(nested, machine, needs);
        }
        if let Some(processor) = state.get("ItemProcessor") {
            walk(processor, machine, needs);
        }
    }
}

/// The needs `statements` do not allow, described for a person.
pub fn unmet(statements: &[Value], needs: &[MachineNeed]) -> Vec<String> {
    needs
        .iter()
        .filter(|n| !allows(statements, &n.action, &n.resource))
        .map(|n| format!("{:?} needs {} on {}", n.state, n.action, n.resource))
        .collect()
}
