//! Export files as they come: parts across files, manifests, and input made to hurt.

use super::*;

#[test]
fn small_files_share_a_part_and_a_big_one_closes_it_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<ExportFile> = (0..4)
        .map(|f| {
            // File 2 is over the part size: uncompressed, ten 420 KB items.
            let (count, pad) = if f == 2 { (10, 420_000) } else { (10, 0) };
            let lines: Vec<String> = (0..count)
                .map(|i| {
                    export_line(&format!(
                        r#"{{"query_id":{{"S":"f{f}-{i}"}},"t":{{"SS":["a","b"]}},"pad":{{"S":"{}"}}}}"#,
                        "x".repeat(pad)
                    ))
                })
                .collect();
            let path = if f == 2 {
                let path = dir.path().join("f2.json");
                std::fs::write(&path, lines.join("\n")).unwrap();
                path
            } else {
                gz_file(dir.path(), &format!("f{f}.json.gz"), &lines)
            };
            ExportFile {
                label: format!("f{f}"),
                path,
                expected_items: Some(10),
            }
        })
        .collect();
    assert!(std::fs::metadata(&files[2].path).unwrap().len() > MIN_PART_INPUT_BYTES);
    let plan = FlattenPlan::resolve(&config(), &sample_items(&files, 100)).unwrap();
    let outcome =
        flatten_export_files(&plan, &files, &layout(), &dir.path().join("out"), 3).unwrap();
    let table = outcome.table("t").unwrap();
    let keys: Vec<&str> = table.files.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "t/dt=2026-11-21/run=j1/part-00000.parquet",
            "t/dt=2026-11-21/run=j1/part-00003.parquet",
        ]
    );
    assert_eq!(
        table.files.iter().map(|f| f.rows).collect::<Vec<_>>(),
        [60, 20]
    );
    // Each file keeps its own counts, so a manifest's promise is still checked per file.
    let inputs: Vec<(&str, u64, u64)> = outcome
        .inputs
        .iter()
        .map(|i| (i.input.as_str(), i.items, i.written))
        .collect();
    assert_eq!(
        inputs,
        [
            ("f0", 10, 10),
            ("f1", 10, 10),
            ("f2", 10, 10),
            ("f3", 10, 10)
        ]
    );
    assert!(outcome.warnings.is_empty());
    let items = read_table(dir.path(), &outcome, ITEMS_TABLE);
    let ids = items.column_by_name("query_id").unwrap().as_string::<i32>();
    let first_of_each: Vec<&str> = [0, 10, 20, 30].iter().map(|&i| ids.value(i)).collect();
    assert_eq!(first_of_each, ["f0-0", "f1-0", "f2-0", "f3-0"]);
}

#[test]
fn a_part_closes_once_it_holds_enough_bytes_or_at_a_gap_in_the_numbers() {
    let groups = |sizes: &[(usize, u64)]| part_groups(sizes, 100);
    // Small files gather until the part reaches 100 bytes; the file that reaches it is in it.
    assert_eq!(
        groups(&[(0, 40), (1, 40), (2, 40), (3, 40), (4, 10)]),
        [0..3, 3..5]
    );
    // A big file alone, and the small ones after it start a new part.
    assert_eq!(groups(&[(0, 500), (1, 1), (2, 1)]), [0..1, 1..3]);
    // Files of another iteration between them: never one part across the gap.
    assert_eq!(groups(&[(0, 1), (1, 1), (5, 1), (6, 1)]), [0..2, 2..4]);
    assert!(groups(&[]).is_empty());
}

#[test]
fn the_manifest_names_data_files_whatever_the_bucket_prefix() {
    let entries = parse_manifest(
        "{\"itemCount\":3,\"dataFileS3Key\":\"exports/AWSDynamoDB/0170/data/abc.json.gz\"}\n\n",
        "manifest-files.json",
    )
    .unwrap();
    assert_eq!(entries[0].relative_path(), "data/abc.json.gz");
    assert_eq!(entries[0].item_count, Some(3));
    let err = parse_manifest("{\"nope\":1}", "m.json").unwrap_err();
    assert!(err.to_string().contains("m.json line 1"), "{err}");
}

/// Flattens one data file as it is on disk into `out`, with the test config, on one worker.
fn flatten_one(path: PathBuf, out: &Path) -> crate::Result<FlattenOutcome> {
    let files = vec![ExportFile {
        label: "data-0.json.gz".into(),
        path,
        expected_items: None,
    }];
    let plan = FlattenPlan::resolve(&config(), &sample_items(&files, SAMPLE_ITEMS)).unwrap();
    flatten_export_files(&plan, &files, &layout(), out, 1)
}

#[test]
fn list_attributes_named_to_leave_the_output_folder_are_written_inside_it() {
    for name in ["..", "", "/", "a/../../b"] {
        let dir = tempfile::tempdir().unwrap();
        let lines = [export_line(&format!(
            r#"{{"query_id":{{"S":"q1"}},"{name}":{{"L":[{{"S":"x"}}]}}}}"#
        ))];
        let path = gz_file(dir.path(), "data-0.json.gz", &lines);
        let out = dir.path().join("nested/out");
        let outcome = flatten_one(path, &out).unwrap();
        assert_eq!(outcome.tables.len(), 2, "attribute {name:?}");
        for table in &outcome.tables {
            assert!(
                !table.table.is_empty() && !table.table.contains(['/', '.']),
                "attribute {name:?} became table {:?}",
                table.table
            );
            for file in &table.files {
                assert!(out.join(&file.key).is_file(), "{}", file.key);
            }
        }
        assert!(
            !dir.path().join("nested/dt=2026-11-21").exists(),
            "nothing written beside the output folder"
        );
        assert!(!std::path::Path::new("/dt=2026-11-21").exists());
        // What is left of the name is kept; a name with nothing left is noted.
        assert_eq!(
            outcome.plan.notes.len(),
            usize::from(name != "a/../../b"),
            "attribute {name:?}: {:?}",
            outcome.plan.notes
        );
    }
}

fn nested(levels: usize, tag: &str) -> String {
    let mut value = r#"{"S":"deep"}"#.to_string();
    for _ in 0..levels {
        value = match tag {
            "M" => format!(r#"{{"M":{{"a":{value}}}}}"#),
            _ => format!(r#"{{"L":[{value}]}}"#),
        };
    }
    value
}

#[test]
fn items_nested_past_dynamodbs_limit_are_quarantined_not_a_crash() {
    let lines: Vec<String> = [
        ("q1", 1000, "M"),
        ("q2", 3000, "L"),
        ("q3", 33, "M"),
        ("q4", 32, "M"),
    ]
    .iter()
    .map(|(id, levels, tag)| {
        export_line(&format!(
            r#"{{"query_id":{{"S":"{id}"}},"deep":{}}}"#,
            nested(*levels, tag)
        ))
    })
    .collect();
    let (_dir, outcome) = run(config(), &lines);
    assert_eq!((outcome.items_written, outcome.quarantined), (1, 3));
    let reasons: Vec<String> = quarantine_lines(&outcome)
        .iter()
        .map(|r| r["reason"].as_str().unwrap().to_string())
        .collect();
    assert!(
        reasons
            .iter()
            .take(2)
            .all(|r| r.contains("recursion limit")),
        "{reasons:?}"
    );
    assert!(
        reasons[2].contains("33 levels deep; DynamoDB allows 32"),
        "{reasons:?}"
    );
}

/// Names that once met in one table or column (and silently replaced data) stay apart, reserved
/// names are never shadowed, and every rename is noted.
#[test]
fn names_that_would_collide_get_columns_and_tables_of_their_own() {
    let mut config = FlattenConfig::new("search_queries", vec!["value".into()]);
    config.discover = true;
    let item = r#"{"value":{"S":"q1"},"items":{"L":[{"S":"i"}]},"user_id":{"S":"u1"},
        "x_count":{"N":"7"},"x":{"L":[{"N":"1"},{"N":"2"}]},"_extra":{"S":"mine"},
        "dt":{"S":"2020-01-01"},"A":{"S":"upper"},"a":{"S":"lower"},"注文":{"N":"1"},"金額":{"N":"2"}}"#
        .replace(['\n', ' '], "");
    let (dir, outcome) = run(config, &[export_line(&item)]);
    assert_eq!(outcome.items_written, 1);
    let tables: Vec<&str> = outcome.tables.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(tables.len(), 3, "{tables:?}");
    assert!(
        !tables[1..].contains(&"items"),
        "a list called items does not become the catalog's items table: {tables:?}"
    );
    for table in &outcome.tables {
        let batch = read_table(dir.path(), &outcome, &table.table);
        let names: Vec<&str> = batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "{}: {names:?}", table.table);
        assert!(!names.contains(&"dt"), "{}: {names:?}", table.table);
    }
    let items = read_table(dir.path(), &outcome, ITEMS_TABLE);
    let column = |name: &str| {
        let at = items
            .schema()
            .index_of(name)
            .unwrap_or_else(|_| panic!("no column {name} in {:?}", items.schema().fields()));
        items.column(at).clone()
    };
    assert_eq!(column("user_id").as_string::<i32>().value(0), "u1");
    assert_eq!(column("a").as_string::<i32>().value(0), "lower");
    assert_eq!(column("x_count").as_primitive::<Int64Type>().value(0), 7);
    assert_eq!(
        column("_extra").null_count(),
        1,
        "only ours is called _extra"
    );
    assert_eq!(column("extra").as_string::<i32>().value(0), "mine");
    let renamed = &outcome.plan.notes;
    for raw in ["value", "items", "dt", "A", "注文", "金額", "x_count"] {
        assert!(
            renamed
                .iter()
                .any(|note| note.contains(&format!("{raw:?}"))),
            "{raw} is not in {renamed:#?}"
        );
    }
}

#[test]
fn a_line_that_is_not_utf8_is_quarantined_alone_and_the_rest_of_the_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data-0.json.gz");
    let mut encoder = GzEncoder::new(std::fs::File::create(&path).unwrap(), Compression::fast());
    for n in 1..=20 {
        let line = match n {
            // Line 6 holds a byte that is not UTF-8.
            6 => b"{\"Item\":{\"query_id\":{\"S\":\"bad\xff\"}}}".to_vec(),
            _ => export_line(&format!(r#"{{"query_id":{{"S":"q{n}"}}}}"#)).into_bytes(),
        };
        encoder.write_all(&line).unwrap();
        encoder.write_all(b"\n").unwrap();
    }
    encoder.finish().unwrap();
    let outcome = flatten_one(path, &dir.path().join("out")).unwrap();
    assert_eq!((outcome.items_written, outcome.quarantined), (19, 1));
    let rejected = quarantine_lines(&outcome);
    assert_eq!(rejected[0]["line"], 6);
    assert!(
        rejected[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not UTF-8"),
        "{rejected:?}"
    );
}

#[test]
fn a_line_longer_than_any_item_is_quarantined_unread_and_the_next_lines_are_kept() {
    let huge = export_line(&format!(
        r#"{{"query_id":{{"S":"big"}},"blob":{{"S":"{}"}}}}"#,
        "x".repeat(export::MAX_LINE_BYTES + 10)
    ));
    let lines = [
        export_line(r#"{"query_id":{"S":"q1"}}"#),
        huge,
        export_line(r#"{"query_id":{"S":"q2"}}"#),
    ];
    let (_dir, outcome) = run(config(), &lines);
    assert_eq!((outcome.items_written, outcome.quarantined), (2, 1));
    let rejected = quarantine_lines(&outcome);
    assert_eq!(rejected[0]["line"], 2);
    let reason = rejected[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("over the 4194304-byte limit") && reason.contains("not read into memory"),
        "{reason}"
    );
}

#[test]
fn discovered_numbers_keep_every_digit_and_say_how() {
    let lines = [
        export_line(
            r#"{"query_id":{"S":"q1"},"amount":{"N":"12345678901234567890.123"},"ratio":{"N":"1e5"},"big":{"N":"123456789012345678901234567890"}}"#,
        ),
        export_line(
            r#"{"query_id":{"S":"q2"},"amount":{"N":"0.5"},"ratio":{"N":"2"},"big":{"N":"1"}}"#,
        ),
    ];
    let (dir, outcome) = run(config(), &lines);
    assert_eq!(outcome.items_written, 2);
    let items = read_table(dir.path(), &outcome, ITEMS_TABLE);
    let column = |name: &str| items.column(items.schema().index_of(name).unwrap()).clone();
    let amount = column("amount");
    assert_eq!(
        amount.data_type(),
        &arrow::datatypes::DataType::Decimal128(38, 3)
    );
    assert_eq!(
        amount.as_primitive::<Decimal128Type>().value_as_string(0),
        "12345678901234567890.123"
    );
    assert_eq!(column("ratio").as_string::<i32>().value(0), "1e5");
    assert_eq!(
        column("big").data_type(),
        &arrow::datatypes::DataType::Decimal128(38, 0)
    );
    let notes = &outcome.plan.notes;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("\"amount\" is typed decimal(38,3)")),
        "{notes:#?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("\"ratio\"") && n.contains("kept as text")),
        "{notes:#?}"
    );
}

#[test]
fn a_number_past_a_doubles_range_is_quarantined_not_infinity() {
    let mut declared = config();
    declared.columns.insert("score".into(), ColumnType::Float64);
    let lines = [
        export_line(r#"{"query_id":{"S":"q1"},"score":{"N":"1.5"}}"#),
        export_line(r#"{"query_id":{"S":"q2"},"score":{"N":"1e400"}}"#),
    ];
    let (_dir, outcome) = run(declared, &lines);
    assert_eq!((outcome.items_written, outcome.quarantined), (1, 1));
    let rejected = quarantine_lines(&outcome);
    assert!(
        rejected[0]["reason"]
            .as_str()
            .unwrap()
            .contains("past a float64's range"),
        "{rejected:?}"
    );
}
