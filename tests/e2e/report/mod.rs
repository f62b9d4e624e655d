//! build-report over a real (local) warehouse: a section whose query fails is built as a
//! problem, not as a missing report; the rest of the report is there.

use daybook_core::config::{ReportDefinition, ReportSection};
use daybook_core::steps::JobContext;
use daybook_core::store::ObjectStore;
use daybook_local::FsStore;
use daybook_local::warehouse::DataFusionWarehouse;
use daybook_report::ReportData;
use daybook_report::build::{BuildInput, build_report};

pub(crate) fn section(title: &str, sql: &str) -> ReportSection {
    ReportSection {
        title: title.into(),
        description: None,
        sql: sql.into(),
        chart: None,
        columns: Default::default(),
        compare: false,
        headline: false,
        history: None,
        unusual: None,
        pivot: None,
    }
}

/// What posts to chats and webhooks, for a send whose destinations are email alone: no
/// secret is there to read.
pub(crate) fn email_only_posting() -> daybook_report::send::Posting<'static> {
    static WEB: std::sync::LazyLock<daybook_core::web::HyperWeb> =
        std::sync::LazyLock::new(daybook_core::web::HyperWeb::new);
    static SECRETS: std::sync::LazyLock<daybook_local::adapters::secrets::FileSecrets> =
        std::sync::LazyLock::new(|| daybook_local::adapters::secrets::FileSecrets {
            dir: std::path::PathBuf::from("/nonexistent/daybook-secrets"),
        });
    daybook_report::send::Posting {
        web: &*WEB,
        secrets: &*SECRETS,
    }
}

/// The build input of a report `daily` of `sections` for job-1 on 2026-11-21.
pub(crate) fn build_input(sections: Vec<ReportSection>) -> BuildInput {
    BuildInput {
        job: JobContext {
            variables: Default::default(),
            job_id: "job-1".into(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        report: ReportDefinition {
            name: "daily".into(),
            title: "Daily".into(),
            currency: None,
            on_problem: Default::default(),
            locale: None,
            sections,
            summary: vec![],
            send_when: Default::default(),
        },
        email: daybook_core::config::EmailConfig::new("reports@example.com", &[], &[]),
        checks: vec![],
        marts: vec![],
    }
}

#[tokio::test]
async fn a_failing_section_query_is_shown_as_a_problem_and_the_rest_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    let warehouse = DataFusionWarehouse::new(dir.path());
    let input = build_input(vec![
        section("Works", "SELECT 1 AS one"),
        section(
            "Broken",
            "SELECT * FROM marts.nowhere WHERE dt = {run_date}",
        ),
    ]);
    let artifacts = build_report(&store, &warehouse, &input, chrono::Utc::now())
        .await
        .unwrap();
    let data: ReportData =
        serde_json::from_slice(&store.get(&artifacts.data_key).await.unwrap()).unwrap();
    let problems = data.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("Broken: the query failed"),
        "{problems:?}"
    );
    // The engine's error names the table: for the run's operators (report.json), not for
    // everyone the report goes to.
    assert!(
        data.problem_details()[0].contains("nowhere"),
        "{:?}",
        data.problem_details()
    );
    let html = String::from_utf8(store.get(&artifacts.html_key).await.unwrap()).unwrap();
    assert!(html.contains("This report has 1 problem"), "{html}");
    assert!(html.contains("Works"));
    assert!(!html.contains("marts.nowhere"), "{html}");
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
    use daybook_report::send::{SendInput, send_report};
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    let warehouse = DataFusionWarehouse::new(dir.path());
    let input = build_input(vec![section("Works", "SELECT 1 AS one")]);
    let job = input.job.clone();
    let artifacts = build_report(&store, &warehouse, &input, chrono::Utc::now())
        .await
        .unwrap();
    let state = daybook_local::state::FileStateStore::new(&dir.path().join("state"));
    let mailer = PickyMailer::default();
    let mut input = SendInput {
        job,
        report: artifacts,
        deliver: vec![daybook_core::config::Destination::Email],
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
        approval: None,
    };
    let now = chrono::Utc::now();
    let posting = crate::report::email_only_posting();
    let send =
        async |input: &SendInput| send_report(&store, &mailer, &posting, &state, input, now).await;
    // Throttled on slow@: the step fails to be retried; ana@ is already in the ledger.
    let first = send(&input).await.unwrap_err();
    assert!(first.to_string().contains("Throttling"), "{first}");
    // The retry sends to slow@ only, and names the two addresses that cannot be sent to.
    let second = send(&input).await.unwrap_err().to_string();
    assert!(
        second.contains("went to 2 of 4 email recipients")
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
    let delivery = send(&input).await.unwrap();
    assert_eq!(delivery.messages.len(), 3);
    assert!(!delivery.already_sent);
    assert_eq!(
        *mailer.sent.lock().unwrap(),
        ["ana@example.com", "slow@example.com", "cy@example.com"]
    );
    let again = send(&input).await.unwrap();
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
        variables: Vec::new(),
        summary: Vec::new(),
        name: "daily".into(),
        title: "Daily".into(),
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        job_id: "job-1".into(),
        generated_at: chrono::Utc::now(),
        currency: None,
        locale: None,
        sections: vec![wide, trend, portfolio],
    };
    let pictures = daybook_report::render::pictures::pictures(&data);
    assert_eq!(pictures.len(), 2, "the trend and the quadrant are pictures");
    let dir = tempfile::tempdir().unwrap();
    let mut html = daybook_report::render::html::render_email(&data, &pictures, true).unwrap();
    // As a mail client does, each cid: is the inline part of that Content-ID.
    for picture in &pictures {
        let png = daybook_report::render::pictures::draw(&data, picture).unwrap();
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
    let result = daybook_tests::chromium::measured_by_page(&page, "data-check", 700, 2000);
    assert_eq!(result["width"], 640, "{result}");
    assert_eq!(result["over"], 0, "elements past 640 px: {result}");
    assert_eq!(result["broken"], 0, "{result}");
    assert_eq!(result["images"], 2, "{result}");
}

/// A report with every kind of part: a trend (a PNG), bars, a stacked bar, the workbook.
fn sections_of_every_kind() -> Vec<ReportSection> {
    use daybook_core::config::{ChartKind, ChartSpec};
    let trend = "SELECT * FROM (VALUES ('2026-11-19', 910.5), ('2026-11-20', 1020.25), ('2026-11-21', 987.0)) AS t(day, revenue)";
    let bars = "SELECT * FROM (VALUES ('소설', 12), ('History', 7)) AS t(category, orders)";
    let parts = "SELECT * FROM (VALUES ('DHL', 'on time', 17), ('DHL', 'late', 7), ('UPS', 'on time', 13)) AS t(carrier, arrival, deliveries)";
    vec![
        ReportSection {
            chart: Some(ChartSpec {
                kind: ChartKind::Line,
                days: Some(7),
                ..ChartSpec::bar("day", "revenue")
            }),
            ..section("Revenue trend", trend)
        },
        ReportSection {
            chart: Some(ChartSpec::bar("category", "orders")),
            ..section("Orders by category", bars)
        },
        ReportSection {
            chart: Some(ChartSpec {
                kind: ChartKind::StackedBar,
                series: Some("arrival".into()),
                ..ChartSpec::bar("carrier", "deliveries")
            }),
            ..section("Deliveries", parts)
        },
    ]
}

/// A report of every kind built and sent to `email` through the local outbox: what it stored,
/// how it was delivered, and the message's bytes.
async fn build_and_send(
    email: daybook_core::config::EmailConfig,
) -> (
    daybook_report::artifacts::ReportArtifacts,
    daybook_report::send::Delivery,
    Vec<u8>,
) {
    use daybook_report::send::{SendInput, send_report};
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    let warehouse = DataFusionWarehouse::new(dir.path());
    let mut input = build_input(sections_of_every_kind());
    input.report.currency = Some("KRW".into());
    input.email = email.clone();
    let job = input.job.clone();
    let artifacts = build_report(&store, &warehouse, &input, chrono::Utc::now())
        .await
        .unwrap();
    let outbox = daybook_local::outbox::OutboxMailer::new(&dir.path().join("outbox"));
    let state = daybook_local::state::FileStateStore::new(&dir.path().join("state"));
    let input = SendInput {
        job,
        report: artifacts.clone(),
        email,
        deliver: vec![daybook_core::config::Destination::Email],
        approval: None,
    };
    let delivery = send_report(
        &store,
        &outbox,
        &crate::report::email_only_posting(),
        &state,
        &input,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let eml = std::fs::read(dir.path().join("outbox").join(&delivery.message_id)).unwrap();
    (artifacts, delivery, eml)
}

/// Reads a `GET` answer from a loopback HTTP server (moto's inspection API).
fn http_get(endpoint: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let host = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default()
}

/// The sent message as a mail client reads it (mail-parser): multipart/mixed of
/// multipart/related (multipart/alternative of text and HTML, then the PNGs by Content-ID) and
/// the workbook; every `cid:` resolves, the PNGs decode, the workbook reads back with a chart
/// per chart section. Then moto's SESv2 receives the outbox's bytes as they are.
#[tokio::test]
async fn the_sent_report_parses_as_a_mail_client_reads_it_and_ses_gets_it_byte_for_byte() {
    use daybook_core::config::EmailConfig;
    use mail_parser::{MessageParser, MimeHeaders, PartType};
    let mut email = EmailConfig::new(
        "reports@daybook.example",
        &["ana@example.com", "bo@example.com"],
        &[],
    );
    email.cc = vec!["cy@example.com".into()];
    email.bcc = vec!["secret@example.com".into()];
    email.subject = "일일 보고서 — {date}".into();
    let (artifacts, delivery, eml) = build_and_send(email).await;
    assert_eq!(artifacts.pictures.len(), 1, "the trend is a picture");
    assert_eq!(delivery.messages.len(), 4, "To, Cc and Bcc each get a copy");

    let message = MessageParser::default()
        .parse(&eml)
        .expect("a MIME message");
    assert_eq!(message.subject(), Some("일일 보고서 — Sat 2026-11-21"));
    let raw = String::from_utf8_lossy(&eml);
    assert!(
        raw.contains("Cc: <cy@example.com>") && !raw.contains("secret@example.com"),
        "Cc is shown, Bcc is not"
    );
    let root = &message.parts[0];
    let kind = |part: &mail_parser::MessagePart<'_>| {
        let t = part.content_type().unwrap();
        format!(
            "{}/{}",
            t.c_type,
            t.c_subtype.as_deref().unwrap_or_default()
        )
    };
    assert_eq!(kind(root), "multipart/mixed");
    let PartType::Multipart(children) = &root.body else {
        panic!("the root has parts")
    };
    let related = &message.parts[children[0] as usize];
    assert_eq!(kind(related), "multipart/related");
    let attachment = &message.parts[children[1] as usize];
    assert_eq!(
        kind(attachment),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let PartType::Multipart(inside) = &related.body else {
        panic!("related has parts")
    };
    let alternative = &message.parts[inside[0] as usize];
    assert_eq!(kind(alternative), "multipart/alternative");
    let text = message.body_text(0).expect("a text part");
    assert!(
        text.contains("Revenue trend") && text.contains("file://"),
        "{text}"
    );
    let html = message.body_html(0).expect("an HTML part");
    let cids: Vec<&str> = html
        .split("src=\"cid:")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(cids.len(), 1, "{html}");
    for cid in cids {
        let picture = inside[1..]
            .iter()
            .map(|i| &message.parts[*i as usize])
            .find(|p| p.content_id() == Some(cid))
            .unwrap_or_else(|| panic!("no part has Content-ID {cid}"));
        assert_eq!(kind(picture), "image/png");
        let mut reader = png::Decoder::new(std::io::Cursor::new(picture.contents()))
            .read_info()
            .expect("the picture is a PNG");
        let mut pixels = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(
            (frame.width, frame.height),
            (
                2 * daybook_report::render::picture::SHOWN_WIDTH,
                2 * daybook_report::render::picture::SHOWN_HEIGHT
            ),
            "twice its shown size"
        );
    }
    let mut workbook =
        zip::ZipArchive::new(std::io::Cursor::new(attachment.contents().to_vec())).unwrap();
    let names: Vec<String> = workbook
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .collect();
    let charts = names
        .iter()
        .filter(|n| n.starts_with("xl/charts/chart"))
        .count();
    assert_eq!(charts, 3, "a native chart per chart section: {names:?}");
    let mut sheet = String::new();
    std::io::Read::read_to_string(
        &mut workbook.by_name("xl/worksheets/sheet2.xml").unwrap(),
        &mut sheet,
    )
    .unwrap();
    assert!(sheet.contains("<pane"), "a frozen header");

    // SES receives the outbox's bytes as they are.
    let moto = daybook_tests::MotoServer::start();
    let config = crate::aws_moto::sdk_config(&moto).await;
    let sesv2 = aws_sdk_sesv2::Client::new(&config);
    sesv2
        .create_email_identity()
        .email_identity("reports@daybook.example")
        .send()
        .await
        .unwrap();
    let mailer = daybook_aws::ses_mailer::SesMailer::new(sesv2);
    let envelope = daybook_core::ports::Envelope {
        from: "reports@daybook.example".into(),
        to: vec!["ana@example.com".into()],
        configuration_set: None,
        tags: vec![("daybook_job".into(), "job-1".into())],
    };
    let id = daybook_core::ports::Mailer::send_raw(&mailer, &envelope, eml.clone())
        .await
        .unwrap();
    let data: serde_json::Value =
        serde_json::from_str(&http_get(&moto.endpoint, "/moto-api/data.json")).unwrap();
    let received = data["ses"]["RawMessage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id.as_str())
        .expect("moto kept the message");
    assert!(
        received["raw_data"].as_str().unwrap().as_bytes() == eml.as_slice(),
        "SES got other bytes than the outbox holds"
    );
}

pub(crate) mod chat;
mod delivery;
mod phone;
