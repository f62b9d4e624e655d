//! Writes the generated bookshop into a SQLite database: the RDS source of the demo and tests.

use daybook_generate::shop::{CATEGORIES, CUSTOMERS, PRODUCTS, orders, product, user_id};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{QueryBuilder, Sqlite};
use std::path::Path;

pub const SCHEMA: &str = "
CREATE TABLE categories (category_id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, email TEXT, city TEXT,
    created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL);
CREATE TABLE products (
    product_id INTEGER PRIMARY KEY, isbn13 TEXT NOT NULL, title TEXT NOT NULL,
    category_id INTEGER NOT NULL REFERENCES categories, list_price DECIMAL(10,2) NOT NULL);
CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers,
    status TEXT NOT NULL, purchased_at DATETIME NOT NULL, approved_at DATETIME,
    shipped_at DATETIME, updated_at DATETIME NOT NULL);
CREATE TABLE order_items (
    order_id INTEGER NOT NULL REFERENCES orders, item_no INTEGER NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products, quantity INTEGER NOT NULL,
    unit_price DECIMAL(10,2) NOT NULL, freight DECIMAL(10,2) NOT NULL,
    PRIMARY KEY (order_id, item_no));
CREATE TABLE deliveries (
    order_id INTEGER PRIMARY KEY REFERENCES orders, carrier TEXT NOT NULL,
    estimated_date DATE NOT NULL, delivered_at DATETIME);
";

/// The tables of the shop, in the order they are exported.
pub const TABLES: &[&str] = &[
    "categories",
    "customers",
    "products",
    "orders",
    "order_items",
    "deliveries",
];

#[derive(Debug, Clone)]
pub struct ShopSpec {
    pub last_day: chrono::NaiveDate,
    pub days: u32,
    pub orders_per_day: u32,
    pub seed: u64,
}

#[derive(Debug, Clone, Default)]
pub struct ShopCounts {
    pub customers: u64,
    pub products: u64,
    pub orders: u64,
    pub order_items: u64,
}

fn cents(value: i64) -> String {
    format!("{}.{:02}", value / 100, value % 100)
}

/// Creates `path` (replacing it) with the shop's schema and data. It runs on a thread of its
/// own, so callers need no runtime and their futures stay `Send` (sqlx's transaction executor
/// defeats that proof when awaited inside a spawned task).
pub fn write_shop_sqlite(path: &Path, spec: &ShopSpec) -> Result<ShopCounts, sqlx::Error> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(sqlx::Error::Io)?
                    .block_on(write_shop(path, spec))
            })
            .join()
            .expect("the shop writer does not panic")
    })
}

async fn write_shop(path: &Path, spec: &ShopSpec) -> Result<ShopCounts, sqlx::Error> {
    let _ = std::fs::remove_file(path);
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let mut tx = pool.begin().await?;
    sqlx::raw_sql(SCHEMA).execute(&mut *tx).await?;
    let mut counts = ShopCounts::default();
    let created = (spec.last_day - chrono::Duration::days(400))
        .and_hms_opt(9, 0, 0)
        .expect("nine o'clock");

    let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO categories (category_id, name) ");
    insert.push_values(CATEGORIES.iter().enumerate(), |mut row, (i, name)| {
        row.push_bind(i as i64 + 1).push_bind(*name);
    });
    insert.build().execute(&mut *tx).await?;

    const CITIES: &[&str] = &["Paris", "Lyon", "Lille", "Nantes", "Bordeaux", "Toulouse"];
    for chunk in (1..=CUSTOMERS).collect::<Vec<_>>().chunks(2_000) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO customers (customer_id, user_id, email, city, created_at, updated_at) ",
        );
        insert.push_values(chunk, |mut row, &id| {
            let at = created + chrono::Duration::hours(id as i64 * 2);
            row.push_bind(id as i64)
                .push_bind(user_id(id))
                .push_bind((id % 17 != 0).then(|| format!("{}@example.com", user_id(id))))
                .push_bind(CITIES[(id % CITIES.len() as u64) as usize])
                .push_bind(at)
                .push_bind(at);
        });
        insert.build().execute(&mut *tx).await?;
        counts.customers += chunk.len() as u64;
    }
    for chunk in (1..=PRODUCTS).collect::<Vec<_>>().chunks(2_000) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO products (product_id, isbn13, title, category_id, list_price) ",
        );
        insert.push_values(chunk, |mut row, &id| {
            let p = product(id);
            let category = CATEGORIES
                .iter()
                .position(|c| *c == p.category)
                .unwrap_or(0) as i64
                + 1;
            row.push_bind(id as i64)
                .push_bind(p.isbn13)
                .push_bind(p.title)
                .push_bind(category)
                .push_bind(cents(p.price_cents));
        });
        insert.build().execute(&mut *tx).await?;
        counts.products += chunk.len() as u64;
    }

    let mut rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(spec.seed);
    let all = orders(&mut rng, spec.last_day, spec.days, spec.orders_per_day);
    for chunk in all.chunks(1_000) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO orders (order_id, customer_id, status, purchased_at, approved_at, shipped_at, updated_at) ",
        );
        insert.push_values(chunk, |mut row, o| {
            let updated = o
                .delivered_at
                .or(o.shipped_at)
                .or(o.approved_at)
                .unwrap_or(o.purchased_at);
            row.push_bind(o.order_id as i64)
                .push_bind(o.customer_id as i64)
                .push_bind(o.status)
                .push_bind(o.purchased_at)
                .push_bind(o.approved_at)
                .push_bind(o.shipped_at)
                .push_bind(updated);
        });
        insert.build().execute(&mut *tx).await?;
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO deliveries (order_id, carrier, estimated_date, delivered_at) ",
        );
        insert.push_values(chunk, |mut row, o| {
            row.push_bind(o.order_id as i64)
                .push_bind(o.carrier)
                .push_bind(o.estimated_delivery)
                .push_bind(o.delivered_at);
        });
        insert.build().execute(&mut *tx).await?;
        let lines: Vec<_> = chunk
            .iter()
            .flat_map(|o| {
                o.items
                    .iter()
                    .enumerate()
                    .map(move |(n, item)| (o.order_id, n, *item))
            })
            .collect();
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO order_items (order_id, item_no, product_id, quantity, unit_price, freight) ",
        );
        insert.push_values(
            &lines,
            |mut row, (order, n, (product, quantity, price, freight))| {
                row.push_bind(*order as i64)
                    .push_bind(*n as i64 + 1)
                    .push_bind(*product as i64)
                    .push_bind(*quantity)
                    .push_bind(cents(*price))
                    .push_bind(cents(*freight));
            },
        );
        insert.build().execute(&mut *tx).await?;
        counts.orders += chunk.len() as u64;
        counts.order_items += lines.len() as u64;
    }
    tx.commit().await?;
    pool.close().await;
    Ok(counts)
}
