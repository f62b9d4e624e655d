use super::*;

/// A few kilobytes of gzip can hold millions of junk lines: the quarantine keeps the first
/// 10,000 of each part and counts the rest, and a run mostly of junk publishes nothing unless
/// the source says that share is fine.
#[tokio::test]
async fn a_flood_of_junk_lines_is_counted_not_kept_and_fails_the_run() {
    let junk = || (0..30_000).map(|i| format!("not json {i}"));
    let lake = Lake::new();
    segment_batch(&lake, junk());
    let error = segment("segment/names", &lake)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("over its max_quarantined_share of 50.0%"),
        "{error}"
    );

    let lake = Lake::new();
    segment_batch(&lake, junk());
    let report = segment_with("segment/names", &lake, |c| c.max_quarantined_share = 1.0)
        .await
        .unwrap();
    assert!(
        report.quarantined >= 30_000,
        "every bad line is counted: {}",
        report.quarantined
    );
    let records = quarantine(&lake.store(), &report, "junk flood").await;
    assert!(records.len() <= 2 * 10_001, "kept: {}", records.len());
    assert!(
        records.iter().any(|r| r["reason"]
            .as_str()
            .unwrap()
            .contains("more records were quarantined and not kept")),
        "the closing record says how many were not kept"
    );
}

#[tokio::test]
async fn thousands_of_one_item_export_files_share_parts_instead_of_one_each() {
    let export = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(export.path().join("data")).unwrap();
    let files = 2_000;
    let mut manifest = String::new();
    for f in 0..files {
        let line = format!(
            "{{\"Item\":{{\"query_id\":{{\"S\":\"q{f}\"}},\"selected_lib\":{{\"L\":[{{\"S\":\"lib-{f}\"}}]}}}}}}\n"
        );
        std::fs::write(export.path().join(format!("data/{f:05}.json")), line).unwrap();
        manifest.push_str(&format!(
            "{{\"itemCount\":1,\"dataFileS3Key\":\"AWSDynamoDB/x/data/{f:05}.json\"}}\n"
        ));
    }
    std::fs::write(export.path().join("manifest-files.json"), manifest).unwrap();
    let lake = Lake::new();
    let config = FlattenConfig::new("search_queries", vec!["query_id".into()]);
    let layout = PartitionLayout::lake("search_queries", day(), "job-small-files");
    let report = daybook_core::steps::flatten::flatten_export(
        &FsStore::new(export.path()),
        &lake.store(),
        &config,
        "",
        &layout,
        2,
    )
    .await
    .unwrap();
    assert_eq!((report.items_read, report.items_written), (files, files));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let parquet = lake
        .files()
        .iter()
        .filter(|f| f.ends_with(".parquet"))
        .count();
    // Two tables (the items and selected_lib), each in one part: not 2,000 one-row files.
    assert_eq!(parquet, 2, "{:?}", lake.files());
}
