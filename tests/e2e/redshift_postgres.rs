//! The Redshift adapter's own statements run on a real engine: the Data API stand-in backed by
//! PostgreSQL, with the marts' fixture lake loaded as `lake.*`. `prepare` makes the schemas and
//! grants to the reader role, each mart is staged, created, replaced and filled as on Redshift,
//! and what the adapter reads back is each mart's hand-checked rows; then every section of the
//! demo's report runs on those marts.

use crate::aws_moto::sdk_config_at;
use crate::lake_postgres::{load_lake, normalized, records};
use crate::marts::{RUN_DATE, day, expected, objects, write_fixture};
use daybook_core::config::{bind_run_date, bind_section_dates};
use daybook_core::marts::MARTS;
use daybook_core::ports::Warehouse;
use daybook_core::variables::{BoundSql, bind_variables, resolve};
use daybook_tests::FakeRedshift;
use daybook_tests::databases::PostgresServer;

#[tokio::test]
async fn every_mart_built_through_the_redshift_adapter_on_postgresql_gives_its_hand_checked_rows() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let server = PostgresServer::start();
    load_lake(dir.path(), &server.url()).await;
    let fake = FakeRedshift::on_postgres(&server.url());
    let client = aws_sdk_redshiftdata::Client::new(&sdk_config_at(&fake.endpoint).await);
    let warehouse = crate::aws_pipeline::warehouse(client)
        .with_reader_role(Some("daybook_reader".into()))
        .unwrap();
    warehouse.prepare().await.unwrap();
    let run_date = day(RUN_DATE);
    let mut differences = Vec::new();
    for (mart, sql) in MARTS {
        let select = BoundSql::plain(bind_run_date(sql, run_date));
        let built = warehouse
            .materialize(mart, &select, run_date, "job-pg")
            .await
            .unwrap_or_else(|e| panic!("{mart}: {e}"));
        let want = normalized(&objects(expected(mart)));
        assert_eq!(built.rows as usize, want.len(), "{mart}: rows inserted");
        let read = warehouse
            .query(&format!(
                "SELECT * FROM marts.{mart} WHERE dt = DATE '{RUN_DATE}'"
            ))
            .await
            .unwrap();
        let mut rows = records(&read);
        for row in &mut rows {
            row.remove("dt");
        }
        if normalized(&rows) != want {
            differences.push(format!(
                "{mart}:\n  read:     {:?}\n  expected: {want:?}",
                normalized(&rows)
            ));
        }
    }
    // A second build of a day replaces it: the same rows, not twice as many.
    let (mart, sql) = MARTS[0];
    warehouse
        .materialize(
            mart,
            &BoundSql::plain(bind_run_date(sql, run_date)),
            run_date,
            "job-pg-2",
        )
        .await
        .unwrap();
    let again = warehouse
        .query(&format!("SELECT count(*) AS n FROM marts.{mart}"))
        .await
        .unwrap();
    assert_eq!(
        again.rows[0][0].as_i64(),
        Some(normalized(&objects(expected(mart))).len() as i64)
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    // Every section of the demo's report reads the marts through the adapter as build-report
    // does on Redshift, its variables (top_n) sent as Data API parameters.
    let config = daybook_local::demo::demo_config();
    let variables = resolve(&config.variables, &Default::default()).unwrap();
    for section in config.report.sections {
        let days = section.chart.as_ref().and_then(|c| c.days);
        let bound = bind_variables(
            &bind_section_dates(&section.sql, run_date, days),
            &variables,
        )
        .unwrap();
        let read = warehouse
            .query_with(&bound)
            .await
            .unwrap_or_else(|e| panic!("section {:?}: {e}", section.title));
        assert!(!read.columns.is_empty(), "section {:?}", section.title);
    }
}
