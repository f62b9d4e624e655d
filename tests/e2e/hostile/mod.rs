//! The bad-input corpus in `tests/fixtures/hostile/` against the DynamoDB and Segment exports:
//! no panic, nothing written outside the lake, every record counted (written or quarantined
//! with its line and reason), names plain and distinct, and every refusal naming the input and
//! what to do.

use chrono::NaiveDate;
use daybook_core::flatten::FlattenConfig;
use daybook_core::lake::PartitionLayout;
use daybook_core::segment::{CallType, SegmentConfig};
use daybook_core::steps::JobContext;
use daybook_core::steps::publish::ExportReport;
use daybook_core::steps::segment::{SegmentTask, run_segment_task};
use daybook_core::store::ObjectStore;
use daybook_local::FsStore;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn corpus(case: &str) -> PathBuf {
    daybook_tests::workspace_root()
        .join("tests/fixtures/hostile")
        .join(case)
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

/// A lake in `<tmp>/nested/lake`: anything written beside it, or at the filesystem's root,
/// escaped.
struct Lake {
    dir: tempfile::TempDir,
}

impl Lake {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("nested/lake")).unwrap();
        Self { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("nested/lake")
    }

    fn store(&self) -> FsStore {
        FsStore::new(self.root())
    }

    fn assert_nothing_escaped(&self, case: &str) {
        let beside: Vec<_> = std::fs::read_dir(self.dir.path().join("nested"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(beside, ["lake"], "{case}: written beside the lake");
        assert!(
            !Path::new("/dt=2026-11-21").exists(),
            "{case}: written at the filesystem's root"
        );
    }

    fn files(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![self.root()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let relative = path.strip_prefix(self.root()).unwrap();
                    out.push(relative.to_string_lossy().into_owned());
                }
            }
        }
        out.sort();
        out
    }
}

fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Every table of the run has a plain name, distinct catalog names, and a manifest whose
/// columns are plain and distinct.
async fn assert_plain_tables(store: &FsStore, report: &ExportReport, case: &str) {
    let mut catalog = BTreeSet::new();
    for table in &report.tables {
        assert!(is_plain(&table.table), "{case}: table {:?}", table.table);
        let name = daybook_core::marts::catalog_table_name(&report.source, &table.table);
        assert!(
            catalog.insert(name.clone()),
            "{case}: two tables are {name}"
        );
        let manifest: daybook_core::lake::TableManifest =
            serde_json::from_slice(&store.get(&table.manifest_key).await.unwrap()).unwrap();
        let columns: Vec<&str> = manifest.schema.iter().map(|c| c.name.as_str()).collect();
        let unique: BTreeSet<&str> = columns.iter().copied().collect();
        assert_eq!(
            unique.len(),
            columns.len(),
            "{case} {}: {columns:?}",
            table.table
        );
        for column in &columns {
            assert!(
                is_plain(column),
                "{case} {}: column {column:?}",
                table.table
            );
            assert!(
                !["dt", "run"].contains(column),
                "{case} {}: a column shadows the partition",
                table.table
            );
        }
    }
}

/// The quarantine's records, each of which must say where and why.
async fn quarantine(store: &FsStore, report: &ExportReport, case: &str) -> Vec<serde_json::Value> {
    let Some(key) = &report.quarantine_key else {
        return vec![];
    };
    let text = String::from_utf8(store.get(key).await.unwrap()).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    for record in &records {
        assert!(record["input"].as_str().is_some(), "{case}: {record}");
        assert!(
            !record["reason"].as_str().unwrap_or_default().is_empty(),
            "{case}: {record}"
        );
    }
    records
}

async fn flatten(case: &str, lake: &Lake) -> daybook_core::Result<ExportReport> {
    let input = FsStore::new(corpus(case));
    let mut config = FlattenConfig::new("search_queries", vec!["query_id".into()]);
    // The corpus is mostly bad on purpose: every share of it is published.
    config.max_quarantined_share = 1.0;
    let layout = PartitionLayout::lake("search_queries", day(), "job-hostile");
    daybook_core::steps::flatten::flatten_export(&input, &lake.store(), &config, "", &layout, 2)
        .await
}

#[tokio::test]
async fn hostile_dynamodb_names_stay_inside_the_lake_and_apart() {
    let lake = Lake::new();
    let report = flatten("dynamodb/names", &lake).await.unwrap();
    lake.assert_nothing_escaped("names");
    assert_eq!((report.items_read, report.items_written), (2, 2));
    assert_plain_tables(&lake.store(), &report, "names").await;
    // The scalar table and the five list attributes ("", "..", "/", items, x).
    assert_eq!(report.tables.len(), 6, "{:?}", report.tables);
    for file in lake.files() {
        assert!(
            file.starts_with("lake/search_queries/") || file.starts_with("jobs/"),
            "{file}"
        );
    }
}

#[tokio::test]
async fn hostile_dynamodb_lines_are_each_quarantined_with_their_line_and_reason() {
    let lake = Lake::new();
    let report = flatten("dynamodb/bad-lines", &lake).await.unwrap();
    lake.assert_nothing_escaped("bad-lines");
    let records = quarantine(&lake.store(), &report, "bad-lines").await;
    // q1, q9, q10, and q7 and q8, whose `n` the sample saw as numbers and text: text keeps
    // "1e400" and "not a number" exactly.
    assert_eq!(report.items_written, 5);
    assert_eq!(records.len() as u64, report.quarantined);
    assert_eq!(report.quarantined, 7, "{records:#?}");
    let lines: Vec<u64> = records
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3, 4, 5, 6, 7, 10]);
    let reason = |line: u64| {
        records[lines.iter().position(|l| *l == line).unwrap()]["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(reason(2).contains("not UTF-8"), "{}", reason(2));
    assert!(
        reason(3).contains("not a DynamoDB JSON export line"),
        "{}",
        reason(3)
    );
    assert!(reason(5).contains("DynamoDB allows 32"), "{}", reason(5));
    assert!(reason(6).contains("recursion limit"), "{}", reason(6));
    assert!(reason(10).contains("query_id"), "{}", reason(10));
}

#[tokio::test]
async fn a_manifest_cannot_send_the_export_outside_its_folder() {
    for case in ["dynamodb/manifest-escape", "dynamodb/manifest-parent"] {
        let lake = Lake::new();
        let error = flatten(case, &lake).await.unwrap_err().to_string();
        lake.assert_nothing_escaped(case);
        assert!(
            error.contains("manifest-files.json line 1") && error.contains("will not read"),
            "{case}: {error}"
        );
        assert!(lake.files().iter().all(|f| !f.contains("_manifest.json")));
    }
}

#[tokio::test]
async fn a_run_that_quarantines_every_record_publishes_nothing_and_fails() {
    let lake = Lake::new();
    let error = flatten("dynamodb/all-quarantined", &lake)
        .await
        .unwrap_err();
    assert_eq!(
        daybook_core::Classify::kind(&error),
        daybook_core::ErrorKind::InvalidInput
    );
    let error = error.to_string();
    assert!(
        error.contains("every one of the 3 records") && error.contains("query_id"),
        "{error}"
    );
    let files = lake.files();
    assert!(
        files.iter().all(|f| !f.ends_with("_manifest.json")),
        "{files:?}"
    );
    assert!(
        files.iter().any(|f| f.starts_with("quarantine/")),
        "{files:?}"
    );

    let lake = Lake::new();
    let error = segment("segment/all-quarantined", &lake)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("every one of the 2 records"), "{error}");
}

async fn segment(case: &str, lake: &Lake) -> daybook_core::Result<ExportReport> {
    segment_with(case, lake, |_| {}).await
}

async fn segment_with(
    case: &str,
    lake: &Lake,
    configure: impl FnOnce(&mut SegmentConfig),
) -> daybook_core::Result<ExportReport> {
    copy_dir(&corpus(case), &lake.root());
    let mut source = SegmentConfig::new("segment-logs/src");
    source.source = "web".into();
    configure(&mut source);
    let task = SegmentTask {
        job: JobContext {
            variables: Default::default(),
            job_id: "job-hostile".into(),
            date: day(),
        },
        source,
    };
    run_segment_task(&lake.store(), &task, 2).await
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn hostile_segment_names_get_tables_and_columns_of_their_own() {
    let lake = Lake::new();
    let report = segment("segment/names", &lake).await.unwrap();
    lake.assert_nothing_escaped("segment names");
    assert_plain_tables(&lake.store(), &report, "segment names").await;
    let events: Vec<&str> = report
        .tables
        .iter()
        .map(|t| t.table.as_str())
        .filter(|t| !CallType::ALL.iter().any(|call| call.table() == *t))
        .collect();
    // Order Completed, 注文完了, カート追加, Заказ оформлен, "..", "/etc/passwd", tracks (a
    // track without a name is quarantined: it says nothing).
    assert_eq!(events.len(), 7, "{events:?}");
    let order = report
        .tables
        .iter()
        .find(|t| t.table == "order_completed")
        .unwrap();
    let manifest: daybook_core::lake::TableManifest =
        serde_json::from_slice(&lake.store().get(&order.manifest_key).await.unwrap()).unwrap();
    // Common columns, event, then a_b, a.b, A, a, 注文, 金額, dt, timestamp, event.
    let common = daybook_core::segment::schema::COMMON_COLUMNS.len();
    assert_eq!(manifest.schema.len(), common + 1 + 9);
    assert!(manifest.notes.len() >= 6, "{:#?}", manifest.notes);
}

#[tokio::test]
async fn hostile_segment_lines_are_counted_and_quarantined_alone() {
    let lake = Lake::new();
    let report = segment_with("segment/bad-lines", &lake, |c| {
        c.max_quarantined_share = 1.0
    })
    .await
    .unwrap();
    lake.assert_nothing_escaped("segment bad-lines");
    let records = quarantine(&lake.store(), &report, "segment bad-lines").await;
    let count = |name: &str| report.counts.get(name).copied().unwrap_or(0);
    assert_eq!(
        count("lines"),
        report.items_written + count("duplicates") + count("other_days") + report.quarantined,
        "{report:?}"
    );
    assert_eq!(count("duplicates"), 1, "{:?}", report.counts);
    assert_eq!(records.len() as u64, report.quarantined);
    let reasons: Vec<&str> = records
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("not UTF-8")),
        "{reasons:#?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("recursion limit")),
        "{reasons:#?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("number out of range")),
        "{reasons:#?}"
    );
}

/// Fields that become email headers, as a config could set them: each refused by the check a
/// run makes at its start, before anything is exported or sent.
#[test]
fn header_injection_through_the_config_is_refused_at_start() {
    for (field, value) in [
        ("subject", "{title}\r\nBcc: evil@example.com"),
        ("title", "Daily\r\n\r\n<h1>fake body</h1>"),
        ("from", "reports@daybook.example\r\nBcc: evil@example.com"),
        ("from", "Reports <reports@daybook.example>"),
    ] {
        let mut config = daybook_local::demo::demo_config();
        match field {
            "subject" => config.email.subject = value.into(),
            "title" => config.report.title = value.into(),
            _ => config.email.from = value.into(),
        }
        let refused = config.check_names().unwrap_err();
        assert!(refused.contains(field), "{value:?}: {refused}");
    }
    assert!(daybook_local::demo::demo_config().check_names().is_ok());
}

/// Writes `lines` as one batch file of the Segment source the hostile tests read.
fn segment_batch(lake: &Lake, lines: impl Iterator<Item = String>) {
    let folder = lake.root().join("segment-logs/src/1795262400000");
    std::fs::create_dir_all(&folder).unwrap();
    let text: Vec<String> = lines.collect();
    std::fs::write(folder.join("generated.json"), text.join("\n")).unwrap();
}

async fn manifest_of(
    lake: &Lake,
    report: &ExportReport,
    table: &str,
) -> daybook_core::lake::TableManifest {
    let table = report.tables.iter().find(|t| t.table == table).unwrap();
    serde_json::from_slice(&lake.store().get(&table.manifest_key).await.unwrap()).unwrap()
}

/// What anyone with the site's public write key can send: 40 events, each under Segment's
/// 32 KB, each with 2,500 property names never seen before, made one table of 100,023 columns.
#[tokio::test]
async fn a_write_key_cannot_make_a_table_wider_than_spectrum_reads() {
    let lake = Lake::new();
    segment_batch(
        &lake,
        (0..40).map(|event| {
            let properties: serde_json::Map<String, serde_json::Value> = (0..2500)
                .map(|p| (format!("p{event:02}_{p:04}"), serde_json::json!(p)))
                .collect();
            serde_json::json!({"type": "track", "messageId": format!("w{event}"), "userId": "u1",
                "timestamp": "2026-11-21T10:00:00Z", "event": "Wide", "properties": properties})
            .to_string()
        }),
    );
    let report = segment("segment/names", &lake).await.unwrap();
    let manifest = manifest_of(&lake, &report, "wide").await;
    let common = daybook_core::segment::schema::COMMON_COLUMNS.len();
    // The common columns, event, the first 1,000 property names, _extra.
    assert_eq!(manifest.schema.len(), common + 1 + 1000 + 1);
    assert_eq!(manifest.schema.last().unwrap().name, "_extra");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("99000 properties beyond the 1000 kept as columns")),
        "{:#?}",
        report.warnings
    );
    // Each row keeps what did not get a column, as JSON.
    let file = &manifest.files[0];
    let bytes = lake.store().get(&file.key).await.unwrap();
    let batches: Vec<_> = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(
        bytes::Bytes::from(bytes),
        1024,
    )
    .unwrap()
    .map(Result::unwrap)
    .collect();
    let extra = batches[0].column_by_name("_extra").unwrap();
    let last =
        arrow::util::display::array_value_to_string(extra, batches[0].num_rows() - 1).unwrap();
    let kept: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(
        kept.as_object().unwrap().len(),
        2500,
        "the last event's properties are all in _extra"
    );
}

/// 3,000 events with names never seen before: the most frequent 500 get tables, the others'
/// calls stay in `tracks`, named in the warnings.
#[tokio::test]
async fn a_write_key_cannot_make_a_table_per_event_name_without_bound() {
    let lake = Lake::new();
    let line = |id: usize, name: &str| {
        serde_json::json!({"type": "track", "messageId": format!("n{id}"), "userId": "u1",
            "timestamp": "2026-11-21T10:00:00Z", "event": name, "properties": {"x": 1}})
        .to_string()
    };
    segment_batch(
        &lake,
        (0..3000)
            .map(move |i| line(i, &format!("junk {i:04}")))
            .chain((0..5).map(move |i| line(10_000 + i, "Order Completed"))),
    );
    let report = segment("segment/names", &lake).await.unwrap();
    let tables: Vec<&str> = report.tables.iter().map(|t| t.table.as_str()).collect();
    let calls = CallType::ALL.len();
    assert!(tables.len() <= 500 + calls + 7, "{} tables", tables.len());
    assert!(
        tables.contains(&"order_completed"),
        "the most frequent event keeps its table"
    );
    let tracks = manifest_of(&lake, &report, "tracks").await;
    assert!(
        tracks
            .notes
            .iter()
            .any(|n| n.contains("have no table of their own, over max_event_tables (500)")),
        "{:#?}",
        tracks.notes
    );
    assert!(
        tracks.rows >= 3005,
        "every call is in tracks: {}",
        tracks.rows
    );
}

/// `daybook serve` against what a stranger on the network can do: a body that claims 10 GB is
/// refused at once with the site's security headers, and a connection that never sends its
/// request is closed instead of holding a file descriptor.
#[tokio::test]
async fn the_approval_server_refuses_huge_bodies_and_closes_silent_connections() {
    use std::io::{Read, Write};
    let root = tempfile::tempdir().unwrap();
    let server = daybook_local::approval_site::ApprovalServer::bind(
        root.path(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
    .with_header_timeout(std::time::Duration::from_millis(300));
    let address = server.url.trim_start_matches("http://").to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(std::time::Duration::from_secs(3600), async {
        let _ = stopped.await;
    }));
    let checks = tokio::task::spawn_blocking(move || {
        let mut huge = std::net::TcpStream::connect(&address).unwrap();
        huge.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        write!(
            huge,
            "POST /approvals/v1.x HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000000\r\n\r\n"
        )
        .unwrap();
        let mut head = [0u8; 2048];
        let read = huge.read(&mut head).unwrap();
        let head = String::from_utf8_lossy(&head[..read]).to_lowercase();
        assert!(head.starts_with("http/1.1 413"), "{head}");
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
        assert!(head.contains("content-security-policy"), "{head}");

        let mut silent = std::net::TcpStream::connect(&address).unwrap();
        silent
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let started = std::time::Instant::now();
        let mut nothing = [0u8; 64];
        // The server closes it (a read of 0 bytes, or a 408 first) well before 5 s.
        let _ = silent.read(&mut nothing);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(4),
            "a silent connection is closed after the header timeout"
        );
    });
    checks.await.unwrap();
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}

mod floods;
