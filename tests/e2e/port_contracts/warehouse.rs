//! The warehouse port: a mart's day is replaced whole and its other days are left alone,
//! values come back as the report reads them (whole numbers, decimals as numbers, dates as
//! `YYYY-MM-DD`, NULL as null), a variable is bound as a parameter (a quote in it is data,
//! not SQL), and a query on a table that is not there fails for good. On AWS the Redshift
//! adapter runs on the Data API stand-in backed by PostgreSQL, with the same lake copied in.

use crate::aws_moto::sdk_config_at;
use crate::lake_postgres::load_lake;
use crate::marts::{day, int64, money, utf8, write_partition};
use daybook_core::ErrorKind;
use daybook_core::failure::Classify;
use daybook_core::ports::Warehouse;
use daybook_core::variables::{BoundSql, VariableSpec, bind_variables, resolve};
use daybook_local::warehouse::DataFusionWarehouse;
use daybook_tests::FakeRedshift;
use daybook_tests::databases::PostgresServer;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// A shop's orders on two days, one of them with a city whose name holds a quote.
fn write_lake(root: &Path) {
    let fields = [int64("order_id"), utf8("city"), money("total")];
    write_partition(
        root,
        "shop",
        "orders",
        &fields,
        "2026-11-01",
        &[
            json!({ "order_id": 1, "city": "Nowon", "total": "10.25" }),
            json!({ "order_id": 2, "city": "Nowon", "total": "20.00" }),
            json!({ "order_id": 3, "city": "O'Hare", "total": "5.50" }),
            json!({ "order_id": 4, "city": null, "total": null }),
        ],
    );
    write_partition(
        root,
        "shop",
        "orders",
        &fields,
        "2026-11-02",
        &[json!({ "order_id": 5, "city": "Nowon", "total": "7.00" })],
    );
}

fn city_sales(dt: &str) -> BoundSql {
    BoundSql::plain(format!(
        "SELECT city, count(*) AS orders, sum(total) AS revenue FROM lake.shop_orders WHERE dt = DATE '{dt}' GROUP BY city"
    ))
}

async fn warehouse_contract(warehouse: &dyn Warehouse) {
    // Preparing twice is as good as once.
    warehouse.prepare().await.unwrap();
    warehouse.prepare().await.unwrap();

    // Each day of a mart is built from its own rows; a rebuild replaces that day only.
    let built = warehouse
        .materialize(
            "city_sales",
            &city_sales("2026-11-01"),
            day("2026-11-01"),
            "job-1",
        )
        .await
        .unwrap();
    assert_eq!((built.mart.as_str(), built.rows), ("city_sales", 3));
    let built = warehouse
        .materialize(
            "city_sales",
            &city_sales("2026-11-02"),
            day("2026-11-02"),
            "job-2",
        )
        .await
        .unwrap();
    assert_eq!(built.rows, 1);
    let rebuilt = warehouse
        .materialize(
            "city_sales",
            &city_sales("2026-11-01"),
            day("2026-11-01"),
            "job-3",
        )
        .await
        .unwrap();
    assert_eq!(rebuilt.rows, 3);
    let read = warehouse
        .query("SELECT dt, city, orders, revenue FROM marts.city_sales ORDER BY dt, city")
        .await
        .unwrap();
    assert_eq!(read.columns, ["dt", "city", "orders", "revenue"]);
    assert_eq!(
        read.rows,
        [
            json!(["2026-11-01", "Nowon", 2, 30.25]),
            json!(["2026-11-01", "O'Hare", 1, 5.5]),
            json!(["2026-11-01", null, 1, null]),
            json!(["2026-11-02", "Nowon", 1, 7.0]),
        ]
        .map(|row| row.as_array().unwrap().clone())
    );

    // A variable is a parameter: its quote is part of the value.
    let declared: BTreeMap<String, VariableSpec> =
        serde_json::from_value(json!({ "city": { "type": "text" } })).unwrap();
    let given = BTreeMap::from([("city".to_string(), json!("O'Hare"))]);
    let variables = resolve(&declared, &given).unwrap();
    let bound = bind_variables(
        "SELECT order_id FROM lake.shop_orders WHERE city = {var.city}",
        &variables,
    )
    .unwrap();
    let read = warehouse.query_with(&bound).await.unwrap();
    assert_eq!(read.rows, [vec![Value::from(3)]]);

    // A table that is not there: a failure no retry mends, naming the table. (Whether it is
    // the input's fault is not told apart: Redshift's failed statement says no more.)
    let missing = warehouse
        .query("SELECT * FROM lake.shop_refunds")
        .await
        .unwrap_err();
    assert_ne!(missing.kind(), ErrorKind::Transient, "{missing}");
    assert!(missing.to_string().contains("shop_refunds"), "{missing}");
}

#[tokio::test]
async fn datafusion_keeps_the_warehouse_contract() {
    let dir = tempfile::tempdir().unwrap();
    write_lake(dir.path());
    warehouse_contract(&DataFusionWarehouse::new(dir.path())).await;
}

#[tokio::test]
async fn redshift_keeps_the_warehouse_contract() {
    let dir = tempfile::tempdir().unwrap();
    write_lake(dir.path());
    let server = PostgresServer::start();
    load_lake(dir.path(), &server.url()).await;
    let fake = FakeRedshift::on_postgres(&server.url());
    let client = aws_sdk_redshiftdata::Client::new(&sdk_config_at(&fake.endpoint).await);
    warehouse_contract(&crate::aws_pipeline::warehouse(client)).await;
}
