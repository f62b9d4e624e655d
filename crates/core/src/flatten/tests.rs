//! Flattening end to end on files: every DynamoDB type, and every kind of bad input.

use super::export::{ExportFile, parse_manifest, sample_items};
use super::*;
use crate::lake::PartitionLayout;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Decimal128Type, Float64Type, Int32Type, Int64Type};
use flate2::Compression;
use flate2::write::GzEncoder;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::io::Write;
use std::path::{Path, PathBuf};

fn layout() -> PartitionLayout {
    PartitionLayout::folder(chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(), "j1")
}

fn gz_file(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    let mut encoder = GzEncoder::new(std::fs::File::create(&path).unwrap(), Compression::fast());
    for line in lines {
        writeln!(encoder, "{line}").unwrap();
    }
    encoder.finish().unwrap();
    path
}

fn export_line(item: &str) -> String {
    format!("{{\"Item\":{item}}}")
}

fn run(config: FlattenConfig, lines: &[String]) -> (tempfile::TempDir, FlattenOutcome) {
    let dir = tempfile::tempdir().unwrap();
    let path = gz_file(dir.path(), "data-0.json.gz", lines);
    let files = vec![ExportFile {
        label: "data-0.json.gz".into(),
        path,
        expected_items: None,
    }];
    let plan = FlattenPlan::resolve(&config, &sample_items(&files, SAMPLE_ITEMS)).unwrap();
    let outcome =
        flatten_export_files(&plan, &files, &layout(), &dir.path().join("out"), 2).unwrap();
    (dir, outcome)
}

fn read_table(dir: &Path, outcome: &FlattenOutcome, table: &str) -> RecordBatch {
    let output = outcome
        .table(table)
        .unwrap_or_else(|| panic!("no table {table}"));
    let mut schema = None;
    let mut batches = Vec::new();
    for f in &output.files {
        let file = std::fs::File::open(dir.join("out").join(&f.key)).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        schema = Some(builder.schema().clone());
        batches.extend(builder.build().unwrap().map(Result::unwrap));
    }
    arrow::compute::concat_batches(&schema.expect("a table has at least one file"), &batches)
        .unwrap()
}

fn quarantine_lines(outcome: &FlattenOutcome) -> Vec<serde_json::Value> {
    match &outcome.quarantine_file {
        None => vec![],
        Some(path) => std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    }
}

fn config() -> FlattenConfig {
    FlattenConfig::new("search_queries", vec!["query_id".into()])
}

#[test]
fn every_dynamodb_type_lands_in_a_typed_column() {
    let item = r#"{"query_id":{"S":"q1"},"s":{"S":"text"},"n":{"N":"42"},"f":{"N":"2.5"},"b":{"B":"AAE="},
        "ok":{"BOOL":true},"nothing":{"NULL":true},"m":{"M":{"k":{"S":"v"},"x":{"N":"1"}}},
        "l":{"L":[{"S":"a"},{"S":"b"}]},"ss":{"SS":["x","y","z"]},"ns":{"NS":["1","2"]},"bs":{"BS":["AA=="]}}"#
        .replace('\n', "");
    let (dir, outcome) = run(config(), &[export_line(&item)]);
    assert_eq!(outcome.quarantined, 0, "{:?}", quarantine_lines(&outcome));
    let items = read_table(dir.path(), &outcome, ITEMS_TABLE);
    assert_eq!(items.num_rows(), 1);
    let column = |name: &str| {
        items
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .clone()
    };
    assert_eq!(column("s").as_string::<i32>().value(0), "text");
    assert_eq!(column("n").as_primitive::<Int64Type>().value(0), 42);
    assert_eq!(
        column("f")
            .as_primitive::<Decimal128Type>()
            .value_as_string(0),
        "2.5"
    );
    assert_eq!(column("b").as_binary::<i32>().value(0), &[0u8, 1]);
    assert!(column("ok").as_boolean().value(0));
    assert!(column("nothing").is_null(0));
    assert_eq!(
        column("m").as_string::<i32>().value(0),
        r#"{"k":"v","x":1}"#
    );
    assert_eq!(column("ss_count").as_primitive::<Int32Type>().value(0), 3);

    let ss = read_table(dir.path(), &outcome, "ss");
    assert_eq!(ss.num_rows(), 3);
    assert_eq!(
        ss.column_by_name("pos")
            .unwrap()
            .as_primitive::<Int32Type>()
            .values()
            .to_vec(),
        vec![0, 1, 2]
    );
    assert_eq!(
        ss.column_by_name("query_id")
            .unwrap()
            .as_string::<i32>()
            .value(2),
        "q1"
    );
    assert_eq!(
        read_table(dir.path(), &outcome, "ns")
            .column(2)
            .as_primitive::<Int64Type>()
            .value(1),
        2
    );
    assert_eq!(
        read_table(dir.path(), &outcome, "bs")
            .column(2)
            .as_binary::<i32>()
            .value(0),
        &[0u8]
    );
    assert_eq!(read_table(dir.path(), &outcome, "l").num_rows(), 2);
}

#[test]
fn lists_and_string_sets_of_one_attribute_flatten_alike() {
    let lines = [
        export_line(
            r#"{"query_id":{"S":"q1"},"isbn13_list":{"SS":["9780000000001","9780000000002"]}}"#,
        ),
        export_line(r#"{"query_id":{"S":"q2"},"isbn13_list":{"L":[{"S":"9780000000003"}]}}"#),
    ];
    let (dir, outcome) = run(config(), &lines);
    let table = read_table(dir.path(), &outcome, "isbn13_list");
    assert_eq!(table.num_rows(), 3);
    assert_eq!(table.column(2).as_string::<i32>().value(2), "9780000000003");
}

#[test]
fn empty_and_missing_arrays_write_no_rows_but_keep_their_count() {
    let lines = [
        export_line(r#"{"query_id":{"S":"q1"},"tags":{"L":[{"S":"a"}]}}"#),
        export_line(r#"{"query_id":{"S":"q2"},"tags":{"L":[]}}"#),
        export_line(r#"{"query_id":{"S":"q3"}}"#),
    ];
    let (dir, outcome) = run(config(), &lines);
    assert_eq!(outcome.table("tags").unwrap().rows, 1);
    let items = read_table(dir.path(), &outcome, ITEMS_TABLE);
    let counts = items
        .column_by_name("tags_count")
        .unwrap()
        .as_primitive::<Int32Type>();
    assert_eq!(
        (counts.value(0), counts.value(1), counts.is_null(2)),
        (1, 0, true)
    );
}

#[test]
fn maps_inside_lists_become_json_or_structs() {
    let line = export_line(
        r#"{"query_id":{"S":"q1"},"lines":{"L":[{"M":{"sku":{"S":"A"},"qty":{"N":"2"}}},{"M":{"sku":{"S":"B"}}}]}}"#,
    );
    let (dir, outcome) = run(config(), std::slice::from_ref(&line));
    let json = read_table(dir.path(), &outcome, "lines");
    assert_eq!(
        json.column(2).as_string::<i32>().value(0),
        r#"{"qty":2,"sku":"A"}"#
    );

    let mut structs = config();
    structs.maps = MapMode::Struct;
    let (dir, outcome) = run(structs, &[line]);
    let table = read_table(dir.path(), &outcome, "lines");
    let value = table.column(2).as_struct();
    assert_eq!(
        value
            .column_by_name("sku")
            .unwrap()
            .as_string::<i32>()
            .value(1),
        "B"
    );
    let qty = value
        .column_by_name("qty")
        .unwrap()
        .as_primitive::<Int64Type>();
    assert_eq!((qty.value(0), qty.is_null(1)), (2, true));
}

#[test]
fn declared_numbers_keep_their_type() {
    let mut declared = config();
    declared
        .columns
        .insert("price".into(), "decimal(10,2)".parse().unwrap());
    declared.arrays.insert("scores".into(), ColumnType::Float64);
    let lines = [export_line(
        r#"{"query_id":{"S":"q1"},"price":{"N":"19.99"},"scores":{"NS":["1","2.5"]}}"#,
    )];
    let (dir, outcome) = run(declared, &lines);
    let items = read_table(dir.path(), &outcome, ITEMS_TABLE);
    assert_eq!(
        items
            .column_by_name("price")
            .unwrap()
            .as_primitive::<Decimal128Type>()
            .value(0),
        1999
    );
    let scores = read_table(dir.path(), &outcome, "scores");
    assert_eq!(
        scores
            .column(2)
            .as_primitive::<Float64Type>()
            .values()
            .to_vec(),
        vec![1.0, 2.5]
    );
}

#[test]
fn bad_items_are_quarantined_with_their_reason_and_counted() {
    let lines = [
        export_line(r#"{"query_id":{"S":"q1"},"n":{"N":"1"},"tags":{"L":[{"S":"a"}]}}"#),
        export_line(r#"{"user_id":{"S":"u1"}}"#),
        export_line(r#"{"query_id":{"S":"q3"},"n":{"S":"not a number"}}"#),
        export_line(r#"{"query_id":{"S":"q4"},"n":{"N":"1.5"}}"#),
        export_line(r#"{"query_id":{"S":"q5"},"tags":{"S":"a"}}"#),
        "this is not json".to_string(),
        export_line(r#"{"query_id":{"X":"q7"}}"#),
    ];
    let mut declared = config();
    declared.columns.insert("n".into(), ColumnType::Int64);
    let (dir, outcome) = run(declared, &lines);
    assert_eq!(
        (
            outcome.items_read,
            outcome.items_written,
            outcome.quarantined
        ),
        (5, 1, 6)
    );
    let reasons: Vec<String> = quarantine_lines(&outcome)
        .iter()
        .map(|r| r["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reasons[0], "item has no key attribute \"query_id\"");
    assert_eq!(reasons[1], "attribute \"n\": expected int64, found S");
    assert!(
        reasons[2].contains("number 1.5 does not fit int64"),
        "{}",
        reasons[2]
    );
    assert_eq!(
        reasons[3],
        "attribute \"tags\": expected a list or set, found S"
    );
    assert!(
        reasons[4].starts_with("not a DynamoDB JSON export line"),
        "{}",
        reasons[4]
    );
    assert!(
        reasons[5].contains("unknown DynamoDB type tag \"X\""),
        "{}",
        reasons[5]
    );
    let records = quarantine_lines(&outcome);
    assert_eq!(records[0]["line"], 2);
    assert_eq!(records[0]["item"]["user_id"]["S"], "u1");
    assert_eq!(records[4]["raw"], "this is not json");
    assert_eq!(read_table(dir.path(), &outcome, ITEMS_TABLE).num_rows(), 1);
}

#[test]
fn a_truncated_gzip_keeps_the_items_before_the_cut_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..5000)
        .map(|i| {
            export_line(&format!(
                r#"{{"query_id":{{"S":"q{i}"}},"pad":{{"S":"{}"}}}}"#,
                "x".repeat(50 + i % 7)
            ))
        })
        .collect();
    let path = gz_file(dir.path(), "whole.json.gz", &lines);
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.json.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let files = vec![ExportFile {
        label: "cut.json.gz".into(),
        path: cut,
        expected_items: Some(5000),
    }];
    let plan = FlattenPlan::resolve(&config(), &sample_items(&files, 100)).unwrap();
    let outcome =
        flatten_export_files(&plan, &files, &layout(), &dir.path().join("out"), 1).unwrap();
    let input = &outcome.inputs[0];
    assert!(input.items > 0 && input.items < 5000, "{input:?}");
    assert_eq!(outcome.items_written, input.items);
    let error = input.error.as_deref().unwrap();
    assert!(error.contains("truncated or corrupt"), "{error}");
    assert_eq!(outcome.warnings.len(), 1);
    assert!(
        quarantine_lines(&outcome)[0]["reason"]
            .as_str()
            .unwrap()
            .contains("truncated")
    );
}

#[test]
fn a_manifest_count_that_does_not_match_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = gz_file(
        dir.path(),
        "d.json.gz",
        &[export_line(r#"{"query_id":{"S":"q1"}}"#)],
    );
    let files = vec![ExportFile {
        label: "d.json.gz".into(),
        path,
        expected_items: Some(2),
    }];
    let plan = FlattenPlan::resolve(&config(), &sample_items(&files, 10)).unwrap();
    let outcome =
        flatten_export_files(&plan, &files, &layout(), &dir.path().join("out"), 1).unwrap();
    assert_eq!(
        outcome.warnings,
        vec!["d.json.gz: the export manifest lists 2 items but 1 were read"]
    );
}

#[test]
fn a_hundred_thousand_element_list_flattens_whole() {
    let elements: Vec<String> = (0..100_000).map(|i| format!(r#"{{"N":"{i}"}}"#)).collect();
    let line = export_line(&format!(
        r#"{{"query_id":{{"S":"big"}},"values":{{"L":[{}]}}}}"#,
        elements.join(",")
    ));
    let mut small_groups = config();
    small_groups.row_group_rows = 10_000;
    let (dir, outcome) = run(small_groups, &[line]);
    let table = read_table(dir.path(), &outcome, "values");
    assert_eq!(table.num_rows(), 100_000);
    assert_eq!(
        table.column(2).as_primitive::<Int64Type>().value(99_999),
        99_999
    );
    assert_eq!(
        table.column(1).as_primitive::<Int32Type>().value(99_999),
        99_999
    );
}

#[test]
fn an_empty_export_writes_empty_tables() {
    let (dir, outcome) = run(config(), &[]);
    assert_eq!(outcome.items_read, 0);
    assert_eq!(read_table(dir.path(), &outcome, ITEMS_TABLE).num_rows(), 0);
}

#[test]
fn unknown_attributes_after_the_sample_are_kept_in_extra() {
    let mut lines: Vec<String> = (0..3)
        .map(|i| export_line(&format!(r#"{{"query_id":{{"S":"q{i}"}}}}"#)))
        .collect();
    lines.push(export_line(
        r#"{"query_id":{"S":"late"},"surprise":{"N":"7"}}"#,
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = gz_file(dir.path(), "d.json.gz", &lines);
    let files = vec![ExportFile {
        label: "d.json.gz".into(),
        path,
        expected_items: None,
    }];
    let plan = FlattenPlan::resolve(&config(), &sample_items(&files, 3)).unwrap();
    let outcome =
        flatten_export_files(&plan, &files, &layout(), &dir.path().join("out"), 1).unwrap();
    let items = read_table(dir.path(), &outcome, ITEMS_TABLE);
    assert_eq!(
        items
            .column_by_name(EXTRA_COLUMN)
            .unwrap()
            .as_string::<i32>()
            .value(3),
        r#"{"surprise":7}"#
    );
}

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
