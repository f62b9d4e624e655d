use crate::model::data::ReportData;
use crate::model::display;
use crate::render::xlsx_chart::{cell_text, moved_columns, native_chart};
use crate::{ReportError, Result};
use daybook_core::config::ValueFormat;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

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
        // Each number's move since the day before, coloured as in the email, beside the table.
        let moved = moved_columns(section, &views);
        let good = Format::new().set_font_color("#15803D");
        let bad = Format::new().set_font_color("#B91C1C");
        let grey = Format::new().set_font_color("#6B7280");
        for (k, &c) in moved.iter().enumerate() {
            let col = (views.len() + k) as u16;
            let title = format!("{} vs day before", views[c].label);
            sheet
                .write_string_with_format(0, col, &title, &header)
                .map_err(|e| fail(&name, e))?;
            sheet
                .set_column_width(col, title.chars().count() as f64 + 2.0)
                .map_err(|e| fail(&name, e))?;
            for r in 0..section.result.rows.len() {
                let Some(earlier) = &section.previous_day else {
                    continue;
                };
                if let Some(delta) = display::delta(section, &views, r, c, earlier) {
                    let tone = match delta.tone {
                        t if t > 0 => &good,
                        t if t < 0 => &bad,
                        _ => &grey,
                    };
                    sheet
                        .write_string_with_format(r as u32 + 1, col, &delta.text, tone)
                        .map_err(|e| fail(&name, e))?;
                }
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
            let chart = native_chart(
                sheet,
                &name,
                section,
                (spec, &plot),
                (&views, currency),
                &header,
            )
            .map_err(|e| fail(&name, e))?;
            sheet
                .insert_chart(1, (views.len() + moved.len()) as u16 + 1, &chart)
                .map_err(|e| fail(&name, e))?;
        }
    }
    workbook.save_to_buffer().map_err(|e| fail("saving", e))
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
            report.conventions().locale.weekday_date(report.date),
            report.job_id,
            report.generated_at.format("%Y-%m-%d %H:%M UTC")
        ),
    )?;
    sheet.write_string_with_format(
        2,
        0,
        format!("{} ({})", report.summary_line(), report.summary_against()),
        &bold,
    )?;
    let mut row = 4;
    if !report.variables.is_empty() {
        sheet.write_string(
            3,
            0,
            cell_text(&format!("Run with {}", report.variables.join(", "))).as_ref(),
        )?;
        row = 5;
    }
    let unusual = report.unusual();
    if !unusual.is_empty() {
        let amber = Format::new().set_font_color("#92400E");
        sheet.write_string_with_format(
            row,
            0,
            format!(
                "Unusual for a {}:",
                report.conventions().locale.weekday(report.date)
            ),
            &bold,
        )?;
        for item in &unusual {
            row += 1;
            sheet.write_string_with_format(row, 0, &item.text, &amber)?;
        }
        row += 2;
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
        assert_eq!(
            cut.chars().count(),
            crate::render::xlsx_chart::CELL_CHARACTERS
        );
        assert!(
            cut.ends_with("[cut: 40000 characters, Excel keeps 32767]"),
            "{}",
            &cut[cut.len() - 60..]
        );
        assert_eq!(cell_text("short"), "short");
    }
}
