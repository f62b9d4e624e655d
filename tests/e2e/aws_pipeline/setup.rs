//! A moto account made ready for a run: the bucket, the export, the state table, the link key,
//! the Glue database and the stand-in for Redshift.

use super::*;

/// The demo's pipeline config with one report section shaped like FakeRedshift's answers, its
/// shop database at `shop` (SQLite stands in for the replica: the URL path is the same code).
fn config(shop: &std::path::Path) -> Value {
    let mut config = serde_json::to_value(daybook_local::demo::demo_config()).unwrap();
    config["rds"][0]["url"] = json!(format!("sqlite://{}", shop.display()));
    // The same export again as a big one: flattened over the Distributed Map, a file per child,
    // so that its plan, children and commit run on AWS's clients (and, in aws_iam, roles).
    let mut big = config["dynamodb"][0].clone();
    big["source"] = json!(FANNED_SOURCE);
    big["fan_out"] = json!({ "files_per_iteration": 1 });
    config["dynamodb"].as_array_mut().unwrap().push(big);
    // The same Segment day again as a big one: scanned and written over two Distributed Maps.
    let mut big_day = config["segment"][0].clone();
    big_day["source"] = json!(FANNED_SEGMENT_SOURCE);
    big_day["fan_out"] = json!({ "files_per_iteration": 1 });
    config["segment"].as_array_mut().unwrap().push(big_day);
    // Sent with a configuration set, as SES's event publishing needs: SES authorises the send
    // on the set too, so the roles must allow it.
    config["email"]["configuration_set"] = json!(CONFIGURATION_SET);
    config["report"]["sections"] = json!([{
        "title": "Top search keywords",
        "sql": "SELECT item_rank AS place, item AS keyword, share FROM marts.search_top WHERE dt = {run_date}",
        "chart": { "category": "keyword", "value": "share" }
    }]);
    // The demo's summary names headline numbers this one section does not have.
    config["report"]["summary"] = json!([]);
    config
}

pub(crate) async fn prepare(config: &SdkConfig, scratch: &std::path::Path, moto: &MotoServer) {
    // moto's crawls wait for a manual step unless told to finish at once.
    http_post(
        &moto.endpoint,
        "/moto-api/state-manager/set-transition",
        r#"{"model_name": "glue::crawl", "transition": {"progression": "immediate"}}"#,
    );
    let shop = scratch.join("shop.sqlite");
    daybook_rds::shop::write_shop_sqlite(
        &shop,
        &daybook_rds::shop::ShopSpec {
            last_day: DAY.parse().unwrap(),
            days: 2,
            orders_per_day: 20,
            seed: 1,
        },
    )
    .unwrap();
    let lake = store(config);
    lake.put(
        "config/daybook.json",
        serde_json::to_vec(&self::config(&shop)).unwrap(),
    )
    .await
    .unwrap();
    upload_export(&lake, 300).await;
    let mut segment = daybook_generate::segment::SegmentSpec::new(600, DAY.parse().unwrap());
    segment.batches = 3;
    for file in daybook_generate::segment::write_segment_logs(scratch, &segment)
        .unwrap()
        .files
    {
        let key = file
            .strip_prefix(scratch)
            .unwrap()
            .to_string_lossy()
            .to_string();
        lake.put_file(&key, &file).await.unwrap();
    }
    prepare_state_table(config).await;
    create_glue_database(config).await;
    aws_sdk_glue::Client::new(config)
        .create_crawler()
        .name(CRAWLER)
        .role("arn:aws:iam::123456789012:role/glue")
        .database_name(GLUE_DATABASE)
        .targets(
            aws_sdk_glue::types::CrawlerTargets::builder()
                .s3_targets(
                    aws_sdk_glue::types::S3Target::builder()
                        .path(format!("s3://{BUCKET}/reference/"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    aws_sdk_sesv2::Client::new(config)
        .create_email_identity()
        .email_identity(SENDER)
        .send()
        .await
        .unwrap();
    aws_sdk_sesv2::Client::new(config)
        .create_configuration_set()
        .configuration_set_name(CONFIGURATION_SET)
        .send()
        .await
        .unwrap();
    create_link_key(config).await;
}

/// The link key as the stack creates it (`GenerateSecretString` into `{"id": "k1"}`); returns
/// its ARN.
pub(crate) async fn create_link_key(config: &SdkConfig) -> String {
    aws_sdk_secretsmanager::Client::new(config)
        .create_secret()
        .name(LINK_KEY)
        .secret_string(r#"{"id": "k1", "secret": "Qm9sZCBjb2ZmZWUgYW5kIGEgbG9uZyByZXBvcnQgdG8gcmVhZCBiZWZvcmUgOQ"}"#)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap()
}

pub(crate) async fn prepare_state_table(config: &SdkConfig) {
    sdk::dynamodb_client(config)
        .create_table()
        .table_name(STATE_TABLE)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

pub(crate) async fn create_glue_database(config: &SdkConfig) {
    aws_sdk_glue::Client::new(config)
        .create_database()
        .database_input(
            aws_sdk_glue::types::DatabaseInput::builder()
                .name(GLUE_DATABASE)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}
