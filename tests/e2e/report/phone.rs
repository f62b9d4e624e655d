//! The demo's email as its readers get it every morning, laid out by headless Chromium (from
//! Debian) at a phone's 390 px and a desktop's 1,000 px: nothing wider than the screen, no
//! number, date or word broken across two lines, every picture shown and no wider than the
//! screen, its text no smaller than 11 CSS px; and no customer's email address anywhere in it, the workbook included (the demo marks
//! that column private).

use mail_parser::{MessageParser, MimeHeaders};
use serde_json::Value;
use std::path::Path;

/// Measures the page it is put in: the document's width against the screen's, each word that
/// lies on two lines (a token over 20 characters, a URL or a hash, may break), the pictures.
const MEASURE: &str = r#"<script>
window.addEventListener('load', () => {
  const root = document.documentElement;
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const word of node.textContent.matchAll(/\S+/g)) {
      if (word[0].length > 20) continue;
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (lines.size > 1) broken.push(word[0]);
    }
  }
  const images = [...document.images].map(i => i.complete ? Math.round(i.getBoundingClientRect().width) : 0);
  document.body.setAttribute('data-layout', JSON.stringify({ screen: root.clientWidth, page: root.scrollWidth, broken, images }));
});
</script>"#;

/// The email's HTML with each `cid:` picture written beside it, as a mail client shows it.
fn email_page(eml: &[u8], dir: &Path) -> std::path::PathBuf {
    let message = MessageParser::default().parse(eml).expect("a MIME message");
    let mut html = message.body_html(0).expect("an HTML part").into_owned();
    for part in &message.parts {
        if let Some(cid) = part.content_id() {
            let name = format!("{}.png", cid.replace(['@', '.'], "_"));
            std::fs::write(dir.join(&name), part.contents()).unwrap();
            html = html.replace(&format!("cid:{cid}"), &name);
        }
    }
    let page = dir.join("email.html");
    std::fs::write(&page, html.replace("</body>", &format!("{MEASURE}</body>"))).unwrap();
    page
}

/// The page laid out in a frame `width` CSS px wide (headless Chromium's window has a minimum
/// width above a phone's, a frame has none), and what it measured.
fn layout(page: &Path, width: u32) -> Value {
    let dir = page.parent().unwrap();
    let frame = dir.join(format!("frame-{width}.html"));
    std::fs::write(
        &frame,
        format!(
            r#"<html><body style="margin:0"><iframe id="mail" src="{}" width="{width}" height="9000" style="border:0;display:block"></iframe>
<script>document.getElementById('mail').addEventListener('load', () => setTimeout(() =>
  document.body.setAttribute('data-layout', document.getElementById('mail').contentDocument.body.getAttribute('data-layout')), 200));</script></body></html>"#,
            page.file_name().unwrap().to_string_lossy()
        ),
    )
    .unwrap();
    daybook_tests::chromium::measured_by_page(&frame, "data-layout", 1100, 2000)
}

#[tokio::test]
async fn the_demo_email_reads_whole_on_a_phone_and_on_a_desktop() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = daybook_local::demo::run_demo(
        &crate::local_pipeline::options(dir.path(), "job-phone", false),
        std::sync::Arc::new(|_: &daybook_asl::RunEvent| {}),
    )
    .await
    .unwrap();
    let shown = tempfile::tempdir().unwrap();
    let eml = std::fs::read(outcome.email.as_ref().unwrap()).unwrap();
    let page = email_page(&eml, shown.path());
    // The shop's customers are u000001@example.com, …: in the lake, never in the email.
    let message = MessageParser::default().parse(&eml).unwrap();
    let mut everything = vec![
        message.body_html(0).unwrap().into_owned(),
        message.body_text(0).unwrap().into_owned(),
    ];
    for part in &message.parts {
        if let Ok(mut workbook) = zip::ZipArchive::new(std::io::Cursor::new(part.contents())) {
            for i in 0..workbook.len() {
                let mut text = String::new();
                let _ =
                    std::io::Read::read_to_string(&mut workbook.by_index(i).unwrap(), &mut text);
                everything.push(text);
            }
        }
    }
    assert!(everything.len() > 2, "the workbook is attached");
    for text in &everything {
        assert!(
            !text.contains("@example.com"),
            "a customer's address is sent"
        );
    }
    assert!(
        everything[0].contains("u•••"),
        "the column is there, masked"
    );
    // A first run has one day: the 30-day counts say they are short, not pass for real ones.
    assert!(
        everything[1].contains("Not enough history yet: the warehouse holds 1 of the 30 days")
            && everything[0].contains("Not enough history yet"),
        "the active visitors say their history is short"
    );
    for width in [390, 1000] {
        let measured = layout(&page, width);
        let screen = measured["screen"].as_u64().unwrap();
        assert!(
            screen <= u64::from(width) && screen + 20 >= u64::from(width),
            "{width}: {measured}"
        );
        assert_eq!(
            measured["page"], screen,
            "{width} px: nothing is wider than the screen: {measured}"
        );
        assert_eq!(
            measured["broken"],
            serde_json::json!([]),
            "{width} px: no word or number on two lines"
        );
        let images = measured["images"].as_array().unwrap();
        assert!(!images.is_empty(), "{measured}");
        for image in images {
            let shown = image.as_u64().unwrap();
            assert!(shown > 200 && shown <= screen, "{width} px: {measured}");
            // The picture is drawn for SHOWN_WIDTH px with its smallest text at SMALLEST_TEXT
            // px; Chromium shows it `shown` px wide.
            let text = shown as f64 / f64::from(daybook_report::render::picture::SHOWN_WIDTH)
                * f64::from(daybook_report::render::picture::SMALLEST_TEXT);
            assert!(
                text >= 11.0,
                "{width} px: a chart's text reads {text:.1} CSS px, under 11: {measured}"
            );
        }
    }
}
