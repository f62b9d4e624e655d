//! The parts of a Map state in Distributed mode that an Inline Map has not: items read from
//! S3 (`ItemReader`), items grouped into batches (`ItemBatcher`), and the error a Map Run
//! fails with. Each child execution runs in-process like an inline iteration.

use super::error::Failure;
use super::paths::{apply_template, count_field};
use async_trait::async_trait;
use serde_json::{Value, json};

const GET_OBJECT: &str = "arn:aws:states:::s3:getObject";

/// Fields Step Functions accepts only when `ProcessorConfig.Mode` is `DISTRIBUTED`.
const DISTRIBUTED_ONLY: &[&str] = &[
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "ToleratedFailurePercentage",
    "ToleratedFailureCount",
    "Label",
];

/// Where an `ItemReader` reads from: S3 on AWS, the local lake here.
#[async_trait]
pub trait ItemSource: Send + Sync {
    /// The object's bytes, or why it cannot be read (as S3 would say it).
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, String>;
}

pub fn is_distributed(state: &Value) -> bool {
    processor(state)
        .and_then(|p| p.pointer("/ProcessorConfig/Mode"))
        .and_then(Value::as_str)
        == Some("DISTRIBUTED")
}

fn processor(state: &Value) -> Option<&Value> {
    state.get("ItemProcessor").or_else(|| state.get("Iterator"))
}

/// What Step Functions refuses when the definition is created.
pub fn validate(name: &str, state: &Value) -> Result<(), String> {
    if is_distributed(state) {
        let execution_type = processor(state)
            .and_then(|p| p.pointer("/ProcessorConfig/ExecutionType"))
            .and_then(Value::as_str);
        if !matches!(execution_type, Some("STANDARD" | "EXPRESS")) {
            return Err(format!(
                "Map {name:?} is DISTRIBUTED, so its ProcessorConfig needs ExecutionType STANDARD or EXPRESS"
            ));
        }
        return Ok(());
    }
    match DISTRIBUTED_ONLY
        .iter()
        .find(|field| state.get(**field).is_some())
    {
        Some(field) => Err(format!(
            "Map {name:?} has {field}, which only a Map whose ProcessorConfig.Mode is DISTRIBUTED may have"
        )),
        None => Ok(()),
    }
}

/// The items of a Map with an `ItemReader`: a JSON array, or JSON lines, from S3.
pub async fn read_items(
    source: Option<&dyn ItemSource>,
    state: &Value,
    input: &Value,
    context: &Value,
) -> Result<Vec<Value>, Failure> {
    let reader = &state["ItemReader"];
    let failed = |cause: String| Failure::new("States.ItemReaderFailed", cause);
    let resource = reader["Resource"].as_str().unwrap_or_default();
    if resource != GET_OBJECT {
        return Err(Failure::runtime(format!(
            "ItemReader resource {resource:?} is not supported by the local runner (it reads {GET_OBJECT})"
        )));
    }
    let parameters = match reader.get("Parameters") {
        Some(template) => apply_template(template, input, context)?,
        None => json!({}),
    };
    let (Some(bucket), Some(key)) = (parameters["Bucket"].as_str(), parameters["Key"].as_str())
    else {
        return Err(failed(format!(
            "ItemReader Parameters must give Bucket and Key as strings; they gave {parameters}"
        )));
    };
    let source = source.ok_or_else(|| {
        Failure::runtime("this runner was given no S3 to read a Map's ItemReader from")
    })?;
    let body = source
        .get_object(bucket, key)
        .await
        .map_err(|e| failed(format!("reading s3://{bucket}/{key}: {e}")))?;
    let text = String::from_utf8(body)
        .map_err(|e| failed(format!("s3://{bucket}/{key} is not UTF-8: {e}")))?;
    let input_type = reader
        .pointer("/ReaderConfig/InputType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let items = match input_type {
        "JSON" => match serde_json::from_str(&text) {
            Ok(Value::Array(items)) => items,
            Ok(_) => return Err(failed(format!("s3://{bucket}/{key} is not a JSON array"))),
            Err(e) => return Err(failed(format!("s3://{bucket}/{key} is not JSON: {e}"))),
        },
        "JSONL" => text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .enumerate()
            .map(|(n, line)| {
                serde_json::from_str(line).map_err(|e| {
                    failed(format!(
                        "s3://{bucket}/{key} line {} is not JSON: {e}",
                        n + 1
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(Failure::runtime(format!(
                "ItemReader InputType {other:?} is not supported by the local runner (JSON and JSONL are)"
            )));
        }
    };
    match reader
        .pointer("/ReaderConfig/MaxItems")
        .and_then(Value::as_u64)
    {
        Some(max) => Ok(items.into_iter().take(max as usize).collect()),
        None => Ok(items),
    }
}

/// Groups the (already selected) items into child inputs `{"Items": […], "BatchInput": …}`.
pub fn batch(
    items: Vec<Value>,
    batcher: &Value,
    input: &Value,
    context: &Value,
) -> Result<Vec<Value>, Failure> {
    let size = count_field(batcher, "MaxItemsPerBatch", input, context)?.unwrap_or(0);
    if size == 0 {
        return Err(Failure::runtime(
            "the local runner needs the ItemBatcher's MaxItemsPerBatch (or its Path) to be a positive whole number",
        ));
    }
    let batch_input = match batcher.get("BatchInput") {
        Some(template) => Some(apply_template(template, input, context)?),
        None => None,
    };
    Ok(items
        .chunks(size as usize)
        .map(|chunk| {
            let mut child = json!({ "Items": chunk });
            if let Some(batch_input) = &batch_input {
                child["BatchInput"] = batch_input.clone();
            }
            child
        })
        .collect())
}

/// How a Map Run fails once more children failed than it tolerates: under its own error
/// name, as on AWS. The first child's error is kept in the cause, where AWS has it in the
/// Map Run's own history.
pub fn exceeded(state: &Value, first: &Failure, failed: usize, total: usize) -> Failure {
    let tolerated = state
        .get("ToleratedFailureCount")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Failure::new(
        "States.ExceedToleratedFailureThreshold",
        format!(
            "The specified tolerated failure threshold was exceeded: {failed} of {total} child executions failed ({tolerated} tolerated); the first with {}: {}",
            first.error, first.cause
        ),
    )
}
