//! A section's chart in the workbook, as a native Excel chart over the sheet's cells: value
//! axes in the column's own format (a rate reads 0%–35%, not 0–0.35), every category labelled,
//! and a quadrant chart with its dots coloured and named by quadrant, its median lines drawn.

use crate::model::chart::Plot;
use crate::model::display;
use daybook_core::config::ChartKind;
use rust_xlsxwriter::{Chart, ChartType, Format};

/// Rows drawn in a bar chart: more would be unreadable (the sheet has them all).
const CHART_ROWS: u32 = 30;

/// The section's chart as a native Excel chart over the sheet's cells. Bar and scatter charts
/// read the table; line and stacked bar charts read a pivot of it written to the right of the
/// chart (days or categories down, one column per line or part).
pub(crate) fn native_chart(
    sheet: &mut rust_xlsxwriter::Worksheet,
    name: &str,
    section: &crate::model::data::SectionData,
    (spec, plot): (&daybook_core::config::ChartSpec, &Plot),
    (views, conventions): (&[display::ColumnView], display::Conventions<'_>),
    header: &Format,
) -> std::result::Result<Chart, rust_xlsxwriter::XlsxError> {
    // A value axis, and the pivot's numbers, read as the column does in the table.
    let number_format = |n: &str| {
        views
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(n))
            .and_then(|v| display::excel_format(v.format, conventions))
    };
    let value_format = number_format(&spec.value);
    let pivot_cell = value_format
        .clone()
        .map_or_else(Format::new, |f| Format::new().set_num_format(f));
    let column = |n: &str| section.column_index(n).unwrap_or(0) as u16;
    let label = |n: &str| {
        views
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(n))
            .map(|v| v.label.clone())
            .unwrap_or_default()
    };
    let rows = section.result.rows.len() as u32;
    // Pivots start past the table, its moves and the chart (at most twelve columns wide).
    let pivot = (views.len() + moved_columns(section, views).len()) as u16 + 14;
    let mut chart = match (spec.kind, plot) {
        (ChartKind::Quadrant, Plot::Dots(dots)) => quadrant_chart(
            sheet,
            (name, pivot, header),
            dots,
            &crate::model::chart::quadrant_names(spec),
            (
                &label(spec.x.as_deref().unwrap_or_default()),
                &label(&spec.value),
            ),
            (
                number_format(spec.x.as_deref().unwrap_or_default()),
                value_format.clone(),
            ),
        )?,
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
            if let Some(format) = number_format(spec.x.as_deref().unwrap_or_default()) {
                chart.x_axis().set_num_format(format);
            }
            chart.y_axis().set_name(label(&spec.value).as_str());
            if let Some(format) = &value_format {
                chart.y_axis().set_num_format(format);
            }
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
                        sheet.write_number_with_format(d as u32 + 1, col, *v, &pivot_cell)?;
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
            if let Some(format) = &value_format {
                chart.y_axis().set_num_format(format);
            }
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
                    sheet.write_number_with_format(c as u32 + 1, col, row[s], &pivot_cell)?;
                }
                chart
                    .add_series()
                    .set_categories((name, 1, pivot, shown as u32, pivot))
                    .set_values((name, 1, col, shown as u32, col))
                    .set_name((name, 0, col));
            }
            chart.y_axis().set_reverse().set_label_interval(1);
            chart.set_height(bar_chart_height(shown as u32));
            if let Some(format) = &value_format {
                chart.x_axis().set_num_format(format);
            }
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
            // A bar chart's vertical axis is its categories, the first on top; tall enough
            // that Excel and LibreOffice name every bar rather than every other one.
            chart.y_axis().set_reverse().set_label_interval(1);
            chart.set_height(bar_chart_height(last));
            if let Some(format) = &value_format {
                chart.x_axis().set_num_format(format);
            }
            chart
        }
    };
    chart.title().set_name(&section.title);
    Ok(chart)
}

/// A cell's text, cut to Excel's limit with a mark that says so: one long search keyword must
/// not stop the day's report.
/// The numeric columns whose move since the day before the sheet shows beside the table, as
/// the email shows it under each number: those of a section that compares.
pub(crate) fn moved_columns(
    section: &crate::model::data::SectionData,
    views: &[display::ColumnView],
) -> Vec<usize> {
    if section.previous_day.is_none() {
        return vec![];
    }
    (0..views.len()).filter(|&c| views[c].numeric()).collect()
}

/// The four parts' colours, in the order of their names (top right, top left, bottom right,
/// bottom left): the email's picture's.
const QUADRANT_COLOURS: [&str; 4] = ["#2563EB", "#9333EA", "#16A34A", "#EA580C"];

/// A quadrant chart: the dots written to a pivot with their quadrant, each dot labelled with
/// its category in its quadrant's colour (the title names the colours), and the two median
/// lines that divide them.
fn quadrant_chart(
    sheet: &mut rust_xlsxwriter::Worksheet,
    (name, pivot, header): (&str, u16, &Format),
    dots: &[crate::model::chart::Dot],
    names: &[String; 4],
    (x_label, y_label): (&str, &str),
    (x_format, y_format): (Option<String>, Option<String>),
) -> std::result::Result<Chart, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{
        ChartDataLabel, ChartDataLabelPosition, ChartFormat, ChartLine, ChartMarker,
        ChartMarkerType, ChartSolidFill,
    };
    let xs: Vec<f64> = dots.iter().map(|d| d.x).collect();
    let ys: Vec<f64> = dots.iter().map(|d| d.y).collect();
    let (mx, my) = (
        crate::model::chart::median(&xs).unwrap_or_default(),
        crate::model::chart::median(&ys).unwrap_or_default(),
    );
    let part = |d: &crate::model::chart::Dot| match (d.x >= mx, d.y >= my) {
        (true, true) => 0,
        (false, true) => 1,
        (true, false) => 2,
        (false, false) => 3,
    };
    let cell = |f: &Option<String>| {
        f.clone()
            .map_or_else(Format::new, |f| Format::new().set_num_format(f))
    };
    let (x_cell, y_cell) = (cell(&x_format), cell(&y_format));
    for (c, title) in ["Category", x_label, y_label, "Quadrant"]
        .iter()
        .enumerate()
    {
        sheet.write_string_with_format(0, pivot + c as u16, *title, header)?;
        sheet.set_column_width(pivot + c as u16, 16)?;
    }
    // One series per dot, named by its category and labelled with that name as text (LibreOffice
    // ignores labels taken from other cells, and adds the value to a series-name label), in its
    // quadrant's colour.
    let mut chart = Chart::new(ChartType::Scatter);
    let mut row = 1u32;
    for d in dots {
        let quadrant = part(d);
        sheet.write_string(row, pivot, cell_text(&d.label).as_ref())?;
        sheet.write_number_with_format(row, pivot + 1, d.x, &x_cell)?;
        sheet.write_number_with_format(row, pivot + 2, d.y, &y_cell)?;
        sheet.write_string(row, pivot + 3, &names[quadrant])?;
        chart
            .add_series()
            .set_categories((name, row, pivot + 1, row, pivot + 1))
            .set_values((name, row, pivot + 2, row, pivot + 2))
            .set_name((name, row, pivot))
            .set_marker(
                ChartMarker::new()
                    .set_type(ChartMarkerType::Circle)
                    .set_size(8)
                    .set_format(ChartFormat::new().set_solid_fill(
                        ChartSolidFill::new().set_color(QUADRANT_COLOURS[quadrant]),
                    )),
            )
            .set_custom_data_labels(&[ChartDataLabel::new()
                .set_value(label_text(&d.label).as_str())
                .set_position(ChartDataLabelPosition::Right)
                .to_custom()]);
        row += 1;
    }
    // The median lines, as two-point series with no marker.
    let (x0, x1) = span(&xs);
    let (y0, y1) = span(&ys);
    let lines_at = row + 1;
    for (r, (x, y)) in [(mx, y0), (mx, y1), (x0, my), (x1, my)].iter().enumerate() {
        sheet.write_number_with_format(lines_at + r as u32, pivot + 1, *x, &x_cell)?;
        sheet.write_number_with_format(lines_at + r as u32, pivot + 2, *y, &y_cell)?;
    }
    sheet.write_string(lines_at + 4, pivot, "The lines are the medians.")?;
    for (first, title) in [
        (lines_at, "Median of the x"),
        (lines_at + 2, "Median of the y"),
    ] {
        chart
            .add_series()
            .set_categories((name, first, pivot + 1, first + 1, pivot + 1))
            .set_values((name, first, pivot + 2, first + 1, pivot + 2))
            .set_name(title)
            .set_marker(ChartMarker::new().set_none())
            .set_format(ChartFormat::new().set_line(ChartLine::new().set_color("#9CA3AF")));
    }
    // The axis under the dots says what their colours and the lines mean.
    chart.x_axis().set_name(
        format!(
            "{x_label} · blue {}, purple {}, green {}, orange {}; lines at the medians",
            names[0], names[1], names[2], names[3]
        )
        .as_str(),
    );
    chart.y_axis().set_name(y_label);
    // Axes on round steps around the dots, not from 0: the dots are what is compared.
    let (min, max, step) = round_steps(x0, x1);
    chart
        .x_axis()
        .set_min(min)
        .set_max(max)
        .set_major_unit(step);
    let (min, max, step) = round_steps(y0, y1);
    chart
        .y_axis()
        .set_min(min)
        .set_max(max)
        .set_major_unit(step);
    if let Some(format) = &x_format {
        chart.x_axis().set_num_format(format);
    }
    if let Some(format) = &y_format {
        chart.y_axis().set_num_format(format);
    }
    chart.legend().set_hidden();
    chart.set_width(720).set_height(480);
    Ok(chart)
}

/// Pixels per bar that keep a bar's name in view: a name's line of text and some room.
const BAR_PIXELS: u32 = 22;

/// A bar chart's height: Excel's default (288 px), or more when its bars need it.
pub(crate) fn bar_chart_height(bars: u32) -> u32 {
    (100 + BAR_PIXELS * bars).max(288)
}

/// Axis bounds on round steps (1, 2 or 5 × a power of ten, about five of them) around lo..hi.
fn round_steps(lo: f64, hi: f64) -> (f64, f64, f64) {
    let rough = ((hi - lo) / 5.0).max(f64::EPSILON);
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * power);
    ((lo / step).floor() * step, (hi / step).ceil() * step, step)
}

/// A dot's label as literal text: one that starts with `=` would be read as a formula.
fn label_text(label: &str) -> String {
    match label.strip_prefix('=') {
        Some(rest) => format!("＝{rest}"),
        None => label.to_string(),
    }
}

/// The values' range with a little room around it.
fn span(values: &[f64]) -> (f64, f64) {
    let (lo, hi) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.01).max(f64::EPSILON);
    let lo = if lo >= 0.0 && lo - pad < 0.0 {
        0.0
    } else {
        lo - pad
    };
    (lo, hi + pad)
}

/// Excel's limit on a cell's text.
pub(crate) const CELL_CHARACTERS: usize = 32_767;

pub(crate) fn cell_text(text: &str) -> std::borrow::Cow<'_, str> {
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
