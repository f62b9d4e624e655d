//! Numbers that are unusual for their weekday: a Sunday is compared with the Sundays before it,
//! never with a Saturday, so the weekly rhythm of a business does not flag every Monday. The
//! rule and its defaults are [`daybook_core::config::UnusualRule`]'s; this is where it is
//! applied, and every renderer lists what it finds first.

use crate::model::data::{ReportData, SectionData};
use crate::model::display::{self, Conventions, SMALL_COUNT};
use daybook_core::config::{UnusualRule, ValueFormat};
use serde::Serialize;

/// Scales a median absolute deviation to a standard deviation of normally distributed data.
const MAD_TO_SIGMA: f64 = 1.4826;

/// The least spread, as a share of the median: a series that never moved flags no cent.
const LEAST_SPREAD: f64 = 0.05;

/// A number outside its weekday's usual band.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unusual {
    /// The section's index in the report.
    pub section: usize,
    /// The row's index in the section's result.
    pub row: usize,
    /// The column's name in the query.
    pub column: String,
    /// The sentence a reader is shown.
    pub text: String,
    /// 1 above the band, -1 below.
    pub direction: i8,
    /// 1 good news, -1 bad news (by the column's `higher_is_better`).
    pub tone: i8,
}

/// How a value compares with its history under `rule`: above (1), below (-1) or within (0)
/// the band, with the band's median, low and high end; none when fewer than `min_weeks` weeks
/// have it, or the value and its median are both small counts.
pub fn judge(value: f64, history: &[f64], rule: &UnusualRule, count: bool) -> Option<Judged> {
    if history.len() < rule.min_weeks as usize {
        return None;
    }
    let median = median(history.to_vec());
    if count && value.abs() < SMALL_COUNT && median.abs() < SMALL_COUNT {
        return None;
    }
    let mad = median_of(history.iter().map(|x| (x - median).abs()));
    let spread = (MAD_TO_SIGMA * mad).max(LEAST_SPREAD * median.abs());
    let (low, high) = (median - rule.k * spread, median + rule.k * spread);
    let side = if spread > 0.0 && value > high {
        1
    } else if spread > 0.0 && value < low {
        -1
    } else {
        0
    };
    Some(Judged {
        side,
        median,
        least: history.iter().copied().fold(f64::INFINITY, f64::min),
        most: history.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        weeks: history.len(),
    })
}

/// What [`judge`] found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judged {
    pub side: i8,
    pub median: f64,
    /// The lowest and highest of the history, as the reader is told them.
    pub least: f64,
    pub most: f64,
    pub weeks: usize,
}

fn median(values: Vec<f64>) -> f64 {
    crate::model::chart::median(&values).unwrap_or_default()
}

fn median_of(values: impl Iterator<Item = f64>) -> f64 {
    median(values.collect())
}

/// Rows of a section judged, at most: the email's table length.
const ROWS_JUDGED: usize = 25;

impl ReportData {
    /// Every unusual number of the sections that ask for it, in section order.
    pub fn unusual(&self) -> Vec<Unusual> {
        let conventions = self.conventions();
        let weekday = conventions.locale.weekday(self.date);
        self.sections
            .iter()
            .enumerate()
            .filter(|(_, s)| s.error.is_none())
            .flat_map(|(index, section)| section_unusual(section, index, conventions, &weekday))
            .collect()
    }
}

fn section_unusual(
    section: &SectionData,
    index: usize,
    conventions: Conventions<'_>,
    weekday: &str,
) -> Vec<Unusual> {
    let Some(rule) = &section.unusual else {
        return vec![];
    };
    let views = display::columns(section, conventions);
    let keys: Vec<usize> = (0..views.len()).filter(|&c| !views[c].numeric()).collect();
    let mut found = Vec::new();
    for row in (0..section.result.rows.len()).take(ROWS_JUDGED) {
        for column in (0..views.len()).filter(|&c| views[c].numeric()) {
            let Some(value) = section.result.rows[row][column].as_f64() else {
                continue;
            };
            let history: Vec<f64> = section
                .same_weekdays
                .iter()
                .filter_map(|week| display::earlier_value(section, &views, row, column, week))
                .collect();
            let view = &views[column];
            let Some(judged) = judge(value, &history, rule, view.format == ValueFormat::Count)
            else {
                continue;
            };
            if judged.side == 0 {
                continue;
            }
            let show =
                |n: f64| display::format_value(&serde_json::json!(n), view.format, conventions);
            let named: Vec<String> = keys
                .iter()
                .map(|&k| {
                    display::format_value(
                        &section.result.rows[row][k],
                        views[k].format,
                        conventions,
                    )
                })
                .filter(|t| !t.is_empty())
                .collect();
            let label = if named.is_empty() {
                view.label.clone()
            } else {
                format!("{} ({})", view.label, named.join(", "))
            };
            let plural = if weekday.is_ascii() { "s" } else { "" };
            found.push(Unusual {
                section: index,
                row,
                column: view.name.clone(),
                text: format!(
                    "{label} is unusually {} for a {weekday}: {}, where the last {} {weekday}{plural} ran {} to {} (median {}).",
                    if judged.side > 0 { "high" } else { "low" },
                    show(value),
                    judged.weeks,
                    show(judged.least),
                    show(judged.most),
                    show(judged.median),
                ),
                direction: judged.side,
                tone: if view.higher_is_better {
                    judged.side
                } else {
                    -judged.side
                },
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> UnusualRule {
        UnusualRule::default()
    }

    #[test]
    fn a_quiet_series_is_judged_on_the_floor_of_5_percent_of_its_median() {
        // Median 100, MAD 1 → spread max(1.48, 5) = 5: band 85 to 115.
        let history = [100.0, 99.0, 101.0, 100.0, 100.0, 98.0, 102.0];
        let judged = |v| judge(v, &history, &rule(), false).unwrap().side;
        assert_eq!(judged(114.0), 0);
        assert_eq!(judged(116.0), 1);
        assert_eq!(judged(86.0), 0);
        assert_eq!(judged(84.0), -1);
    }

    #[test]
    fn the_spread_is_the_scaled_mad_when_it_is_wider_than_the_floor() {
        // Median 100, MAD 10 → spread 14.826, band 55.5 to 144.5.
        let history = [90.0, 110.0, 100.0, 80.0, 120.0];
        assert_eq!(judge(144.0, &history, &rule(), false).unwrap().side, 0);
        assert_eq!(judge(145.0, &history, &rule(), false).unwrap().side, 1);
    }

    #[test]
    fn too_few_weeks_or_small_counts_are_not_judged() {
        assert!(judge(500.0, &[100.0, 100.0, 100.0], &rule(), false).is_none());
        assert!(judge(90.0, &[20.0, 21.0, 19.0, 20.0], &rule(), true).is_none());
        assert_eq!(
            judge(90.0, &[20.0, 21.0, 19.0, 20.0], &rule(), false)
                .unwrap()
                .side,
            1,
            "a rate or an amount under 100 is judged"
        );
    }

    #[test]
    fn a_series_that_never_moved_flags_only_a_real_move() {
        let flat = [1000.0; 6];
        assert_eq!(judge(1010.0, &flat, &rule(), true).unwrap().side, 0);
        assert_eq!(judge(1200.0, &flat, &rule(), true).unwrap().side, 1);
    }
}
