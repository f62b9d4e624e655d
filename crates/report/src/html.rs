use crate::data::{ReportData, format_cell};
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

#[derive(Serialize)]
struct Section {
    title: String,
    description: Option<String>,
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
    total_rows: usize,
    truncated: bool,
    bars: Vec<Bar>,
}

/// The report as HTML that mail clients render: tables, inline styles, no script, and bar
/// charts drawn with table cells so they show even where images are blocked.
pub fn render_report(report: &ReportData, banner: Option<&str>) -> Result<String> {
    let sections: Vec<Section> = report
        .sections
        .iter()
        .map(|section| {
            let columns = section
                .result
                .columns
                .iter()
                .enumerate()
                .map(|(i, name)| Column {
                    name: name.clone(),
                    numeric: section.is_numeric(i),
                })
                .collect();
            let points = section.chart_points();
            let max = points.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
            let bars = points
                .iter()
                .take(EMAIL_ROWS)
                .map(|(label, value)| Bar {
                    label: label.clone(),
                    value: format_cell(&serde_json::json!(value)),
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
                columns,
                rows: section
                    .result
                    .rows
                    .iter()
                    .take(EMAIL_ROWS)
                    .map(|r| r.iter().map(format_cell).collect())
                    .collect(),
                total_rows: section.result.rows.len(),
                truncated: section.result.rows.len() > EMAIL_ROWS,
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
                sections => sections,
            })
        })
        .map_err(|e| ReportError::Render {
            what: format!("report {}", report.name),
            message: e.to_string(),
        })
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
