//! export-rds against SQLite (the embedded default), a real PostgreSQL and a real MariaDB,
//! each started by the test: every type read back from the Parquet, incremental runs, and the
//! errors an operator meets.

use arrow::array::RecordBatch;
use arrow::util::display::array_value_to_string;
use chrono::NaiveDate;
use daybook_core::lake::PartitionLayout;
use daybook_core::relational::{RdsSource, TableExport};
use daybook_local::FsStore;
use daybook_local::state::FileStateStore;
use daybook_rds::shop::{ShopSpec, write_shop_sqlite};
use daybook_rds::{Database, RdsError, export_tables};
use daybook_tests::databases::{MariaDbServer, PostgresServer};
use std::path::Path;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

fn source(tables: Vec<TableExport>) -> RdsSource {
    RdsSource {
        source: "shop".into(),
        url: None,
        secret_arn: None,
        ssl_root_cert: None,
        tables,
        row_group_rows: 1000,
    }
}

fn read_table(
    root: &Path,
    report: &daybook_core::steps::publish::ExportReport,
    table: &str,
) -> RecordBatch {
    let published = report.tables.iter().find(|t| t.table == table).unwrap();
    let manifest: daybook_core::lake::TableManifest =
        serde_json::from_slice(&std::fs::read(root.join(&published.manifest_key)).unwrap())
            .unwrap();
    let mut batches = Vec::new();
    for file in &manifest.files {
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(
            std::fs::File::open(root.join(&file.key)).unwrap(),
            1 << 16,
        )
        .unwrap();
        batches.extend(reader.map(|b| b.unwrap()));
    }
    let schema = batches[0].schema();
    arrow::compute::concat_batches(&schema, &batches).unwrap()
}

fn cell(batch: &RecordBatch, column: &str, row: usize) -> String {
    let array = batch
        .column_by_name(column)
        .unwrap_or_else(|| panic!("no column {column}"));
    if array.is_null(row) {
        "NULL".into()
    } else {
        array_value_to_string(array, row).unwrap()
    }
}

fn type_of(batch: &RecordBatch, column: &str) -> String {
    batch
        .schema()
        .field_with_name(column)
        .unwrap()
        .data_type()
        .to_string()
}

#[tokio::test]
async fn sqlite_shop_exports_every_table_and_then_only_new_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("shop.sqlite");
    let counts = write_shop_sqlite(
        &db_path,
        &ShopSpec {
            last_day: day(),
            days: 3,
            orders_per_day: 40,
            seed: 3,
        },
    )
    .unwrap();
    assert_eq!(counts.orders, 120);
    let url = format!("sqlite://{}", db_path.display());
    let db = Database::connect(&url, None).await.unwrap();
    let store = FsStore::new(dir.path().join("lake"));
    let state = FileStateStore::new(&dir.path().join("state"));
    let mut orders = TableExport::new("orders");
    orders.watermark = Some("order_id".into());
    let config = source(
        daybook_rds::shop::TABLES
            .iter()
            .map(|t| {
                if *t == "orders" {
                    orders.clone()
                } else {
                    TableExport::new(t)
                }
            })
            .collect(),
    );
    let first = export_tables(
        &db,
        &store,
        &state,
        &config,
        &PartitionLayout::lake("shop", day(), "job-1"),
    )
    .await
    .unwrap();
    let root = dir.path().join("lake");
    let products = read_table(&root, &first, "products");
    assert_eq!(products.num_rows(), 2000);
    assert_eq!(type_of(&products, "list_price"), "Decimal128(10, 2)");
    assert_eq!(type_of(&products, "product_id"), "Int64");
    let exported = read_table(&root, &first, "orders");
    assert_eq!(exported.num_rows(), 120);
    assert_eq!(type_of(&exported, "purchased_at"), "Timestamp(µs, \"UTC\")");
    assert!(
        cell(&exported, "purchased_at", 0).starts_with("2026-11-19T"),
        "{}",
        cell(&exported, "purchased_at", 0)
    );
    let deliveries = read_table(&root, &first, "deliveries");
    assert_eq!(type_of(&deliveries, "estimated_date"), "Date32");
    let customers = read_table(&root, &first, "customers");
    assert_eq!(
        cell(&customers, "email", 16),
        "NULL",
        "customer 17 has no email"
    );
    drop(db);

    // New orders arrive; the next job exports only those, and a rerun of it exports them again.
    {
        use sqlx::Connection;
        let mut writer = sqlx::SqliteConnection::connect(&url).await.unwrap();
        // Ids above every existing one, as a database's sequence gives them.
        sqlx::query("INSERT INTO orders (order_id, customer_id, status, purchased_at, updated_at) SELECT max(order_id) + 1, 1, 'approved', '2026-11-22 08:00:00', '2026-11-22 08:00:00' FROM orders")
            .execute(&mut writer)
            .await
            .unwrap();
        sqlx::query("INSERT INTO orders (order_id, customer_id, status, purchased_at, updated_at) SELECT max(order_id) + 1, 2, 'approved', '2026-11-22 09:00:00', '2026-11-22 09:00:00' FROM orders")
            .execute(&mut writer)
            .await
            .unwrap();
    }
    let db = Database::connect(&url, None).await.unwrap();
    let only_orders = source(vec![orders.clone()]);
    let next_day = day().succ_opt().unwrap();
    for _ in 0..2 {
        let second = export_tables(
            &db,
            &store,
            &state,
            &only_orders,
            &PartitionLayout::lake("shop", next_day, "job-2"),
        )
        .await
        .unwrap();
        let new_rows = read_table(&root, &second, "orders");
        assert_eq!(new_rows.num_rows(), 2);
        assert_eq!(cell(&new_rows, "customer_id", 0), "1");
        assert_eq!(cell(&new_rows, "customer_id", 1), "2");
    }
    let third = export_tables(
        &db,
        &store,
        &state,
        &only_orders,
        &PartitionLayout::lake("shop", next_day, "job-3"),
    )
    .await
    .unwrap();
    assert_eq!(third.tables[0].rows, 0, "nothing new since job-2");
}

#[tokio::test]
async fn postgres_types_read_back_from_parquet_and_errors_name_what_failed() {
    let server = PostgresServer::start();
    server.psql(
        "shop",
        "CREATE TABLE everything (
            id bigserial PRIMARY KEY, small smallint, normal integer, big bigint,
            price numeric(38,4), ratio real, score double precision, flag boolean,
            name text, code varchar(10), letter char(2), born date, seen_at timestamp,
            changed_at timestamptz, opens time, ref uuid, doc json, docb jsonb, blob bytea,
            tags text[], counts int4[], loose numeric);
         INSERT INTO everything (small, normal, big, price, ratio, score, flag, name, code, letter,
            born, seen_at, changed_at, opens, ref, doc, docb, blob, tags, counts, loose) VALUES
           (-32768, 2147483647, -9223372036854775808, 12345678901234567890123456789012.3456, 1.5,
            2.25, true, 'Zoë ''quoted''', 'ABC', 'x', '1969-07-20', '2026-11-21 10:11:12.123456',
            '2026-11-21 23:30:00+05:30', '23:59:59.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
            '{\"a\": [1, 2]}', '{\"b\": null}', '\\x00ff', ARRAY['x', NULL, 'z'], ARRAY[1, 2],
            3.14159265358979323846264338327950288419716939937510);
         INSERT INTO everything DEFAULT VALUES;",
    );
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(&server.url(), None).await.unwrap();
    let store = FsStore::new(dir.path());
    let state = FileStateStore::new(&dir.path().join(".state"));
    let mut table = TableExport::new("public.everything");
    table.watermark = Some("id".into());
    let report = export_tables(
        &db,
        &store,
        &state,
        &source(vec![table.clone()]),
        &PartitionLayout::lake("shop", day(), "pg-1"),
    )
    .await
    .unwrap();
    let batch = read_table(dir.path(), &report, "everything");
    assert_eq!(
        crate::parquet_shape::assert_every_file_reads_as_aws_writes_it(dir.path()),
        1
    );
    assert_eq!(batch.num_rows(), 2);
    let expected = [
        ("small", "Int16", "-32768"),
        ("normal", "Int32", "2147483647"),
        ("big", "Int64", "-9223372036854775808"),
        (
            "price",
            "Decimal128(38, 4)",
            "12345678901234567890123456789012.3456",
        ),
        ("ratio", "Float32", "1.5"),
        ("score", "Float64", "2.25"),
        ("flag", "Boolean", "true"),
        ("name", "Utf8", "Zoë 'quoted'"),
        ("code", "Utf8", "ABC"),
        ("letter", "Utf8", "x "),
        ("born", "Date32", "1969-07-20"),
        (
            "seen_at",
            "Timestamp(µs, \"UTC\")",
            "2026-11-21T10:11:12.123456Z",
        ),
        (
            "changed_at",
            "Timestamp(µs, \"UTC\")",
            "2026-11-21T18:00:00Z",
        ),
        ("opens", "Utf8", "23:59:59.500"),
        ("ref", "Utf8", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        ("doc", "Utf8", "{\"a\":[1,2]}"),
        ("docb", "Utf8", "{\"b\":null}"),
        ("blob", "Binary", "00ff"),
        ("tags", "List(Utf8)", "[x, , z]"),
        ("counts", "List(Int32)", "[1, 2]"),
        (
            "loose",
            "Utf8",
            "3.14159265358979323846264338327950288419716939937510",
        ),
    ];
    for (column, ty, value) in expected {
        assert_eq!(
            type_of(&batch, column)
                .replace("Field { name: \"item\", data_type: ", "")
                .replace(
                    ", nullable: true, dict_id: 0, dict_is_ordered: false, metadata: {} }",
                    ""
                ),
            ty,
            "{column}"
        );
        let got = cell(&batch, column, 0);
        assert!(
            got == value || got.trim_end_matches('0') == value.trim_end_matches('0'),
            "{column}: {got} != {value}"
        );
        assert_eq!(cell(&batch, column, 1), "NULL", "{column} keeps NULL");
    }
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("loose") && w.contains("as text")),
        "{:?}",
        report.warnings
    );

    // Errors say what failed, where, and what to do; the password never shows.
    let wrong = server
        .url()
        .replace(daybook_tests::databases::PASSWORD, "not-the-password");
    let error = Database::connect(&wrong, None)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("password authentication failed"), "{error}");
    assert!(
        error.contains("check the user name and password"),
        "{error}"
    );
    assert!(!error.contains("not-the-password"), "{error}");
    let closed = format!(
        "postgres://daybook:pw@127.0.0.1:{}/shop",
        daybook_tests::free_port()
    );
    let error = Database::connect(&closed, None)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("check the host and port"), "{error}");
    let missing = export_tables(
        &db,
        &store,
        &state,
        &source(vec![TableExport::new("orderz")]),
        &PartitionLayout::lake("shop", day(), "pg-2"),
    )
    .await
    .unwrap_err();
    assert!(matches!(missing, RdsError::Query { .. }));
    let text = missing.to_string();
    assert!(
        text.contains("orderz") && text.contains("does not exist"),
        "{text}"
    );
    let mut bad_column = TableExport::new("everything");
    bad_column.watermark = Some("updated_at".into());
    let text = export_tables(
        &db,
        &store,
        &state,
        &source(vec![bad_column]),
        &PartitionLayout::lake("shop", day(), "pg-3"),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        text.contains("updated_at") && text.contains("does not exist"),
        "{text}"
    );
    let mut unsupported = TableExport::new("everything");
    unsupported.query = Some("SELECT point(1, 2) AS location".into());
    let text = export_tables(
        &db,
        &store,
        &state,
        &source(vec![unsupported]),
        &PartitionLayout::lake("shop", day(), "pg-4"),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        text.contains("column location has type POINT") && text.contains("CAST"),
        "{text}"
    );
}

/// `verify-full` against PostgreSQL's own TLS: the CA bundle given as PEM (in the config, or
/// as a key in the lake's store) verifies the server's chain and its name, and a wrong CA or a
/// name the certificate does not carry is refused, as libpq's verify-full refuses them.
#[tokio::test]
async fn postgres_over_tls_is_verified_against_a_ca_bundle_given_as_pem() {
    use daybook_core::store::ObjectStore;
    use daybook_tests::databases::{DATABASE, PASSWORD, USER};
    let (server, ca) = PostgresServer::start_tls();
    let by_ip = format!(
        "postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{DATABASE}",
        server.port
    );
    let lake = tempfile::tempdir().unwrap();
    let store = FsStore::new(lake.path());
    store.put("config/rds-ca.pem", ca.clone()).await.unwrap();
    for named in [
        String::from_utf8(ca.clone()).unwrap(),
        "config/rds-ca.pem".into(),
    ] {
        let pem = daybook_core::relational::ca_bundle(&store, &named)
            .await
            .unwrap();
        let db = Database::connect(&by_ip, Some(&pem)).await.unwrap();
        db.close().await;
    }

    let other = tempfile::tempdir().unwrap();
    let stranger = daybook_tests::databases::test_ca(other.path(), "another-ca");
    let error = Database::connect(&by_ip, Some(&stranger))
        .await
        .err()
        .expect("a certificate from another CA is refused")
        .to_string();
    assert!(error.contains("ssl_root_cert"), "{error}");
    // The certificate names 127.0.0.1 only: reached as localhost, the name does not match.
    let by_name = by_ip.replace("127.0.0.1", "localhost");
    assert!(
        Database::connect(&by_name, Some(&ca)).await.is_err(),
        "verify-full checks the host name"
    );
    let not_pem = daybook_core::relational::ca_bundle(&store, "config/missing.pem")
        .await
        .unwrap_err();
    assert!(not_pem.contains("config/missing.pem"), "{not_pem}");
}

#[tokio::test]
async fn mariadb_types_read_back_from_parquet() {
    let server = MariaDbServer::start();
    server.sql(
        "CREATE TABLE shop.everything (
            id BIGINT AUTO_INCREMENT PRIMARY KEY, tiny TINYINT, small SMALLINT, normal INT,
            big BIGINT, ubig BIGINT UNSIGNED, price DECIMAL(20,4), ratio FLOAT, score DOUBLE,
            flag BOOLEAN, name VARCHAR(40), body TEXT, born DATE, seen_at DATETIME(6),
            changed_at TIMESTAMP(6) NULL, opens TIME(3), doc JSON, blob_col VARBINARY(8));
         INSERT INTO shop.everything (tiny, small, normal, big, ubig, price, ratio, score, flag, name,
            body, born, seen_at, changed_at, opens, doc, blob_col) VALUES
           (-128, -32768, 2147483647, -9223372036854775808, 18446744073709551615,
            1234567890123456.7891, 1.5, 2.25, TRUE, 'Zoë', 'long text', '1969-07-20',
            '2026-11-21 10:11:12.123456', '2026-11-21 18:00:00', '23:59:59.500', '{\"a\": 1}', x'00ff');
         INSERT INTO shop.everything () VALUES ();",
    );
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(&server.url(), None).await.unwrap();
    let store = FsStore::new(dir.path());
    let state = FileStateStore::new(&dir.path().join(".state"));
    let report = export_tables(
        &db,
        &store,
        &state,
        &source(vec![TableExport::new("everything")]),
        &PartitionLayout::lake("shop", day(), "my-1"),
    )
    .await
    .unwrap();
    let batch = read_table(dir.path(), &report, "everything");
    assert_eq!(
        crate::parquet_shape::assert_every_file_reads_as_aws_writes_it(dir.path()),
        1
    );
    assert_eq!(batch.num_rows(), 2);
    let expected = [
        ("tiny", "Int8", "-128"),
        ("small", "Int16", "-32768"),
        ("normal", "Int32", "2147483647"),
        ("big", "Int64", "-9223372036854775808"),
        ("ubig", "Decimal128(20, 0)", "18446744073709551615"),
        ("price", "Decimal128(20, 4)", "1234567890123456.7891"),
        ("ratio", "Float32", "1.5"),
        ("score", "Float64", "2.25"),
        ("flag", "Boolean", "true"),
        ("name", "Utf8", "Zoë"),
        ("body", "Utf8", "long text"),
        ("born", "Date32", "1969-07-20"),
        (
            "seen_at",
            "Timestamp(µs, \"UTC\")",
            "2026-11-21T10:11:12.123456Z",
        ),
        ("opens", "Utf8", "23:59:59.500"),
        ("doc", "Utf8", "{\"a\": 1}"),
        ("blob_col", "Binary", "00ff"),
    ];
    for (column, ty, value) in expected {
        assert_eq!(type_of(&batch, column), ty, "{column}");
        assert_eq!(cell(&batch, column, 0), value, "{column}");
        assert_eq!(cell(&batch, column, 1), "NULL", "{column} keeps NULL");
    }
    let wrong = server
        .url()
        .replace(daybook_tests::databases::PASSWORD, "nope");
    let error = Database::connect(&wrong, None)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("Access denied") && error.contains("check the user name and password"),
        "{error}"
    );
}

/// What SQLite lets a table hold, and what a state file or a config can hold, never turns into
/// a silent 0, a lost offset, or SQL: each either exports as written or stops naming the place.
#[tokio::test]
async fn sqlite_values_names_and_watermarks_from_hostile_input_never_change_silently() {
    use daybook_core::ports::StateStore;
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("hostile.sqlite");
    let url = format!("sqlite://{}?mode=rwc", db_path.display());
    {
        use sqlx::Connection;
        let mut writer = sqlx::SqliteConnection::connect(&url).await.unwrap();
        for statement in [
            r#"CREATE TABLE "orders; DROP TABLE customers; --" (id INTEGER, at DATETIME)"#,
            r#"INSERT INTO "orders; DROP TABLE customers; --" VALUES (1, '2026-11-21 10:00:00+05:30'), (2, '2026-11-21 10:00:00')"#,
            "CREATE TABLE customers (id INTEGER)",
            "INSERT INTO customers VALUES (1), (2), (3)",
            "CREATE TABLE counts (n INTEGER)",
            "INSERT INTO counts VALUES (1), ('abc')",
            "CREATE TABLE flags (ok BOOLEAN)",
            "INSERT INTO flags VALUES (1), ('yes')",
        ] {
            sqlx::query(statement).execute(&mut writer).await.unwrap();
        }
    }
    let db = Database::connect(&url, None).await.unwrap();
    let store = FsStore::new(dir.path().join("lake"));
    let state = FileStateStore::new(&dir.path().join("state"));
    let layout = PartitionLayout::lake("shop", day(), "job-1");

    // A table name holding SQL stays a name: it is quoted, and its lake name is chosen.
    let mut odd = TableExport::new("orders; DROP TABLE customers; --");
    odd.name = Some("orders".into());
    odd.watermark = Some("id".into());
    let report = export_tables(&db, &store, &state, &source(vec![odd.clone()]), &layout)
        .await
        .unwrap();
    let orders = read_table(&dir.path().join("lake"), &report, "orders");
    assert_eq!(orders.num_rows(), 2);
    assert_eq!(
        cell(&orders, "at", 0),
        "2026-11-21T04:30:00Z",
        "the offset is kept"
    );
    assert_eq!(cell(&orders, "at", 1), "2026-11-21T10:00:00Z");
    let customers: i64 = {
        use sqlx::Connection;
        let mut reader = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM customers")
            .fetch_one(&mut reader)
            .await
            .unwrap()
    };
    assert_eq!(customers, 3, "nothing was dropped");

    // Without a lake name of its own, such a table name is refused up front.
    let error = export_tables(
        &db,
        &store,
        &state,
        &source(vec![TableExport::new("../../x")]),
        &layout,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(error.contains("not a plain name"), "{error}");

    // A state file edited to hold SQL is refused, not run.
    let key = odd.watermark_key("shop");
    let mut mark = state.get(&key).await.unwrap().unwrap();
    mark["value"] = serde_json::json!("0 OR 1=1");
    mark["job_id"] = serde_json::json!("job-0");
    state.put(&key, mark).await.unwrap();
    let error = export_tables(
        &db,
        &store,
        &state,
        &source(vec![odd]),
        &PartitionLayout::lake("shop", day(), "job-2"),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("\"0 OR 1=1\" is refused") && error.contains(&key),
        "{error}"
    );

    // Text where SQLite columns declare numbers or booleans stops the export at that cell.
    for (table, column) in [("counts", "n"), ("flags", "ok")] {
        let error = export_tables(
            &db,
            &store,
            &state,
            &source(vec![TableExport::new(table)]),
            &layout,
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            error.contains(&format!("row 2 column {column}")) && error.contains("TEXT"),
            "{table}: {error}"
        );
    }
}
