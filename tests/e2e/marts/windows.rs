use super::*;

#[tokio::test]
async fn every_mart_gives_its_hand_checked_rows_on_datafusion_and_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let server = PostgresServer::start();
    load_lake(dir.path(), &server.url()).await;
    let warehouse = DataFusionWarehouse::new(dir.path());
    for (mart, sql) in MARTS {
        let sql = bind_run_date(sql, day(RUN_DATE));
        let want = normalized(&objects(expected(mart)));
        let datafusion = warehouse
            .query(&sql)
            .await
            .unwrap_or_else(|e| panic!("DataFusion rejects mart {mart}: {e}"));
        assert_eq!(
            normalized(&records(&datafusion)),
            want,
            "mart {mart} on DataFusion"
        );
        let postgres = query(&server.url(), &sql).await;
        assert_eq!(normalized(&postgres), want, "mart {mart} on PostgreSQL");
    }
}

#[tokio::test]
async fn every_mart_gives_the_same_rows_on_datafusion_and_postgresql_over_generated_days() {
    let dir = tempfile::tempdir().unwrap();
    let last = day("2026-11-21");
    // Two days, so that the weekly and monthly figures span more than one partition.
    // Another seed each day, so the days' visitors differ.
    for (date, job_id, seed) in [
        (last.pred_opt().unwrap(), "20261120-060000-aaaaaa", 5),
        (last, "20261121-060000-bbbbbb", 6),
    ] {
        let options = daybook_local::demo::DemoOptions {
            deliver: vec![],
            variables: Default::default(),
            root: dir.path().to_path_buf(),
            date,
            items: 2000,
            files: 2,
            seed,
            manual_approval: false,
            job_id: job_id.into(),
        };
        daybook_local::demo::run_demo(&options, Arc::new(|_: &daybook_asl::RunEvent| {}))
            .await
            .unwrap();
    }
    let server = PostgresServer::start();
    load_lake(dir.path(), &server.url()).await;
    let warehouse = DataFusionWarehouse::new(dir.path());
    for (mart, sql) in MARTS {
        let sql = bind_run_date(sql, last);
        let datafusion = normalized(&records(&warehouse.query(&sql).await.unwrap()));
        let postgres = normalized(&query(&server.url(), &sql).await);
        assert!(
            !datafusion.is_empty(),
            "mart {mart} has rows on generated data"
        );
        assert_eq!(
            datafusion, postgres,
            "mart {mart}: DataFusion and PostgreSQL differ"
        );
    }
    let active = records(
        &warehouse
            .query(&bind_run_date(
                "SELECT dau, wau FROM marts.active_users WHERE dt = {run_date}",
                last,
            ))
            .await
            .unwrap(),
    );
    assert!(
        active[0]["wau"].as_f64() > active[0]["dau"].as_f64(),
        "two days of visitors make WAU larger than DAU: {active:?}"
    );
}

#[tokio::test]
async fn a_broken_mart_names_itself_and_its_statement_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let warehouse = DataFusionWarehouse::new(dir.path());
    let tables = [registered("search_queries_items", 4)];
    for (mart, sql, says) in [
        (
            "broken_syntax",
            "SELEC count(*) FROM lake.search_queries_items",
            "SELEC",
        ),
        (
            "missing_table",
            "SELECT count(*) AS n FROM lake.search_queries_nowhere WHERE dt = {run_date}",
            "search_queries_nowhere",
        ),
    ] {
        let marts = [
            (
                "search_daily_summary".to_string(),
                "SELECT count(*) AS queries FROM lake.search_queries_items WHERE dt = {run_date}",
            ),
            (mart.to_string(), sql),
        ];
        let error = check_and_build(
            &warehouse,
            &job(),
            &tables,
            &ChecksConfig::default(),
            &marts,
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            error.contains(&format!("building mart {mart} for {RUN_DATE}")),
            "{error}"
        );
        assert!(
            error.contains(says),
            "the error quotes the statement: {error}"
        );
        let catalog = LocalCatalog::new(dir.path()).load().unwrap();
        assert!(
            !catalog.marts.contains_key(mart),
            "a failed mart is not registered"
        );
        assert!(
            !dir.path().join(format!("lake/marts/{mart}")).exists(),
            "a failed mart writes no file"
        );
    }
}

#[tokio::test]
async fn a_new_column_and_a_widened_type_between_days_read_as_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_partition(
        root,
        "app",
        "events",
        &[utf8("id"), Field::new("amount", DataType::Int32, true)],
        "2026-11-19",
        &[json!({"id": "a", "amount": 1})],
    );
    // The next day the source widened `amount` and added `channel`.
    write_partition(
        root,
        "app",
        "events",
        &[
            utf8("id"),
            Field::new("amount", DataType::Float64, true),
            utf8("channel"),
        ],
        RUN_DATE,
        &[json!({"id": "b", "amount": 2.5, "channel": "web"})],
    );
    let catalog = LocalCatalog::new(root).load().unwrap();
    let schema: Vec<(String, String)> = catalog.tables["app_events"]
        .schema
        .iter()
        .map(|c| (c.name.clone(), c.ty.clone()))
        .collect();
    assert_eq!(
        schema,
        [
            ("id".into(), "Utf8".into()),
            ("amount".into(), "Float64".into()),
            ("channel".into(), "Utf8".into())
        ],
        "the catalog has the newest schema"
    );
    let result = DataFusionWarehouse::new(root)
        .query("SELECT id, amount, channel, dt FROM lake.app_events ORDER BY id")
        .await
        .unwrap();
    assert_eq!(
        result.rows,
        [
            vec![json!("a"), json!(1.0), Value::Null, json!("2026-11-19")],
            vec![json!("b"), json!(2.5), json!("web"), json!(RUN_DATE)],
        ]
    );
}

#[tokio::test]
async fn an_empty_day_warns_and_a_stopping_check_builds_no_mart() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_fixture(root);
    // An empty day still has its (empty) file, as every export writes one.
    let schema = Arc::new(Schema::new(vec![utf8("message_id")]));
    let run_prefix = "lake/segment/aliases/dt=2026-11-20/run=fixture/".to_string();
    ParquetSink::create(
        &root.join(format!("{run_prefix}part-00000.parquet")),
        schema.clone(),
        1024,
        &[],
    )
    .unwrap()
    .finish()
    .unwrap();
    LocalCatalog::new(root)
        .set_partitions(
            "segment_aliases",
            false,
            &SchemaColumn::from_arrow(&schema),
            &[PartitionRef {
                dt: day(RUN_DATE),
                run_prefix,
            }],
        )
        .unwrap();
    let warehouse = DataFusionWarehouse::new(root);
    let tables = [
        registered("segment_aliases", 0),
        registered("search_queries_items", 4),
        // The manifest promised more rows than the partition holds.
        registered("segment_pages", 5),
        registered("shop_order_items", 14),
    ];
    let checks = ChecksConfig {
        on_failure: OnFailure::Warn,
        tables: vec![
            TableChecks {
                table: "shop_order_items".into(),
                min_rows: None,
                not_null: vec!["order_id".into()],
                unique: vec!["order_id".into()],
                freshness: None,
                on_failure: None,
            },
            TableChecks {
                table: "segment_pages".into(),
                min_rows: None,
                not_null: vec!["name".into()],
                unique: vec!["message_id".into()],
                freshness: Some(daybook_core::quality::Freshness {
                    column: "timestamp".into(),
                    max_age_hours: 6.0,
                }),
                on_failure: None,
            },
        ],
        ..ChecksConfig::default()
    };
    let marts = [("search_daily_summary".to_string(), MARTS[1].1)];
    let (results, built) = check_and_build(&warehouse, &job(), &tables, &checks, &marts)
        .await
        .unwrap();
    let status = |table: &str, check: &str| {
        results
            .iter()
            .find(|r| r.table == table && r.check == check)
            .unwrap_or_else(|| panic!("no {check} check for {table}: {results:?}"))
    };
    assert_eq!(
        status("segment_aliases", "rows").status,
        CheckStatus::Warning
    );
    assert_eq!(
        status("segment_aliases", "reconciled").status,
        CheckStatus::Passed
    );
    assert_eq!(
        status("search_queries_items", "rows").status,
        CheckStatus::Passed
    );
    let reconciled = status("segment_pages", "reconciled");
    assert_eq!(reconciled.status, CheckStatus::Warning);
    assert!(
        reconciled.detail.contains("sees 4 rows") && reconciled.detail.contains("says 5"),
        "{}",
        reconciled.detail
    );
    // Order 4 has two items: its order_id repeats.
    let unique = status("shop_order_items", "unique");
    assert_eq!(unique.status, CheckStatus::Warning);
    assert!(
        unique
            .detail
            .contains("1 values of (order_id) occur more than once, in 2 rows"),
        "{}",
        unique.detail
    );
    assert_eq!(
        status("segment_pages", "not_null").detail,
        "name is null in 1 rows"
    );
    // The newest page view is at 11:00: 13 hours before midnight.
    let fresh = status("segment_pages", "freshness");
    assert_eq!(fresh.status, CheckStatus::Warning);
    assert!(fresh.detail.contains("13.0 h"), "{}", fresh.detail);
    assert_eq!(
        status("segment_pages", "unique").status,
        CheckStatus::Passed
    );
    assert_eq!(
        status("shop_order_items", "reconciled").status,
        CheckStatus::Passed
    );
    assert_eq!(built.len(), 1, "warnings do not stop the marts");

    // A configured table that no export wrote is a failed check, not a silent pass.
    let mut missing = checks.clone();
    missing.tables[0].table = "shop_nowhere".into();
    let (results, _) = check_and_build(&warehouse, &job(), &tables, &missing, &marts)
        .await
        .unwrap();
    assert!(results.iter().any(|r| {
        r.table == "shop_nowhere"
            && r.status == CheckStatus::Warning
            && r.detail
                .contains("no export of this run wrote shop_nowhere")
    }));

    let stopping = ChecksConfig {
        on_failure: OnFailure::Stop,
        ..checks
    };
    let error = check_and_build(&warehouse, &job(), &tables, &stopping, &marts)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("data-quality checks failed for 2026-11-20, so no mart was built"),
        "{error}"
    );
    assert!(error.contains("segment_pages freshness"), "{error}");
    let runs = LocalCatalog::new(root).load().unwrap().marts["search_daily_summary"]
        .partitions
        .len();
    assert_eq!(runs, 1, "the stopped run did not touch the mart");
}

/// `daybook query` answers questions about the tables themselves: SHOW TABLES and
/// information_schema list every lake table and mart the catalog holds, with their columns.
#[tokio::test]
async fn the_warehouse_lists_its_tables_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let warehouse = DataFusionWarehouse::new(dir.path());
    let listed = warehouse
        .query("SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = 'lake' ORDER BY table_name")
        .await
        .unwrap();
    let names: Vec<&str> = listed.rows.iter().map(|r| r[1].as_str().unwrap()).collect();
    assert!(names.contains(&"shop_orders"), "{names:?}");
    let catalog = LocalCatalog::new(dir.path()).load().unwrap();
    assert_eq!(names.len(), catalog.tables.len(), "{names:?}");
    let shown = warehouse.query("SHOW TABLES").await.unwrap();
    assert!(shown.rows.len() >= catalog.tables.len(), "{shown:?}");
    let columns = warehouse
        .query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'shop_orders'",
        )
        .await
        .unwrap();
    assert!(
        columns.rows.iter().any(|r| r[0] == "dt"),
        "the day is a column: {columns:?}"
    );
}
