//! export-segment and export-rds as they run on AWS: S3 and the state table on moto, database
//! credentials from moto's Secrets Manager, a real PostgreSQL behind them.

use crate::aws_moto::{BUCKET, with_bucket};
use crate::aws_pipeline::{STATE_TABLE, prepare_state_table};
use daybook_aws::{DynamoDbStateStore, S3Store, sdk};
use daybook_core::ports::StateStore;
use daybook_core::store::ObjectStore;
use daybook_generate::segment::{SegmentSpec, write_segment_logs};
use daybook_tests::MotoServer;
use daybook_tests::databases::{DATABASE, PASSWORD, PostgresServer, USER};
use serde_json::json;

#[tokio::test]
async fn segment_day_and_single_file_exports_on_s3() {
    let moto = MotoServer::start();
    let config = with_bucket(&moto).await;
    let store = S3Store::new(sdk::s3_client(&config), BUCKET);
    let dir = tempfile::tempdir().unwrap();
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let mut spec = SegmentSpec::new(3_000, date);
    spec.batches = 6;
    let written = write_segment_logs(dir.path(), &spec).unwrap();
    for file in &written.files {
        let key = file
            .strip_prefix(dir.path())
            .unwrap()
            .to_string_lossy()
            .to_string();
        store.put_file(&key, file).await.unwrap();
    }
    let adapters = export_segment::Adapters {
        store,
        put_config: Some(daybook_core::segment::SegmentConfig::new(
            "segment-logs/xK2bd8shop",
        )),
        workers: 2,
    };
    let step = json!({
        "job": { "job_id": "seg-1", "date": "2026-11-21" },
        "source": { "prefix": "segment-logs/xK2bd8shop" }
    });
    let summary = export_segment::handle(&adapters, serde_json::from_value(step).unwrap())
        .await
        .unwrap();
    let report = crate::aws_moto::full_report(&adapters.store, &summary).await;
    let tables: Vec<&str> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    for table in [
        "pages",
        "tracks",
        "identifies",
        "product_viewed",
        "order_completed",
    ] {
        assert!(tables.contains(&table), "{table} in {tables:?}");
    }
    let lines = report["counts"]["lines"].as_u64().unwrap();
    assert_eq!(lines, 3_000);
    assert_eq!(
        lines,
        report["items_written"].as_u64().unwrap()
            + report["counts"]["duplicates"].as_u64().unwrap()
            + report["counts"]["other_days"].as_u64().unwrap()
            + report["quarantined"].as_u64().unwrap()
    );
    let pages = adapters
        .store
        .list("lake/segment/pages/dt=2026-11-21/run=seg-1/")
        .await
        .unwrap();
    assert!(
        pages.iter().any(|k| k.ends_with("_manifest.json")),
        "{pages:?}"
    );
    adapters
        .store
        .get("jobs/seg-1/export-segment-segment.json")
        .await
        .unwrap();

    // One file as it lands: its own run, named after the file, for the days in it.
    let key = written.files[2]
        .strip_prefix(dir.path())
        .unwrap()
        .to_string_lossy()
        .to_string();
    let sample = daybook_tests::workspace_root().join("events/export-segment-put.json");
    let mut put: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample).unwrap()).unwrap();
    put["Records"][0]["s3"]["object"]["key"] = json!(key.replace(' ', "+"));
    let reports = export_segment::handle(&adapters, serde_json::from_value(put).unwrap())
        .await
        .unwrap();
    let job = reports[0]["job_id"].as_str().unwrap();
    assert!(job.starts_with("object-"), "{job}");
    assert_eq!(reports[0]["items_read"].as_u64().unwrap(), 500);
}

#[tokio::test]
async fn rds_export_reads_its_secret_and_keeps_its_watermark_in_dynamodb() {
    let postgres = PostgresServer::start();
    postgres.psql(
        DATABASE,
        "CREATE TABLE orders (order_id integer PRIMARY KEY, total numeric(10,2), placed_at timestamptz);
         INSERT INTO orders SELECT g, g * 1.25, TIMESTAMPTZ '2026-11-21 00:00:00+00' + g * INTERVAL '1 minute' FROM generate_series(1, 500) g;",
    );
    let moto = MotoServer::start();
    let config = with_bucket(&moto).await;
    prepare_state_table(&config).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let arn = secrets
        .create_secret()
        .name("daybook/rds/shop")
        .secret_string(
            json!({
                "engine": "postgres", "host": "127.0.0.1", "port": postgres.port,
                "username": USER, "password": PASSWORD, "dbname": DATABASE
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let adapters = export_rds::Adapters {
        store: S3Store::new(sdk::s3_client(&config), BUCKET),
        state: DynamoDbStateStore::new(sdk::dynamodb_client(&config), STATE_TABLE),
        secrets,
    };
    let task = |job: &str| {
        serde_json::from_value(json!({
            "job": { "job_id": job, "date": "2026-11-21" },
            "source": { "source": "shop", "secret_arn": arn, "tables": [{ "table": "orders", "watermark": "order_id" }] }
        }))
        .unwrap()
    };
    let first = export_rds::handle(&adapters, task("rds-1")).await.unwrap();
    let first = crate::aws_moto::full_report(&adapters.store, &first).await;
    assert_eq!(first["tables"][0]["rows"], 500);
    let mark = adapters
        .state
        .get("watermarks/shop/orders")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mark["value"], "500");
    assert_eq!(mark["job_id"], "rds-1");
    let manifest: daybook_core::lake::TableManifest = serde_json::from_slice(
        &adapters
            .store
            .get("lake/shop/orders/dt=2026-11-21/run=rds-1/_manifest.json")
            .await
            .unwrap(),
    )
    .unwrap();
    let total = manifest.schema.iter().find(|c| c.name == "total").unwrap();
    assert_eq!(total.hive_type, "decimal(10,2)");

    postgres.psql(DATABASE, "INSERT INTO orders VALUES (501, 9.99, now())");
    let second = export_rds::handle(&adapters, task("rds-2")).await.unwrap();
    let second = crate::aws_moto::full_report(&adapters.store, &second).await;
    assert_eq!(second["tables"][0]["rows"], 1);

    let missing = json!({
        "job": { "job_id": "rds-3", "date": "2026-11-21" },
        "source": { "source": "shop", "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope", "tables": [] }
    });
    let error = export_rds::handle(&adapters, serde_json::from_value(missing).unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("reading the database secret") && error.contains("nope"),
        "{error}"
    );
}
