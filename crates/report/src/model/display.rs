//! How a section's columns read: a label for people and a format for their values, from the
//! report definition or, where it says nothing, from the column's name and values. The email,
//! the text part and the workbook all show a column through this one place.

use crate::model::data::{ReportData, SectionData};
use daybook_core::config::ValueFormat;
use daybook_core::ports::QueryResult;
use daybook_core::printable::printable;
use serde_json::Value;

/// How a report writes its values: the currency of its money columns and the locale of its
/// dates.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Conventions<'a> {
    pub currency: Option<&'a str>,
    pub locale: Locale,
}

impl<'a> From<Option<&'a str>> for Conventions<'a> {
    fn from(currency: Option<&'a str>) -> Self {
        Self {
            currency,
            locale: Locale::default(),
        }
    }
}

pub use daybook_core::config::Locale;

/// One column as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnView {
    pub name: String,
    pub label: String,
    pub format: ValueFormat,
    /// Whether a rise is good news.
    pub higher_is_better: bool,
}

impl ColumnView {
    /// Right-aligned in tables: every format but text and dates.
    pub fn numeric(&self) -> bool {
        !matches!(self.format, ValueFormat::Text | ValueFormat::Date)
    }
}

/// The section's columns, in query order.
pub fn columns(section: &SectionData, conventions: Conventions<'_>) -> Vec<ColumnView> {
    section
        .result
        .columns
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let declared = section.columns.get(name);
            ColumnView {
                name: name.clone(),
                label: declared
                    .and_then(|d| d.label.clone())
                    .unwrap_or_else(|| words(name)),
                format: declared
                    .and_then(|d| d.format)
                    .unwrap_or_else(|| infer(section, i, name, conventions.currency.is_some())),
                higher_is_better: declared.and_then(|d| d.higher_is_better).unwrap_or(true),
            }
        })
        .collect()
}

/// How a number moved against an earlier day: `▲ 3.2%`, or for a percentage `▼ 0.4 pt`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Delta {
    pub text: String,
    /// 1 up, -1 down, 0 unchanged (as far as the text shows).
    pub direction: i8,
    /// 1 good news, -1 bad news, 0 neither: unchanged, or a move between small counts.
    pub tone: i8,
}

/// Counts under this, before and now, move by large shares on chance alone (28 units to 57 is
/// +103.6%): their moves are shown but neither good nor bad.
pub const SMALL_COUNT: f64 = 100.0;

/// The move of row `row`, column `column` of `section` against `earlier` (the same query for
/// an earlier day): rows are matched by the values of their text columns (by position when
/// the section has none). None when there is nothing to compare with.
pub fn delta(
    section: &SectionData,
    views: &[ColumnView],
    row: usize,
    column: usize,
    earlier: &QueryResult,
) -> Option<Delta> {
    let now = section.result.rows.get(row)?.get(column)?.as_f64()?;
    let before = earlier_value(section, views, row, column, earlier)?;
    // The change as the text shows it, in points or percent to one decimal: what rounds to
    // 0.0 did not move.
    let shown = if views[column].format == ValueFormat::Percent {
        (now - before) * 100.0
    } else if before == 0.0 {
        return None;
    } else {
        (now - before) / before.abs() * 100.0
    };
    let unit = if views[column].format == ValueFormat::Percent {
        " pt"
    } else {
        "%"
    };
    let text = format!("{}{unit}", grouped(shown.abs(), 1));
    let direction = if (shown.abs() * 10.0).round() == 0.0 {
        0
    } else if shown > 0.0 {
        1
    } else {
        -1
    };
    let small = views[column].format == ValueFormat::Count
        && now.abs() < SMALL_COUNT
        && before.abs() < SMALL_COUNT;
    let tone = match (small, views[column].higher_is_better) {
        (true, _) => 0,
        (false, true) => direction,
        (false, false) => -direction,
    };
    let arrow = match direction {
        1 => "▲",
        -1 => "▼",
        _ => "=",
    };
    Some(Delta {
        text: format!("{arrow} {text}"),
        direction,
        tone,
    })
}

/// The value that row `row`, column `column` of `section` had in `earlier` (the same query
/// for an earlier day): rows are matched by the values of their text columns (by position
/// when the section has none).
pub fn earlier_value(
    section: &SectionData,
    views: &[ColumnView],
    row: usize,
    column: usize,
    earlier: &QueryResult,
) -> Option<f64> {
    let keys: Vec<usize> = (0..views.len()).filter(|&i| !views[i].numeric()).collect();
    let position = |name: &str| earlier.columns.iter().position(|c| c == name);
    let matched = if keys.is_empty() {
        earlier.rows.get(row)
    } else {
        let wanted: Vec<(Option<usize>, &Value)> = keys
            .iter()
            .map(|&k| (position(&views[k].name), &section.result.rows[row][k]))
            .collect();
        earlier.rows.iter().find(|candidate| {
            wanted
                .iter()
                .all(|(at, value)| at.is_some_and(|at| candidate.get(at) == Some(*value)))
        })
    }?;
    matched.get(position(&views[column].name)?)?.as_f64()
}

/// One value as shown, with its moves against the day before and a week before.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Shown {
    /// The column's name in the query.
    pub name: String,
    pub label: String,
    pub text: String,
    pub day: Option<Delta>,
    pub week: Option<Delta>,
}

/// Row `row`, column `column` of `section` as shown.
pub fn shown(
    section: &SectionData,
    views: &[ColumnView],
    row: usize,
    column: usize,
    currency: Conventions<'_>,
) -> Shown {
    let view = &views[column];
    let value = &section.result.rows[row][column];
    let moved = |earlier: &Option<QueryResult>| {
        earlier
            .as_ref()
            .filter(|_| view.numeric())
            .and_then(|e| delta(section, views, row, column, e))
    };
    Shown {
        name: view.name.clone(),
        label: view.label.clone(),
        text: format_value(value, view.format, currency),
        day: moved(&section.previous_day),
        week: moved(&section.previous_week),
    }
}

/// The headline numbers: every number of the first row of each headline section, those the
/// report's summary names first, in its order.
pub fn headline(report: &crate::model::data::ReportData) -> Vec<Shown> {
    headline_at(report)
        .into_iter()
        .map(|(_, shown)| shown)
        .collect()
}

/// The same, each with the index of its section.
pub fn headline_at(report: &crate::model::data::ReportData) -> Vec<(usize, Shown)> {
    let currency = report.conventions();
    let mut numbers = Vec::new();
    for (index, section) in report
        .sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.headline && s.error.is_none() && !s.result.rows.is_empty())
    {
        let views = columns(section, currency);
        for column in (0..views.len()).filter(|&c| views[c].numeric()) {
            numbers.push((index, shown(section, &views, 0, column, currency)));
        }
    }
    // The first number of each name the summary gives, in its order, then the rest in their
    // sections' order.
    let mut first = Vec::new();
    for name in &report.summary {
        if let Some(at) = numbers
            .iter()
            .position(|(_, shown)| shown.name.eq_ignore_ascii_case(name))
        {
            first.push(numbers.remove(at));
        }
    }
    first.append(&mut numbers);
    first
}

/// The rows of `section` in the order a reader is shown them, before any cut to a few: a trend
/// (a line chart) newest first, so a cut leaves out the oldest days and never yesterday; data
/// quality only the checks that did not pass (its description counts the rest); any other
/// section as its query ordered it.
pub fn reading_order(section: &crate::model::data::SectionData) -> Vec<usize> {
    use crate::model::data::SectionKind;
    let rows = &section.result.rows;
    let mut order: Vec<usize> = (0..rows.len()).collect();
    if section.kind == SectionKind::Checks {
        order.retain(|&r| rows[r].first() != Some(&serde_json::json!("ok")));
    }
    let trend = section
        .chart
        .as_ref()
        .filter(|c| c.kind == daybook_core::config::ChartKind::Line)
        .and_then(|c| section.column_index(&c.category));
    if let Some(at) = trend {
        // Stable, so the lines of one day keep their query's order.
        order.sort_by(|&a, &b| later_first(&rows[a][at], &rows[b][at]));
    }
    order
}

/// Dates (`YYYY-MM-DD`, any ISO text) and numbers, the later or larger first.
fn later_first(a: &serde_json::Value, b: &serde_json::Value) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) => b.total_cmp(&a),
        _ => b
            .as_str()
            .unwrap_or_default()
            .cmp(a.as_str().unwrap_or_default()),
    }
}

/// Whether the tiles show all of `section`: a headline section of one row of numbers, with no
/// chart. Its table would repeat them just below, so the email and the browser copy leave it
/// out (the workbook keeps it).
pub fn only_tiles(section: &crate::model::data::SectionData, currency: Conventions<'_>) -> bool {
    section.headline
        && section.error.is_none()
        && section.chart.is_none()
        && section.result.rows.len() == 1
        && columns(section, currency).iter().all(ColumnView::numeric)
}

/// `zero_result_rate` → "Zero result rate", `isbn13` → "ISBN-13", `dau` → "DAU".
pub fn words(name: &str) -> String {
    let words: Vec<String> = name
        .split(['_', ' '])
        .filter(|w| !w.is_empty())
        .map(|word| match word.to_ascii_lowercase().as_str() {
            "id" => "ID".to_string(),
            "dau" | "wau" | "mau" | "sku" | "url" | "ip" => word.to_ascii_uppercase(),
            "isbn13" => "ISBN-13".to_string(),
            "avg" => "average".to_string(),
            "min" => "minimum".to_string(),
            "max" => "maximum".to_string(),
            other => other.to_string(),
        })
        .collect();
    let text = words.join(" ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => name.to_string(),
    }
}

/// A format from the column's name and values, when the definition gives none.
fn infer(section: &SectionData, column: usize, name: &str, has_currency: bool) -> ValueFormat {
    let values: Vec<&Value> = section
        .result
        .rows
        .iter()
        .map(|r| &r[column])
        .filter(|v| !v.is_null())
        .collect();
    if values.is_empty() || !values.iter().all(|v| v.is_number()) {
        let dates = !values.is_empty()
            && values.iter().all(|v| {
                v.as_str()
                    .is_some_and(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok())
            });
        return if dates {
            ValueFormat::Date
        } else {
            ValueFormat::Text
        };
    }
    let lower = name.to_ascii_lowercase();
    let ends = |suffixes: &[&str]| suffixes.iter().any(|s| lower.ends_with(s));
    if ends(&["rate", "share", "ratio", "retention", "stickiness", "pct"]) {
        ValueFormat::Percent
    } else if has_currency && ends(&["revenue", "price", "amount", "freight"]) {
        ValueFormat::Money
    } else if values.iter().all(|v| v.is_i64() || v.is_u64()) {
        ValueFormat::Count
    } else {
        ValueFormat::Decimal
    }
}

/// A currency's symbol and decimal places; an unknown code is written out.
fn currency(code: &str) -> (String, usize) {
    match code.to_ascii_uppercase().as_str() {
        "USD" => ("$".into(), 2),
        "EUR" => ("€".into(), 2),
        "GBP" => ("£".into(), 2),
        "JPY" => ("¥".into(), 0),
        "KRW" => ("₩".into(), 0),
        "CNY" => ("CN¥".into(), 2),
        "INR" => ("₹".into(), 2),
        other => (format!("{other} "), 2),
    }
}

/// A value as people read it in `format`.
/// A value as the email and the text part show it; text from the data is made printable
/// (`daybook_core::printable`), as a keyword holding CR LF or ESC is someone's input.
pub fn format_value<'a>(
    value: &Value,
    format: ValueFormat,
    conventions: impl Into<Conventions<'a>>,
) -> String {
    let conventions = conventions.into();
    let currency_code = conventions.currency;
    let number = value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()));
    match (format, value, number) {
        (_, Value::Null, _) => String::new(),
        (ValueFormat::Date, Value::String(s), _) => match s.parse::<chrono::NaiveDate>() {
            Ok(date) => conventions.locale.date(date),
            Err(_) => printable(s).into_owned(),
        },
        (ValueFormat::Count, _, Some(n)) => grouped(n, 0),
        (ValueFormat::Decimal, _, Some(n)) => grouped(n, 2),
        (ValueFormat::Percent, _, Some(n)) => format!("{}%", grouped(n * 100.0, 1)),
        (ValueFormat::Money, _, Some(n)) => {
            let (symbol, places) = currency(currency_code.unwrap_or("USD"));
            let sign = if n < 0.0 { "-" } else { "" };
            format!("{sign}{symbol}{}", grouped(n.abs(), places))
        }
        (_, Value::String(s), _) => printable(s).into_owned(),
        (_, other, _) => printable(&other.to_string()).into_owned(),
    }
}

/// An Excel number format for `format`, or none for text.
pub fn excel_format<'a>(
    format: ValueFormat,
    conventions: impl Into<Conventions<'a>>,
) -> Option<String> {
    let conventions = conventions.into();
    let currency_code = conventions.currency;
    Some(match format {
        ValueFormat::Text => return None,
        ValueFormat::Count => "#,##0".into(),
        ValueFormat::Decimal => "#,##0.00".into(),
        ValueFormat::Percent => "0.0%".into(),
        ValueFormat::Date => conventions.locale.excel_date().into(),
        ValueFormat::Money => {
            let (symbol, places) = currency(currency_code.unwrap_or("USD"));
            let decimals = if places == 0 {
                String::new()
            } else {
                format!(".{}", "0".repeat(places))
            };
            format!("\"{symbol}\"#,##0{decimals}")
        }
    })
}

/// `n` rounded to `places` with thousands separators.
fn grouped(n: f64, places: usize) -> String {
    if !n.is_finite() {
        return n.to_string();
    }
    let text = format!("{:.*}", places, n.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::with_capacity(text.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    // No "-0.0": a value that rounds to zero has no sign.
    let zero = text.chars().all(|c| c == '0' || c == '.');
    if n < 0.0 && !zero {
        format!("-{out}")
    } else {
        out
    }
}

/// `text` cut to `chars` characters, ending in `…` when cut.
pub fn clip(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

impl ReportData {
    /// Its currency and date locale.
    pub fn conventions(&self) -> Conventions<'_> {
        Conventions {
            currency: self.currency.as_deref(),
            locale: self.locale.unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_read_as_their_format_says() {
        assert_eq!(
            format_value(&json!(0.002), ValueFormat::Percent, None),
            "0.2%"
        );
        assert_eq!(
            format_value(&json!(1683), ValueFormat::Money, Some("USD")),
            "$1,683.00"
        );
        assert_eq!(
            format_value(&json!(880.7), ValueFormat::Money, Some("USD")),
            "$880.70"
        );
        assert_eq!(
            format_value(&json!(-12345.4), ValueFormat::Money, Some("KRW")),
            "-₩12,345"
        );
        assert_eq!(
            format_value(&json!(1234567), ValueFormat::Count, None),
            "1,234,567"
        );
        assert_eq!(
            format_value(&json!("12.5"), ValueFormat::Decimal, None),
            "12.50"
        );
        assert_eq!(
            format_value(&json!(-0.0001), ValueFormat::Decimal, None),
            "0.00"
        );
        assert_eq!(format_value(&json!(null), ValueFormat::Count, None), "");
        assert_eq!(
            format_value(&json!("Seoul"), ValueFormat::Count, None),
            "Seoul"
        );
    }

    #[test]
    fn names_read_as_words() {
        assert_eq!(words("zero_result_rate"), "Zero result rate");
        assert_eq!(words("isbn13"), "ISBN-13");
        assert_eq!(words("dau"), "DAU");
        assert_eq!(words("avg_hours"), "Average hours");
        assert_eq!(words("user_id"), "User ID");
    }

    #[test]
    fn excel_formats_match_the_email() {
        assert_eq!(excel_format(ValueFormat::Percent, None).unwrap(), "0.0%");
        assert_eq!(
            excel_format(ValueFormat::Money, Some("EUR")).unwrap(),
            "\"€\"#,##0.00"
        );
        assert_eq!(
            excel_format(ValueFormat::Money, Some("KRW")).unwrap(),
            "\"₩\"#,##0"
        );
        assert!(excel_format(ValueFormat::Text, None).is_none());
    }
}
