use super::*;

#[tokio::test]
async fn a_new_column_updates_the_glue_table_and_a_rerun_moves_the_partition() {
    let moto = MotoServer::start();
    let config = sdk_config(&moto).await;
    create_glue_database(&config).await;
    let glue = aws_sdk_glue::Client::new(&config);
    let catalog = GlueCatalog::new(glue.clone(), GLUE_DATABASE, BUCKET);
    let column = |name: &str, hive: &str| daybook_core::lake::SchemaColumn {
        name: name.into(),
        ty: "Utf8".into(),
        nullable: true,
        hive_type: hive.into(),
    };
    let day: chrono::NaiveDate = DAY.parse().unwrap();
    use daybook_core::ports::{Catalog, PartitionRef};
    // A backfill of 150 days: two BatchCreatePartition calls (Glue takes 100 at a time).
    let days = |run: &str| -> Vec<PartitionRef> {
        (0..150)
            .map(|back| {
                let dt = day - chrono::Days::new(back);
                PartitionRef {
                    dt,
                    run_prefix: format!("lake/search_queries/_items/dt={dt}/run={run}/"),
                }
            })
            .collect()
    };
    catalog
        .register_partitions(
            "search_queries_items",
            &[column("query_id", "string")],
            &days("first"),
        )
        .await
        .unwrap();
    // The rerun finds them all and repoints them with BatchUpdatePartition.
    catalog
        .register_partitions(
            "search_queries_items",
            &[column("query_id", "string"), column("results", "bigint")],
            &days("second"),
        )
        .await
        .unwrap();
    let oldest = day - chrono::Days::new(149);
    assert_eq!(
        items_partition_location(&glue, &oldest.to_string()).await,
        format!("s3://daybook-lake/lake/search_queries/_items/dt={oldest}/run=second/")
    );
    let table = glue
        .get_table()
        .database_name(GLUE_DATABASE)
        .name("search_queries_items")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let storage = table.storage_descriptor.unwrap();
    let columns: Vec<(String, String)> = storage
        .columns
        .unwrap()
        .into_iter()
        .map(|c| (c.name, c.r#type.unwrap()))
        .collect();
    assert_eq!(
        columns,
        [
            ("query_id".to_string(), "string".to_string()),
            ("results".to_string(), "bigint".to_string())
        ]
    );
    assert_eq!(
        storage.location.unwrap(),
        "s3://daybook-lake/lake/search_queries/_items/"
    );
    assert_eq!(
        storage.serde_info.unwrap().serialization_library.unwrap(),
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    );
    assert_eq!(table.partition_keys.unwrap()[0].name, "dt");
    assert_eq!(
        items_partition_location(&glue, DAY).await,
        "s3://daybook-lake/lake/search_queries/_items/dt=2026-11-21/run=second/"
    );
}

#[tokio::test]
async fn a_redshift_query_is_polled_read_page_by_page_and_typed_by_column() {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let result = daybook_core::ports::Warehouse::query(
        &warehouse(aws_sdk_redshiftdata::Client::new(&config)),
        "SELECT 1",
    )
    .await
    .unwrap();
    assert_eq!(result.columns, ["place", "keyword", "share"]);
    assert_eq!(
        result.rows,
        [
            [json!(1), json!("harry potter"), json!(12.5)],
            [json!(2), json!("dune"), json!(7.25)],
            [json!(3), json!("9781234567897"), json!(3.0)],
        ]
    );
    let operations: Vec<String> = fake.requests().into_iter().map(|(op, _)| op).collect();
    assert_eq!(
        operations,
        [
            "ExecuteStatement",
            "DescribeStatement",
            "DescribeStatement",
            "GetStatementResult",
            "GetStatementResult"
        ]
    );
}

#[tokio::test]
async fn a_failed_mart_names_the_mart_and_carries_redshifts_error() {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let err = daybook_core::ports::Warehouse::materialize(
        &warehouse(aws_sdk_redshiftdata::Client::new(&config)),
        "search_top",
        &BoundSql::plain("SELECT FAIL_ME"),
        DAY.parse().unwrap(),
        "job-1",
    )
    .await
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "mart search_top for 2026-11-21: Redshift says: ERROR: syntax error at or near \"FAIL_ME\"\nin statement 1 of the batch:\nCREATE TEMP TABLE daybook_stage_search_top AS SELECT DATE '2026-11-21' AS dt, q.* FROM (\nSELECT FAIL_ME\n) AS q"
    );
}

/// One form for the first build and every later one: the table is made from the staged rows
/// if it is not there, then the day replaced, in one transaction.
#[tokio::test]
async fn a_mart_is_made_if_absent_and_its_day_replaced_in_one_transaction() {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let redshift = warehouse(aws_sdk_redshiftdata::Client::new(&config));
    use daybook_core::ports::Warehouse;
    for day in ["2026-11-20", "2026-11-21"] {
        redshift
            .materialize(
                "page_views",
                &BoundSql::plain("SELECT 1 AS views"),
                day.parse().unwrap(),
                "job-1",
            )
            .await
            .unwrap();
    }
    let batches: Vec<Value> = fake
        .requests()
        .into_iter()
        .filter(|(operation, _)| operation == "BatchExecuteStatement")
        .map(|(_, body)| body["Sqls"].clone())
        .collect();
    let build = |day: &str| {
        json!([
            format!(
                "CREATE TEMP TABLE daybook_stage_page_views AS SELECT DATE '{day}' AS dt, q.* FROM (\nSELECT 1 AS views\n) AS q"
            ),
            "CREATE TABLE IF NOT EXISTS marts.page_views (LIKE daybook_stage_page_views)",
            format!("DELETE FROM marts.page_views WHERE dt = DATE '{day}'"),
            "INSERT INTO marts.page_views SELECT * FROM daybook_stage_page_views",
        ])
    };
    assert_eq!(batches, [build("2026-11-20"), build("2026-11-21")]);
}

/// A backfill's first two days into an empty warehouse, at once: both find no mart table.
/// Redshift refuses the second CREATE TABLE of a table ("relation already exists") and fails
/// one of two transactions writing the same table with error 1023 (the stand-in too). The
/// loser must be a transient error, which the state machine retries, and the retry must build.
#[tokio::test]
async fn two_days_building_one_mart_at_once_leave_one_retry_and_no_lost_mart() {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let redshift = warehouse(aws_sdk_redshiftdata::Client::new(&config));
    use daybook_core::Classify;
    use daybook_core::ports::Warehouse;
    let select = BoundSql::plain("SELECT 1 AS views");
    let (day_1, day_2) = ("2026-10-01".parse().unwrap(), "2026-10-02".parse().unwrap());
    let (first, second) = tokio::join!(
        redshift.materialize("page_views", &select, day_1, "backfill-1"),
        redshift.materialize("page_views", &select, day_2, "backfill-2"),
    );
    let failed: Vec<_> = [&first, &second]
        .into_iter()
        .filter_map(|r| r.as_ref().err())
        .collect();
    assert_eq!(failed.len(), 1, "one day wins: {first:?} / {second:?}");
    assert_eq!(
        failed[0].kind(),
        daybook_core::ErrorKind::Transient,
        "retried by the state machine: {}",
        failed[0]
    );
    assert!(failed[0].to_string().contains("1023"), "{}", failed[0]);
    let day = if first.is_err() { day_1 } else { day_2 };
    redshift
        .materialize("page_views", &select, day, "backfill-retry")
        .await
        .unwrap();
    // And a plain CREATE TABLE of a table that exists is refused, as Redshift refuses it.
    assert!(
        fake.execute("CREATE TABLE marts.page_views AS SELECT 1")
            .contains("already exists")
    );
}

#[tokio::test]
async fn a_mart_with_variables_stages_its_rows_with_parameters_and_replaces_the_day_in_that_session()
 {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let redshift = warehouse(aws_sdk_redshiftdata::Client::new(&config));
    use daybook_core::ports::Warehouse;
    let hostile = "x'); DROP TABLE marts.page_views; --";
    let variables: daybook_core::variables::Variables = [
        ("page".to_string(), VariableValue::Text(hostile.into())),
        ("min_views".to_string(), VariableValue::Number(3.0)),
    ]
    .into();
    let select = bind_variables(
        "SELECT page, views FROM lake.pages WHERE page <> {var.page} AND views >= {var.min_views}",
        &variables,
    )
    .unwrap();
    for day in ["2026-11-20", "2026-11-21"] {
        let run = redshift
            .materialize("page_views", &select, day.parse().unwrap(), "job-1")
            .await
            .unwrap();
        assert_eq!(run.rows, 7, "the rows the batch's INSERT (or CREATE) wrote");
    }
    let requests = fake.requests();
    let staged: Vec<&Value> = requests
        .iter()
        .filter(|(operation, body)| {
            operation == "ExecuteStatement" && body.get("Parameters").is_some()
        })
        .map(|(_, body)| body)
        .collect();
    assert_eq!(staged.len(), 2, "one staging statement per build");
    assert_eq!(
        staged[1]["Sql"],
        json!(
            "CREATE TEMP TABLE daybook_stage_page_views AS SELECT DATE '2026-11-21' AS dt, q.* FROM (\nSELECT page, views FROM lake.pages WHERE page <> :var_page AND views >= CAST(:var_min_views AS DOUBLE PRECISION)\n) AS q"
        )
    );
    assert_eq!(
        staged[1]["Parameters"],
        json!([{"name": "var_page", "value": hostile}, {"name": "var_min_views", "value": "3"}])
    );
    assert!(staged[1]["SessionKeepAliveSeconds"].as_i64().unwrap() > 0);
    let batches: Vec<&Value> = requests
        .iter()
        .filter(|(operation, _)| operation == "BatchExecuteStatement")
        .map(|(_, body)| body)
        .collect();
    assert_eq!(
        batches[1]["Sqls"],
        json!([
            "CREATE TABLE IF NOT EXISTS marts.page_views (LIKE daybook_stage_page_views)",
            "DELETE FROM marts.page_views WHERE dt = DATE '2026-11-21'",
            "INSERT INTO marts.page_views SELECT * FROM daybook_stage_page_views"
        ])
    );
    assert!(
        batches[1]["SessionId"].is_string(),
        "the batch runs in the staging session"
    );
    assert!(
        requests
            .iter()
            .all(|(_, body)| !body.to_string().contains("DROP TABLE marts")
                || body.get("Parameters").is_some()),
        "the value travels only as a parameter"
    );
}

#[tokio::test]
async fn a_query_with_variables_passes_them_as_parameters() {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let redshift = warehouse(aws_sdk_redshiftdata::Client::new(&config));
    use daybook_core::ports::Warehouse;
    let variables: daybook_core::variables::Variables = [(
        "carriers".to_string(),
        VariableValue::List(vec!["CJ".into(), "Hanjin".into()]),
    )]
    .into();
    let select = bind_variables(
        "SELECT * FROM marts.late_deliveries WHERE carrier IN {var.carriers}",
        &variables,
    )
    .unwrap();
    let result = redshift.query_with(&select).await.unwrap();
    assert_eq!(result.rows.len(), 3);
    let (_, body) = &fake.requests()[0];
    assert_eq!(
        body["Sql"],
        json!(
            "SELECT * FROM marts.late_deliveries WHERE carrier IN (:var_carriers_0, :var_carriers_1)"
        )
    );
    assert_eq!(
        body["Parameters"],
        json!([{"name": "var_carriers_0", "value": "CJ"}, {"name": "var_carriers_1", "value": "Hanjin"}])
    );
    // A placeholder without its value is the Data API's ValidationException, named.
    let unbound = redshift
        .query("SELECT :nobody")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        unbound.contains("no value was given for parameter :nobody"),
        "{unbound}"
    );
}

#[tokio::test]
async fn a_crawler_that_does_not_finish_in_time_stops_the_load_with_its_name() {
    let moto = MotoServer::start();
    let config = sdk_config(&moto).await;
    create_glue_database(&config).await;
    let glue = aws_sdk_glue::Client::new(&config);
    glue.create_crawler()
        .name(CRAWLER)
        .role("arn:aws:iam::123456789012:role/glue")
        .database_name(GLUE_DATABASE)
        .targets(aws_sdk_glue::types::CrawlerTargets::builder().build())
        .send()
        .await
        .unwrap();
    // moto's default: the crawl runs until someone moves it on, which nobody does here.
    let crawler = CrawlerRun {
        name: CRAWLER.into(),
        poll_every: std::time::Duration::from_millis(20),
        deadline: std::time::Duration::from_millis(300),
    };
    // The state machine's loop: start, then one look per wait, until the deadline.
    let mut refresh = crawler.start(&glue).await.unwrap();
    assert!(refresh.started);
    let error = loop {
        tokio::time::sleep(crawler.poll_every).await;
        match crawler.poll(&glue, &refresh).await {
            Ok(Some(next)) => refresh = next,
            Ok(None) => panic!("the crawl cannot finish: nobody moves it on"),
            Err(e) => break e.to_string(),
        }
    };
    assert!(
        error.starts_with("Glue crawler daybook-extra: still running: gave up after 0.3 s"),
        "{error}"
    );
    assert_eq!(glue_crawls(&config).await, 1);
}

/// With IAM authentication each function's role is its own database user, which Redshift
/// makes at that role's first login: a fresh stack's loader runs before the report's user
/// exists, and Redshift refuses a GRANT to a user it does not know (the stand-in too). So the
/// loader grants to the reader role, which the reading functions' IAM roles name in their
/// RedshiftDbRoles tag.
#[tokio::test]
async fn with_role_database_users_the_loader_grants_the_reader_role_on_a_fresh_database() {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let loader = warehouse(aws_sdk_redshiftdata::Client::new(&config))
        .with_spectrum(SpectrumSchema {
            glue_database: GLUE_DATABASE.into(),
            iam_role: "default".into(),
        })
        .with_reader_role(Some("daybook_reader".into()))
        .unwrap();
    daybook_core::ports::Warehouse::prepare(&loader)
        .await
        .unwrap();
    let batch = fake
        .requests()
        .into_iter()
        .find(|(operation, _)| operation == "BatchExecuteStatement")
        .unwrap()
        .1;
    assert_eq!(
        batch["Sqls"],
        json!([
            "CREATE SCHEMA IF NOT EXISTS marts",
            format!(
                "CREATE EXTERNAL SCHEMA IF NOT EXISTS lake FROM DATA CATALOG DATABASE '{GLUE_DATABASE}' IAM_ROLE default"
            ),
            "GRANT USAGE ON SCHEMA marts TO ROLE daybook_reader",
            "GRANT SELECT ON ALL TABLES IN SCHEMA marts TO ROLE daybook_reader",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA marts GRANT SELECT ON TABLES TO ROLE daybook_reader",
            "GRANT USAGE ON SCHEMA lake TO ROLE daybook_reader",
        ])
    );
    // The role was never made: one line saying who makes it, and how.
    let missing = warehouse(aws_sdk_redshiftdata::Client::new(&config))
        .with_reader_role(Some("analysts".into()))
        .unwrap();
    let error = daybook_core::ports::Warehouse::prepare(&missing)
        .await
        .unwrap_err();
    assert_eq!(
        daybook_core::Classify::kind(&error),
        daybook_core::ErrorKind::InvalidInput
    );
    assert!(
        error.to_string().contains("CREATE ROLE analysts"),
        "{error}"
    );
    // A user that has not logged in yet cannot be granted to, as on Redshift.
    let grant = fake
        .execute("GRANT USAGE ON SCHEMA marts TO \"IAMR:daybook-BuildReportFunctionRole-1A2B3C\"");
    assert!(grant.contains("does not exist"), "{grant}");
    let refused = warehouse(aws_sdk_redshiftdata::Client::new(&config))
        .with_reader_role(Some("x; DROP TABLE marts.page_views; --".into()))
        .err()
        .expect("a role name that is not plain is refused");
    assert!(
        refused.to_string().contains("REDSHIFT_READER_ROLE"),
        "{refused}"
    );
}

/// The Data API refuses an empty parameter value (SqlParameter's value has a minimum length of
/// 1), and the stand-in does too: an empty text variable builds its mart all the same.
#[tokio::test]
async fn an_empty_text_variable_builds_its_mart_on_the_data_api() {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let redshift = warehouse(aws_sdk_redshiftdata::Client::new(&config));
    use daybook_core::ports::Warehouse;
    let variables: daybook_core::variables::Variables = [
        ("region".to_string(), VariableValue::Text(String::new())),
        ("min_views".to_string(), VariableValue::Number(3.0)),
    ]
    .into();
    let select = bind_variables(
        "SELECT page FROM lake.pages WHERE region = {var.region} AND views >= {var.min_views}",
        &variables,
    )
    .unwrap();
    redshift
        .materialize("page_views", &select, DAY.parse().unwrap(), "job-1")
        .await
        .unwrap();
    redshift.query_with(&select).await.unwrap();
    let parameters: Vec<Value> = fake
        .requests()
        .into_iter()
        .filter_map(|(_, body)| body.get("Parameters").cloned())
        .collect();
    assert_eq!(parameters.len(), 2, "the staging statement and the query");
    for list in parameters {
        assert_eq!(list, json!([{"name": "var_min_views", "value": "3"}]));
    }
}

/// All of an invocation's Redshift waits share the Lambda's time: a statement still running
/// when that time is nearly up is cancelled and the step fails as transient, which the
/// definition retries, instead of the function being killed (`Sandbox.Timedout`, which no
/// Retry matches) or waiting out each statement's own deadline in turn.
#[tokio::test]
async fn a_statement_still_running_at_the_invocations_end_is_cancelled_and_retried() {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let redshift = warehouse(aws_sdk_redshiftdata::Client::new(&config));
    use daybook_core::Classify;
    use daybook_core::ports::Warehouse;
    let started = std::time::Instant::now();
    let error = daybook_aws::lambda::with_invocation_deadline(
        started + Duration::from_millis(300),
        redshift.materialize(
            "page_views",
            &BoundSql::plain("SELECT SLOW_ME"),
            DAY.parse().unwrap(),
            "job-1",
        ),
    )
    .await
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up at the invocation's end, not the statement's 10 s: {:?}",
        started.elapsed()
    );
    assert_eq!(error.kind(), daybook_core::ErrorKind::Transient, "{error}");
    assert!(error.to_string().contains("cancelled"), "{error}");
    assert!(
        fake.requests()
            .iter()
            .any(|(operation, _)| operation == "CancelStatement")
    );
}
