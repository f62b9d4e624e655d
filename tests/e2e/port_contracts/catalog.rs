//! The catalog port: a table's columns are today's schema, each day's partition points at the
//! run folder that was registered last for it, and registrations from many clients at once
//! (parallel stream batches, a backfill's days) all land, as each Glue call does whole.

use crate::aws_moto::{BUCKET, sdk_config};
use crate::aws_pipeline::{GLUE_DATABASE, create_glue_database};
use chrono::NaiveDate;
use daybook_aws::GlueCatalog;
use daybook_core::lake::SchemaColumn;
use daybook_core::ports::{Catalog, PartitionRef};
use daybook_local::catalog::LocalCatalog;
use daybook_tests::MotoServer;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Clients registering days of one new table at once.
const CLIENTS: usize = 8;

/// A table as the catalog holds it: (column, Hive type) in order, and dt → run folder.
#[derive(Debug, PartialEq)]
struct Registered {
    columns: Vec<(String, String)>,
    partitions: BTreeMap<NaiveDate, String>,
}

fn column(name: &str, hive: &str) -> SchemaColumn {
    SchemaColumn {
        name: name.into(),
        ty: "Utf8".into(),
        nullable: true,
        hive_type: hive.into(),
    }
}

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, n).unwrap()
}

fn run_folder(table: &str, dt: NaiveDate, run: &str) -> String {
    format!("lake/shop/{table}/dt={dt}/run={run}/")
}

fn partition(table: &str, dt: NaiveDate, run: &str) -> PartitionRef {
    PartitionRef {
        dt,
        run_prefix: run_folder(table, dt, run),
    }
}

async fn catalog_contract<F, R>(open: impl Fn() -> Arc<dyn Catalog>, read: F)
where
    F: Fn(&'static str) -> R,
    R: std::future::Future<Output = Registered>,
{
    let catalog = open();
    let columns = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    };

    // A first load makes the table with its columns and days.
    catalog
        .register_partitions(
            "orders",
            &[column("order_id", "bigint"), column("status", "string")],
            &[
                partition("orders", day(1), "first"),
                partition("orders", day(2), "first"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        read("orders").await,
        Registered {
            columns: columns(&[("order_id", "bigint"), ("status", "string")]),
            partitions: BTreeMap::from([
                (day(1), run_folder("orders", day(1), "first")),
                (day(2), run_folder("orders", day(2), "first")),
            ]),
        }
    );

    // A later load widens the columns, moves the day it reran and adds a new one; the day it
    // did not touch keeps its folder.
    catalog
        .register_partitions(
            "orders",
            &[
                column("order_id", "bigint"),
                column("status", "string"),
                column("total", "decimal(12,2)"),
            ],
            &[
                partition("orders", day(2), "second"),
                partition("orders", day(3), "second"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        read("orders").await,
        Registered {
            columns: columns(&[
                ("order_id", "bigint"),
                ("status", "string"),
                ("total", "decimal(12,2)")
            ]),
            partitions: BTreeMap::from([
                (day(1), run_folder("orders", day(1), "first")),
                (day(2), run_folder("orders", day(2), "second")),
                (day(3), run_folder("orders", day(3), "second")),
            ]),
        }
    );

    // Many clients register days of one new table at once: every day lands, whoever made
    // the table.
    let loads: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let catalog = open();
            tokio::spawn(async move {
                catalog
                    .register_partitions(
                        "events",
                        &[column("event", "string")],
                        &[partition("events", day(10 + n as u32), "stream")],
                    )
                    .await
            })
        })
        .collect();
    for load in loads {
        load.await.unwrap().expect("a concurrent registration");
    }
    let events = read("events").await;
    assert_eq!(events.columns, columns(&[("event", "string")]));
    assert_eq!(
        events.partitions.keys().copied().collect::<Vec<_>>(),
        (0..CLIENTS as u32).map(|n| day(10 + n)).collect::<Vec<_>>(),
        "every client's day is registered"
    );
    // The other table is as it was.
    assert_eq!(read("orders").await.partitions.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_local_catalog_keeps_the_catalog_contract() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let open = || -> Arc<dyn Catalog> { Arc::new(LocalCatalog::new(&root)) };
    catalog_contract(open, |table| {
        let root = root.clone();
        async move {
            let file = LocalCatalog::new(&root).load().unwrap();
            let registered = &file.tables[table];
            Registered {
                columns: registered
                    .schema
                    .iter()
                    .map(|c| (c.name.clone(), c.hive_type.clone()))
                    .collect(),
                partitions: registered.partitions.clone(),
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_glue_catalog_keeps_the_catalog_contract() {
    let moto = MotoServer::start();
    let config = sdk_config(&moto).await;
    create_glue_database(&config).await;
    let glue = aws_sdk_glue::Client::new(&config);
    let open =
        || -> Arc<dyn Catalog> { Arc::new(GlueCatalog::new(glue.clone(), GLUE_DATABASE, BUCKET)) };
    catalog_contract(open, |table| {
        let glue = glue.clone();
        async move {
            let found = glue
                .get_table()
                .database_name(GLUE_DATABASE)
                .name(table)
                .send()
                .await
                .unwrap()
                .table
                .unwrap();
            let columns = found
                .storage_descriptor
                .and_then(|s| s.columns)
                .unwrap_or_default()
                .into_iter()
                .map(|c| (c.name, c.r#type.unwrap_or_default()))
                .collect();
            let listed = glue
                .get_partitions()
                .database_name(GLUE_DATABASE)
                .table_name(table)
                .send()
                .await
                .unwrap();
            let in_lake = format!("s3://{BUCKET}/");
            let partitions = listed
                .partitions
                .unwrap_or_default()
                .into_iter()
                .map(|p| {
                    let dt = p.values.unwrap()[0].parse().unwrap();
                    let location = p.storage_descriptor.unwrap().location.unwrap();
                    let folder = location
                        .strip_prefix(&in_lake)
                        .unwrap_or_else(|| panic!("{location} is in the lake's bucket"))
                        .to_string();
                    (dt, folder)
                })
                .collect();
            Registered {
                columns,
                partitions,
            }
        }
    })
    .await;
}
