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

mod files;
