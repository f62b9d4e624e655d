use crate::data::ReportData;
use crate::{ReportError, Result};
use rust_xlsxwriter::{Chart, ChartType, Format, Workbook};

/// The workbook: one sheet per section with typed cells, a bold frozen header, an autofilter,
/// fitted column widths and, where the section has a chart, a native Excel bar chart.
pub fn render_workbook(report: &ReportData) -> Result<Vec<u8>> {
    let fail = |what: &str, e: rust_xlsxwriter::XlsxError| ReportError::Render {
        what: format!("workbook {} ({what})", report.name),
        message: e.to_string(),
    };
    let mut workbook = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_background_color("#DBEAFE")
        .set_border_bottom(rust_xlsxwriter::FormatBorder::Thin);
    let integer = Format::new().set_num_format("#,##0");
    let decimal = Format::new().set_num_format("#,##0.000");
    let mut used_names = Vec::new();
    for section in &report.sections {
        let name = sheet_name(&section.title, &mut used_names);
        let sheet = workbook.add_worksheet();
        sheet.set_name(&name).map_err(|e| fail(&name, e))?;
        let columns = &section.result.columns;
        for (c, title) in columns.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, title, &header)
                .map_err(|e| fail(&name, e))?;
        }
        let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count() + 4).collect();
        for (r, row) in section.result.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, value) in row.iter().enumerate() {
                let col = c as u16;
                let written = match value {
                    serde_json::Value::Null => Ok(()),
                    serde_json::Value::Bool(b) => sheet.write_boolean(r, col, *b).map(drop),
                    serde_json::Value::Number(n) => match n.as_i64() {
                        Some(i) => sheet
                            .write_number_with_format(r, col, i as f64, &integer)
                            .map(drop),
                        None => sheet
                            .write_number_with_format(
                                r,
                                col,
                                n.as_f64().unwrap_or_default(),
                                &decimal,
                            )
                            .map(drop),
                    },
                    serde_json::Value::String(s) => sheet.write_string(r, col, s).map(drop),
                    other => sheet.write_string(r, col, other.to_string()).map(drop),
                };
                written.map_err(|e| fail(&name, e))?;
                let width = match value {
                    serde_json::Value::String(s) => s.chars().count(),
                    other => other.to_string().len() + 3,
                };
                widths[c] = widths[c].max(width.min(60));
            }
        }
        for (c, width) in widths.iter().enumerate() {
            sheet
                .set_column_width(c as u16, *width as f64 + 1.0)
                .map_err(|e| fail(&name, e))?;
        }
        sheet.set_freeze_panes(1, 0).map_err(|e| fail(&name, e))?;
        let last_row = section.result.rows.len() as u32;
        if !columns.is_empty() {
            sheet
                .autofilter(0, 0, last_row.max(1), columns.len() as u16 - 1)
                .map_err(|e| fail(&name, e))?;
        }
        if let Some(chart_spec) = &section.chart
            && let (Some(label), Some(value), true) = (
                section.column_index(&chart_spec.category),
                section.column_index(&chart_spec.value),
                last_row > 0,
            )
        {
            let mut chart = Chart::new(ChartType::Bar);
            let rows = last_row.min(30);
            chart
                .add_series()
                .set_categories((name.as_str(), 1, label as u16, rows, label as u16))
                .set_values((name.as_str(), 1, value as u16, rows, value as u16))
                .set_name(chart_spec.value.as_str());
            chart.title().set_name(&section.title);
            chart.legend().set_hidden();
            chart.y_axis().set_reverse();
            sheet
                .insert_chart(1, columns.len() as u16 + 1, &chart)
                .map_err(|e| fail(&name, e))?;
        }
    }
    if report.sections.is_empty() {
        workbook
            .add_worksheet()
            .write_string(0, 0, "This report has no sections.")
            .map_err(|e| fail("empty", e))?;
    }
    workbook.save_to_buffer().map_err(|e| fail("saving", e))
}

/// Excel sheet names: at most 31 characters, none of `[]:*?/\`, unique in the workbook.
fn sheet_name(title: &str, used: &mut Vec<String>) -> String {
    let clean: String = title
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(28)
        .collect();
    let base = if clean.trim().is_empty() {
        "Sheet".to_string()
    } else {
        clean.trim().to_string()
    };
    let mut name = base.clone();
    let mut n = 2;
    while used.iter().any(|u| u.eq_ignore_ascii_case(&name)) {
        name = format!("{base} {n}");
        n += 1;
    }
    used.push(name.clone());
    name
}
