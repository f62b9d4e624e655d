use super::*;

#[tokio::test]
async fn the_state_machine_runs_every_lambda_handler_against_aws_apis() {
    let moto = MotoServer::start();
    let config = with_bucket(&moto).await;
    let fake = FakeRedshift::start();
    let scratch = tempfile::tempdir().unwrap();
    prepare(&config, scratch.path(), &moto).await;
    let runner = pipeline_runner(&FunctionClients::shared(&config, &fake.endpoint));
    let job_id = "20261121-060000-aws001";
    let delivery = runner
        .execute(job_id, json!({ "date": DAY, "started_by": "test" }))
        .await
        .unwrap();
    assert_eq!(delivery["recipients"], json!(["data-team@daybook.example"]));
    assert_eq!(delivery["already_sent"], false);

    // Glue: one table per lake table, its partition on the run folder this job committed.
    let glue = aws_sdk_glue::Client::new(&config);
    for table in [
        "search_queries_items",
        "search_queries_isbn13_list",
        "search_queries_selected_lib",
        "search_queries_user_search",
        "search_archive_items",
        "search_archive_user_search",
        "shop_orders",
        "shop_order_items",
        "segment_pages",
        "segment_product_viewed",
    ] {
        let partition = glue
            .get_partition()
            .database_name(GLUE_DATABASE)
            .table_name(table)
            .partition_values(DAY)
            .send()
            .await
            .unwrap_or_else(|e| panic!("partition of {table}: {}", sdk::describe(&e)));
        let location = partition
            .partition
            .and_then(|p| p.storage_descriptor)
            .and_then(|s| s.location)
            .unwrap();
        assert!(
            location.starts_with("s3://daybook-lake/lake/")
                && location.ends_with(&format!("/dt={DAY}/run={job_id}/")),
            "{table}: {location}"
        );
    }

    // The big source went through the Distributed Map: one child per data file, each part in
    // the run folder under its file's number, and the manifest last, as a whole flatten has it.
    let lake = store(&config);
    let items_manifest = async |source: &str| -> Value {
        let key = format!("lake/{source}/_items/dt={DAY}/run={job_id}/_manifest.json");
        serde_json::from_slice(&lake.get(&key).await.unwrap()).unwrap()
    };
    let manifest = items_manifest(FANNED_SOURCE).await;
    let whole = items_manifest("search_queries").await;
    assert_eq!(manifest["rows"], whole["rows"]);
    assert_eq!(manifest["schema"], whole["schema"]);
    let parts = lake
        .list(&format!("jobs/{job_id}/fan-out/{FANNED_SOURCE}/parts/"))
        .await
        .unwrap();
    assert_eq!(parts.len(), manifest["files"].as_array().unwrap().len());
    assert!(parts.len() > 1, "{parts:?}");
    // The big Segment day: the same rows and columns as the whole day, a part per batch file.
    for table in ["tracks", "pages", "product_viewed"] {
        let manifest = async |source: &str| -> Value {
            let key = format!("lake/{source}/{table}/dt={DAY}/run={job_id}/_manifest.json");
            serde_json::from_slice(&lake.get(&key).await.unwrap()).unwrap()
        };
        let (big, whole) = (
            manifest(FANNED_SEGMENT_SOURCE).await,
            manifest("segment").await,
        );
        assert_eq!(big["rows"], whole["rows"], "{table}");
        assert_eq!(big["schema"], whole["schema"], "{table}");
    }
    let written = lake
        .list(&format!(
            "jobs/{job_id}/segment-fan-out/{FANNED_SEGMENT_SOURCE}/parts/"
        ))
        .await
        .unwrap();
    assert!(written.len() >= 3, "a record per batch file: {written:?}");

    // The schemas first (the lake's from the Glue database), then each mart in one batch on
    // the configured cluster: its rows staged, the table made from them if absent (the fake
    // starts empty), then the day replaced.
    let batches: Vec<Value> = fake
        .requests()
        .into_iter()
        .filter(|(operation, _)| operation == "BatchExecuteStatement")
        .map(|(_, body)| body)
        .collect();
    assert_eq!(
        batches[0]["Sqls"],
        json!([
            "CREATE SCHEMA IF NOT EXISTS marts",
            format!(
                "CREATE EXTERNAL SCHEMA IF NOT EXISTS lake FROM DATA CATALOG DATABASE '{GLUE_DATABASE}' IAM_ROLE '{SPECTRUM_ROLE}'"
            )
        ])
    );
    let marts = daybook_core::marts::known_marts();
    assert_eq!(batches.len(), 1 + marts.len());
    for (batch, mart) in batches[1..].iter().zip(marts) {
        assert_eq!(batch["ClusterIdentifier"], "daybook");
        assert_eq!(batch["Database"], "dev");
        assert_eq!(batch["StatementName"], format!("daybook-{job_id}-{mart}"));
        let sqls = batch["Sqls"].as_array().unwrap();
        assert!(
            sqls[0].as_str().unwrap().starts_with(&format!(
                "CREATE TEMP TABLE daybook_stage_{mart} AS SELECT DATE '{DAY}' AS dt, q.* FROM ("
            )),
            "{}",
            sqls[0]
        );
        assert_eq!(
            sqls[1],
            format!("CREATE TABLE IF NOT EXISTS marts.{mart} (LIKE daybook_stage_{mart})")
        );
    }
    // The data-quality checks ran through the Data API before the marts, and the report shows them.
    let checks = fake
        .requests()
        .iter()
        .filter(|(operation, body)| {
            operation == "ExecuteStatement"
                && body["Sql"].as_str().unwrap().contains("AS row_count")
        })
        .count();
    assert!(checks >= 1, "the row counts ran on Redshift");
    let crawls = glue_crawls(&config).await;
    assert_eq!(
        crawls, 1,
        "the crawler ran once, after the partitions were registered"
    );

    // The report was rendered from every page of Redshift's result into the job's folder.
    let report_key = format!("reports/daily-search/dt={DAY}/{job_id}/report.html");
    let html = String::from_utf8(store(&config).get(&report_key).await.unwrap()).unwrap();
    assert!(html.contains("harry potter") && html.contains("9781234567897"));

    // The decision is on record with the approved files' hash, and SES got two raw messages:
    // the approval request, the report (saying who approved it).
    let record = request_of_job(&state(&config), job_id).await.unwrap();
    let Some(Answer::Decided(decision)) = answer_of(&state(&config), &record.approval_id)
        .await
        .unwrap()
    else {
        panic!("no decision recorded")
    };
    assert_eq!(decision.by, "lead@daybook.example");
    assert_eq!(
        decision.comment.as_deref(),
        Some("Numbers match the dashboard")
    );
    assert_eq!(
        decision.report_sha256.as_deref(),
        Some(record.report_sha256.as_str())
    );
    let data = http_get(&moto.endpoint, "/moto-api/data.json");
    let data: Value = serde_json::from_str(&data).unwrap();
    let raw: Vec<&str> = data["ses"]["RawMessage"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["raw_data"].as_str())
        .collect();
    assert_eq!(raw.len(), 2, "{raw:?}");
    assert!(raw[0].contains("To: <lead@daybook.example>"));
    assert!(raw[0].contains("Subject: =?utf-8?Q?Approve:_Daily_search_report"));
    assert!(raw[1].contains("To: <data-team@daybook.example>"));
    assert!(raw[1].contains("daily-search-2026-11-21.xlsx"));
    assert!(
        raw[0].contains(&format!("{APPROVAL_URL}/approvals/v1.k1.")),
        "the approval email links to the approval API"
    );
    let sent = mail_parser::MessageParser::default()
        .parse(raw[1].as_bytes())
        .unwrap();
    assert!(
        sent.body_text(0)
            .unwrap()
            .contains("Approved by lead@daybook.example at"),
        "the sent report says who approved it"
    );

    // A second approval of the same job is refused and names the first.
    let now = chrono::Utc::now();
    let again = decide_job(
        &state(&config),
        &SfnCallbacks::new(sdk::sfn_client(&config)),
        job_id,
        Decision::new(true, "bo", None, "CLI", now).unwrap(),
        now,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        again.contains("already approved by lead@daybook.example"),
        "{again}"
    );
}

#[tokio::test]
async fn an_unverified_sender_is_refused_with_the_addresses_named() {
    let moto = MotoServer::start();
    let config = sdk_config(&moto).await;
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&config));
    let err = daybook_core::ports::Mailer::send_raw(
        &mailer,
        &daybook_core::ports::Envelope {
            from: "nobody@unverified.example".into(),
            to: vec!["data-team@daybook.example".to_string()],
            ..Default::default()
        },
        b"Subject: hi\r\n\r\nhello\r\n".to_vec(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("SES SendEmail from nobody@unverified.example to data-team@daybook.example"),
        "{err}"
    );
    assert!(err.contains("MessageRejected"), "{err}");
}
