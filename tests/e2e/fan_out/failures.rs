use super::*;

#[tokio::test]
async fn a_fanned_out_segment_day_publishes_what_one_invocation_publishes() {
    let whole_dir = tempfile::tempdir().unwrap();
    let fanned_dir = tempfile::tempdir().unwrap();
    let (whole, fanned) = (whole_dir.path(), fanned_dir.path());
    segment_root(whole, "job-whole", None);
    segment_root(fanned, "job-fanned", Some(10));

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
    assert_eq!(
        whole_calls.count("segment plan"),
        0,
        "no fan-out without fan_out"
    );

    let calls = Recorded::new(fanned, None);
    run_daily_report_with(
        fanned,
        calls.clone(),
        "job-fanned",
        input(),
        approve(),
        quiet(),
    )
    .await
    .unwrap();
    let a = segment_report(whole, "job-whole");
    let b = segment_report(fanned, "job-fanned");
    let files = b["counts"]["files"].as_u64().unwrap() as usize;
    assert!(files > 20, "the demo's day and the two extra batches: {b}");
    // The plan, a scan and a write per ten files, one resolve, one commit; no whole export.
    let children = files.div_ceil(10);
    let recorded = calls.calls.lock().unwrap().clone();
    let scans: Vec<&String> = recorded
        .iter()
        .filter(|c| c.starts_with("segment scan "))
        .collect();
    let writes: Vec<&String> = recorded
        .iter()
        .filter(|c| c.starts_with("segment write "))
        .collect();
    assert_eq!(
        (scans.len(), writes.len()),
        (children, children),
        "{recorded:?}"
    );
    assert_eq!(scans[0], "segment scan 0,1,2,3,4,5,6,7,8,9");
    for step in ["segment plan", "segment resolve", "segment commit"] {
        assert_eq!(calls.count(step), 1, "{step}: {recorded:?}");
    }
    assert_eq!(calls.count("export-segment"), 0);
    let last_scan = recorded
        .iter()
        .rposition(|c| c.starts_with("segment scan "))
        .unwrap();
    let resolve = recorded
        .iter()
        .position(|c| c == "segment resolve")
        .unwrap();
    let first_write = recorded
        .iter()
        .position(|c| c.starts_with("segment write "))
        .unwrap();
    assert!(last_scan < resolve && resolve < first_write, "{recorded:?}");

    // The same counts: the duplicate across files and the one within a child's own files are
    // both found, the bad line is quarantined once.
    for count in ["lines", "duplicates", "other_days"] {
        assert_eq!(a["counts"][count], b["counts"][count], "{count}");
    }
    assert!(b["counts"]["duplicates"].as_u64().unwrap() >= 2, "{b}");
    assert_eq!(a["quarantined"], b["quarantined"]);
    assert_eq!(b["quarantined"], 1);
    assert_eq!(a["warnings"], b["warnings"]);
    let names = |report: &Value| -> Vec<String> {
        report["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["table"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&a), names(&b));
    assert!(
        names(&b).contains(&"gift_wrapped".to_string()),
        "{:?}",
        names(&b)
    );
    for table in names(&a) {
        let (x, y) = (
            segment_manifest(whole, &table, "job-whole"),
            segment_manifest(fanned, &table, "job-fanned"),
        );
        assert_eq!(x["rows"], y["rows"], "{table}");
        assert_eq!(x["schema"], y["schema"], "{table}");
        assert_eq!(x["notes"], y["notes"], "{table}");
    }
    // The note is a number in one child's file and text in another's: text, as in one go.
    let gift = segment_manifest(fanned, "gift_wrapped", "job-fanned");
    assert_eq!(gift["rows"], 2, "gift-1 once, gift-2 once");
    let note = gift["schema"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "note")
        .unwrap();
    assert_eq!(note["type"], "Utf8", "{gift}");
    // Parts are named by their file's place in the day: the last extra file wrote the last.
    let tracks = segment_manifest(fanned, "tracks", "job-fanned");
    let keys: Vec<&str> = tracks["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.last()
            .unwrap()
            .ends_with(&format!("part-{:05}.parquet", files - 1)),
        "{keys:?}"
    );
}

#[tokio::test]
async fn each_segment_step_refuses_to_go_on_before_every_file_has_passed_the_one_before() {
    use daybook_core::steps::segment_fan_out::{
        PlannedSegmentFile, SegmentFanOutStep, SegmentFilesTask, SegmentSourcesTask,
        commit_segment_fan_out, plan_segment_fan_out, resolve_days, scan_files, write_files,
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    segment_root(root, "job-seg-partial", Some(4));
    let store = FsStore::new(root);
    let config: daybook_core::config::PipelineConfig =
        serde_json::from_str(&std::fs::read_to_string(root.join("config/daybook.json")).unwrap())
            .unwrap();
    let task = SegmentSourcesTask {
        job: job("job-seg-partial"),
        sources: config.segment.clone(),
        max_concurrency: 0,
    };
    let plan = plan_segment_fan_out(&store, &task).await.unwrap();
    assert_eq!(plan.max_concurrency, 1, "0 would lift the limit on AWS");
    assert_eq!(plan.files_per_iteration, 4);
    let items: Vec<PlannedSegmentFile> =
        serde_json::from_str(&std::fs::read_to_string(root.join(&plan.items_key)).unwrap())
            .unwrap();
    assert_eq!(items.len(), plan.files);
    let batch = |files: &[PlannedSegmentFile]| SegmentFilesTask {
        job: job("job-seg-partial"),
        files: files.to_vec(),
    };
    let (first, rest) = items.split_at(2);
    scan_files(&store, &batch(first), 2).await.unwrap();
    let error = resolve_days(&store, &task).await.unwrap_err().to_string();
    let missing = plan.files - 2;
    assert!(
        error.contains(&format!(
            "{missing} of its {} files of the day were not scanned (files 2, 3,",
            plan.files
        )) && error.contains("redrive"),
        "{error}"
    );
    scan_files(&store, &batch(rest), 2).await.unwrap();
    resolve_days(&store, &task).await.unwrap();
    write_files(&store, &batch(rest), 2).await.unwrap();
    let error = commit_segment_fan_out(&store, &task)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!(
            "2 of its {} files of the day were not written (files 0, 1)",
            plan.files
        )),
        "{error}"
    );
    assert!(
        !root
            .join(format!(
                "lake/segment/tracks/dt={DATE}/run=job-seg-partial/_manifest.json"
            ))
            .exists(),
        "nothing is published"
    );
    write_files(&store, &batch(first), 2).await.unwrap();
    let summaries = commit_segment_fan_out(&store, &task).await.unwrap();
    assert_eq!(summaries.len(), 1);
    assert!(
        root.join(format!(
            "lake/segment/tracks/dt={DATE}/run=job-seg-partial/_manifest.json"
        ))
        .exists()
    );

    // A source without fan_out is refused by name; a step's input is read by its mode.
    let mut whole = task.clone();
    whole.sources[0].fan_out = None;
    let error = plan_segment_fan_out(&store, &whole)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("\"segment\"") && error.contains("fan_out"),
        "{error}"
    );
    let step: SegmentFanOutStep = serde_json::from_value(json!({
        "mode": "write", "job": task.job, "files": [items[1]]
    }))
    .unwrap();
    assert!(matches!(step, SegmentFanOutStep::Write(_)));
}
