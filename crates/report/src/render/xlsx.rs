use crate::model::chart::Plot;
use crate::model::data::ReportData;
use crate::model::display;
use crate::{ReportError, Result};
use daybook_core::config::{ChartKind, ValueFormat};
use rust_xlsxwriter::{Chart, ChartType, ExcelDateTime, Format, Workbook};

/// The workbook: a summary sheet first (the report, its problems and the data-quality
/// result), then one sheet per section with typed cells in the section's formats (counts,
/// percentages, money, dates), its labels as a bold frozen header, an autofilter, fitted column
/// widths and, where the section has a chart, a native Excel bar chart.
pub fn render_workbook(report: &ReportData) -> Result<Vec<u8>> {
    let fail = |what: &str, e: rust_xlsxwriter::XlsxError| ReportError::Render {
        what: format!("workbook {} ({what})", report.name),
        message: e.to_string(),
    };
    let currency = report.conventions();
    let mut workbook = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_background_color("#DBEAFE")
        .set_border_bottom(rust_xlsxwriter::FormatBorder::Thin);
    let mut used_names = vec!["Summary".to_string()];
    write_summary(workbook.add_worksheet(), report).map_err(|e| fail("Summary", e))?;
    for section in &report.sections {
        let name = sheet_name(&section.title, &mut used_names);
        let sheet = workbook.add_worksheet();
        sheet.set_name(&name).map_err(|e| fail(&name, e))?;
        let views = display::columns(section, currency);
        let formats: Vec<Option<Format>> = views
            .iter()
            .map(|v| {
                display::excel_format(v.format, currency).map(|f| Format::new().set_num_format(f))
            })
            .collect();
        for (c, view) in views.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, &view.label, &header)
                .map_err(|e| fail(&name, e))?;
        }
        let mut widths: Vec<usize> = views.iter().map(|v| v.label.chars().count() + 4).collect();
        for (r, row) in section.result.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, value) in row.iter().enumerate() {
                let col = c as u16;
                let view = &views[c];
                let format = formats[c].as_ref();
                let date = value
                    .as_str()
                    .filter(|_| view.format == ValueFormat::Date)
                    .and_then(|s| ExcelDateTime::parse_from_str(s).ok());
                let number = value.as_f64().filter(|n| n.is_finite()).or_else(|| {
                    value
                        .as_str()
                        .filter(|_| view.numeric())
                        .and_then(|s| s.parse().ok())
                });
                let written = match (value, date, number, format) {
                    (serde_json::Value::Null, _, _, _) => Ok(()),
                    (_, Some(date), _, Some(format)) => sheet
                        .write_datetime_with_format(r, col, &date, format)
                        .map(drop),
                    (serde_json::Value::Bool(b), _, _, _) => {
                        sheet.write_boolean(r, col, *b).map(drop)
                    }
                    (_, _, Some(n), Some(format)) if view.numeric() => {
                        sheet.write_number_with_format(r, col, n, format).map(drop)
                    }
                    (_, _, Some(n), _) if value.is_number() => {
                        sheet.write_number(r, col, n).map(drop)
                    }
                    (serde_json::Value::String(s), _, _, _) => {
                        sheet.write_string(r, col, cell_text(s).as_ref()).map(drop)
                    }
                    (other, _, _, _) => sheet
                        .write_string(r, col, cell_text(&other.to_string()).as_ref())
                        .map(drop),
                };
                written.map_err(|e| fail(&name, e))?;
                let shown = display::format_value(value, view.format, currency);
                widths[c] = widths[c].max(shown.chars().count().min(60) + 2);
            }
        }
        for (c, width) in widths.iter().enumerate() {
            sheet
                .set_column_width(c as u16, *width as f64 + 1.0)
                .map_err(|e| fail(&name, e))?;
        }
        sheet.set_freeze_panes(1, 0).map_err(|e| fail(&name, e))?;
        // Printed, a section is as wide as a landscape page, its chart beside its table.
        sheet.set_landscape();
        sheet.set_print_fit_to_pages(1, 0);
        let last_row = section.result.rows.len() as u32;
        if !views.is_empty() {
            sheet
                .autofilter(0, 0, last_row.max(1), views.len() as u16 - 1)
                .map_err(|e| fail(&name, e))?;
        }
        if section.problem(report.date).is_none()
            && let (Some(spec), Some(plot)) = (&section.chart, section.plot(report.date))
        {
            let chart = native_chart(sheet, &name, section, spec, &plot, &views, &header)
                .map_err(|e| fail(&name, e))?;
            sheet
                .insert_chart(1, views.len() as u16 + 1, &chart)
                .map_err(|e| fail(&name, e))?;
        }
    }
    workbook.save_to_buffer().map_err(|e| fail("saving", e))
}

/// Rows drawn in a bar chart: more would be unreadable (the sheet has them all).
const CHART_ROWS: u32 = 30;

/// The section's chart as a native Excel chart over the sheet's cells. Bar and scatter charts
/// read the table; line and stacked bar charts read a pivot of it written to the right of the
/// chart (days or categories down, one column per line or part).
fn native_chart(
    sheet: &mut rust_xlsxwriter::Worksheet,
    name: &str,
    section: &crate::model::data::SectionData,
    spec: &daybook_core::config::ChartSpec,
    plot: &Plot,
    views: &[display::ColumnView],
    header: &Format,
) -> std::result::Result<Chart, rust_xlsxwriter::XlsxError> {
    let column = |n: &str| section.column_index(n).unwrap_or(0) as u16;
    let label = |n: &str| {
        views
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(n))
            .map(|v| v.label.clone())
            .unwrap_or_default()
    };
    let rows = section.result.rows.len() as u32;
    // Pivots start past the chart (about eight columns wide).
    let pivot = views.len() as u16 + 10;
    let mut chart = match (spec.kind, plot) {
        (ChartKind::Scatter | ChartKind::Quadrant, _) => {
            let mut chart = Chart::new(ChartType::Scatter);
            let (x, y) = (
                column(spec.x.as_deref().unwrap_or_default()),
                column(&spec.value),
            );
            chart
                .add_series()
                .set_categories((name, 1, x, rows, x))
                .set_values((name, 1, y, rows, y))
                .set_name(label(&spec.value).as_str());
            chart
                .x_axis()
                .set_name(label(spec.x.as_deref().unwrap_or_default()).as_str());
            chart.y_axis().set_name(label(&spec.value).as_str());
            chart.legend().set_hidden();
            chart
        }
        (ChartKind::Line, Plot::Lines { days, lines }) => {
            sheet.write_string_with_format(0, pivot, label(&spec.category), header)?;
            sheet.set_column_width(pivot, 12)?;
            for (d, day) in days.iter().enumerate() {
                sheet.write_string(d as u32 + 1, pivot, cell_text(day).as_ref())?;
            }
            let mut chart = Chart::new(ChartType::Line);
            for (l, (line, values)) in lines.iter().enumerate() {
                let col = pivot + 1 + l as u16;
                // One unnamed line is named by its column.
                let title = if *line == spec.value {
                    label(&spec.value)
                } else {
                    line.clone()
                };
                sheet.write_string_with_format(0, col, title, header)?;
                sheet.set_column_width(col, 14)?;
                for (d, value) in values.iter().enumerate() {
                    if let Some(v) = value {
                        sheet.write_number(d as u32 + 1, col, *v)?;
                    }
                }
                let last = days.len() as u32;
                chart
                    .add_series()
                    .set_categories((name, 1, pivot, last, pivot))
                    .set_values((name, 1, col, last, col))
                    .set_name((name, 0, col));
            }
            if lines.len() < 2 {
                chart.legend().set_hidden();
            }
            chart.y_axis().set_name(label(&spec.value).as_str());
            chart
        }
        (
            ChartKind::StackedBar,
            Plot::Stacked {
                categories,
                series,
                values,
            },
        ) => {
            sheet.write_string_with_format(0, pivot, label(&spec.category), header)?;
            let shown = categories.len().min(CHART_ROWS as usize);
            sheet.set_column_width(pivot, 16)?;
            for (c, category) in categories.iter().take(shown).enumerate() {
                sheet.write_string(c as u32 + 1, pivot, cell_text(category).as_ref())?;
            }
            let mut chart = Chart::new(ChartType::BarStacked);
            for (s, part) in series.iter().enumerate() {
                let col = pivot + 1 + s as u16;
                sheet.write_string_with_format(0, col, part, header)?;
                sheet.set_column_width(col, 12)?;
                for (c, row) in values.iter().take(shown).enumerate() {
                    sheet.write_number(c as u32 + 1, col, row[s])?;
                }
                chart
                    .add_series()
                    .set_categories((name, 1, pivot, shown as u32, pivot))
                    .set_values((name, 1, col, shown as u32, col))
                    .set_name((name, 0, col));
            }
            chart.y_axis().set_reverse();
            chart
        }
        // Bars, and a line or stacked chart whose points did not come out as such. Every kind
        // is named, so a new one does not compile until its workbook chart is chosen.
        (ChartKind::Bar | ChartKind::Line | ChartKind::StackedBar, _) => {
            let mut chart = Chart::new(ChartType::Bar);
            let (category, value) = (column(&spec.category), column(&spec.value));
            let last = rows.min(CHART_ROWS);
            chart
                .add_series()
                .set_categories((name, 1, category, last, category))
                .set_values((name, 1, value, last, value))
                .set_name(label(&spec.value).as_str());
            chart.legend().set_hidden();
            chart.y_axis().set_reverse();
            chart
        }
    };
    chart.title().set_name(&section.title);
    Ok(chart)
}

/// The first sheet: what the report is, what is wrong with it, and each section's size.
fn write_summary(
    sheet: &mut rust_xlsxwriter::Worksheet,
    report: &ReportData,
) -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
    let bold = Format::new().set_bold();
    let title = Format::new().set_bold().set_font_size(16);
    let problem = Format::new().set_font_color("#991B1B");
    sheet.set_name("Summary")?;
    sheet.write_string_with_format(0, 0, &report.title, &title)?;
    sheet.write_string(
        1,
        0,
        format!(
            "Date {} · job {} · generated {}",
            report.date,
            report.job_id,
            report.generated_at.format("%Y-%m-%d %H:%M UTC")
        ),
    )?;
    let mut row = 3;
    if !report.variables.is_empty() {
        sheet.write_string(
            2,
            0,
            cell_text(&format!("Run with {}", report.variables.join(", "))).as_ref(),
        )?;
        row = 4;
    }
    let headline = display::headline(report);
    if !headline.is_empty() {
        for (c, title) in ["Headline", "Value", "vs day before", "vs last week"]
            .iter()
            .enumerate()
        {
            sheet.write_string_with_format(row, c as u16, *title, &bold)?;
        }
        let good = Format::new().set_font_color("#15803D");
        let bad = Format::new().set_font_color("#B91C1C");
        for number in &headline {
            row += 1;
            sheet.write_string(row, 0, &number.label)?;
            sheet.write_string(row, 1, &number.text)?;
            for (c, delta) in [(2, &number.day), (3, &number.week)] {
                if let Some(delta) = delta {
                    let format = match delta.tone {
                        t if t > 0 => &good,
                        t if t < 0 => &bad,
                        _ => &Format::new(),
                    };
                    sheet.write_string_with_format(row, c, &delta.text, format)?;
                }
            }
        }
        row += 2;
    }
    if let Some(checks) = report
        .sections
        .iter()
        .find(|s| s.kind == crate::model::data::SectionKind::Checks)
    {
        sheet.write_string_with_format(row, 0, "Data quality", &bold)?;
        sheet.write_string(row, 1, checks.description.as_deref().unwrap_or_default())?;
        row += 2;
    }
    let problems = report.problems();
    if problems.is_empty() {
        sheet.write_string(row, 0, "No problems found in the report's sections.")?;
        row += 1;
    } else {
        sheet.write_string_with_format(
            row,
            0,
            format!("{} problem(s): read the report with care", problems.len()),
            &bold,
        )?;
        row += 1;
        for text in &problems {
            sheet.write_string_with_format(row, 0, cell_text(text).as_ref(), &problem)?;
            row += 1;
        }
    }
    row += 1;
    sheet.write_string_with_format(row, 0, "Section", &bold)?;
    sheet.write_string_with_format(row, 1, "Rows", &bold)?;
    for section in &report.sections {
        row += 1;
        sheet.write_string(row, 0, &section.title)?;
        sheet.write_number_with_format(
            row,
            1,
            section.result.rows.len() as f64,
            &Format::new().set_num_format("#,##0"),
        )?;
        if let Some(description) = &section.description {
            // It runs on over the empty cells to its right.
            sheet.write_string_with_format(row, 2, description, &Format::new().set_indent(1))?;
        }
    }
    sheet.set_column_width(0, 36)?;
    sheet.set_column_width(1, 14)?;
    sheet.set_column_width(2, 16)?;
    sheet.set_column_width(3, 16)?;
    // Printed (or made a PDF), the summary is one page wide.
    sheet.set_landscape();
    sheet.set_print_fit_to_pages(1, 0);
    Ok(())
}

/// Excel sheet names: at most 31 characters, none of `[]:*?/\`, unique in the workbook.
/// Excel's limit on a cell's text.
const CELL_CHARACTERS: usize = 32_767;

/// A cell's text, cut to Excel's limit with a mark that says so: one long search keyword must
/// not stop the day's report.
fn cell_text(text: &str) -> std::borrow::Cow<'_, str> {
    let length = text.chars().count();
    if length <= CELL_CHARACTERS {
        return text.into();
    }
    let mark = format!(" … [cut: {length} characters, Excel keeps {CELL_CHARACTERS}]");
    let kept: String = text
        .chars()
        .take(CELL_CHARACTERS - mark.chars().count())
        .collect();
    format!("{kept}{mark}").into()
}

/// A sheet name Excel accepts, unique in the workbook as Excel compares names (ignoring case
/// in every script): at most 31 characters, none of `[]:*?/\` or a control character, not
/// starting or ending with an apostrophe, and not the reserved `History`.
fn sheet_name(title: &str, used: &mut Vec<String>) -> String {
    let clean: String = title
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c) && !c.is_control())
        .take(28)
        .collect();
    let clean = clean.trim().trim_matches('\'').trim();
    let base = if clean.is_empty() || clean.eq_ignore_ascii_case("History") {
        format!(
            "{} (section)",
            if clean.is_empty() { "Sheet" } else { clean }
        )
        .chars()
        .take(28)
        .collect()
    } else {
        clean.to_string()
    };
    let taken =
        |name: &str, used: &[String]| used.iter().any(|u| u.to_lowercase() == name.to_lowercase());
    let mut name = base.clone();
    let mut n = 2;
    while taken(&name, used) {
        name = format!("{base} {n}");
        n += 1;
    }
    used.push(name.clone());
    name
}

#[cfg(test)]
mod limits {
    use super::*;

    #[test]
    fn sheet_names_are_valid_and_unique_as_excel_compares_them() {
        let mut used = vec!["Summary".to_string()];
        assert_eq!(sheet_name("'Quoted'", &mut used), "Quoted");
        assert_eq!(sheet_name("Ärger", &mut used), "Ärger");
        assert_eq!(sheet_name("ärger", &mut used), "ärger 2");
        assert_eq!(sheet_name("history", &mut used), "history (section)");
        assert_eq!(sheet_name("summary", &mut used), "summary 2");
        assert_eq!(sheet_name("a\u{7}b[c]", &mut used), "abc");
        let long = sheet_name(&"x".repeat(40), &mut used);
        assert!(long.chars().count() <= 31, "{long}");
        for name in &used {
            rust_xlsxwriter::Workbook::new()
                .add_worksheet()
                .set_name(name)
                .unwrap_or_else(|e| panic!("{name:?}: {e}"));
        }
    }

    #[test]
    fn a_cell_over_excels_limit_is_cut_with_a_mark() {
        let long = "ß".repeat(40_000);
        let cut = cell_text(&long);
        assert_eq!(cut.chars().count(), CELL_CHARACTERS);
        assert!(
            cut.ends_with("[cut: 40000 characters, Excel keeps 32767]"),
            "{}",
            &cut[cut.len() - 60..]
        );
        assert_eq!(cell_text("short"), "short");
    }
}
