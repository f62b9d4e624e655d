use super::*;
use crate::lake::PartitionLayout;
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimestampMicrosecondType};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::Path;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

fn gzip(path: &Path, lines: &[String]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut out = GzEncoder::new(std::fs::File::create(path).unwrap(), Compression::fast());
    for line in lines {
        out.write_all(line.as_bytes()).unwrap();
        out.write_all(b"\n").unwrap();
    }
    out.finish().unwrap();
}

fn track(id: &str, at: &str, event: &str, properties: &str) -> String {
    format!(
        r#"{{"type":"track","messageId":"{id}","userId":"u1","timestamp":"{at}","receivedAt":"{at}","event":"{event}","properties":{properties},"context":{{"ip":"10.0.0.1","page":{{"path":"/p/1"}}}}}}"#
    )
}

fn page(id: &str, at: &str) -> String {
    format!(
        r#"{{"type":"page","messageId":"{id}","anonymousId":"a1","timestamp":"{at}","name":"Home","properties":{{"path":"/"}}}}"#
    )
}

fn file(path: &Path) -> SegmentFile {
    SegmentFile {
        label: path.display().to_string(),
        path: path.to_path_buf(),
        batch_time: None,
    }
}

fn read(path: &Path) -> RecordBatch {
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(
        std::fs::File::open(path).unwrap(),
        1 << 20,
    )
    .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn export(
    files: &[SegmentFile],
    days: DaySelection,
    config: &SegmentConfig,
    dir: &Path,
) -> SegmentOutcome {
    let layout = PartitionLayout::folder(day(), "job-1");
    export_segment_files(config, files, days, &layout, dir, 2).unwrap()
}

#[test]
fn a_day_of_calls_becomes_call_and_event_tables() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("in/1/a.gz");
    let b = dir.path().join("in/2/b.gz");
    gzip(
        &a,
        &[
            track("m1", "2026-11-21T10:00:00Z", "Product Viewed", r#"{"price":12,"sku":"978","position":3,"cart":{"size":2}}"#),
            track("m2", "2026-11-21T11:00:00.250Z", "Product Viewed", r#"{"price":9.5,"sku":"979","position":"4"}"#),
            page("m3", "2026-11-21T12:00:00Z"),
            page("m9", "2026-11-20T23:59:00Z"),
            r#"{"type":"identify","messageId":"m4","userId":7,"timestamp":"2026-11-21T13:00:00Z","traits":{"plan":"free"}}"#.to_string(),
        ],
    );
    gzip(
        &b,
        &[
            // Delivered twice: the first copy wins.
            track("m1", "2026-11-21T10:00:00Z", "Product Viewed", r#"{"price":99}"#),
            track("m5", "2026-11-21T14:00:00Z", "Order Completed", r#"{"total":20.5,"coupon":null}"#),
            "{not json".to_string(),
            r#"{"messageId":"x","timestamp":"2026-11-21T10:00:00Z"}"#.to_string(),
            r#"{"type":"page","messageId":"old","timestamp":"1976-11-21T10:00:00Z","receivedAt":"2026-11-21T10:00:00Z"}"#.to_string(),
        ],
    );
    let config = SegmentConfig::new("in");
    let outcome = export(
        &[file(&a), file(&b)],
        DaySelection::Only(day()),
        &config,
        dir.path(),
    );

    assert_eq!(outcome.lines, 10);
    assert_eq!(outcome.written, 5);
    assert_eq!(outcome.duplicates, 1);
    assert_eq!(outcome.other_days, 1);
    assert_eq!(outcome.quarantined, 3);
    assert_eq!(
        outcome.lines,
        outcome.written + outcome.duplicates + outcome.other_days + outcome.quarantined
    );
    let table = |name: &str| {
        outcome
            .staged
            .tables
            .iter()
            .find(|t| t.table == name)
            .unwrap_or_else(|| panic!("no table {name}"))
    };
    for call in [
        "tracks",
        "pages",
        "screens",
        "identifies",
        "groups",
        "aliases",
    ] {
        assert_eq!(table(call).dt, day(), "{call}");
    }
    assert_eq!(table("tracks").rows, 3);
    assert_eq!(table("pages").rows, 1);
    assert_eq!(table("screens").rows, 0);
    assert_eq!(
        table("screens").files.len(),
        1,
        "an empty day still has a file"
    );
    assert_eq!(table("identifies").rows, 1);
    assert_eq!(table("product_viewed").rows, 2);
    assert_eq!(table("order_completed").rows, 1);
    assert_eq!(
        table("product_viewed").notes,
        vec!["property \"position\" had values of types integer, text and is stored as text"]
    );
    assert_eq!(
        table("product_viewed").run_prefix,
        "product_viewed/dt=2026-11-21/run=job-1/"
    );

    let viewed = read(table("product_viewed").files[0].path.as_deref().unwrap());
    let viewed = if viewed.num_rows() == 2 {
        viewed
    } else {
        read(table("product_viewed").files[1].path.as_deref().unwrap())
    };
    let schema = viewed.schema();
    assert_eq!(
        schema.field_with_name("price").unwrap().data_type(),
        &DataType::Float64
    );
    assert_eq!(
        schema.field_with_name("cart_size").unwrap().data_type(),
        &DataType::Int64
    );
    assert_eq!(
        schema.field_with_name("position").unwrap().data_type(),
        &DataType::Utf8
    );
    let ids = viewed
        .column_by_name("message_id")
        .unwrap()
        .as_string::<i32>();
    let first = (0..2).find(|&i| ids.value(i) == "m1").unwrap();
    let prices = viewed
        .column_by_name("price")
        .unwrap()
        .as_primitive::<Float64Type>();
    assert_eq!(prices.value(first), 12.0, "the first copy of m1 is kept");
    let positions = viewed
        .column_by_name("position")
        .unwrap()
        .as_string::<i32>();
    assert_eq!(positions.value(first), "3");
    let sizes = viewed
        .column_by_name("cart_size")
        .unwrap()
        .as_primitive::<Int64Type>();
    assert_eq!(sizes.value(first), 2);
    assert!(sizes.is_null(1 - first));
    let stamps = viewed
        .column_by_name("timestamp")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(stamps.value(1 - first) % 1_000_000, 250_000);
    assert_eq!(
        viewed
            .column_by_name("context_page_path")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        "/p/1"
    );

    let identifies = read(table("identifies").files[0].path.as_deref().unwrap());
    assert_eq!(
        identifies
            .column_by_name("user_id")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        "7"
    );
    assert_eq!(
        identifies
            .column_by_name("traits")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        r#"{"plan":"free"}"#
    );

    let (quarantine, key) = outcome.staged.quarantine.clone().unwrap();
    assert_eq!(key, "_quarantine/dt=2026-11-21/job-1.jsonl");
    let text = std::fs::read_to_string(quarantine).unwrap();
    assert!(text.contains("not JSON"), "{text}");
    assert!(text.contains("no \\\"type\\\""), "{text}");
    assert!(
        text.contains("days before the event was received"),
        "{text}"
    );
    assert!(text.contains(r#""line":3"#), "{text}");
}

#[test]
fn days_are_cut_in_the_configured_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("in/1/a.gz");
    gzip(
        &a,
        &[
            page("m1", "2026-11-21T23:30:00Z"),
            page("m2", "2026-11-21T10:00:00Z"),
        ],
    );
    let mut config = SegmentConfig::new("in");
    config.timezone = "Europe/Paris".into();
    let outcome = export(&[file(&a)], DaySelection::All, &config, dir.path());
    let pages: Vec<_> = outcome
        .staged
        .tables
        .iter()
        .filter(|t| t.table == "pages")
        .map(|t| (t.dt.to_string(), t.rows))
        .collect();
    assert_eq!(
        pages,
        vec![("2026-11-21".to_string(), 1), ("2026-11-22".to_string(), 1)]
    );
}

#[test]
fn a_truncated_file_keeps_what_came_before_and_says_where_it_broke() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("in/1/a.gz");
    let lines: Vec<String> = (0..2000)
        .map(|i| page(&format!("m{i}"), "2026-11-21T10:00:00Z"))
        .collect();
    gzip(&a, &lines);
    let bytes = std::fs::read(&a).unwrap();
    std::fs::write(&a, &bytes[..bytes.len() / 2]).unwrap();
    let outcome = export(
        &[file(&a)],
        DaySelection::Only(day()),
        &SegmentConfig::new("in"),
        dir.path(),
    );
    assert!(outcome.written > 0 && outcome.written < 2000);
    let warning = &outcome.staged.warnings[0];
    assert!(
        warning.contains("a.gz is truncated or corrupt after line"),
        "{warning}"
    );
    assert_eq!(outcome.quarantined, 1);
}

#[test]
fn a_ten_megabyte_line_is_quarantined_not_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("in/1/a.gz");
    let huge = track(
        "big",
        "2026-11-21T10:00:00Z",
        "Blob",
        &format!(r#"{{"data":"{}"}}"#, "x".repeat(10 << 20)),
    );
    gzip(&a, &[huge, page("m1", "2026-11-21T10:00:00Z")]);
    let outcome = export(
        &[file(&a)],
        DaySelection::Only(day()),
        &SegmentConfig::new("in"),
        dir.path(),
    );
    assert_eq!(outcome.quarantined, 1);
    assert_eq!(outcome.written, 1);
    let (quarantine, _) = outcome.staged.quarantine.clone().unwrap();
    let text = std::fs::read_to_string(quarantine).unwrap();
    assert!(text.contains("over the 1048576-byte limit"), "{text}");
    assert!(text.contains("not read into memory"), "{text}");
    assert!(text.len() < 20_000, "only an excerpt of the line is kept");
}
