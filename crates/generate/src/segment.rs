//! Files as Segment's Amazon S3 destination writes them: `segment-logs/<source-id>/<epoch-ms>/
//! <file>.gz`, one gzip JSON line per call, batches about an hour apart.

use super::shop::{CATEGORIES, CUSTOMERS, popular_product, product, user_id};
use super::vocabulary::{KEYWORDS, skewed};
use chrono::{DateTime, NaiveDate, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub const SOURCE_ID: &str = "xK2bd8shop";

#[derive(Debug, Clone)]
pub struct SegmentSpec {
    pub events: u64,
    pub date: NaiveDate,
    /// Batches (folders) over the day; each holds `files_per_batch` files.
    pub batches: u32,
    pub files_per_batch: u32,
    pub seed: u64,
}

impl SegmentSpec {
    pub fn new(events: u64, date: NaiveDate) -> Self {
        Self {
            events,
            date,
            batches: 24,
            files_per_batch: 1,
            seed: 7,
        }
    }
}

#[derive(Debug, Clone)]
pub struct GeneratedSegment {
    /// The `segment-logs/<source-id>/` folder.
    pub prefix: PathBuf,
    pub files: Vec<PathBuf>,
    pub events: u64,
    pub bytes_json: u64,
    pub bytes_gzip: u64,
}

/// Writes the day's events below `out/segment-logs/<source-id>/`, files in parallel. About 0.3%
/// of messages are delivered twice, as Segment's at-least-once delivery does, and a few events
/// in the day's first batch belong to the evening before.
pub fn write_segment_logs(out: &Path, spec: &SegmentSpec) -> std::io::Result<GeneratedSegment> {
    let prefix = out.join("segment-logs").join(SOURCE_ID);
    let day_start = spec.date.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let batches = spec.batches.max(1) as u64;
    let files_per_batch = spec.files_per_batch.max(1) as u64;
    let total_files = batches * files_per_batch;
    let jobs: Vec<(u64, u64, u64)> = (0..total_files)
        .map(|file| {
            let per_file = spec.events / total_files;
            let count = per_file + u64::from(file < spec.events % total_files);
            (file / files_per_batch, file, count)
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunks: Vec<Vec<(u64, u64, u64)>> = (0..threads)
        .map(|t| jobs.iter().copied().skip(t).step_by(threads).collect())
        .collect();
    let results: Vec<std::io::Result<Vec<(PathBuf, u64, u64)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let prefix = &prefix;
                scope.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|(batch, file, count)| {
                            write_file(prefix, spec, day_start, batches, batch, file, count)
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("generator thread panicked"))
            .collect()
    });
    let mut generated = GeneratedSegment {
        prefix: prefix.clone(),
        files: vec![],
        events: spec.events,
        bytes_json: 0,
        bytes_gzip: 0,
    };
    for result in results {
        for (path, json, gzip) in result? {
            generated.files.push(path);
            generated.bytes_json += json;
            generated.bytes_gzip += gzip;
        }
    }
    generated.files.sort();
    Ok(generated)
}

fn write_file(
    prefix: &Path,
    spec: &SegmentSpec,
    day_start: DateTime<Utc>,
    batches: u64,
    batch: u64,
    file: u64,
    count: u64,
) -> std::io::Result<(PathBuf, u64, u64)> {
    let mut rng = SmallRng::seed_from_u64(spec.seed.wrapping_mul(7_919).wrapping_add(file));
    let span_ms = 86_400_000 / batches as i64;
    let batch_end = day_start + chrono::Duration::milliseconds(span_ms * (batch as i64 + 1));
    let folder = prefix.join(batch_end.timestamp_millis().to_string());
    std::fs::create_dir_all(&folder)?;
    let path = folder.join(format!("{:04}-{:08x}.gz", file, spec.seed as u32));
    let sink = BufWriter::with_capacity(1 << 20, File::create(&path)?);
    let mut out = BufWriter::with_capacity(1 << 20, GzEncoder::new(sink, Compression::fast()));
    let mut json_bytes = 0u64;
    let mut previous: Option<Vec<u8>> = None;
    for n in 0..count {
        let line = match &previous {
            // At-least-once delivery: the same message, byte for byte, again.
            Some(line) if rng.random_bool(0.003) => line.clone(),
            _ => {
                let offset = rng.random_range(0..span_ms);
                let mut at = batch_end - chrono::Duration::milliseconds(span_ms - offset);
                if batch == 0 && rng.random_bool(0.01) {
                    // Sent offline late the evening before, delivered in the day's first batch.
                    at = day_start - chrono::Duration::seconds(rng.random_range(60..7_200));
                }
                let event = event(&mut rng, at, file, n);
                serde_json::to_vec(&event)?
            }
        };
        out.write_all(&line)?;
        out.write_all(b"\n")?;
        json_bytes += line.len() as u64 + 1;
        previous = Some(line);
    }
    out.into_inner()
        .map_err(|e| e.into_error())?
        .finish()?
        .flush()?;
    let gzip = std::fs::metadata(&path)?.len();
    Ok((path, json_bytes, gzip))
}

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
];
const PLANS: &[&str] = &["free", "member", "premium"];
const LOCALES: &[&str] = &["fr-FR", "en-GB", "de-DE", "en-US"];
const CAMPAIGNS: &[(&str, &str, &str)] = &[
    ("winter_reads", "newsletter", "email"),
    ("crime_week", "instagram", "social"),
    ("back_to_school", "google", "cpc"),
];

/// One call at `at`, by a known customer most of the time.
pub fn event(rng: &mut impl Rng, at: DateTime<Utc>, file: u64, n: u64) -> Value {
    let customer = skewed(rng, CUSTOMERS as usize) as u64 + 1;
    let signed_in = rng.random_bool(0.7);
    let anonymous = format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        customer * 2_654_435_761 % 0xffff_ffff,
        customer % 0xffff,
        customer % 0xfff,
        file % 0xfff,
        customer
    );
    let message_id = format!("ajs-next-{file:04}{n:09}-{:08x}", rng.random::<u32>());
    let product_id = popular_product(rng);
    let item = product(product_id);
    let price = item.price_cents as f64 / 100.0;
    let path;
    let title;
    let roll: f64 = rng.random();
    let (kind, body) = if roll < 0.42 {
        let page = ["Home", "Category", "Search", "Product", "Basket"][skewed(rng, 5)];
        path = match page {
            "Home" => "/".to_string(),
            "Category" => format!(
                "/c/{}",
                CATEGORIES[skewed(rng, CATEGORIES.len())].to_lowercase()
            ),
            "Search" => "/search".to_string(),
            "Product" => format!("/p/{}", item.isbn13),
            _ => "/basket".to_string(),
        };
        title = format!("{page} — Daybook Books");
        (
            "page",
            json!({ "name": page, "properties": { "path": path, "title": title, "url": format!("https://books.example.com{path}") } }),
        )
    } else {
        path = format!("/p/{}", item.isbn13);
        title = format!("{} — Daybook Books", item.title);
        let (name, properties) = match rng.random_range(0..100) {
            0..=29 => (
                "Products Searched",
                json!({ "query": KEYWORDS[skewed(rng, KEYWORDS.len())] }),
            ),
            30..=69 => {
                // An old app version sends the list position as text.
                let position = if rng.random_bool(0.01) {
                    json!(rng.random_range(1..20).to_string())
                } else {
                    json!(rng.random_range(1..20))
                };
                (
                    "Product Viewed",
                    json!({ "product_id": product_id, "sku": item.isbn13, "name": item.title, "category": item.category, "price": price, "currency": "EUR", "position": position }),
                )
            }
            70..=84 => (
                "Product Added",
                json!({ "product_id": product_id, "sku": item.isbn13, "price": price, "quantity": rng.random_range(1..3), "cart_id": format!("c{customer}") }),
            ),
            85..=94 => (
                "Checkout Started",
                json!({ "order_id": format!("o{file}{n}"), "value": price, "currency": "EUR", "products": [{ "product_id": product_id, "sku": item.isbn13 }] }),
            ),
            _ => (
                "Order Completed",
                json!({ "order_id": format!("o{file}{n}"), "total": price + 3.9, "shipping": 3.9, "currency": "EUR", "coupon": if rng.random_bool(0.2) { Value::from("WINTER10") } else { Value::Null } }),
            ),
        };
        if rng.random_bool(0.03) {
            (
                "identify",
                json!({ "traits": { "email": format!("{}@example.com", user_id(customer)), "plan": PLANS[skewed(rng, PLANS.len())], "created_at": "2024-03-01T10:00:00Z" } }),
            )
        } else {
            ("track", json!({ "event": name, "properties": properties }))
        }
    };
    let sent = at + chrono::Duration::milliseconds(rng.random_range(5..900));
    let received = sent + chrono::Duration::milliseconds(rng.random_range(20..400));
    let mut context = json!({
        "ip": format!("10.{}.{}.{}", customer % 250, n % 250, file % 250),
        "userAgent": USER_AGENTS[skewed(rng, USER_AGENTS.len())],
        "locale": LOCALES[skewed(rng, LOCALES.len())],
        "timezone": "Europe/Paris",
        "library": { "name": "analytics.js", "version": "next-1.70.0" },
        "page": { "path": path, "referrer": "https://www.google.com/", "search": "", "title": title, "url": format!("https://books.example.com{path}") },
        "screen": { "width": 1920, "height": 1080, "density": 1 },
    });
    if rng.random_bool(0.15) {
        let (name, source, medium) = CAMPAIGNS[skewed(rng, CAMPAIGNS.len())];
        context["campaign"] = json!({ "name": name, "source": source, "medium": medium });
    }
    let mut event = json!({
        "type": kind,
        "messageId": message_id,
        "anonymousId": anonymous,
        "channel": "client",
        "context": context,
        "integrations": {},
        "originalTimestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "receivedAt": received.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "sentAt": sent.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "version": 2,
        "writeKey": "wK3y5h0pDaybook",
        "_metadata": { "bundled": ["Segment.io"], "unbundled": [] },
    });
    if signed_in || kind == "identify" {
        event["userId"] = Value::from(user_id(customer));
    }
    if let (Value::Object(target), Value::Object(extra)) = (&mut event, body) {
        target.extend(extra);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_land_in_hourly_batch_folders() {
        let dir = tempfile::tempdir().unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let generated = write_segment_logs(dir.path(), &SegmentSpec::new(500, date)).unwrap();
        assert_eq!(generated.files.len(), 24);
        let first = generated.files[0]
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let millis: i64 = first.parse().unwrap();
        assert_eq!(
            DateTime::from_timestamp_millis(millis)
                .unwrap()
                .to_rfc3339(),
            "2026-11-21T01:00:00+00:00"
        );
        assert!(
            generated.bytes_json > 500 * 700,
            "events are about a kilobyte each"
        );
    }
}
