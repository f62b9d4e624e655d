use crate::data::ReportData;
use crate::display;
use crate::{ReportError, Result};
use minijinja::{Environment, context};
use serde::Serialize;

/// The templates, compiled in so a Lambda needs no files beside its binary.
const REPORT_TEMPLATE: &str = include_str!("../../../templates/report.html");
const APPROVAL_TEMPLATE: &str = include_str!("../../../templates/approval.html");

/// Rows shown per table in the email; the workbook carries them all.
pub const EMAIL_ROWS: usize = 25;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.add_template("report.html", REPORT_TEMPLATE)
        .expect("report.html is a valid template");
    env.add_template("approval.html", APPROVAL_TEMPLATE)
        .expect("approval.html is a valid template");
    env
}

#[derive(Serialize)]
struct Column {
    name: String,
    numeric: bool,
}

#[derive(Serialize)]
struct Bar {
    label: String,
    value: String,
    percent: u32,
}

/// Tiles per line of the email (each about 200 px wide).
const TILES_PER_ROW: usize = 3;

#[derive(Serialize)]
struct Section {
    title: String,
    description: Option<String>,
    problem: Option<String>,
    columns: Vec<Column>,
    rows: Vec<Vec<display::Shown>>,
    compared: bool,
    total_rows: usize,
    truncated: bool,
    bars: Vec<Bar>,
}

/// The report as HTML that mail clients render: tables, inline styles, no script, and bar
/// charts drawn with table cells so they show even where images are blocked.
pub fn render_report(report: &ReportData, banner: Option<&str>) -> Result<String> {
    render_rows(report, banner, EMAIL_ROWS)
}

fn render_rows(report: &ReportData, banner: Option<&str>, shown: usize) -> Result<String> {
    let currency = report.currency.as_deref();
    let sections: Vec<Section> = report
        .sections
        .iter()
        .map(|section| {
            let views = display::columns(section, currency);
            let value_format = section
                .chart
                .as_ref()
                .and_then(|c| views.iter().find(|v| v.name.eq_ignore_ascii_case(&c.value)))
                .map(|v| v.format)
                .unwrap_or(daybook_core::config::ValueFormat::Decimal);
            let points = section.chart_points();
            let max = points.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
            let bars = points
                .iter()
                .take(shown)
                .map(|(label, value)| Bar {
                    label: clip(label, BAR_LABEL_CHARS),
                    value: display::format_value(&serde_json::json!(value), value_format, currency),
                    percent: if max > 0.0 {
                        ((value / max) * 100.0).round().max(1.0) as u32
                    } else {
                        1
                    },
                })
                .collect();
            Section {
                title: section.title.clone(),
                description: section.description.clone(),
                problem: section.problem(),
                columns: views
                    .iter()
                    .map(|v| Column {
                        name: v.label.clone(),
                        numeric: v.numeric(),
                    })
                    .collect(),
                rows: section
                    .result
                    .rows
                    .iter()
                    .take(shown)
                    .enumerate()
                    .map(|(r, row)| {
                        row.iter()
                            .zip(&views)
                            .enumerate()
                            .map(|(c, _)| {
                                let mut shown = display::shown(section, &views, r, c, currency);
                                shown.text = clip(&shown.text, CELL_CHARS);
                                shown
                            })
                            .collect()
                    })
                    .collect(),
                compared: section.previous_day.is_some() || section.previous_week.is_some(),
                total_rows: section.result.rows.len(),
                truncated: section.result.rows.len() > shown,
                bars,
            }
        })
        .collect();
    environment()
        .get_template("report.html")
        .and_then(|t| {
            t.render(context! {
                title => report.title,
                date => report.date.to_string(),
                job_id => report.job_id,
                generated_at => report.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                banner => banner,
                problems => report.problems(),
                tile_rows => display::headline(report).chunks(TILES_PER_ROW).map(<[display::Shown]>::to_vec).collect::<Vec<_>>(),
                sections => sections,
            })
        })
        .map_err(|e| ReportError::Render {
            what: format!("report {}", report.name),
            message: e.to_string(),
        })
}

/// Longest text shown in a table cell or beside a bar: a long unbroken name (a URL, a pasted
/// query) would widen the email past 640 px in clients that ignore CSS word breaking. The
/// workbook keeps the whole text.
const CELL_CHARS: usize = 80;
const BAR_LABEL_CHARS: usize = 40;

/// `text` cut to `chars` characters, ending in `…` when cut.
fn clip(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// Gmail clips an HTML part past about 102 KB, hiding the rest behind a link. The email keeps
/// under this by showing fewer rows per table (the workbook has them all).
pub const EMAIL_HTML_BYTES: usize = 95_000;

/// The report for an email: as [`render_report`], with fewer rows per table if that is what
/// it takes to stay under [`EMAIL_HTML_BYTES`].
pub fn render_email(report: &ReportData, banner: Option<&str>) -> Result<String> {
    let mut shown = EMAIL_ROWS;
    loop {
        let html = render_rows(report, banner, shown)?;
        if html.len() <= EMAIL_HTML_BYTES || shown <= 3 {
            return Ok(html);
        }
        shown = (shown * 4 / 5).max(3);
    }
}

/// The email asking approvers to let the report go.
pub fn render_approval(
    report: &ReportData,
    recipients: &[String],
    facts: &[String],
) -> Result<String> {
    environment()
        .get_template("approval.html")
        .and_then(|t| {
            t.render(context! {
                title => report.title,
                date => report.date.to_string(),
                job_id => report.job_id,
                recipients => recipients,
                facts => facts,
            })
        })
        .map_err(|e| ReportError::Render {
            what: format!("approval email for {}", report.name),
            message: e.to_string(),
        })
}
