//! build-report over a real (local) warehouse: a section whose query fails is built as a
//! problem, not as a missing report; the rest of the report is there.

use daybook_core::config::{ReportDefinition, ReportSection};
use daybook_core::steps::JobContext;
use daybook_core::store::ObjectStore;
use daybook_local::FsStore;
use daybook_local::warehouse::DataFusionWarehouse;
use daybook_report::ReportData;
use daybook_report::steps::{BuildInput, build_report};

fn section(title: &str, sql: &str) -> ReportSection {
    ReportSection {
        title: title.into(),
        description: None,
        sql: sql.into(),
        chart: None,
        columns: Default::default(),
        compare: false,
        headline: false,
    }
}

#[tokio::test]
async fn a_failing_section_query_is_shown_as_a_problem_and_the_rest_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    let warehouse = DataFusionWarehouse::new(dir.path());
    let input = BuildInput {
        job: JobContext {
            job_id: "job-1".into(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        report: ReportDefinition {
            name: "daily".into(),
            title: "Daily".into(),
            currency: None,
            sections: vec![
                section("Works", "SELECT 1 AS one"),
                section(
                    "Broken",
                    "SELECT * FROM marts.nowhere WHERE dt = {run_date}",
                ),
            ],
        },
        email: daybook_core::config::EmailConfig::new("reports@example.com", &[], &[]),
        checks: vec![],
    };
    let artifacts = build_report(&store, &warehouse, &input, chrono::Utc::now())
        .await
        .unwrap();
    let data: ReportData =
        serde_json::from_slice(&store.get(&artifacts.data_key).await.unwrap()).unwrap();
    let problems = data.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("Broken: the query failed") && problems[0].contains("nowhere"),
        "{problems:?}"
    );
    let html = String::from_utf8(store.get(&artifacts.html_key).await.unwrap()).unwrap();
    assert!(html.contains("This report has 1 problem"), "{html}");
    assert!(html.contains("Works"));
}

/// Accepts every address but `refused@…`, which SES-like it refuses for good, and fails
/// `slow@…` with throttling on its first try.
#[derive(Default)]
struct PickyMailer {
    sent: std::sync::Mutex<Vec<String>>,
    slow_tries: std::sync::Mutex<u32>,
}

#[async_trait::async_trait]
impl daybook_core::ports::Mailer for PickyMailer {
    async fn send_raw(
        &self,
        envelope: &daybook_core::ports::Envelope,
        raw: Vec<u8>,
    ) -> Result<String, daybook_core::ports::PortError> {
        let to = &envelope.to;
        assert_eq!(to.len(), 1, "one recipient per message");
        let text = String::from_utf8_lossy(&raw);
        assert!(
            !text.contains("all@example.com"),
            "an address with a line break in it is in no header"
        );
        if to[0].starts_with("refused@") {
            return Err(daybook_core::ports::PortError::new(
                "MessageRejected: Email address is not verified",
            ));
        }
        if to[0].starts_with("slow@") {
            let mut tries = self.slow_tries.lock().unwrap();
            *tries += 1;
            if *tries == 1 {
                return Err(daybook_core::ports::PortError::transient(
                    "Throttling: slow down",
                ));
            }
        }
        let mut sent = self.sent.lock().unwrap();
        sent.push(to[0].clone());
        Ok(format!("message-{}", sent.len()))
    }
}

#[tokio::test]
async fn each_recipient_gets_the_report_once_and_a_refused_address_blocks_nobody() {
    use daybook_core::config::EmailConfig;
    use daybook_report::steps::{SendInput, send_report};
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    let warehouse = DataFusionWarehouse::new(dir.path());
    let job = JobContext {
        job_id: "job-1".into(),
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
    };
    let report = ReportDefinition {
        name: "daily".into(),
        title: "Daily".into(),
        currency: None,
        sections: vec![section("Works", "SELECT 1 AS one")],
    };
    let artifacts = build_report(
        &store,
        &warehouse,
        &BuildInput {
            job: job.clone(),
            report,
            email: EmailConfig::new("reports@example.com", &[], &[]),
            checks: vec![],
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let state = daybook_local::state::FileStateStore::new(&dir.path().join("state"));
    let mailer = PickyMailer::default();
    let mut input = SendInput {
        job,
        report: artifacts,
        email: EmailConfig::new(
            "reports@example.com",
            &[
                "ana@example.com",
                "slow@example.com",
                "refused@example.com",
                "Ana@example.com",
                "bo@example.com\r\nBcc: all@example.com",
            ],
            &[],
        ),
    };
    let now = chrono::Utc::now();
    // Throttled on slow@: the step fails to be retried; ana@ is already in the ledger.
    let first = send_report(&store, &mailer, &state, &input, now)
        .await
        .unwrap_err();
    assert!(first.to_string().contains("Throttling"), "{first}");
    // The retry sends to slow@ only, and names the two addresses that cannot be sent to.
    let second = send_report(&store, &mailer, &state, &input, now)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        second.contains("went to 2 of 4 recipients")
            && second.contains("refused@example.com (MessageRejected")
            && second.contains("not one plain email address"),
        "{second}"
    );
    assert_eq!(
        *mailer.sent.lock().unwrap(),
        ["ana@example.com", "slow@example.com"],
        "nobody twice; Ana@ is ana@"
    );
    // Fixed in the config, the redrive sends to nobody who had it.
    input.email.to = ["ana@example.com", "slow@example.com", "cy@example.com"]
        .map(String::from)
        .to_vec();
    let delivery = send_report(&store, &mailer, &state, &input, now)
        .await
        .unwrap();
    assert_eq!(delivery.messages.len(), 3);
    assert!(!delivery.already_sent);
    assert_eq!(
        *mailer.sent.lock().unwrap(),
        ["ana@example.com", "slow@example.com", "cy@example.com"]
    );
    let again = send_report(&store, &mailer, &state, &input, now)
        .await
        .unwrap();
    assert!(again.already_sent);
    assert_eq!(mailer.sent.lock().unwrap().len(), 3);
}

/// The email as a mail client lays it out (headless Chromium, from Debian): nothing wider than
/// its 640 px, no broken image, whatever the data holds.
#[test]
fn the_email_keeps_to_640_px_in_a_browser_whatever_the_data() {
    use daybook_core::config::ChartSpec;
    use daybook_core::ports::QueryResult;
    use daybook_report::SectionData;
    use serde_json::json;
    let long_name = format!("category-{}", "x".repeat(10_000));
    let mut rows = vec![
        vec![json!(long_name), json!(1)],
        vec![json!("nothing"), json!(null)],
    ];
    rows.extend((0..500).map(|i| vec![json!(format!("c{i}")), json!(i)]));
    let mut wide = SectionData::new(
        "500 categories",
        QueryResult {
            columns: vec!["category".into(), "count".into()],
            rows,
        },
    );
    wide.chart = Some(ChartSpec::bar("category", "count"));
    // A trend whose line has a 10,000-character Korean name, and a quadrant of 500 dots.
    let korean = format!("검색 {}", "가".repeat(10_000));
    let mut trend = SectionData::new(
        "Trend",
        QueryResult {
            columns: vec!["day".into(), "series".into(), "queries".into()],
            rows: (1..=21)
                .map(|d| {
                    vec![
                        json!(format!("2026-11-{d:02}")),
                        json!(korean),
                        json!(1000 + d * 13 % 70),
                    ]
                })
                .collect(),
        },
    );
    let mut line = ChartSpec::bar("day", "queries");
    line.kind = daybook_core::config::ChartKind::Line;
    line.series = Some("series".into());
    line.days = Some(28);
    trend.chart = Some(line);
    let mut portfolio = SectionData::new(
        "Portfolio",
        QueryResult {
            columns: vec!["category".into(), "units".into(), "price".into()],
            rows: (0..500)
                .map(|i| {
                    vec![
                        json!(format!("분류 {i}")),
                        json!(i * 7 % 113),
                        json!((i * 31 % 97) as f64 + 0.5),
                    ]
                })
                .collect(),
        },
    );
    let mut quadrant = ChartSpec::bar("category", "price");
    quadrant.kind = daybook_core::config::ChartKind::Quadrant;
    quadrant.x = Some("units".into());
    portfolio.chart = Some(quadrant);
    let data = ReportData {
        name: "daily".into(),
        title: "Daily".into(),
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        job_id: "job-1".into(),
        generated_at: chrono::Utc::now(),
        currency: None,
        sections: vec![wide, trend, portfolio],
    };
    let pictures = daybook_report::pictures::pictures(&data);
    assert_eq!(pictures.len(), 2, "the trend and the quadrant are pictures");
    let dir = tempfile::tempdir().unwrap();
    let mut html = daybook_report::html::render_email(&data, &pictures, true).unwrap();
    // As a mail client does, each cid: is the inline part of that Content-ID.
    for picture in &pictures {
        let png = daybook_report::pictures::draw(&data, picture).unwrap();
        assert!(
            png.len() < 100_000,
            "{} is {} bytes",
            picture.name,
            png.len()
        );
        std::fs::write(dir.path().join(&picture.name), png).unwrap();
        let cid = format!("cid:{}", picture.content_id());
        assert!(html.contains(&cid), "the email shows {cid}");
        html = html.replace(&cid, &picture.name);
    }
    let check = r#"<script>
window.addEventListener('load', () => {
  const email = document.querySelector('table[width="640"]');
  const box = email.getBoundingClientRect();
  const over = [...email.querySelectorAll('td, th, div')]
    .filter(el => el.getBoundingClientRect().right > box.right + 0.5).length;
  const broken = [...document.images].filter(i => !i.complete || i.naturalWidth === 0).length;
  document.body.setAttribute('data-check', JSON.stringify({ over, broken, images: document.images.length, width: Math.round(box.width) }));
});
</script>"#;
    let page = dir.path().join("email.html");
    std::fs::write(&page, html.replace("</body>", &format!("{check}</body>"))).unwrap();
    let output = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            // CI containers give /dev/shm a few MB, which Chromium's renderer can outgrow.
            "--disable-dev-shm-usage",
            "--window-size=700,2000",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium (scripts/test installs it from Debian)");
    let dom = String::from_utf8_lossy(&output.stdout);
    let start = dom
        .find("data-check=\"")
        .unwrap_or_else(|| panic!("the page did not report its layout: {dom:.2000}"))
        + "data-check=\"".len();
    let end = start + dom[start..].find('"').unwrap();
    let result: serde_json::Value =
        serde_json::from_str(&dom[start..end].replace("&quot;", "\"")).unwrap();
    assert_eq!(result["width"], 640, "{result}");
    assert_eq!(result["over"], 0, "elements past 640 px: {result}");
    assert_eq!(result["broken"], 0, "{result}");
    assert_eq!(result["images"], 2, "{result}");
}
