//! What a section's chart draws, read from its query result: bars, stacked bars, lines or
//! dots, and what is wrong with it when it would mislead (no points, all zeros, one day).

use crate::model::data::{SectionData, format_cell};
use chrono::NaiveDate;
use daybook_core::config::{ChartKind, ChartSpec};
use serde_json::Value;

/// The chart's points, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Plot {
    /// (label, length) per row, in row order.
    Bars(Vec<(String, f64)>),
    /// Bars split in parts: `values[category][series]`, 0 where a part is missing.
    Stacked {
        categories: Vec<String>,
        series: Vec<String>,
        values: Vec<Vec<f64>>,
    },
    /// Days in order along x; each line has a value (or a gap) per day.
    Lines {
        days: Vec<String>,
        lines: Vec<(String, Vec<Option<f64>>)>,
    },
    /// Labelled dots at (x, y).
    Dots(Vec<Dot>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dot {
    pub label: String,
    pub x: f64,
    pub y: f64,
}

/// A number from a cell: JSON numbers, and decimals the warehouse returns as text.
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

/// The chart's points, or why there is nothing to draw: a column it names is not in the query.
pub fn plot(section: &SectionData, chart: &ChartSpec, date: NaiveDate) -> Result<Plot, String> {
    let column = |name: &str| {
        section.column_index(name).ok_or_else(|| {
            format!(
                "the chart names column {name}, which the query does not return (it returns {})",
                section.result.columns.join(", ")
            )
        })
    };
    let category = column(&chart.category)?;
    let value = column(&chart.value)?;
    let rows = &section.result.rows;
    match chart.kind {
        ChartKind::Bar => Ok(Plot::Bars(
            rows.iter()
                .filter_map(|row| Some((format_cell(&row[category]), number(&row[value])?)))
                .collect(),
        )),
        ChartKind::StackedBar => {
            let series = column(chart.series.as_deref().unwrap_or_default())?;
            let mut categories: Vec<String> = Vec::new();
            let mut names: Vec<String> = Vec::new();
            let mut cells: Vec<(usize, usize, f64)> = Vec::new();
            for row in rows {
                let Some(v) = number(&row[value]) else {
                    continue;
                };
                let c = position_or_push(&mut categories, format_cell(&row[category]));
                let s = position_or_push(&mut names, format_cell(&row[series]));
                cells.push((c, s, v));
            }
            let mut values = vec![vec![0.0; names.len()]; categories.len()];
            for (c, s, v) in cells {
                values[c][s] += v;
            }
            Ok(Plot::Stacked {
                categories,
                series: names,
                values,
            })
        }
        ChartKind::Line => {
            let series = chart.series.as_deref().map(column).transpose()?;
            let mut days: Vec<String> = rows.iter().map(|r| format_cell(&r[category])).collect();
            days.sort();
            days.dedup();
            // A trend over dates shows every day of its window, a missing one as a gap.
            if let Some(window) = chart.days
                && days.iter().all(|d| d.parse::<NaiveDate>().is_ok())
            {
                days = (0..window)
                    .rev()
                    .filter_map(|back| date.checked_sub_days(chrono::Days::new(back.into())))
                    .map(|d| d.to_string())
                    .collect();
            }
            let mut lines: Vec<(String, Vec<Option<f64>>)> = Vec::new();
            for row in rows {
                let name = series
                    .map(|s| format_cell(&row[s]))
                    .unwrap_or_else(|| chart.value.clone());
                let Some(day) = days.iter().position(|d| *d == format_cell(&row[category])) else {
                    continue;
                };
                let at = match lines.iter().position(|(n, _)| *n == name) {
                    Some(at) => at,
                    None => {
                        lines.push((name, vec![None; days.len()]));
                        lines.len() - 1
                    }
                };
                lines[at].1[day] = number(&row[value]);
            }
            Ok(Plot::Lines { days, lines })
        }
        ChartKind::Scatter | ChartKind::Quadrant => {
            let x = column(chart.x.as_deref().unwrap_or_default())?;
            Ok(Plot::Dots(
                rows.iter()
                    .filter_map(|row| {
                        Some(Dot {
                            label: format_cell(&row[category]),
                            x: number(&row[x])?,
                            y: number(&row[value])?,
                        })
                    })
                    .collect(),
            ))
        }
    }
}

fn position_or_push(list: &mut Vec<String>, item: String) -> usize {
    match list.iter().position(|i| *i == item) {
        Some(at) => at,
        None => {
            list.push(item);
            list.len() - 1
        }
    }
}

impl Plot {
    /// Why this chart would mislead a reader: nothing to draw, nothing but zeros, or a trend
    /// of one day.
    pub fn problem(&self, chart: &ChartSpec) -> Option<String> {
        let (count, all_zero) = match self {
            Plot::Bars(points) => (points.len(), points.iter().all(|(_, v)| *v == 0.0)),
            Plot::Stacked { values, .. } => {
                (values.len(), values.iter().flatten().all(|v| *v == 0.0))
            }
            Plot::Lines { days, lines } => {
                let days_with_values = (0..days.len())
                    .filter(|d| lines.iter().any(|(_, v)| v[*d].is_some()))
                    .count();
                if days_with_values == 1 {
                    return Some(format!(
                        "a trend needs at least two days with {}; the warehouse has one",
                        chart.value
                    ));
                }
                let mut values = lines.iter().flat_map(|(_, v)| v.iter().flatten());
                (days_with_values, values.all(|v| *v == 0.0))
            }
            Plot::Dots(dots) => (dots.len(), dots.iter().all(|d| d.x == 0.0 && d.y == 0.0)),
        };
        if count == 0 {
            Some("no rows to chart for this date".into())
        } else if all_zero {
            Some(format!("every {} is 0", chart.value))
        } else {
            None
        }
    }
}

/// The median of `values` (the mean of the middle two for an even count), as the quadrant
/// mart splits its categories.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    })
}

/// The four parts' names in the order top right, top left, bottom right, bottom left.
pub fn quadrant_names(chart: &ChartSpec) -> [String; 4] {
    chart
        .quadrants
        .clone()
        .unwrap_or_else(|| ["Star", "Niche", "Volume driver", "Question mark"].map(String::from))
}

impl SectionData {
    /// The chart's points, when the section has a chart that can be drawn.
    pub fn plot(&self, date: NaiveDate) -> Option<Plot> {
        let chart = self.chart.as_ref()?;
        plot(self, chart, date).ok()
    }
}
