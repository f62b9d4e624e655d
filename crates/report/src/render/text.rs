use crate::model::data::ReportData;
use crate::model::display;

/// The plain-text part: each section as an aligned table, for clients that show no HTML, with
/// the links of the HTML part (`workbook_attached` false: the workbook is a link).
pub fn render_text(report: &ReportData, workbook_attached: bool) -> String {
    let currency = report.conventions();
    let mut out = format!(
        "{} — {}\n{} ({})\n\n",
        report.title,
        report.conventions().locale.weekday_date(report.date),
        report.summary_line(),
        report.summary_against()
    );
    out.push_str(&format!(
        "Full report with charts: {}\n",
        crate::render::html::FULL_REPORT_LINK
    ));
    if !workbook_attached {
        out.push_str(&format!(
            "The workbook is too large to attach: {}\n",
            crate::render::html::WORKBOOK_LINK
        ));
    }
    out.push('\n');
    let unusual = report.unusual();
    if !unusual.is_empty() {
        out.push_str(&format!(
            "Unusual for a {}:\n",
            report.conventions().locale.weekday(report.date)
        ));
        for item in &unusual {
            out.push_str(&format!("  * {}\n", item.text));
        }
        out.push('\n');
    }
    let problems = report.problems();
    if !problems.is_empty() {
        out.push_str(&format!(
            "This report has {} problem(s): read it with care.\n",
            problems.len()
        ));
        for problem in &problems {
            out.push_str(&format!("  * {problem}\n"));
        }
        out.push('\n');
    }
    let headline = display::headline(report);
    for number in &headline {
        let moves: Vec<String> = [
            (&number.day, "vs day before"),
            (&number.week, "vs last week"),
        ]
        .into_iter()
        .filter_map(|(delta, against)| Some(format!("{} {against}", delta.as_ref()?.text)))
        .collect();
        match moves.is_empty() {
            true => out.push_str(&format!("{}: {}\n", number.label, number.text)),
            false => out.push_str(&format!(
                "{}: {} ({})\n",
                number.label,
                number.text,
                moves.join(", ")
            )),
        }
    }
    if !headline.is_empty() {
        out.push('\n');
    }
    for section in &report.sections {
        out.push_str(&section.title);
        out.push('\n');
        out.push_str(&"=".repeat(section.title.chars().count()));
        out.push('\n');
        if let Some(problem) = section.problem(report.date) {
            out.push_str(&format!("Problem: {problem}\n"));
        }
        if let Some(short) = &section.short_history {
            out.push_str(&format!("{short}\n"));
        }
        let views = display::columns(section, currency);
        let labels: Vec<String> = views.iter().map(|v| v.label.clone()).collect();
        let order = display::reading_order(section);
        let cells: Vec<Vec<String>> = order
            .iter()
            .take(crate::render::html::EMAIL_ROWS)
            .map(|&r| &section.result.rows[r])
            .map(|r| {
                r.iter()
                    .zip(&views)
                    .map(|(value, view)| display::format_value(value, view.format, currency))
                    .collect()
            })
            .collect();
        let widths: Vec<usize> = labels
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
        if !cells.is_empty() {
            out.push_str(&line(labels.iter().map(String::as_str).collect()));
        }
        for row in &cells {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        if section.result.rows.is_empty() {
            out.push_str("(no rows for this date)\n");
        } else if order.is_empty() {
            out.push_str("Every check passed; the workbook lists them.\n");
        } else if order.len() > cells.len() {
            out.push_str(&format!(
                "… and {} more rows in the full report and the workbook\n",
                order.len() - cells.len()
            ));
        }
        out.push('\n');
    }
    let variables = if report.variables.is_empty() {
        String::new()
    } else {
        format!(" · run with {}", report.variables.join(", "))
    };
    out.push_str(&format!(
        "Job {}{variables} · the workbook has every row.\n",
        report.job_id
    ));
    out
}
