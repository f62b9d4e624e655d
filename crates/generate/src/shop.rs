//! The bookshop behind the demo: products, categories and customers shared by the generated
//! RDS database, the Segment events and the DynamoDB search queries.

use super::vocabulary::{isbn13_of_title, skewed};
use rand::{Rng, SeedableRng};

pub const CATEGORIES: &[&str] = &[
    "Fiction", "Crime", "Science", "History", "Children", "Cookery", "Travel", "Poetry",
    "Business", "Comics",
];

const TITLE_WORDS: &[&str] = &[
    "Silent", "River", "Garden", "Winter", "Atlas", "Shadow", "Kitchen", "Stars", "Empire",
    "Letters", "Island", "Machine", "North", "Secret", "Harbour", "Clock", "Forest", "Glass",
];

/// Titles the shop sells: the most searched part of the search catalogue.
pub const PRODUCTS: u64 = 2_000;
/// Customers with an account; `u000001` … as the search items and Segment events name them.
pub const CUSTOMERS: u64 = 5_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: u64,
    pub isbn13: String,
    pub title: String,
    pub category: &'static str,
    /// List price in cents.
    pub price_cents: i64,
}

/// Product `id` (1-based), the same every time.
pub fn product(id: u64) -> Product {
    let mix = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let word = |shift: u32| TITLE_WORDS[((mix >> shift) % TITLE_WORDS.len() as u64) as usize];
    Product {
        id,
        isbn13: isbn13_of_title(id - 1),
        title: format!("The {} {} of {}", word(7), word(17), word(29)),
        category: CATEGORIES[((mix >> 41) % CATEGORIES.len() as u64) as usize],
        price_cents: 499 + ((mix >> 13) % 3_000) as i64,
    }
}

/// A product id, popular titles more likely.
pub fn popular_product(rng: &mut impl Rng) -> u64 {
    skewed(rng, PRODUCTS as usize) as u64 + 1
}

pub fn user_id(customer: u64) -> String {
    format!("u{customer:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_are_stable_and_priced() {
        assert_eq!(product(7), product(7));
        let p = product(1);
        assert_eq!(p.isbn13.len(), 13);
        assert!(p.price_cents >= 499);
        assert!(CATEGORIES.contains(&p.category));
    }
}

/// One order with its lines and its delivery, as the shop's database holds them.
#[derive(Debug, Clone)]
pub struct Order {
    pub order_id: u64,
    pub customer_id: u64,
    pub status: &'static str,
    pub purchased_at: chrono::NaiveDateTime,
    pub approved_at: Option<chrono::NaiveDateTime>,
    pub shipped_at: Option<chrono::NaiveDateTime>,
    pub estimated_delivery: chrono::NaiveDate,
    pub delivered_at: Option<chrono::NaiveDateTime>,
    pub carrier: &'static str,
    /// (product id, quantity, unit price in cents, freight in cents)
    pub items: Vec<(u64, i64, i64, i64)>,
}

const CARRIERS: &[&str] = &["Colissimo", "DHL", "Chronopost", "UPS"];

/// `per_day` orders a day for `days` days ending on `last_day`; recent orders are not all
/// delivered yet, and about one in eight arrives after its estimated date.
pub fn orders(
    rng: &mut impl Rng,
    last_day: chrono::NaiveDate,
    days: u32,
    per_day: u32,
) -> Vec<Order> {
    let mut out = Vec::new();
    // Each calendar day draws from its own stream, so a day's orders (and their ids) are the
    // same in every snapshot that holds it: the day before reads as it did the day before.
    let base: u64 = rng.random();
    for back in (0..days).rev() {
        let day = last_day - chrono::Duration::days(i64::from(back));
        let day_number = chrono::Datelike::num_days_from_ce(&day) as u64;
        let rng =
            &mut rand::rngs::SmallRng::seed_from_u64(base ^ day_number.wrapping_mul(0x9E37_79B9));
        for n in 0..u64::from(per_day) {
            let order_id = day_number * 100_000 + n;
            let purchased_at = day.and_hms_opt(0, 0, 0).expect("midnight")
                + chrono::Duration::seconds(rng.random_range(0..86_400));
            let approved_at = purchased_at + chrono::Duration::minutes(rng.random_range(2..240));
            let shipped_at = approved_at + chrono::Duration::hours(rng.random_range(4..72));
            let estimated_delivery =
                (shipped_at + chrono::Duration::days(rng.random_range(2..6))).date();
            let late = rng.random_bool(0.12);
            let delivered_at = shipped_at
                + chrono::Duration::hours(if late {
                    rng.random_range(100..260)
                } else {
                    rng.random_range(20..90)
                });
            let now = last_day
                .succ_opt()
                .expect("a next day")
                .and_hms_opt(0, 0, 0)
                .expect("midnight");
            let cancelled = rng.random_bool(0.02);
            let lines = 1 + skewed(rng, 4) as u64;
            let items = (0..lines)
                .map(|_| {
                    let product = product(popular_product(rng));
                    let quantity = 1 + skewed(rng, 3) as i64;
                    (
                        product.id,
                        quantity,
                        product.price_cents,
                        290 + rng.random_range(0..400),
                    )
                })
                .collect();
            out.push(Order {
                order_id,
                customer_id: skewed(rng, CUSTOMERS as usize) as u64 + 1,
                status: if cancelled {
                    "canceled"
                } else if delivered_at <= now {
                    "delivered"
                } else if shipped_at <= now {
                    "shipped"
                } else {
                    "approved"
                },
                purchased_at,
                approved_at: Some(approved_at),
                shipped_at: (shipped_at <= now && !cancelled).then_some(shipped_at),
                estimated_delivery,
                delivered_at: (delivered_at <= now && !cancelled).then_some(delivered_at),
                carrier: CARRIERS[skewed(rng, CARRIERS.len())],
                items,
            });
        }
    }
    out
}
