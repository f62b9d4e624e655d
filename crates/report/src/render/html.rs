use crate::model::chart::Plot;
use crate::model::data::{ReportData, SectionKind};
use crate::model::display::{self, clip};
use crate::render::pictures::Picture;
use crate::{ReportError, Result};
use daybook_core::config::{ChartKind, ValueFormat};
use minijinja::{Environment, context};
use serde::Serialize;

/// The templates, compiled in so a Lambda needs no files beside its binary.
const REPORT_TEMPLATE: &str = include_str!("../../../../templates/report.html");
const APPROVAL_TEMPLATE: &str = include_str!("../../../../templates/approval.html");
const APPROVAL_PAGE_TEMPLATE: &str = include_str!("../../../../templates/approval-page.html");

/// Most rows shown per table in the email; the full report and the workbook carry them all.
pub const EMAIL_ROWS: usize = 25;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.add_template("report.html", REPORT_TEMPLATE)
        .expect("report.html is a valid template");
    env.add_template("approval.html", APPROVAL_TEMPLATE)
        .expect("approval.html is a valid template");
    env.add_template("approval-page.html", APPROVAL_PAGE_TEMPLATE)
        .expect("approval-page.html is a valid template");
    env.add_filter("whole_numbers", whole_numbers);
    env
}

/// Text as HTML in which every token holding a digit (a number, a date, an amount) stays on one
/// line: a narrow column wraps the words around it instead of breaking `2026-12-06` at a hyphen
/// or `$25,108.93` at its point.
fn whole_numbers(text: &str) -> minijinja::Value {
    let escape = |s: &str| minijinja::HtmlEscape(s).to_string();
    let mut html = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while !rest.is_empty() {
        let space = rest
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(rest.len());
        html.push_str(&escape(&rest[..space]));
        rest = &rest[space..];
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let token = &rest[..end];
        if token.chars().any(|c| c.is_ascii_digit()) && token.chars().count() <= WHOLE_TOKEN_CHARS {
            html.push_str("<span style=\"white-space:nowrap;\">");
            html.push_str(&escape(token));
            html.push_str("</span>");
        } else {
            html.push_str(&escape(token));
        }
        rest = &rest[end..];
    }
    minijinja::Value::from_safe_string(html)
}

#[derive(Serialize)]
struct Column {
    name: String,
    numeric: bool,
}

/// A row of a table: its cells, and the length of its bar (percent of the longest) when the
/// section has a bar chart.
#[derive(Serialize)]
struct Row {
    cells: Vec<Cell>,
    bar: Option<u32>,
}

/// A cell as shown, and whether it holds a token too long for a phone's column (a URL, a
/// hash): only such a cell may break inside a word; every other keeps its words and numbers
/// whole.
#[derive(Serialize)]
struct Cell {
    #[serde(flatten)]
    shown: display::Shown,
    long: bool,
    /// One token (a date, a code, a hyphenated name): kept on one line.
    whole: bool,
}

/// The longest token that stays whole: about 130 CSS px of 12 px text, a third of a phone's
/// column.
const WHOLE_TOKEN_CHARS: usize = 20;

fn has_long_token(text: &str) -> bool {
    text.split_whitespace()
        .any(|token| token.chars().count() > WHOLE_TOKEN_CHARS)
}

/// A bar split in coloured parts (a stacked bar chart), drawn with table cells.
#[derive(Serialize)]
struct StackedBar {
    label: String,
    long: bool,
    total: String,
    /// Width of the whole bar in percent of the longest.
    percent: u32,
    /// (percent of this bar, colour) per part.
    parts: Vec<(u32, &'static str)>,
}

#[derive(Serialize)]
struct Image {
    src: String,
    alt: String,
    width: u32,
    height: u32,
}

/// Colours of stacked bar parts: the PNG charts' palette.
const PART_COLOURS: [&str; 6] = [
    "#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0d9488",
];

#[derive(Serialize)]
struct Section {
    title: String,
    description: Option<String>,
    short_history: Option<String>,
    problem: Option<String>,
    columns: Vec<Column>,
    rows: Vec<Row>,
    /// The table column after which each row's bar is drawn.
    bar_after: Option<usize>,
    compared: bool,
    total_rows: usize,
    truncated: bool,
    /// A data-quality section whose every check passed: one line, no table.
    all_passed: bool,
    /// A trend: its table lists the latest rows first.
    trend: bool,
    stacked: Vec<StackedBar>,
    legend: Vec<(String, &'static str)>,
    image: Option<Image>,
}

/// How pictures are found: by Content-ID inside an email, by file name beside the browser copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSource {
    ContentId,
    File,
}

/// What one rendering of the report shows.
struct Layout<'a> {
    rows: usize,
    images: ImageSource,
    /// The link to the full report in a browser (the email's).
    full_report: Option<&'a str>,
    /// The link to the workbook when it is too big to attach.
    workbook_link: Option<&'a str>,
}

/// Stands for the full report's address in a built email; the send step puts the real link
/// in (a presigned URL on AWS, a file path locally), so the link's life starts when it is sent.
/// It ends in a control character, which data never reaches the email with (every value is
/// made printable), so a cell holding the same text is not taken for it.
pub const FULL_REPORT_LINK: &str = "https://daybook.invalid/link/report\u{1}";
/// Stands for the workbook's address when it goes as a link rather than attached.
pub const WORKBOOK_LINK: &str = "https://daybook.invalid/link/workbook\u{1}";

/// Rows per table in the browser copy: the workbook carries them all.
pub const BROWSER_ROWS: usize = 1_000;

fn render_rows(report: &ReportData, pictures: &[Picture], layout: &Layout<'_>) -> Result<String> {
    let currency = report.conventions();
    let shown = layout.rows;
    let sections: Vec<Section> = report
        .sections
        .iter()
        .enumerate()
        .filter(|(_, section)| !display::only_tiles(section, currency))
        .map(|(index, section)| {
            let views = display::columns(section, currency);
            let problem = section.problem(report.date);
            let chart = section.chart.as_ref().filter(|_| problem.is_none());
            let bar_after = chart
                .filter(|c| c.kind == ChartKind::Bar)
                .and_then(|c| section.column_index(&c.value));
            let max = bar_after.map_or(0.0, |at| {
                section
                    .result
                    .rows
                    .iter()
                    .filter_map(|r| crate::model::chart::number(&r[at]))
                    .fold(0.0_f64, f64::max)
            });
            let listed = display::reading_order(section);
            let rows = listed
                .iter()
                .take(shown)
                .map(|&r| (r, &section.result.rows[r]))
                .map(|(r, row)| Row {
                    cells: (0..row.len().min(views.len()))
                        .map(|c| {
                            let mut shown = display::shown(section, &views, r, c, currency);
                            shown.text = clip(&shown.text, CELL_CHARS);
                            let long = has_long_token(&shown.text);
                            Cell {
                                long,
                                whole: !long && !shown.text.contains(char::is_whitespace),
                                shown,
                            }
                        })
                        .collect(),
                    bar: bar_after.and_then(|at| {
                        let v = crate::model::chart::number(&row[at])?;
                        (max > 0.0 && v > 0.0).then(|| ((v / max) * 100.0).round().max(1.0) as u32)
                    }),
                })
                .collect();
            let (stacked, legend) = match (chart.map(|c| c.kind), section.plot(report.date)) {
                (
                    Some(ChartKind::StackedBar),
                    Some(Plot::Stacked {
                        categories,
                        series,
                        values,
                    }),
                ) => {
                    let value_format = chart
                        .and_then(|c| views.iter().find(|v| v.name.eq_ignore_ascii_case(&c.value)))
                        .map(|v| v.format)
                        .unwrap_or(ValueFormat::Decimal);
                    let totals: Vec<f64> = values
                        .iter()
                        .map(|v| v.iter().filter(|x| **x > 0.0).sum())
                        .collect();
                    let longest = totals.iter().copied().fold(0.0_f64, f64::max);
                    let bars = categories
                        .iter()
                        .zip(&values)
                        .zip(&totals)
                        .take(shown)
                        .map(|((label, parts), total)| StackedBar {
                            label: clip(label, BAR_LABEL_CHARS),
                            long: has_long_token(label),
                            total: display::format_value(
                                &serde_json::json!(total),
                                value_format,
                                currency,
                            ),
                            percent: if longest > 0.0 {
                                ((total / longest) * 100.0).round().max(1.0) as u32
                            } else {
                                1
                            },
                            parts: parts
                                .iter()
                                .enumerate()
                                .filter(|(_, v)| **v > 0.0)
                                .map(|(s, v)| {
                                    (
                                        ((v / total) * 100.0).round().max(1.0) as u32,
                                        PART_COLOURS[s % PART_COLOURS.len()],
                                    )
                                })
                                .collect(),
                        })
                        .collect();
                    let legend = series
                        .iter()
                        .enumerate()
                        .map(|(s, name)| {
                            (
                                clip(name, BAR_LABEL_CHARS),
                                PART_COLOURS[s % PART_COLOURS.len()],
                            )
                        })
                        .collect();
                    (bars, legend)
                }
                // Every kind is named, so a new one does not compile until its email form is chosen.
                (
                    Some(
                        ChartKind::Bar
                        | ChartKind::StackedBar
                        | ChartKind::Line
                        | ChartKind::Scatter
                        | ChartKind::Quadrant,
                    )
                    | None,
                    _,
                ) => (vec![], vec![]),
            };
            let image = pictures.iter().find(|p| p.section == index).map(|p| Image {
                src: match layout.images {
                    ImageSource::ContentId => format!("cid:{}", p.content_id()),
                    ImageSource::File => p.name.clone(),
                },
                alt: p.alt.clone(),
                width: crate::render::picture::SHOWN_WIDTH,
                height: crate::render::picture::SHOWN_HEIGHT,
            });
            Section {
                title: section.title.clone(),
                description: section.description.clone(),
                short_history: section.short_history.clone(),
                problem,
                columns: views
                    .iter()
                    .map(|v| Column {
                        name: v.label.clone(),
                        numeric: v.numeric(),
                    })
                    .collect(),
                rows,
                bar_after,
                compared: section.previous_day.is_some() || section.previous_week.is_some(),
                total_rows: listed.len(),
                truncated: listed.len() > shown,
                trend: section
                    .chart
                    .as_ref()
                    .is_some_and(|c| c.kind == ChartKind::Line),
                all_passed: section.kind == SectionKind::Checks && listed.is_empty(),
                stacked,
                legend,
                image,
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
                variables => report.variables,
                generated_at => report.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                full_report => layout.full_report,
                workbook_link => layout.workbook_link,
                problems => report.problems(),
                tiles => report.tiles(),
                date_shown => report.conventions().locale.weekday_date(report.date),
                weekday => report.conventions().locale.weekday(report.date),
                weekday_short => report.date.format("%a").to_string(),
                summary => report.summary_line(),
                summary_against => report.summary_against(),
                unusual => report.unusual(),
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

/// Gmail clips an HTML part past about 102 KB, hiding the rest behind a link. The email keeps
/// under this by showing fewer rows per table (the full report and the workbook have them all).
pub const EMAIL_HTML_BYTES: usize = 95_000;

/// The report as the email's HTML part: pictures by Content-ID, a link to the full report,
/// and as many rows per table as keep it under [`EMAIL_HTML_BYTES`] (at most [`EMAIL_ROWS`]).
/// `workbook_attached` false says the workbook is a link instead.
pub fn render_email(
    report: &ReportData,
    pictures: &[Picture],
    workbook_attached: bool,
) -> Result<String> {
    let mut layout = Layout {
        rows: EMAIL_ROWS,
        images: ImageSource::ContentId,
        full_report: Some(FULL_REPORT_LINK),
        workbook_link: (!workbook_attached).then_some(WORKBOOK_LINK),
    };
    loop {
        let html = render_rows(report, pictures, &layout)?;
        if html.len() <= EMAIL_HTML_BYTES || layout.rows <= 3 {
            return Ok(html);
        }
        layout.rows = (layout.rows * 4 / 5).max(3);
    }
}

/// The full report to read in a browser, its pictures as files beside it.
pub fn render_browser(report: &ReportData, pictures: &[Picture]) -> Result<String> {
    render_rows(
        report,
        pictures,
        &Layout {
            rows: BROWSER_ROWS,
            images: ImageSource::File,
            full_report: None,
            workbook_link: None,
        },
    )
}

/// Where the email's HTML part takes a banner: the approval request above the report in the
/// approval email, who approved it in the sent one.
pub const BANNER: &str = "<!--daybook:banner-->";

/// The approval request's banner, for one approver.
#[derive(Serialize)]
pub struct ApprovalBanner<'a> {
    pub approver: &'a str,
    pub job_id: &'a str,
    pub recipients: Vec<String>,
    pub approve_link: String,
    pub reject_link: String,
    pub deadline: chrono::DateTime<chrono::Utc>,
    pub reminder: bool,
    /// The run's variables as `name = value`: what the approver approves was built with them.
    pub variables: Vec<String>,
}

impl ApprovalBanner<'_> {
    fn deadline_text(&self) -> String {
        self.deadline.format("%Y-%m-%d %H:%M UTC").to_string()
    }

    /// The same for the text part.
    pub fn text(&self) -> String {
        format!(
            "{}This report is waiting for your approval. Approving sends it, exactly as below, to {}.\n{}The request closes at {}.\n\nApprove: {}\nReject:  {}\n\n(Each link opens a page where you confirm. They are yours, {}: do not forward this email.)\nFrom a terminal: daybook approve {} (or daybook reject {} --reason \"…\")\n\n",
            if self.reminder { "Reminder: " } else { "" },
            self.recipients.join(", "),
            if self.variables.is_empty() {
                String::new()
            } else {
                format!("It was run with {}.\n", self.variables.join(", "))
            },
            self.deadline_text(),
            self.approve_link,
            self.reject_link,
            self.approver,
            self.job_id,
            self.job_id
        )
    }
}

pub fn render_approval_banner(banner: &ApprovalBanner<'_>) -> Result<String> {
    render_template(
        "approval.html",
        context! {
            approver => banner.approver,
            job_id => banner.job_id,
            recipients => banner.recipients,
            approve_link => banner.approve_link,
            reject_link => banner.reject_link,
            deadline => banner.deadline_text(),
            reminder => banner.reminder,
            variables => banner.variables,
        },
        "the approval email's banner",
    )
}

/// The line saying who approved the report, above it in the sent email.
pub fn render_decision_note(summary: &str) -> Result<String> {
    render_template(
        "approval.html",
        context! { decision => summary },
        "the approval note",
    )
}

/// An approval page (see `templates/approval-page.html`).
pub fn render_approval_page(page: &impl Serialize) -> Result<String> {
    render_template(
        "approval-page.html",
        minijinja::Value::from_serialize(page),
        "an approval page",
    )
}

fn render_template(name: &str, values: minijinja::Value, what: &str) -> Result<String> {
    environment()
        .get_template(name)
        .and_then(|t| t.render(values))
        .map_err(|e| ReportError::Render {
            what: what.to_string(),
            message: e.to_string(),
        })
}
