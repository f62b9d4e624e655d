//! A DynamoDB export flattened over the Distributed Map (plan, one child per batch of files,
//! commit) publishes what one invocation publishes, and a failed child is redriven alone; a
//! Segment day over two Distributed Maps (plan, scan, resolve, write, commit) too, with the
//! day's duplicates and property types found across children.

use daybook_asl::{Failure, RunEvent, TaskInvoker};
use daybook_core::steps::JobContext;
use daybook_core::steps::dynamodb_fan_out::{
    FanOutStep, PartTask, PlannedFile, SourcesTask, commit_fan_out, flatten_parts, plan_fan_out,
};
use daybook_local::fs_store::FsStore;
use daybook_local::paths::LocalPaths;
use daybook_local::pipeline::LocalFunctions;
use daybook_local::runs::{RunError, redrive_daily_report, run_daily_report_with};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};

const DATE: &str = "2026-11-21";

/// A demo root whose search_queries export fans out, `per_iteration` files per child.
fn fanned_root(root: &Path, job_id: &str, per_iteration: Option<u32>) {
    let options = crate::local_pipeline::options(root, job_id, false);
    daybook_local::demo::prepare(&options).unwrap();
    daybook_local::demo::prepare_shop(&options).unwrap();
    if let Some(per_iteration) = per_iteration {
        let path = root.join("config/daybook.json");
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        config["dynamodb"][0]["fan_out"] = json!({ "files_per_iteration": per_iteration });
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    }
}

/// The local functions, with every call recorded (function, and the fan-out mode and parts)
/// and, if asked, the first call flattening part `fail_part` failing.
struct Recorded {
    functions: LocalFunctions,
    calls: Mutex<Vec<String>>,
    fail_part: Option<u64>,
}

impl Recorded {
    fn new(root: &Path, fail_part: Option<u64>) -> Arc<Self> {
        Arc::new(Self {
            functions: LocalFunctions::new(&LocalPaths::new(root)),
            calls: Mutex::new(Vec::new()),
            fail_part,
        })
    }

    fn count(&self, call: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| *c == call)
            .count()
    }
}

#[async_trait::async_trait]
impl TaskInvoker for Recorded {
    async fn invoke(&self, function: &str, input: Value) -> Result<Value, Failure> {
        let name = function.rsplit(':').next().unwrap_or(function);
        let call = match input["mode"].as_str() {
            Some(mode @ ("scan" | "write")) => {
                let files: Vec<String> = input["files"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["index"].to_string())
                    .collect();
                format!("segment {mode} {}", files.join(","))
            }
            Some(mode) if name == "export-segment" => format!("segment {mode}"),
            Some("part") => {
                let parts: Vec<String> = input["files"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["part"].to_string())
                    .collect();
                format!("part {}", parts.join(","))
            }
            Some(mode) => mode.to_string(),
            None => name.to_string(),
        };
        let first = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(call.clone());
            calls.iter().filter(|c| **c == call).count() == 1
        };
        let failing = self.fail_part.is_some_and(|part| {
            input["files"]
                .as_array()
                .is_some_and(|files| files.iter().any(|f| f["part"] == json!(part)))
        });
        if failing && first {
            return Err(Failure::new(
                "Daybook.Failed",
                "reading data/part-1.json.gz: the connection was reset",
            ));
        }
        self.functions.invoke(function, input).await
    }
}

fn approve() -> Arc<daybook_local::callbacks::AutoAnswer> {
    Arc::new(daybook_local::callbacks::AutoAnswer::new(
        json!({ "approved": true, "by": "ana" }),
    ))
}

fn quiet() -> Arc<dyn Fn(&RunEvent) + Send + Sync> {
    Arc::new(|_: &RunEvent| {})
}

fn input() -> Value {
    json!({ "date": DATE, "started_by": "test" })
}

fn manifest(root: &Path, table: &str, job_id: &str) -> Value {
    let path = root.join(format!(
        "lake/search_queries/{table}/dt={DATE}/run={job_id}/_manifest.json"
    ));
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn tables(root: &Path, job_id: &str) -> Vec<String> {
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join(format!("jobs/{job_id}/flatten-search_queries.json")))
            .unwrap(),
    )
    .unwrap();
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_fanned_out_export_publishes_what_one_invocation_publishes() {
    let whole_dir = tempfile::tempdir().unwrap();
    let fanned_dir = tempfile::tempdir().unwrap();
    let (whole, fanned) = (whole_dir.path(), fanned_dir.path());
    fanned_root(whole, "job-whole", None);
    fanned_root(fanned, "job-fanned", Some(2));

    let whole_calls = Recorded::new(whole, None);
    run_daily_report_with(
        whole,
        whole_calls.clone(),
        "job-whole",
        input(),
        approve(),
        quiet(),
    )
    .await
    .unwrap();
    assert_eq!(whole_calls.count("plan"), 0, "no fan-out without fan_out");

    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let calls = Recorded::new(fanned, None);
    run_daily_report_with(
        fanned,
        calls.clone(),
        "job-fanned",
        input(),
        approve(),
        Arc::new(move |e: &RunEvent| sink.lock().unwrap().push(e.clone())),
    )
    .await
    .unwrap();
    // Three data files, two per child: a plan, two children, a commit; no whole flatten.
    assert_eq!(calls.count("plan"), 1);
    assert_eq!(calls.count("part 0,1"), 1);
    assert_eq!(calls.count("part 2"), 1);
    assert_eq!(calls.count("commit"), 1);
    assert_eq!(calls.count("flatten-dynamodb"), 0);
    let entered = crate::local_pipeline::entered_states(&events.lock().unwrap());
    assert_eq!(
        entered
            .iter()
            .filter(|s| *s == "Flatten export files")
            .count(),
        2,
        "{entered:?}"
    );

    // The same tables, rows and columns as the whole export gave. The three small files share
    // one part in the whole export; a child's two share one, so the fan-out has two.
    let names = tables(whole, "job-whole");
    assert_eq!(tables(fanned, "job-fanned"), names);
    assert!(names.len() > 1, "{names:?}");
    for table in &names {
        let (a, b) = (
            manifest(whole, table, "job-whole"),
            manifest(fanned, table, "job-fanned"),
        );
        assert_eq!(a["rows"], b["rows"], "{table}");
        assert_eq!(a["schema"], b["schema"], "{table}");
        assert_eq!(a["files"].as_array().unwrap().len(), 1, "{table}");
        let keys: Vec<&str> = b["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["key"].as_str().unwrap())
            .collect();
        assert!(
            keys.len() == 2
                && keys[0].ends_with("part-00000.parquet")
                && keys[1].ends_with("part-00002.parquet"),
            "{keys:?}"
        );
    }
    // The marts read it as they read the whole export's tables.
    let report = |root: &Path, job: &str| -> Value {
        let name = daybook_local::demo::demo_config().report.name;
        let path = root.join(format!("reports/{name}/dt={DATE}/{job}/report.json"));
        serde_json::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap()
    };
    let (a, b) = (report(whole, "job-whole"), report(fanned, "job-fanned"));
    assert_eq!(a["sections"], b["sections"]);
}

#[tokio::test]
async fn a_failed_child_fails_the_run_before_anything_is_published_and_a_redrive_reruns_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fanned_root(root, "job-fan-redrive", Some(1));
    let calls = Recorded::new(root, Some(1));
    let error = run_daily_report_with(
        root,
        calls.clone(),
        "job-fan-redrive",
        input(),
        approve(),
        quiet(),
    )
    .await
    .unwrap_err();
    match &error {
        RunError::Run { failure, state, .. } => {
            assert_eq!(failure.error, "States.ExceedToleratedFailureThreshold");
            assert!(
                failure.cause.contains("1 of 3 child executions failed")
                    && failure.cause.contains("connection was reset"),
                "{}",
                failure.cause
            );
            assert!(state.contains("Flatten DynamoDB export files"), "{state}");
        }
        other => panic!("expected a failed run, got {other}"),
    }
    assert_eq!(calls.count("commit"), 0);
    assert_eq!(calls.count("load-warehouse"), 0);
    let run = root.join(format!(
        "lake/search_queries/_items/dt={DATE}/run=job-fan-redrive"
    ));
    assert!(
        !run.join("_manifest.json").exists(),
        "the children's parts are not published"
    );

    redrive_daily_report(root, calls.clone(), "job-fan-redrive", approve(), quiet())
        .await
        .unwrap();
    assert_eq!(calls.count("plan"), 1, "the plan is not made again");
    assert_eq!(calls.count("part 0"), 1);
    assert_eq!(calls.count("part 1"), 2, "only the failed child runs again");
    assert_eq!(calls.count("part 2"), 1);
    assert_eq!(calls.count("commit"), 1);
    let published = manifest(root, "_items", "job-fan-redrive");
    assert_eq!(published["files"].as_array().unwrap().len(), 3);
}

fn job(job_id: &str) -> JobContext {
    JobContext::new(job_id, DATE.parse().unwrap())
}

#[tokio::test]
async fn the_commit_refuses_an_export_whose_parts_are_not_all_flattened() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fanned_root(root, "job-partial", Some(1));
    let store = FsStore::new(root);
    let config: daybook_core::config::PipelineConfig =
        serde_json::from_str(&std::fs::read_to_string(root.join("config/daybook.json")).unwrap())
            .unwrap();
    let task = SourcesTask {
        job: job("job-partial"),
        sources: config.dynamodb.clone(),
        max_concurrency: 3,
    };
    let plan = plan_fan_out(&store, &task).await.unwrap();
    assert_eq!(
        plan.max_concurrency, 3,
        "the Map's MaxConcurrencyPath reads the stack's value"
    );
    assert_eq!(plan.files, 3);
    assert_eq!(plan.files_per_iteration, 1);
    let items: Vec<PlannedFile> =
        serde_json::from_str(&std::fs::read_to_string(root.join(&plan.items_key)).unwrap())
            .unwrap();
    let done = flatten_parts(
        &store,
        &PartTask {
            job: job("job-partial"),
            files: vec![items[0].clone()],
        },
        1,
    )
    .await
    .unwrap();
    assert_eq!(done.parts, vec![0]);
    let error = commit_fan_out(&store, &task).await.unwrap_err().to_string();
    assert!(
        error.contains("2 of its 3 export files have no flattened part (parts 1, 2)")
            && error.contains("redrive"),
        "{error}"
    );

    // Batches that changed within the run: files 0 and 1 as one part beside file 0's own part
    // would publish file 0's rows twice, so the commit refuses.
    let both = flatten_parts(
        &store,
        &PartTask {
            job: job("job-partial"),
            files: items.clone(),
        },
        1,
    )
    .await
    .unwrap();
    assert_eq!(both.parts, vec![0, 1, 2]);
    let commit = commit_fan_out(&store, &task).await.unwrap();
    assert_eq!(
        commit[0].items_read, both.items_read,
        "one part of all three"
    );
    flatten_parts(
        &store,
        &PartTask {
            job: job("job-partial"),
            files: vec![items[1].clone()],
        },
        1,
    )
    .await
    .unwrap();
    let error = commit_fan_out(&store, &task).await.unwrap_err().to_string();
    assert!(
        error.contains("export file 1 is in two parts' records")
            && error.contains("start the job again"),
        "{error}"
    );

    // A source without fan_out is refused by name; a step's input is read by its mode.
    let mut whole = task.clone();
    whole.sources[0] = daybook_local::demo::demo_config().dynamodb[0].clone();
    let error = plan_fan_out(&store, &whole).await.unwrap_err().to_string();
    assert!(
        error.contains("\"search_queries\"") && error.contains("fan_out"),
        "{error}"
    );
    let step: FanOutStep = serde_json::from_value(json!({
        "mode": "part", "job": task.job, "files": [items[1]]
    }))
    .unwrap();
    assert!(matches!(step, FanOutStep::Part(_)));
}

const SEGMENT_PREFIX: &str = "segment-logs/xK2bd8shop";

/// Two more batch folders in the day's window: a message already sent in another file (a
/// duplicate across files), an event whose property is a number in one file and text in the
/// other (a type conflict across files), and a line that is not an event.
fn extra_segment_files(root: &Path) {
    let first_file = std::fs::read_dir(root.join(SEGMENT_PREFIX))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .min()
        .unwrap();
    let first_file = std::fs::read_dir(first_file)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(&first_file).unwrap()),
        &mut text,
    )
    .unwrap();
    // A message of the day itself (the first batch also holds some of the evening before).
    let repeated = text
        .lines()
        .find(|line| line.contains("\"timestamp\":\"2026-11-21"))
        .unwrap();
    let event = |id: &str, note: Value| {
        json!({
            "type": "track", "messageId": id, "event": "Gift Wrapped",
            "anonymousId": "anon-1", "timestamp": "2026-11-21T12:00:00.000Z",
            "properties": { "note": note, "wrap": { "colour": "red" } }
        })
        .to_string()
    };
    let noon = chrono::DateTime::parse_from_rfc3339("2026-11-21T12:30:00Z")
        .unwrap()
        .timestamp_millis();
    for (offset, lines) in [
        (0, vec![event("gift-1", json!(5)), repeated.to_string()]),
        (
            1,
            vec![
                event("gift-2", json!("ribbon")),
                "not an event".to_string(),
                event("gift-1", json!(5)),
            ],
        ),
    ] {
        let folder = root.join(format!("{SEGMENT_PREFIX}/{}", noon + offset));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("extra.json"), lines.join("\n") + "\n").unwrap();
    }
}

/// A demo root with the extra Segment files, its Segment source fanned out if asked.
fn segment_root(root: &Path, job_id: &str, per_iteration: Option<u32>) {
    fanned_root(root, job_id, None);
    extra_segment_files(root);
    if let Some(per_iteration) = per_iteration {
        let path = root.join("config/daybook.json");
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        config["segment"][0]["fan_out"] = json!({ "files_per_iteration": per_iteration });
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    }
}

fn segment_report(root: &Path, job_id: &str) -> Value {
    let path = root.join(format!("jobs/{job_id}/export-segment-segment.json"));
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn segment_manifest(root: &Path, table: &str, job_id: &str) -> Value {
    let path = root.join(format!(
        "lake/segment/{table}/dt={DATE}/run={job_id}/_manifest.json"
    ));
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

mod failures;
