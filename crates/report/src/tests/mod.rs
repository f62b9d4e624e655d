//! What a reader sees: labels and formats in every rendering, problems that cannot look
//! right, and an email that Gmail does not clip.

use crate::model::data::{ReportData, SectionData};
use daybook_core::config::{ChartSpec, ColumnDisplay, ValueFormat};
use daybook_core::ports::QueryResult;
use serde_json::{Value, json};
use std::io::Read;

fn result(columns: &[&str], rows: Vec<Vec<Value>>) -> QueryResult {
    QueryResult {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
    }
}

fn report(sections: Vec<SectionData>) -> ReportData {
    ReportData {
        variables: Vec::new(),
        summary: Vec::new(),
        name: "daily".into(),
        title: "Daily".into(),
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        job_id: "job-1".into(),
        generated_at: chrono::Utc::now(),
        currency: Some("USD".into()),
        locale: None,
        sections,
    }
}

fn chart(category: &str, value: &str) -> Option<ChartSpec> {
    Some(ChartSpec::bar(category, value))
}

/// The workbook's parts by name, as text.
fn workbook_parts(bytes: &[u8]) -> Vec<(String, String)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut text = String::new();
            file.read_to_string(&mut text).unwrap();
            (file.name().unwrap().to_string(), text)
        })
        .collect()
}

fn headline() -> SectionData {
    let mut section = SectionData::new(
        "Headline figures",
        result(
            &["queries", "zero_result_rate", "revenue", "avg_results"],
            vec![vec![json!(12345), json!(0.002), json!(1683), json!(4.25)]],
        ),
    );
    section.columns.insert(
        "revenue".into(),
        ColumnDisplay {
            label: Some("Revenue".into()),
            format: Some(ValueFormat::Money),
            higher_is_better: None,
            private: false,
        },
    );
    section
}

#[test]
fn labels_and_formats_reach_the_email_the_text_and_the_workbook() {
    let data = report(vec![headline()]);
    let html = crate::render::html::render_email(&data, &[], true).unwrap();
    for expected in [
        "Zero result rate",
        "0.2%",
        "$1,683.00",
        "12,345",
        "Average results",
        "4.25",
    ] {
        assert!(html.contains(expected), "the email lacks {expected}");
    }
    assert!(!html.contains("zero_result_rate"));
    let text = crate::render::text::render_text(&data, true);
    assert!(
        text.contains("Zero result rate") && text.contains("0.2%"),
        "{text}"
    );

    let parts = workbook_parts(&crate::render::xlsx::render_workbook(&data).unwrap());
    let part = |name: &str| {
        parts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let workbook = part("xl/workbook.xml");
    assert!(
        workbook.find("Summary").unwrap() < workbook.find("Headline figures").unwrap(),
        "the summary sheet comes first"
    );
    let strings = part("xl/sharedStrings.xml");
    assert!(strings.contains("Zero result rate") && strings.contains("Revenue"));
    let styles = part("xl/styles.xml");
    for format in ["0.0%", "&quot;$&quot;#,##0.00", "#,##0"] {
        assert!(
            styles.contains(format),
            "no number format {format} in {styles}"
        );
    }
    // Numbers are numbers in the sheet, not text.
    let sheet = part("xl/worksheets/sheet2.xml");
    assert!(
        sheet.contains("<v>0.002</v>") && sheet.contains("<v>1683</v>"),
        "{sheet}"
    );
}

#[test]
fn an_empty_or_flat_chart_and_a_failed_query_are_problems_never_empty_pictures() {
    let mut empty = SectionData::new("Top keywords", result(&["keyword", "searches"], vec![]));
    empty.chart = chart("keyword", "searches");
    let mut flat = SectionData::new(
        "Late deliveries",
        result(
            &["carrier", "late_rate"],
            vec![vec![json!("A"), json!(0)], vec![json!("B"), json!(0.0)]],
        ),
    );
    flat.chart = chart("carrier", "late_rate");
    let mut failed = SectionData::new("Sales", QueryResult::default());
    failed.error = Some("relation marts.sales does not exist".into());
    let data = report(vec![headline(), empty, flat, failed]);

    let problems = data.problems();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("no rows to chart"), "{problems:?}");
    assert!(problems[1].contains("every late_rate is 0"), "{problems:?}");
    // Recipients read that the query failed; its error and SQL are for the run's operators.
    assert!(problems[2].contains("the query failed"), "{problems:?}");
    assert!(!problems[2].contains("marts.sales"), "{problems:?}");
    assert!(
        data.problem_details()[2].contains("relation marts.sales does not exist"),
        "operators get the error"
    );
    let html = crate::render::html::render_email(&data, &[], true).unwrap();
    assert!(html.contains("This report has 3 problems"), "{html}");
    assert!(
        !html.contains("marts.sales"),
        "no engine error reaches recipients"
    );
    assert!(
        html.contains("$1,683.00"),
        "the sections that work are still shown"
    );
    let text = crate::render::text::render_text(&data, true);
    assert!(text.contains("3 problem(s)"), "{text}");
    assert!(!text.contains("marts.sales"), "{text}");
    let parts = workbook_parts(&crate::render::xlsx::render_workbook(&data).unwrap());
    assert!(
        !parts.iter().any(|(_, text)| text.contains("marts.sales")),
        "nor the workbook"
    );
    assert!(
        !parts.iter().any(|(name, _)| name.starts_with("xl/charts/")),
        "no chart is drawn from an empty or flat series"
    );
}

#[test]
fn a_long_report_stays_under_gmails_clipping_and_says_where_the_rest_is() {
    let rows: Vec<Vec<Value>> = (0..5000)
        .map(|i| {
            vec![
                json!(format!("a fairly long category name number {i}")),
                json!(i),
            ]
        })
        .collect();
    let sections = (0..8)
        .map(|n| {
            let mut section = SectionData::new(
                format!("Section {n}"),
                result(&["category", "count"], rows.clone()),
            );
            section.chart = chart("category", "count");
            section
        })
        .collect();
    let data = report(sections);
    let html = crate::render::html::render_email(&data, &[], true).unwrap();
    assert!(
        html.len() <= crate::render::html::EMAIL_HTML_BYTES,
        "{} bytes",
        html.len()
    );
    assert!(
        html.contains(&format!(
            "of 5000 rows; the <a href=\"{}\" style=\"color:#1d4ed8;\">full report</a> and the workbook have them all",
            crate::render::html::FULL_REPORT_LINK
        )),
        "the email says where the other rows are"
    );
}

#[test]
fn a_hundred_thousand_row_section_is_written_whole() {
    let rows: Vec<Vec<Value>> = (0..100_000)
        .map(|i| {
            vec![
                json!(format!("item {i}")),
                json!(i),
                json!(i as f64 / 100_000.0),
            ]
        })
        .collect();
    let data = report(vec![SectionData::new(
        "Everything",
        result(&["item", "count", "share"], rows),
    )]);
    let started = std::time::Instant::now();
    let bytes = crate::render::xlsx::render_workbook(&data).unwrap();
    let elapsed = started.elapsed();
    let parts = workbook_parts(&bytes);
    let sheet = &parts
        .iter()
        .find(|(n, _)| n == "xl/worksheets/sheet2.xml")
        .unwrap()
        .1;
    assert!(sheet.contains("<row r=\"100001\""), "the last row is there");
    eprintln!("100,000 rows × 3 columns to xlsx in {elapsed:?} (debug build)");
}

#[test]
fn compared_sections_show_moves_in_headline_tiles_cells_and_text() {
    let mut headline = headline();
    headline.headline = true;
    headline.previous_day = Some(result(
        &["queries", "zero_result_rate", "revenue", "avg_results"],
        vec![vec![json!(10000), json!(0.006), json!(1683), json!(4.0)]],
    ));
    headline.previous_week = Some(result(
        &["queries", "zero_result_rate", "revenue", "avg_results"],
        vec![vec![json!(13000), json!(0.002), json!(1500), json!(4.25)]],
    ));
    let mut categories = SectionData::new(
        "Sales by category",
        result(
            &["category", "revenue"],
            vec![
                vec![json!("Comics"), json!(110)],
                vec![json!("Travel"), json!(50)],
            ],
        ),
    );
    categories.columns.insert(
        "revenue".into(),
        ColumnDisplay {
            label: None,
            format: Some(ValueFormat::Money),
            higher_is_better: None,
            private: false,
        },
    );
    // Rows match by category, whatever their order the day before.
    categories.previous_day = Some(result(
        &["category", "revenue"],
        vec![
            vec![json!("Travel"), json!(100)],
            vec![json!("Comics"), json!(100)],
        ],
    ));
    let data = report(vec![headline, categories]);
    let html = crate::render::html::render_email(&data, &[], true).unwrap();
    for expected in [
        "▲ 23.4% vs day before",  // queries 10,000 → 12,345
        "▼ 5.0% vs last Sat",     // queries 13,000 → 12,345
        "▼ 0.4 pt vs day before", // zero results 0.6% → 0.2%: points, not percent
        "= 0.0 pt vs last Sat",
        "▲ 10.0%", // Comics 100 → 110
        "▼ 50.0%", // Travel 100 → 50
    ] {
        assert!(html.contains(expected), "the email lacks {expected}");
    }
    let text = crate::render::text::render_text(&data, true);
    assert!(
        text.contains("Queries: 12,345 (▲ 23.4% vs day before, ▼ 5.0% vs last week)"),
        "{text}"
    );
}

#[test]
fn a_section_without_rows_disagrees_with_a_mart_that_has_them() {
    use crate::build::empty_despite_mart;
    use daybook_core::ports::MartRun;
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let built = |mart: &str, rows: u64, dt: chrono::NaiveDate| MartRun {
        mart: mart.into(),
        dt,
        rows,
        location: String::new(),
    };
    let sql = "SELECT day, revenue FROM marts.daily_sales WHERE dt = {run_date} AND 1 = 0";
    let why = empty_despite_mart(sql, &[built("daily_sales", 28, date)], date).unwrap();
    assert!(
        why.contains("mart daily_sales holds 28 rows for 2026-11-21"),
        "{why}"
    );
    // No rows in the mart, another day's build, or another mart whose name starts the same:
    // nothing to disagree with.
    assert!(empty_despite_mart(sql, &[built("daily_sales", 0, date)], date).is_none());
    let before = date.pred_opt().unwrap();
    assert!(empty_despite_mart(sql, &[built("daily_sales", 28, before)], date).is_none());
    assert!(empty_despite_mart(sql, &[built("daily", 5, date)], date).is_none());
}

#[test]
fn dates_read_in_the_reports_locale_in_the_email_and_the_workbook() {
    use crate::model::display::{Conventions, Locale, excel_format, format_value};
    let day = json!("2026-11-21");
    let read = |locale| {
        format_value(
            &day,
            ValueFormat::Date,
            Conventions {
                currency: None,
                locale,
            },
        )
    };
    assert_eq!(read(Locale::Iso), "2026-11-21");
    assert_eq!(read(Locale::EnUs), "Nov 21, 2026");
    assert_eq!(read(Locale::EnGb), "21 Nov 2026");
    assert_eq!(read(Locale::DeDe), "21.11.2026");
    assert_eq!(read(Locale::KoKr), "2026. 11. 21.");
    assert_eq!(
        format_value(&json!("not a date"), ValueFormat::Date, None),
        "not a date"
    );
    let ko = Conventions {
        currency: None,
        locale: Locale::KoKr,
    };
    assert_eq!(
        excel_format(ValueFormat::Date, ko).as_deref(),
        Some("yyyy. m. d.")
    );
    let definition: daybook_core::config::ReportDefinition = serde_json::from_value(json!({
        "name": "daily", "title": "Daily", "locale": "ko-KR", "sections": []
    }))
    .unwrap();
    assert_eq!(definition.locale, Some(Locale::KoKr));
    let unknown = serde_json::from_value::<daybook_core::config::ReportDefinition>(json!({
        "name": "daily", "title": "Daily", "locale": "xx-YY", "sections": []
    }))
    .unwrap_err()
    .to_string();
    assert!(
        unknown.contains("ko-KR"),
        "the error lists the locales: {unknown}"
    );
}

#[test]
fn every_ses_tag_is_one_ses_accepts() {
    // SESv2 MessageTag: names and values of ASCII letters, digits, `_` and `-`, at most 256.
    let accepted = |s: &str| {
        !s.is_empty()
            && s.len() <= 256
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    };
    let mut email = daybook_core::config::EmailConfig::new(
        "r@daybook.example",
        &["a@x.example"],
        &["b@x.example"],
    );
    email
        .tags
        .insert("cost.centre".into(), "data team/é".into());
    let envelope = crate::artifacts::envelope(&email, "daily.v2", "20261121-060000.rerun");
    assert_eq!(envelope.tags.len(), 3);
    for (name, value) in &envelope.tags {
        assert!(accepted(name) && accepted(value), "{name}={value}");
    }
    assert!(
        envelope
            .tags
            .contains(&("daybook_job".into(), "20261121-060000_rerun".into()))
    );
}

#[test]
fn a_value_longer_than_excel_takes_is_cut_in_every_rendering_never_fatal() {
    // A search keyword of 40,000 characters, charted: its cell and its chart category.
    let keyword = format!("dune {}", "x".repeat(40_000));
    let mut section = SectionData::new(
        "Top search keywords",
        result(
            &["keyword", "searches"],
            vec![
                vec![json!(keyword), json!(3)],
                vec![json!("emma"), json!(1)],
            ],
        ),
    );
    section.chart = chart("keyword", "searches");
    let mut titles = Vec::new();
    for title in ["'Quoted", "Ärger", "ärger", "History"] {
        titles.push(SectionData::new(
            title,
            result(&["n"], vec![vec![json!(1)]]),
        ));
    }
    let mut sections = vec![section];
    sections.extend(titles);
    let data = report(sections);
    let bytes = crate::render::xlsx::render_workbook(&data).unwrap();
    let parts = workbook_parts(&bytes);
    let strings = &parts
        .iter()
        .find(|(n, _)| n == "xl/sharedStrings.xml")
        .unwrap()
        .1;
    assert!(
        strings.contains("[cut: 40005 characters, Excel keeps 32767]"),
        "the cut is marked"
    );
    let workbook = &parts
        .iter()
        .find(|(n, _)| n == "xl/workbook.xml")
        .unwrap()
        .1;
    for name in [
        "\"Quoted\"",
        "\"Ärger\"",
        "\"ärger 2\"",
        "\"History (section)\"",
    ] {
        assert!(workbook.contains(name), "{name} in {workbook}");
    }
    crate::render::html::render_email(&data, &[], true).unwrap();
    crate::render::text::render_text(&data, true);
}

#[test]
fn control_characters_and_bidi_overrides_in_data_are_shown_never_obeyed() {
    let data = report(vec![SectionData::new(
        "Top search keywords",
        result(
            &["keyword", "searches"],
            vec![vec![
                json!(
                    "dune\r\nApprove: https://evil.example/\u{1b}[2J\u{7}\u{0}invoice\u{202E}gpj.exe"
                ),
                json!(3),
            ]],
        ),
    )]);
    let text = crate::render::text::render_text(&data, true);
    let html = crate::render::html::render_email(&data, &[], true).unwrap();
    for (what, body) in [("text", &text), ("html", &html)] {
        assert!(
            !body.contains("\nApprove: https://evil"),
            "{what}: a line of its own"
        );
        for c in ['\u{1b}', '\u{7}', '\u{0}', '\u{202E}'] {
            assert!(!body.contains(c), "{what} holds {c:?}");
        }
        assert!(body.contains("dune␍␊Approve:"), "{what}");
        assert!(body.contains("␛[2J␇␀invoice\u{FFFD}gpj.exe"), "{what}");
    }
    let decision = crate::approval::Decision::new(
        false,
        "ana@example.com",
        Some("\u{1b}[2J\u{1b}[H✔ Approved and sent to everyone"),
        "CLI",
        chrono::Utc::now(),
    )
    .unwrap();
    assert_eq!(
        decision.comment.as_deref(),
        Some("␛[2J␛[H✔ Approved and sent to everyone")
    );
    assert!(!decision.reason.contains('\u{1b}'), "{}", decision.reason);
}

#[test]
fn a_cell_holding_the_link_placeholder_is_not_taken_for_the_link() {
    let lookalike = "https://daybook.invalid/link/report";
    let data = report(vec![SectionData::new(
        "Pages",
        result(&["page"], vec![vec![json!(lookalike)]]),
    )]);
    let html = crate::render::html::render_email(&data, &[], true).unwrap();
    let text = crate::render::text::render_text(&data, true);
    for body in [&html, &text] {
        let filled = body.replace(
            crate::render::html::FULL_REPORT_LINK,
            "https://real.example/report",
        );
        assert!(
            filled.contains("https://real.example/report"),
            "the real link is filled in"
        );
        // In HTML the cell's slashes are escaped: its host is what stays.
        assert!(
            filled.contains("daybook.invalid"),
            "the cell keeps its own text"
        );
    }
}

#[test]
fn every_way_of_deciding_checks_who_and_the_comment_in_one_place() {
    use crate::approval::{Decision, DecisionInputError, MAX_COMMENT_CHARS};
    let decide = |by: &str, comment: Option<&str>| {
        Decision::new(true, by, comment, "CLI", chrono::Utc::now()).map(|d| d.by)
    };
    assert_eq!(
        decide("  ana@example.com ", None),
        Ok("ana@example.com".into())
    );
    assert_eq!(decide("", None), Err(DecisionInputError::By));
    assert_eq!(decide("   ", None), Err(DecisionInputError::By));
    assert_eq!(decide("ana\r\nBcc: x", None), Err(DecisionInputError::By));
    assert_eq!(decide(&"a".repeat(201), None), Err(DecisionInputError::By));
    let long = "x".repeat(MAX_COMMENT_CHARS + 1);
    assert_eq!(
        decide("ana", Some(&long)),
        Err(DecisionInputError::LongComment(MAX_COMMENT_CHARS + 1))
    );
    assert!(decide("ana", Some(&"x".repeat(MAX_COMMENT_CHARS))).is_ok());
}

mod reading;
