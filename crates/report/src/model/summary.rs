//! The report in one line, for the subject and the top of every copy: the numbers its config
//! names, each with its move against the same weekday a week before, and how many things need
//! a look (problems and unusual numbers).

use crate::model::data::ReportData;
use crate::model::display::{self, Delta, Shown};
use serde::Serialize;

/// A headline number as a tile: with whether it is unusual for the weekday (1 high, -1 low,
/// 0 not) and how that reads (1 good, -1 bad).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tile {
    #[serde(flatten)]
    pub shown: Shown,
    pub unusual: i8,
    pub unusual_tone: i8,
    /// The number on the same weekday of the weeks before and today, oldest first, as bar
    /// heights in pixels (a sparkline drawn with table cells, so it shows where images are
    /// blocked); empty with fewer than three such days.
    pub spark: Vec<u32>,
    /// What the sparkline shows, in words.
    pub spark_text: String,
}

/// The tallest and the shortest bar of a sparkline, in CSS pixels.
const SPARK_PIXELS: (u32, u32) = (24, 3);

/// How many summary numbers a report without a `summary` shows: the first headline numbers.
const DEFAULT_NUMBERS: usize = 2;

impl ReportData {
    /// The headline numbers as tiles, those the summary names first.
    pub fn tiles(&self) -> Vec<Tile> {
        let unusual = self.unusual();
        display::headline_at(self)
            .into_iter()
            .map(|(section, shown)| {
                let flagged = unusual.iter().find(|u| {
                    u.section == section && u.row == 0 && u.column.eq_ignore_ascii_case(&shown.name)
                });
                let (spark, spark_text) = self.spark(section, &shown.name);
                Tile {
                    unusual: flagged.map_or(0, |u| u.direction),
                    unusual_tone: flagged.map_or(0, |u| u.tone),
                    shown,
                    spark,
                    spark_text,
                }
            })
            .collect()
    }

    /// The sparkline of column `name` of section `section`'s first row: its value on the same
    /// weekday of the weeks the section read (`unusual`), then today's.
    fn spark(&self, section: usize, name: &str) -> (Vec<u32>, String) {
        let data = &self.sections[section];
        let views = display::columns(data, self.conventions());
        let Some(column) = views.iter().position(|v| v.name.eq_ignore_ascii_case(name)) else {
            return (vec![], String::new());
        };
        let mut values: Vec<f64> = data
            .same_weekdays
            .iter()
            .rev()
            .filter_map(|week| display::earlier_value(data, &views, 0, column, week))
            .collect();
        let Some(today) = data.result.rows[0][column].as_f64() else {
            return (vec![], String::new());
        };
        values.push(today);
        if values.len() < 3 {
            return (vec![], String::new());
        }
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (tall, short) = SPARK_PIXELS;
        let heights = values
            .iter()
            .map(|v| {
                if hi > lo {
                    short + ((v - lo) / (hi - lo) * f64::from(tall - short)).round() as u32
                } else {
                    (tall + short) / 2
                }
            })
            .collect();
        let shown = |v: f64| {
            display::format_value(
                &serde_json::json!(v),
                views[column].format,
                self.conventions(),
            )
        };
        let text = format!(
            "The last {} {}s and today: {} to {}",
            values.len() - 1,
            self.conventions().locale.weekday(self.date),
            shown(lo),
            shown(hi)
        );
        (heights, text)
    }

    /// The numbers the summary line names: those of `summary` found among the headline
    /// numbers, or the first two when it names none.
    pub fn summary_numbers(&self) -> Vec<Shown> {
        let headline = display::headline(self);
        if self.summary.is_empty() {
            return headline.into_iter().take(DEFAULT_NUMBERS).collect();
        }
        self.summary
            .iter()
            .filter_map(|name| {
                headline
                    .iter()
                    .find(|shown| shown.name.eq_ignore_ascii_case(name))
                    .cloned()
            })
            .collect()
    }

    /// How many things need a reader's look: problems, then unusual numbers.
    pub fn attention(&self) -> usize {
        self.problems().len() + self.unusual().len()
    }

    /// `Revenue $25,108.93 ▲ 3.2% · Orders 412 ▼ 1.0% · 2 need a look`: each move against the
    /// same weekday a week before (the day before when there is no such day).
    pub fn summary_line(&self) -> String {
        let mut parts: Vec<String> = self
            .summary_numbers()
            .iter()
            .map(|number| {
                let moved: Option<&Delta> = number.week.as_ref().or(number.day.as_ref());
                match moved {
                    Some(delta) => format!("{} {} {}", number.label, number.text, delta.text),
                    None => format!("{} {}", number.label, number.text),
                }
            })
            .collect();
        parts.push(attention_words(self.attention()));
        parts.join(" · ")
    }

    /// What the moves in the summary line compare with, in words: "vs last Sunday".
    pub fn summary_against(&self) -> String {
        let weekly = self
            .summary_numbers()
            .iter()
            .any(|number| number.week.is_some());
        if weekly {
            format!(
                "moves vs last {}",
                self.conventions().locale.weekday(self.date)
            )
        } else {
            "moves vs the day before".to_string()
        }
    }
}

fn attention_words(count: usize) -> String {
    match count {
        0 => "nothing unusual".to_string(),
        1 => "1 needs a look".to_string(),
        n => format!("{n} need a look"),
    }
}

/// A subject from its template: `{title}`, `{date}` (with its weekday) and `{summary}` filled
/// in; a summary left empty takes the separator before it along.
pub fn subject(template: &str, title: &str, date: &str, summary: &str) -> String {
    let filled = template.replace("{title}", title).replace("{date}", date);
    if summary.is_empty() {
        let cut = filled.replace("{summary}", "");
        cut.trim_end_matches([' ', ':', '—', '-', '·', ',', '|'])
            .to_string()
    } else {
        filled.replace("{summary}", summary)
    }
}
