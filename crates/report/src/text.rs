use crate::data::{ReportData, format_cell};

/// The plain-text part: each section as an aligned table, for clients that show no HTML.
pub fn render_text(report: &ReportData) -> String {
    let mut out = format!("{} — {}\n\n", report.title, report.date);
    for section in &report.sections {
        out.push_str(&section.title);
        out.push('\n');
        out.push_str(&"=".repeat(section.title.chars().count()));
        out.push('\n');
        let cells: Vec<Vec<String>> = section
            .result
            .rows
            .iter()
            .take(crate::html::EMAIL_ROWS)
            .map(|r| r.iter().map(format_cell).collect())
            .collect();
        let widths: Vec<usize> = section
            .result
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                cells
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([c.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |values: Vec<&str>| -> String {
            let padded: Vec<String> = values
                .iter()
                .zip(&widths)
                .map(|(v, w)| format!("{v:<w$}"))
                .collect();
            format!("{}\n", padded.join("  ").trim_end())
        };
        out.push_str(&line(
            section.result.columns.iter().map(String::as_str).collect(),
        ));
        for row in &cells {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        if section.result.rows.is_empty() {
            out.push_str("(no rows for this date)\n");
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "Job {} · the attached workbook has every row.\n",
        report.job_id
    ));
    out
}
