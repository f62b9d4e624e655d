//! The AWS adapters and the flatten-dynamodb handler against a moto server started per test.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue as Sdk, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    Projection, ProjectionType, ProvisionedThroughput, PutRequest, ScalarAttributeType,
    WriteRequest,
};
use daybook_aws::{DynamoDbReader, S3Store, sdk};
use daybook_core::store::ObjectStore;
use daybook_tests::{MotoServer, workspace_root};
use flatten_dynamodb::{Adapters, FlattenEvent, handle};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rand::SeedableRng;
use serde_json::Value;
use std::collections::HashMap;

pub(crate) const BUCKET: &str = "daybook-lake";
pub(crate) const DAY: &str = "2026-11-21";

/// A step's whole export report, read from the job's folder at the key its summary gives (the
/// state machine carries only the summary).
pub(crate) async fn full_report(store: &S3Store, summary: &Value) -> Value {
    let key = summary["report_key"]
        .as_str()
        .unwrap_or_else(|| panic!("a step summary names its report: {summary}"));
    assert!(
        summary["tables"].is_u64(),
        "a summary counts tables: {summary}"
    );
    serde_json::from_slice(&store.get(key).await.unwrap()).unwrap()
}

pub(crate) async fn sdk_config(moto: &MotoServer) -> SdkConfig {
    sdk_config_at(&moto.endpoint).await
}

/// SDK settings that send every call to a loopback test server.
pub(crate) async fn sdk_config_at(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .load()
        .await
}

/// SDK settings for `moto`, with the lake bucket created there.
pub(crate) async fn with_bucket(moto: &MotoServer) -> SdkConfig {
    let config = sdk_config(moto).await;
    sdk::s3_client(&config)
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    config
}

struct Cloud {
    _moto: MotoServer,
    config: SdkConfig,
    adapters: Adapters,
}

async fn cloud() -> Cloud {
    let moto = MotoServer::start();
    let config = with_bucket(&moto).await;
    let adapters = Adapters {
        store: S3Store::new(sdk::s3_client(&config), BUCKET),
        reader: DynamoDbReader::new(sdk::dynamodb_client(&config)),
        stream_config: Some(
            serde_json::from_value(
                serde_json::json!({"source": "search_queries", "keys": ["query_id"]}),
            )
            .unwrap(),
        ),
        stream_catalog: Some(daybook_aws::GlueCatalog::new(
            aws_sdk_glue::Client::new(&config),
            crate::aws_pipeline::GLUE_DATABASE,
            BUCKET,
        )),
        workers: 2,
    };
    crate::aws_pipeline::create_glue_database(&config).await;
    Cloud {
        _moto: moto,
        config,
        adapters,
    }
}

/// DynamoDB JSON (as the generator writes it) to the SDK's attribute values.
fn to_sdk(value: &Value) -> Sdk {
    let (tag, inner) = value.as_object().unwrap().iter().next().unwrap();
    let strings = || {
        inner
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    match tag.as_str() {
        "S" => Sdk::S(inner.as_str().unwrap().into()),
        "N" => Sdk::N(inner.as_str().unwrap().into()),
        "BOOL" => Sdk::Bool(inner.as_bool().unwrap()),
        "NULL" => Sdk::Null(true),
        "L" => Sdk::L(inner.as_array().unwrap().iter().map(to_sdk).collect()),
        "M" => Sdk::M(
            inner
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), to_sdk(v)))
                .collect(),
        ),
        "SS" => Sdk::Ss(strings()),
        "NS" => Sdk::Ns(strings()),
        other => panic!("the generator does not write {other}"),
    }
}

/// A `search_queries` table with a `by_day` index, holding `per_day` items on DAY and on the day after.
async fn table_with_items(config: &SdkConfig, per_day: u64) {
    let client = sdk::dynamodb_client(config);
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let hash = |name: &str| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(KeyType::Hash)
            .build()
            .unwrap()
    };
    let throughput = || {
        ProvisionedThroughput::builder()
            .read_capacity_units(100)
            .write_capacity_units(100)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name("search_queries")
        .attribute_definitions(attribute("query_id"))
        .attribute_definitions(attribute("query_day"))
        .key_schema(hash("query_id"))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_day")
                .key_schema(hash("query_day"))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .provisioned_throughput(throughput())
                .build()
                .unwrap(),
        )
        .provisioned_throughput(throughput())
        .send()
        .await
        .unwrap();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(5);
    for (file, day) in [DAY, "2026-11-22"].iter().enumerate() {
        let date: chrono::NaiveDate = day.parse().unwrap();
        let items: Vec<HashMap<String, Sdk>> = (0..per_day)
            .map(|n| {
                let json = daybook_generate::dynamodb::search_item(&mut rng, date, file, n);
                let mut item: HashMap<String, Sdk> = json
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), to_sdk(v)))
                    .collect();
                item.insert("query_day".into(), Sdk::S(day.to_string()));
                item
            })
            .collect();
        for chunk in items.chunks(25) {
            let requests = chunk
                .iter()
                .map(|item| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(item.clone()))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect();
            client
                .batch_write_item()
                .request_items("search_queries", requests)
                .send()
                .await
                .unwrap();
        }
    }
}

fn event(name: &str) -> FlattenEvent {
    let text = std::fs::read_to_string(workspace_root().join("events").join(name)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("events/{name}: {e}"))
}

/// Rows of a table as written to S3, read back from the Parquet files its manifest lists.
async fn rows_in_s3(store: &S3Store, report: &Value, table: &str) -> usize {
    let entry = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == table)
        .unwrap();
    let manifest: Value = serde_json::from_slice(
        &store
            .get(entry["manifest_key"].as_str().unwrap())
            .await
            .unwrap(),
    )
    .unwrap();
    let mut rows = 0;
    for file in manifest["files"].as_array().unwrap() {
        let bytes = store.get(file["key"].as_str().unwrap()).await.unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .unwrap()
            .build()
            .unwrap();
        rows += reader.map(|b| b.unwrap().num_rows()).sum::<usize>();
    }
    assert_eq!(
        rows as u64,
        manifest["rows"].as_u64().unwrap(),
        "{table}: manifest and files agree"
    );
    rows
}

#[tokio::test]
async fn query_on_the_date_index_reads_all_pages_of_that_day_only() {
    let cloud = cloud().await;
    table_with_items(&cloud.config, 260).await;
    let summary = handle(&cloud.adapters, event("flatten-dynamodb-query.json"))
        .await
        .unwrap();
    let report = full_report(&cloud.adapters.store, &summary).await;
    assert_eq!(report["items_read"], 260);
    assert_eq!(report["quarantined"], 0);
    assert_eq!(
        rows_in_s3(&cloud.adapters.store, &report, "_items").await,
        260
    );
    assert!(rows_in_s3(&cloud.adapters.store, &report, "isbn13_list").await > 260);
    let keys = cloud
        .adapters
        .store
        .list("jobs/20261121-060000-000002/")
        .await
        .unwrap();
    assert_eq!(
        keys,
        ["jobs/20261121-060000-000002/flatten-search_queries.json"]
    );
}

#[tokio::test]
async fn parallel_scan_writes_one_part_per_segment() {
    let cloud = cloud().await;
    table_with_items(&cloud.config, 120).await;
    let summary = handle(&cloud.adapters, event("flatten-dynamodb-scan.json"))
        .await
        .unwrap();
    let report = full_report(&cloud.adapters.store, &summary).await;
    assert_eq!(report["items_read"], 240, "a scan reads the whole table");
    let items = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "_items")
        .unwrap()
        .clone();
    assert_eq!(items["files"], 3);
    assert_eq!(
        rows_in_s3(&cloud.adapters.store, &report, "_items").await,
        240
    );
}

/// A generated DynamoDB export of `items` items for DAY, where the demo config expects it.
pub(crate) async fn upload_export(store: &S3Store, items: u64) {
    let dir = tempfile::tempdir().unwrap();
    let spec = daybook_generate::dynamodb::ExportSpec {
        items,
        files: 2,
        date: DAY.parse().unwrap(),
        seed: 3,
    };
    daybook_generate::dynamodb::write_search_export(dir.path(), &spec).unwrap();
    for entry in ["manifest-files.json", "manifest-summary.json"]
        .into_iter()
        .map(String::from)
        .chain(
            std::fs::read_dir(dir.path().join("data"))
                .unwrap()
                .map(|e| format!("data/{}", e.unwrap().file_name().to_string_lossy())),
        )
    {
        store
            .put_file(
                &format!("exports/search_queries/{DAY}/{entry}"),
                &dir.path().join(&entry),
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn an_export_in_s3_flattens_into_the_lake() {
    let cloud = cloud().await;
    upload_export(&cloud.adapters.store, 500).await;
    let summary = handle(&cloud.adapters, event("flatten-dynamodb-export.json"))
        .await
        .unwrap();
    assert_eq!(summary["items_read"], 500);
    let report = full_report(&cloud.adapters.store, &summary).await;
    assert_eq!(report["warnings"], serde_json::json!([]));
    assert_eq!(
        rows_in_s3(&cloud.adapters.store, &report, "_items").await,
        500
    );
    assert!(
        report["tables"][0]["run_prefix"]
            .as_str()
            .unwrap()
            .starts_with("lake/search_queries/_items/dt=2026-11-21/run=20261121-060000-000001/")
    );
}

#[tokio::test]
async fn a_missing_export_manifest_is_a_clear_error() {
    let cloud = cloud().await;
    let err = handle(&cloud.adapters, event("flatten-dynamodb-export.json"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "s3://daybook-lake/exports/search_queries/2026-11-21/manifest-files.json does not exist"
        ),
        "{err}"
    );
    assert!(
        err.contains("Point the export location at the folder that holds manifest-files.json"),
        "{err}"
    );
}

#[tokio::test]
async fn a_stream_batch_flattens_its_new_images_and_counts_removals() {
    let cloud = cloud().await;
    let report = handle(&cloud.adapters, event("flatten-dynamodb-stream.json"))
        .await
        .unwrap();
    assert_eq!(report["items_read"], 2);
    assert_eq!(
        report["warnings"],
        serde_json::json!(["1 REMOVE records were counted and not written"])
    );
    assert_eq!(
        rows_in_s3(&cloud.adapters.store, &report, "user_search").await,
        3
    );
    assert!(
        report["tables"][0]["run_prefix"]
            .as_str()
            .unwrap()
            .contains("dt=2025-11-21/run=stream-111/")
    );
    // Registered: each batch is a partition (dt, run) of the table's `_stream` table.
    let glue = aws_sdk_glue::Client::new(&cloud.config);
    let table = glue
        .get_table()
        .database_name(crate::aws_pipeline::GLUE_DATABASE)
        .name("search_queries_user_search_stream")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let keys: Vec<&str> = table.partition_keys().iter().map(|c| c.name()).collect();
    assert_eq!(keys, ["dt", "run"]);
    let partition = glue
        .get_partition()
        .database_name(crate::aws_pipeline::GLUE_DATABASE)
        .table_name("search_queries_user_search_stream")
        .partition_values("2025-11-21")
        .partition_values("stream-111")
        .send()
        .await
        .unwrap()
        .partition
        .unwrap();
    assert!(
        partition
            .storage_descriptor()
            .and_then(|s| s.location())
            .unwrap()
            .ends_with("lake/search_queries/user_search/dt=2025-11-21/run=stream-111/")
    );
}

#[tokio::test]
async fn large_files_go_up_in_parts_and_come_back_whole() {
    let cloud = cloud().await;
    let store = S3Store::new(sdk::s3_client(&cloud.config), BUCKET).with_multipart_threshold(1024);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let body: Vec<u8> = (0..(daybook_aws::s3_store::PART_SIZE + 1234))
        .map(|i| (i % 251) as u8)
        .collect();
    std::fs::write(&path, &body).unwrap();
    store.put_file("big/big.bin", &path).await.unwrap();
    assert_eq!(store.get("big/big.bin").await.unwrap(), body);
    let local = store
        .fetch_to_local("big/big.bin", &dir.path().join("scratch"))
        .await
        .unwrap();
    assert_eq!(std::fs::read(local).unwrap(), body);
    assert_eq!(store.list("big/").await.unwrap(), ["big/big.bin"]);
}

/// moto keeps a table version for every UpdateTable, as Glue does unless told to skip the
/// archive: registering the same schema again writes nothing, and a widened schema updates the
/// table once, asking Glue not to archive the old version (Glue's limit is 100,000 versions
/// per table, which a stream's micro-batch a minute would reach in about 69 days).
#[tokio::test]
async fn a_catalog_table_is_updated_only_when_its_schema_changes_and_never_archived() {
    use daybook_core::lake::SchemaColumn;
    use daybook_core::ports::{Catalog, PartitionRef};
    let cloud = cloud().await;
    let recorder = std::sync::Arc::new(daybook_tests::iam::CallRecorder::default());
    let glue = aws_sdk_glue::Client::from_conf(
        aws_sdk_glue::config::Builder::from(&cloud.config)
            .interceptor(recorder.for_function("load-warehouse"))
            .build(),
    );
    let catalog =
        daybook_aws::GlueCatalog::new(glue.clone(), crate::aws_pipeline::GLUE_DATABASE, BUCKET);
    let column = |name: &str, hive_type: &str| SchemaColumn {
        name: name.into(),
        ty: "Utf8".into(),
        hive_type: hive_type.into(),
        nullable: true,
    };
    let day = |d: u32| PartitionRef {
        dt: chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap(),
        run_prefix: format!("lake/shop/orders/dt=2026-11-{d:02}/run=job-{d}/"),
    };
    let narrow = vec![column("order_id", "bigint"), column("status", "string")];
    for d in [20, 21, 22] {
        catalog
            .register_partitions("shop_orders", &narrow, &[day(d)])
            .await
            .unwrap();
    }
    let versions = |glue: aws_sdk_glue::Client| async move {
        glue.get_table_versions()
            .database_name(crate::aws_pipeline::GLUE_DATABASE)
            .table_name("shop_orders")
            .send()
            .await
            .unwrap()
            .table_versions()
            .len()
    };
    assert_eq!(
        versions(glue.clone()).await,
        1,
        "an unchanged schema is not written again"
    );
    let mut wide = narrow.clone();
    wide.push(column("coupon", "string"));
    catalog
        .register_partitions("shop_orders", &wide, &[day(23)])
        .await
        .unwrap();
    assert_eq!(versions(glue.clone()).await, 2);
    let updates: Vec<_> = recorder
        .calls()
        .into_iter()
        .filter(|c| c.target == "AWSGlue.UpdateTable")
        .collect();
    assert_eq!(updates.len(), 1, "one change, one UpdateTable");
    assert_eq!(updates[0].body["SkipArchive"], true);
}
