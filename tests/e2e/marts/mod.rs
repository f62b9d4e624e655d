//! Every mart on a small fixed lake whose results were worked out by hand, on DataFusion and on a
//! real PostgreSQL; every mart on generated days, with both engines giving the same rows; and
//! what the load step does with bad input: a broken mart, a missing table, a schema that
//! changes between days, an empty day, a check configured to stop the run.

use crate::lake_postgres::{load_lake, normalized, query, records};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use chrono::NaiveDate;
use daybook_core::config::bind_run_date;
use daybook_core::lake::SchemaColumn;
use daybook_core::marts::{MARTS, catalog_table_name};
use daybook_core::parquet_sink::ParquetSink;
use daybook_core::ports::{PartitionRef, Warehouse};
use daybook_core::quality::{CheckStatus, ChecksConfig, OnFailure, TableChecks};
use daybook_core::steps::JobContext;
use daybook_core::steps::load::{RegisteredTable, check_and_build};
use daybook_local::catalog::LocalCatalog;
use daybook_local::warehouse::DataFusionWarehouse;
use daybook_tests::databases::PostgresServer;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

pub(crate) fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

pub(crate) const RUN_DATE: &str = "2026-11-20";

pub(crate) fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}
pub(crate) fn int64(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}
pub(crate) fn money(name: &str) -> Field {
    Field::new(name, DataType::Decimal128(10, 2), true)
}
fn timestamp(name: &str) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        true,
    )
}

/// Writes one partition of a lake table from JSON rows and points the local catalog at it.
pub(crate) fn write_partition(
    root: &Path,
    source: &str,
    table: &str,
    fields: &[Field],
    dt: &str,
    rows: &[Value],
) {
    let schema = Arc::new(Schema::new(fields.to_vec()));
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    let mut reader = arrow::json::ReaderBuilder::new(schema.clone())
        .build(std::io::Cursor::new(text))
        .unwrap();
    let batch = reader.next().unwrap().unwrap();
    let run_prefix = format!("lake/{source}/{table}/dt={dt}/run=fixture/");
    let mut sink = ParquetSink::create(
        &root.join(format!("{run_prefix}part-00000.parquet")),
        schema.clone(),
        1024,
        &[],
    )
    .unwrap();
    sink.write(&batch).unwrap();
    sink.finish().unwrap();
    LocalCatalog::new(root)
        .set_partitions(
            &catalog_table_name(source, table),
            false,
            &SchemaColumn::from_arrow(&schema),
            &[PartitionRef {
                dt: day(dt),
                run_prefix,
            }],
        )
        .unwrap();
}

/// The fixed lake: four search queries, a handful of page views and tracks over three days,
/// and a shop with ten orders over four weeks.
pub(crate) fn write_fixture(root: &Path) {
    let d = RUN_DATE;
    let items = [
        utf8("query_id"),
        utf8("user_id"),
        int64("result_count"),
        utf8("device"),
    ];
    write_partition(
        root,
        "search_queries",
        "_items",
        &items,
        d,
        &[
            json!({"query_id": "q1", "user_id": "u1", "result_count": 0, "device": "mobile"}),
            json!({"query_id": "q2", "user_id": "u1", "result_count": 5, "device": "desktop"}),
            json!({"query_id": "q3", "user_id": "u2", "result_count": 3, "device": "mobile"}),
            json!({"query_id": "q4", "user_id": null, "result_count": 2, "device": "desktop"}),
        ],
    );
    let list = [utf8("query_id"), int64("pos"), utf8("value")];
    let element = |q: &str, v: &str| json!({"query_id": q, "pos": 0, "value": v});
    write_partition(
        root,
        "search_queries",
        "user_search",
        &list,
        d,
        &[
            element("q1", "Dune "),
            element("q2", "dune"),
            element("q3", "Emma"),
            element("q4", "dune"),
        ],
    );
    write_partition(
        root,
        "search_queries",
        "selected_lib",
        &list,
        d,
        &[
            element("q1", "Central"),
            element("q2", "Central"),
            element("q3", "North"),
        ],
    );
    write_partition(
        root,
        "search_queries",
        "isbn13_list",
        &list,
        d,
        &[
            element("q2", "978A"),
            json!({"query_id": "q2", "pos": 1, "value": "978B"}),
            element("q3", "978A"),
        ],
    );

    let event = |id: &str, user: Option<&str>, anonymous: &str, name: Option<&str>, at: &str| json!({"message_id": id, "user_id": user, "anonymous_id": anonymous, "name": name, "event": name, "timestamp": at});
    let pages = [
        utf8("message_id"),
        utf8("user_id"),
        utf8("anonymous_id"),
        utf8("name"),
        timestamp("timestamp"),
    ];
    write_partition(
        root,
        "segment",
        "pages",
        &pages,
        d,
        &[
            event("m1", Some("u1"), "a1", Some("Home"), "2026-11-20T08:00:00"),
            event("m2", None, "a2", Some("Home"), "2026-11-20T09:00:00"),
            event("m3", Some("u1"), "a1", Some("Book"), "2026-11-20T10:00:00"),
            event("m4", None, "a3", None, "2026-11-20T11:00:00"),
        ],
    );
    write_partition(
        root,
        "segment",
        "pages",
        &pages,
        "2026-11-17",
        &[event(
            "m5",
            Some("u3"),
            "a5",
            Some("Home"),
            "2026-11-17T08:00:00",
        )],
    );
    write_partition(
        root,
        "segment",
        "pages",
        &pages,
        "2026-11-10",
        &[event(
            "m6",
            Some("u4"),
            "a6",
            Some("Home"),
            "2026-11-10T08:00:00",
        )],
    );
    // On each edge of active_users' windows: the day 7 days back is out of WAU and the one 6
    // back in; 30 days back is out of MAU and 29 back in; the day after the run date is in
    // nothing. Shifting an edge (INTERVAL '8 days', >= for >, no upper bound) changes a count.
    for (dt, visitor) in [
        ("2026-11-13", "u7"),
        ("2026-11-14", "u8"),
        ("2026-10-21", "u9"),
        ("2026-10-22", "u10"),
        ("2026-11-21", "u11"),
    ] {
        write_partition(
            root,
            "segment",
            "pages",
            &pages,
            dt,
            &[event(
                &format!("m-{visitor}"),
                Some(visitor),
                &format!("a-{visitor}"),
                Some("Home"),
                &format!("{dt}T08:00:00"),
            )],
        );
    }
    let tracks = [
        utf8("message_id"),
        utf8("user_id"),
        utf8("anonymous_id"),
        utf8("event"),
        timestamp("timestamp"),
    ];
    write_partition(
        root,
        "segment",
        "tracks",
        &tracks,
        d,
        &[event(
            "t1",
            Some("u2"),
            "a9",
            Some("Product Viewed"),
            "2026-11-20T12:00:00",
        )],
    );
    write_partition(
        root,
        "segment",
        "tracks",
        &tracks,
        "2026-11-10",
        &[event(
            "t2",
            Some("u1"),
            "a1",
            Some("Product Viewed"),
            "2026-11-10T12:00:00",
        )],
    );

    write_partition(
        root,
        "shop",
        "categories",
        &[int64("category_id"), utf8("name")],
        d,
        &[
            json!({"category_id": 1, "name": "Fiction"}),
            json!({"category_id": 2, "name": "History"}),
            json!({"category_id": 3, "name": "Travel"}),
            json!({"category_id": 4, "name": "Poetry"}),
            json!({"category_id": 5, "name": "Crime"}),
        ],
    );
    // The shop's customers, for the report section that names searching users.
    write_partition(
        root,
        "shop",
        "customers",
        &[
            int64("customer_id"),
            utf8("user_id"),
            utf8("email"),
            utf8("city"),
        ],
        d,
        &[
            json!({"customer_id": 1, "user_id": "u1", "email": "ana@example.com", "city": "Lyon"}),
            json!({"customer_id": 2, "user_id": "u2", "email": null, "city": null}),
        ],
    );
    let product = |id: i64, isbn: &str, title: &str, category: i64| json!({"product_id": id, "isbn13": isbn, "title": title, "category_id": category, "list_price": "10.00"});
    write_partition(
        root,
        "shop",
        "products",
        &[
            int64("product_id"),
            utf8("isbn13"),
            utf8("title"),
            int64("category_id"),
            money("list_price"),
        ],
        d,
        &[
            product(10, "978A", "Dune", 1),
            product(11, "978B", "Emma", 1),
            product(20, "978C", "Rome", 2),
            product(30, "978D", "Alps", 3),
            product(40, "978E", "Odes", 4),
            product(50, "978F", "Noir", 5),
        ],
    );
    let order = |id: i64,
                 customer: i64,
                 status: &str,
                 purchased: &str,
                 approved: Option<&str>,
                 shipped: Option<&str>| {
        json!({"order_id": id, "customer_id": customer, "status": status, "purchased_at": purchased,
               "approved_at": approved, "shipped_at": shipped})
    };
    write_partition(
        root,
        "shop",
        "orders",
        &[
            int64("order_id"),
            int64("customer_id"),
            utf8("status"),
            timestamp("purchased_at"),
            timestamp("approved_at"),
            timestamp("shipped_at"),
        ],
        d,
        &[
            order(
                1,
                1,
                "delivered",
                "2026-11-02T10:00:00",
                Some("2026-11-02T11:00:00"),
                Some("2026-11-03T10:00:00"),
            ),
            order(
                2,
                1,
                "delivered",
                "2026-11-10T09:00:00",
                Some("2026-11-10T10:00:00"),
                Some("2026-11-11T10:00:00"),
            ),
            order(
                3,
                2,
                "delivered",
                "2026-11-11T12:00:00",
                Some("2026-11-11T14:00:00"),
                Some("2026-11-18T14:00:00"),
            ),
            order(
                4,
                2,
                "shipped",
                "2026-11-20T08:00:00",
                Some("2026-11-20T09:00:00"),
                Some("2026-11-20T18:00:00"),
            ),
            order(
                5,
                3,
                "shipped",
                "2026-11-20T09:00:00",
                Some("2026-11-20T10:00:00"),
                Some("2026-11-20T19:00:00"),
            ),
            order(6, 4, "canceled", "2026-11-20T10:00:00", None, None),
            order(
                7,
                1,
                "approved",
                "2026-11-20T23:00:00",
                Some("2026-11-20T23:30:00"),
                None,
            ),
            order(
                8,
                5,
                "approved",
                "2026-11-19T15:00:00",
                Some("2026-11-19T16:00:00"),
                None,
            ),
            order(
                9,
                6,
                "delivered",
                "2026-11-01T10:00:00",
                Some("2026-11-01T11:00:00"),
                Some("2026-11-02T09:00:00"),
            ),
            order(
                10,
                7,
                "delivered",
                "2026-11-12T09:00:00",
                Some("2026-11-12T10:00:00"),
                Some("2026-11-13T09:00:00"),
            ),
            // On each edge of the 28-day window (days after run date - 28 days, up to the run
            // date): order 11 on its first day, at midnight; order 12 the last second before it;
            // order 13 the day after the run date. INTERVAL '27 days' or '29 days', >= for >, or
            // no upper bound each change daily_sales, product_portfolio or retention_cohorts.
            order(11, 8, "approved", "2026-10-24T00:00:00", None, None),
            order(12, 9, "approved", "2026-10-23T23:59:59", None, None),
            order(13, 10, "approved", "2026-11-21T00:00:00", None, None),
        ],
    );
    let item = |order: i64, no: i64, product: i64, quantity: i64, price: &str, freight: &str| json!({"order_id": order, "item_no": no, "product_id": product, "quantity": quantity, "unit_price": price, "freight": freight});
    write_partition(
        root,
        "shop",
        "order_items",
        &[
            int64("order_id"),
            int64("item_no"),
            int64("product_id"),
            int64("quantity"),
            money("unit_price"),
            money("freight"),
        ],
        d,
        &[
            item(1, 1, 10, 1, "10.00", "3.00"),
            item(2, 1, 20, 2, "15.00", "3.00"),
            item(3, 1, 30, 1, "20.00", "2.00"),
            item(4, 1, 10, 2, "10.00", "3.50"),
            item(4, 2, 11, 1, "12.50", "1.00"),
            item(5, 1, 20, 3, "14.00", "4.00"),
            item(6, 1, 30, 5, "8.00", "1.00"),
            item(7, 1, 11, 1, "12.00", "2.00"),
            item(8, 1, 40, 9, "5.00", "1.00"),
            item(9, 1, 50, 1, "6.00", "1.00"),
            item(10, 1, 20, 1, "15.00", "2.00"),
            item(11, 1, 30, 1, "20.00", "2.00"),
            item(12, 1, 40, 1, "5.00", "1.00"),
            item(13, 1, 50, 1, "6.00", "1.00"),
        ],
    );
    let delivery = |order: i64, carrier: &str, estimated: &str, delivered: Option<&str>| json!({"order_id": order, "carrier": carrier, "estimated_date": estimated, "delivered_at": delivered});
    write_partition(
        root,
        "shop",
        "deliveries",
        &[
            int64("order_id"),
            utf8("carrier"),
            Field::new("estimated_date", DataType::Date32, true),
            timestamp("delivered_at"),
        ],
        d,
        &[
            delivery(1, "DHL", "2026-11-06", Some("2026-11-05T10:00:00")),
            delivery(2, "DHL", "2026-11-14", Some("2026-11-20T10:00:00")),
            delivery(3, "UPS", "2026-11-20", Some("2026-11-20T02:00:00")),
            delivery(4, "UPS", "2026-11-24", None),
            delivery(5, "DHL", "2026-11-23", None),
        ],
    );
}

/// Each mart's rows on the fixture, worked out by hand (see the comments for the sums).
pub(crate) fn expected(mart: &str) -> Value {
    match mart {
        // "Dune " trims and lowers into "dune": q1, q2 and q4.
        "search_top" => json!([
            {"dimension": "keyword", "item_rank": 1, "item": "dune", "hits": 3, "queries": 3},
            {"dimension": "keyword", "item_rank": 2, "item": "emma", "hits": 1, "queries": 1},
            {"dimension": "library", "item_rank": 1, "item": "Central", "hits": 2, "queries": 2},
            {"dimension": "library", "item_rank": 2, "item": "North", "hits": 1, "queries": 1},
            {"dimension": "isbn13", "item_rank": 1, "item": "978A", "hits": 2, "queries": 2},
            {"dimension": "isbn13", "item_rank": 2, "item": "978B", "hits": 1, "queries": 1},
        ]),
        // results 0+5+3+2 over 4 queries; one found nothing; two from mobile.
        "search_daily_summary" => json!([
            {"queries": 4, "users": 2, "zero_result_rate": 0.25, "avg_results": 2.5, "mobile_share": 0.5},
        ]),
        "search_users" => json!([
            {"user_id": "u1", "queries": 2, "zero_result_queries": 1, "mobile_queries": 1, "avg_results": 2.5},
            {"user_id": "u2", "queries": 1, "zero_result_queries": 0, "mobile_queries": 1, "avg_results": 3.0},
        ]),
        // Today: u1, a2, a3 (pages) and u2 (tracks) = 4; + u3 three days ago and u8 six days
        // ago = 6 in 7 days (u7, seven days ago, is not); + u4 ten days ago, u7 and u10 (29 days
        // ago) = 9 in 30 days (u9, 30 days ago, and u11, tomorrow, are not; u1's track then is
        // u1 again).
        "active_users" => json!([
            {"dau": 4, "wau": 6, "mau": 9, "stickiness": 4.0 / 9.0},
        ]),
        // Home: u1 and a2; the unnamed page: a3.
        "page_views" => json!([
            {"page": "Home", "views": 2, "visitors": 2},
            {"page": "Book", "views": 1, "visitors": 1},
            {"page": "(unnamed)", "views": 1, "visitors": 1},
        ]),
        // Today's orders 4, 5, 7 (6 is canceled). Fiction: 2 x 10 + 12.50 + 12 over orders 4, 7.
        "sales_by_category" => json!([
            {"category": "Fiction", "orders": 2, "units": 4, "revenue": 44.5, "freight": 6.5},
            {"category": "History", "orders": 1, "units": 3, "revenue": 42.0, "freight": 4.0},
        ]),
        // Per purchase day, canceled left out: the days add up to the portfolio's 28-day totals
        // (23 units, 232.50), and 11-20 is sales_by_category's day (orders 4, 5, 7). 10-24 is
        // the window's first day (order 11); orders 12 (10-23) and 13 (11-21) are outside it.
        "daily_sales" => json!([
            {"day": "2026-10-24", "orders": 1, "units": 1, "revenue": 20.0},
            {"day": "2026-11-01", "orders": 1, "units": 1, "revenue": 6.0},
            {"day": "2026-11-02", "orders": 1, "units": 1, "revenue": 10.0},
            {"day": "2026-11-10", "orders": 1, "units": 2, "revenue": 30.0},
            {"day": "2026-11-11", "orders": 1, "units": 1, "revenue": 20.0},
            {"day": "2026-11-12", "orders": 1, "units": 1, "revenue": 15.0},
            {"day": "2026-11-19", "orders": 1, "units": 9, "revenue": 45.0},
            {"day": "2026-11-20", "orders": 3, "units": 7, "revenue": 86.5},
        ]),
        "sales_by_product" => json!([
            {"product_id": 10, "isbn13": "978A", "title": "Dune", "category": "Fiction", "orders": 1, "units": 2, "revenue": 20.0},
            {"product_id": 11, "isbn13": "978B", "title": "Emma", "category": "Fiction", "orders": 2, "units": 2, "revenue": 24.5},
            {"product_id": 20, "isbn13": "978C", "title": "Rome", "category": "History", "orders": 1, "units": 3, "revenue": 42.0},
        ]),
        // Delivered today: order 2 (1 h, 24 h, 216 h, 241 h) and order 3 (2 h, 168 h, 36 h, 206 h).
        "order_lead_times" => json!([
            {"stage_order": 1, "stage": "approval", "orders": 2, "avg_hours": 1.5, "min_hours": 1.0, "max_hours": 2.0},
            {"stage_order": 2, "stage": "fulfilment", "orders": 2, "avg_hours": 96.0, "min_hours": 24.0, "max_hours": 168.0},
            {"stage_order": 3, "stage": "transit", "orders": 2, "avg_hours": 126.0, "min_hours": 36.0, "max_hours": 216.0},
            {"stage_order": 4, "stage": "total", "orders": 2, "avg_hours": 223.5, "min_hours": 206.0, "max_hours": 241.0},
        ]),
        // Order 2 came six days after its estimate; order 3 on its estimated day.
        "late_deliveries" => json!([
            {"carrier": "DHL", "delivered": 1, "late": 1, "late_rate": 1.0},
            {"carrier": "UPS", "delivered": 1, "late": 0, "late_rate": 0.0},
        ]),
        // First orders: customers 8 and 9 on 10-24 and 10-23 (week of 10-19), customer 6 on
        // Sunday 11-01 (week of 10-26), 1 on 11-02, 2 and 7 in the week of 11-09, 3 and 5 in the
        // week of 11-16; customer 10's order is after the run date. Customer 1 ordered again in
        // weeks 1 and 2, customer 2 in week 1; customer 4's only order is canceled.
        "retention_cohorts" => json!([
            {"cohort_week": "2026-10-19", "week_number": 0, "cohort_customers": 2, "customers": 2, "retention": 1.0},
            {"cohort_week": "2026-10-26", "week_number": 0, "cohort_customers": 1, "customers": 1, "retention": 1.0},
            {"cohort_week": "2026-11-02", "week_number": 0, "cohort_customers": 1, "customers": 1, "retention": 1.0},
            {"cohort_week": "2026-11-02", "week_number": 1, "cohort_customers": 1, "customers": 1, "retention": 1.0},
            {"cohort_week": "2026-11-02", "week_number": 2, "cohort_customers": 1, "customers": 1, "retention": 1.0},
            {"cohort_week": "2026-11-09", "week_number": 0, "cohort_customers": 2, "customers": 2, "retention": 1.0},
            {"cohort_week": "2026-11-09", "week_number": 1, "cohort_customers": 2, "customers": 1, "retention": 0.5},
            {"cohort_week": "2026-11-16", "week_number": 0, "cohort_customers": 2, "customers": 2, "retention": 1.0},
        ]),
        // 28 days, canceled left out (and orders 12 and 13, outside the window). Units: Crime 1,
        // Travel 2, Fiction 5, History 6, Poetry 9 (median 5, Fiction's). Prices: Poetry 5,
        // Crime 6, Fiction 54.50 / 5 = 10.90, History 87 / 6 = 14.50, Travel 40 / 2 = 20
        // (median 10.90, Fiction's).
        "product_portfolio" => json!([
            {"category": "Fiction", "units": 5, "revenue": 54.5, "avg_unit_price": 10.9, "quadrant": "Star"},
            {"category": "History", "units": 6, "revenue": 87.0, "avg_unit_price": 14.5, "quadrant": "Star"},
            {"category": "Poetry", "units": 9, "revenue": 45.0, "avg_unit_price": 5.0, "quadrant": "Volume driver"},
            {"category": "Travel", "units": 2, "revenue": 40.0, "avg_unit_price": 20.0, "quadrant": "Niche"},
            {"category": "Crime", "units": 1, "revenue": 6.0, "avg_unit_price": 6.0, "quadrant": "Question mark"},
        ]),
        other => panic!("mart {other} has no hand-checked result: add one"),
    }
}

pub(crate) fn objects(value: Value) -> Vec<serde_json::Map<String, Value>> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect()
}

fn job() -> JobContext {
    JobContext {
        variables: Default::default(),
        job_id: "20261120-070000-cccccc".into(),
        date: day(RUN_DATE),
    }
}

fn registered(table: &str, rows: u64) -> RegisteredTable {
    RegisteredTable {
        table: table.into(),
        dt: day(RUN_DATE),
        rows,
        run_prefix: String::new(),
    }
}

mod windows;
