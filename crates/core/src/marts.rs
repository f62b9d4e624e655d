//! The mart SQL shipped in `sql/marts/`, compiled in so that every engine and every Lambda runs
//! exactly the same text.

/// (name, SQL) of every mart, in the order they may be built.
pub const MARTS: &[(&str, &str)] = &[
    (
        "search_top",
        include_str!("../../../sql/marts/search_top.sql"),
    ),
    (
        "search_daily_summary",
        include_str!("../../../sql/marts/search_daily_summary.sql"),
    ),
    (
        "search_users",
        include_str!("../../../sql/marts/search_users.sql"),
    ),
    (
        "active_users",
        include_str!("../../../sql/marts/active_users.sql"),
    ),
    (
        "page_views",
        include_str!("../../../sql/marts/page_views.sql"),
    ),
    (
        "sales_by_category",
        include_str!("../../../sql/marts/sales_by_category.sql"),
    ),
    (
        "daily_sales",
        include_str!("../../../sql/marts/daily_sales.sql"),
    ),
    (
        "sales_by_product",
        include_str!("../../../sql/marts/sales_by_product.sql"),
    ),
    (
        "order_lead_times",
        include_str!("../../../sql/marts/order_lead_times.sql"),
    ),
    (
        "late_deliveries",
        include_str!("../../../sql/marts/late_deliveries.sql"),
    ),
    (
        "retention_cohorts",
        include_str!("../../../sql/marts/retention_cohorts.sql"),
    ),
    (
        "product_portfolio",
        include_str!("../../../sql/marts/product_portfolio.sql"),
    ),
];

pub fn mart_sql(name: &str) -> Option<&'static str> {
    MARTS.iter().find(|(n, _)| *n == name).map(|(_, sql)| *sql)
}

pub fn known_marts() -> Vec<&'static str> {
    MARTS.iter().map(|(n, _)| *n).collect()
}

/// Schema of the lake's tables in every engine: Glue database via a Redshift external schema,
/// a PostgreSQL schema in tests, a registered schema in DataFusion.
pub const LAKE_SCHEMA: &str = "lake";
/// Schema the marts are built in.
pub const MARTS_SCHEMA: &str = "marts";

/// The catalog name of a lake table: `<source>_<table>`, with `_items` as `items`.
pub fn catalog_table_name(source: &str, table: &str) -> String {
    format!("{source}_{}", table.trim_start_matches('_'))
}
