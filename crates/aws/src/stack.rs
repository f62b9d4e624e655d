//! The operator's view of a deployed stack: its outputs from CloudFormation (the state
//! machines, the state table, the bucket), and its runs as Step Functions executions (start,
//! list, history, redrive). The CLI's commands with `--stack` are built on this.

use crate::sdk::describe;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType};
use chrono::{DateTime, Utc};
use daybook_core::history::StateVisit;
use daybook_core::ports::PortError;
use std::collections::BTreeMap;

/// A deployed daybook stack: its name, region and outputs by key.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    pub name: String,
    pub region: String,
    pub outputs: BTreeMap<String, String>,
}

/// An SDK error as one line an operator can act on: no credentials, or the service's words.
fn operator_error<E, R>(
    what: &str,
    error: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> PortError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let text = describe(error);
    if text.contains("credentials") || text.contains("Credentials") {
        return PortError::new(format!(
            "{what}: no AWS credentials were found. Sign in (`aws sso login`, or `aws configure`), or set AWS_PROFILE; daybook uses the same credentials and region as the AWS CLI"
        ));
    }
    PortError::new(format!("{what}: {text}"))
}

/// The service's answer `code` (the operator named something wrong) as `advice` given its
/// text; any other failure as [`operator_error`].
fn refusal<E, R>(
    error: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
    code: &str,
    advice: impl FnOnce(&str) -> String,
    what: &str,
) -> PortError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let text = describe(error);
    if text.contains(code) {
        PortError::with_kind(advice(&text), daybook_core::ErrorKind::InvalidInput)
    } else {
        operator_error(what, error)
    }
}

impl Stack {
    /// Reads the stack's outputs.
    pub async fn find(
        client: &aws_sdk_cloudformation::Client,
        name: &str,
    ) -> Result<Self, PortError> {
        let region = client
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default();
        let answer = client
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .map_err(|e| {
                refusal(
                    &e,
                    "does not exist",
                    |_| format!(
                        "stack {name} does not exist in {}: deploy it with `sam deploy --guided`, or name the deployed one with --stack <name> (and AWS_REGION if it is in another region)",
                        if region.is_empty() { "this region" } else { &region }
                    ),
                    &format!("reading stack {name}"),
                )
            })?;
        let stack = answer.stacks().first().ok_or_else(|| {
            PortError::new(format!(
                "reading stack {name}: CloudFormation returned no stack"
            ))
        })?;
        let outputs = stack
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
            .collect();
        Ok(Self {
            name: name.to_string(),
            region,
            outputs,
        })
    }

    /// The output `key`, or an error naming the stack and what it lacks.
    pub fn output(&self, key: &str) -> Result<&str, PortError> {
        self.outputs.get(key).map(String::as_str).ok_or_else(|| {
            PortError::with_kind(
                format!(
                    "stack {} has no output {key}: is it a daybook stack? Deploy infra/template.yaml with `sam deploy` (its outputs: {})",
                    self.name,
                    self.outputs.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                daybook_core::ErrorKind::InvalidInput,
            )
        })
    }
}

/// The stack name `sam deploy` uses: `stack_name` in `samconfig.toml`'s deploy parameters.
pub fn stack_name_in_samconfig(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .filter_map(|line| line.strip_prefix("stack_name"))
        .filter_map(|rest| rest.trim_start().strip_prefix('='))
        .map(|value| {
            value
                .trim()
                .trim_matches('"')
                .trim_matches('\'')
                .to_string()
        })
        .find(|name| !name.is_empty())
}

/// The ARN of execution `name` of a state machine.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

/// The execution's page in the Step Functions console.
pub fn console_link(execution_arn: &str) -> String {
    let region = execution_arn.split(':').nth(3).unwrap_or("us-east-1");
    format!(
        "https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}"
    )
}

/// One execution as ListExecutions and DescribeExecution give it.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub started: Option<DateTime<Utc>>,
    pub stopped: Option<DateTime<Utc>>,
    pub redrive_count: i32,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub input: Option<String>,
}

fn time(value: Option<&aws_sdk_sfn::primitives::DateTime>) -> Option<DateTime<Utc>> {
    value.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

fn status(value: Option<&ExecutionStatus>) -> String {
    value.map(|s| s.as_str().to_string()).unwrap_or_default()
}

/// Step Functions as an operator uses it.
pub struct Runs {
    client: aws_sdk_sfn::Client,
}

impl Runs {
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        Self { client }
    }

    /// Starts execution `name` with `input`; its ARN.
    pub async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &serde_json::Value,
    ) -> Result<String, PortError> {
        let started = self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .map_err(|e| operator_error(&format!("starting execution {name}"), &e))?;
        Ok(started.execution_arn().to_string())
    }

    /// The `last` newest executions.
    pub async fn list(
        &self,
        state_machine_arn: &str,
        last: usize,
    ) -> Result<Vec<Execution>, PortError> {
        let mut executions = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_executions()
                .state_machine_arn(state_machine_arn)
                .max_results(last.clamp(1, 1000) as i32)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| operator_error("listing the executions", &e))?;
            executions.extend(page.executions().iter().map(|e| Execution {
                name: e.name().to_string(),
                arn: e.execution_arn().to_string(),
                status: status(Some(e.status())),
                started: time(Some(e.start_date())),
                stopped: time(e.stop_date()),
                redrive_count: e.redrive_count().unwrap_or(0),
                error: None,
                cause: None,
                input: None,
            }));
            token = page.next_token().map(str::to_string);
            if token.is_none() || executions.len() >= last {
                executions.truncate(last);
                return Ok(executions);
            }
        }
    }

    pub async fn describe(&self, execution_arn: &str) -> Result<Execution, PortError> {
        self.describe_started(execution_arn).await?.ok_or_else(|| {
            PortError::with_kind(
                format!(
                    "there is no execution {execution_arn}: give the job id `daybook runs --stack` lists"
                ),
                daybook_core::ErrorKind::InvalidInput,
            )
        })
    }

    /// The execution, or `None` if it has not been started.
    pub async fn describe_started(
        &self,
        execution_arn: &str,
    ) -> Result<Option<Execution>, PortError> {
        let e = match self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
        {
            Ok(e) => e,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_execution_does_not_exist()) =>
            {
                return Ok(None);
            }
            Err(error) => {
                return Err(operator_error(
                    &format!("describing {execution_arn}"),
                    &error,
                ));
            }
        };
        Ok(Some(Execution {
            name: e.name().unwrap_or_default().to_string(),
            arn: e.execution_arn().to_string(),
            status: status(Some(e.status())),
            started: time(Some(e.start_date())),
            stopped: time(e.stop_date()),
            redrive_count: e.redrive_count().unwrap_or(0),
            error: e.error().map(str::to_string),
            cause: e.cause().map(str::to_string),
            input: e.input().map(str::to_string),
        }))
    }

    /// The execution's states as they were entered and left, from its event history.
    pub async fn history(&self, execution_arn: &str) -> Result<Vec<StateVisit>, PortError> {
        Ok(visits(&self.events(execution_arn).await?))
    }

    /// The execution's event history, oldest first.
    pub async fn events(&self, execution_arn: &str) -> Result<Vec<HistoryEvent>, PortError> {
        let mut events = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .get_execution_history()
                .execution_arn(execution_arn)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| {
                    operator_error(&format!("reading the history of {execution_arn}"), &e)
                })?;
            events.extend(page.events().iter().cloned());
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(events);
            }
        }
    }

    /// Redrives a failed execution from the state that failed.
    pub async fn redrive(&self, execution_arn: &str) -> Result<DateTime<Utc>, PortError> {
        let answer = self
            .client
            .redrive_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|e| {
                refusal(
                    &e,
                    "ExecutionNotRedrivable",
                    |text| format!("{execution_arn} cannot be redriven: {text}. Only a failed, timed-out or aborted execution that stopped in the last 14 days can be; start a new run for the date instead"),
                    &format!("redriving {execution_arn}"),
                )
            })?;
        Ok(time(Some(answer.redrive_date())).unwrap_or_else(Utc::now))
    }
}

/// Pairs each `…StateEntered` event with the `…StateExited` of the same state, in the order
/// they happened; a failure event between them gives the visit its error.
pub fn visits(events: &[HistoryEvent]) -> Vec<StateVisit> {
    let mut history: Vec<StateVisit> = Vec::new();
    for event in events {
        let Some(at) = time(Some(event.timestamp())) else {
            continue;
        };
        if let Some(details) = event.state_entered_event_details() {
            history.push(StateVisit {
                state: details.name().to_string(),
                entered: at,
                exited: None,
                error: None,
                retries: 0,
            });
        } else if let Some(details) = event.state_exited_event_details() {
            if let Some(visit) = history
                .iter_mut()
                .find(|v| v.state == details.name() && v.exited.is_none())
            {
                visit.exited = Some(at);
            }
        } else if let Some(error) = failure_of(event) {
            // A task's failure belongs to the latest state still open.
            if let Some(visit) = history.iter_mut().rev().find(|v| v.exited.is_none()) {
                if visit.error.is_some() {
                    visit.retries += 1;
                }
                visit.error = Some(error);
            }
        } else if matches!(
            event.r#type(),
            HistoryEventType::TaskSucceeded | HistoryEventType::LambdaFunctionSucceeded
        ) {
            // A retried task that then succeeded: the visit ends well.
            if let Some(visit) = history.iter_mut().rev().find(|v| v.exited.is_none()) {
                visit.error = None;
            }
        }
    }
    // A state still open when the execution failed is where it stopped.
    history
}

fn failure_of(event: &HistoryEvent) -> Option<String> {
    event
        .task_failed_event_details()
        .and_then(|d| d.error().map(str::to_string))
        .or_else(|| {
            event
                .lambda_function_failed_event_details()
                .and_then(|d| d.error().map(str::to_string))
        })
        .or_else(|| {
            event
                .task_timed_out_event_details()
                .map(|d| d.error().unwrap_or("States.Timeout").to_string())
        })
        .or_else(|| {
            event
                .execution_failed_event_details()
                .and_then(|d| d.error().map(str::to_string))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_name_comes_from_samconfigs_deploy_parameters() {
        let text = "version = 0.1\n[default.deploy.parameters]\nstack_name = \"daybook-prod\"\nresolve_s3 = true\n";
        assert_eq!(
            stack_name_in_samconfig(text).as_deref(),
            Some("daybook-prod")
        );
        assert_eq!(stack_name_in_samconfig("version = 0.1\n"), None);
    }

    #[test]
    fn an_execution_is_named_under_its_state_machine() {
        let machine = "arn:aws:states:ap-northeast-2:123456789012:stateMachine:daybook-daily";
        let arn = execution_arn(machine, "20261121-060000-ab12cd");
        assert_eq!(
            arn,
            "arn:aws:states:ap-northeast-2:123456789012:execution:daybook-daily:20261121-060000-ab12cd"
        );
        assert!(console_link(&arn).starts_with(
            "https://ap-northeast-2.console.aws.amazon.com/states/home?region=ap-northeast-2#/v2/executions/details/arn:aws:states:"
        ));
    }
}
