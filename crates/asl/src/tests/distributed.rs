//! Distributed Maps: items from an ItemReader, batches as child executions, and their redrive.

use super::*;

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
