//! The report's pictures: one PNG per section whose chart is a line, scatter or quadrant and
//! has something true to show, with the alt text that stands in for it where images are off.

use crate::model::chart::{Plot, median, quadrant_names};
use crate::model::data::ReportData;
use crate::model::display::{self, format_value};
use crate::{ReportError, Result};
use daybook_core::config::ChartKind;
use serde::{Deserialize, Serialize};

/// A section's chart picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Picture {
    /// Index of its section in the report.
    pub section: usize,
    /// File name beside the browser copy: `chart-3.png`.
    pub name: String,
    /// What it shows, in words.
    pub alt: String,
}

impl Picture {
    /// The Content-ID the email's HTML names it by (`cid:` + this).
    pub fn content_id(&self) -> String {
        format!("{}@daybook", self.name.trim_end_matches(".png"))
    }
}

/// The pictures the report has, in section order, without drawing them.
pub fn pictures(report: &ReportData) -> Vec<Picture> {
    report
        .sections
        .iter()
        .enumerate()
        .filter_map(|(i, section)| {
            let chart = section.chart.as_ref()?;
            if !chart.kind.is_picture() || section.problem(report.date).is_some() {
                return None;
            }
            let plot = section.plot(report.date)?;
            let views = display::columns(section, report.conventions());
            let label = |name: &str| {
                views
                    .iter()
                    .find(|v| v.name.eq_ignore_ascii_case(name))
                    .map(|v| v.label.clone())
                    .unwrap_or_else(|| display::words(name))
            };
            let format = |name: &str, v: f64| {
                let f = views
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(name))
                    .map(|c| c.format)
                    .unwrap_or(daybook_core::config::ValueFormat::Decimal);
                format_value(&serde_json::json!(v), f, report.conventions())
            };
            let y = label(&chart.value);
            let alt = match (&plot, chart.kind) {
                (Plot::Lines { days, lines }, _) => {
                    let first = days.first().cloned().unwrap_or_default();
                    let last = days.last().cloned().unwrap_or_default();
                    let each: Vec<String> = lines
                        .iter()
                        .filter_map(|(name, values)| {
                            let known: Vec<(usize, f64)> = values
                                .iter()
                                .enumerate()
                                .filter_map(|(d, v)| v.map(|v| (d, v)))
                                .collect();
                            let (_, latest) = *known.last()?;
                            let (lo_day, lo) = *known.iter().min_by(|a, b| a.1.total_cmp(&b.1))?;
                            let (hi_day, hi) = *known.iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
                            let name = if *name == chart.value {
                                y.clone()
                            } else {
                                name.clone()
                            };
                            Some(format!(
                                "{name}: latest {}, lowest {} on {}, highest {} on {}",
                                format(&chart.value, latest),
                                format(&chart.value, lo),
                                days[lo_day],
                                format(&chart.value, hi),
                                days[hi_day]
                            ))
                        })
                        .collect();
                    format!(
                        "Line chart of {y} from {first} to {last}. {}.",
                        each.join("; ")
                    )
                }
                (Plot::Dots(dots), ChartKind::Quadrant) => {
                    let x = chart.x.as_deref().unwrap_or_default();
                    let xs: Vec<f64> = dots.iter().map(|d| d.x).collect();
                    let ys: Vec<f64> = dots.iter().map(|d| d.y).collect();
                    let (mx, my) = (median(&xs).unwrap_or(0.0), median(&ys).unwrap_or(0.0));
                    let names = quadrant_names(chart);
                    let parts: Vec<String> = names
                        .iter()
                        .enumerate()
                        .map(|(q, name)| {
                            let members: Vec<&str> = dots
                                .iter()
                                .filter(|d| {
                                    let (high_x, high_y) = (d.x >= mx, d.y >= my);
                                    match q {
                                        0 => high_x && high_y,
                                        1 => !high_x && high_y,
                                        2 => high_x && !high_y,
                                        _ => !high_x && !high_y,
                                    }
                                })
                                .map(|d| d.label.as_str())
                                .take(10)
                                .collect();
                            format!(
                                "{name}: {}",
                                if members.is_empty() {
                                    "none".into()
                                } else {
                                    members.join(", ")
                                }
                            )
                        })
                        .collect();
                    format!(
                        "Quadrant chart of {} by {} and {y}, split at the medians ({} and {}). {}.",
                        label(&chart.category),
                        label(x),
                        format(x, mx),
                        format(&chart.value, my),
                        parts.join("; ")
                    )
                }
                (Plot::Dots(dots), _) => format!(
                    "Scatter chart of {} {} by {} and {y}.",
                    dots.len(),
                    label(&chart.category),
                    label(chart.x.as_deref().unwrap_or_default())
                ),
                // Bars are drawn in the email's table, not as a picture; every kind is named, so
                // a new one does not compile until its picture is chosen.
                (
                    _,
                    ChartKind::Bar
                    | ChartKind::StackedBar
                    | ChartKind::Line
                    | ChartKind::Scatter
                    | ChartKind::Quadrant,
                ) => return None,
            };
            Some(Picture {
                section: i,
                name: format!("chart-{}.png", i + 1),
                alt,
            })
        })
        .collect()
}

/// Draws a picture.
pub fn draw(report: &ReportData, picture: &Picture) -> Result<Vec<u8>> {
    let section = &report.sections[picture.section];
    let fail = |message: String| ReportError::Render {
        what: format!("chart of section {:?}", section.title),
        message,
    };
    let chart = section
        .chart
        .as_ref()
        .ok_or_else(|| fail("the section has no chart".into()))?;
    let plot = section
        .plot(report.date)
        .ok_or_else(|| fail("the chart's columns are not in the query".into()))?;
    let currency = report.conventions();
    let views = display::columns(section, currency);
    let view = |name: &str| views.iter().find(|v| v.name.eq_ignore_ascii_case(name));
    let x_name = chart.x.clone().unwrap_or_default();
    let x_view = view(&x_name);
    let y_view = view(&chart.value);
    let axis = |v: Option<&display::ColumnView>| {
        let format = v
            .map(|v| v.format)
            .unwrap_or(daybook_core::config::ValueFormat::Decimal);
        // Axis steps are round numbers: cents on them are noise.
        move |n: f64| {
            let text = format_value(&serde_json::json!(n), format, currency);
            match text.strip_suffix(".00") {
                Some(whole) if n.abs() >= 100.0 => whole.to_string(),
                _ => text,
            }
        }
    };
    let (x_format, y_format) = (axis(x_view), axis(y_view));
    crate::render::picture::render_png(
        &plot,
        chart,
        (
            x_view.map(|v| v.label.as_str()).unwrap_or_default(),
            y_view.map(|v| v.label.as_str()).unwrap_or_default(),
        ),
        &x_format,
        &y_format,
    )
    .map_err(fail)
}
