use chrono::{DateTime, NaiveDate, Utc};
use daybook_core::config::{ChartSpec, ColumnDisplay};
use daybook_core::ports::QueryResult;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything a report shows, as queried: rendered to HTML, text and Excel alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    pub name: String,
    pub title: String,
    pub date: NaiveDate,
    pub job_id: String,
    pub generated_at: DateTime<Utc>,
    /// ISO 4217 code of the money columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// How dates read (`ko-KR`: 2026. 11. 21.); none for ISO dates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<daybook_core::config::Locale>,
    pub sections: Vec<SectionData>,
    /// The headline columns that make the one-line summary (none: the first two).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub summary: Vec<String>,
    /// The run's variables as `name = value`, shown under the report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<String>,
}

impl ReportData {}

/// What a section holds: a query's result, or the run's data-quality checks (one row per
/// check, its status first), whose rows that are not `ok` are the report's problems.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    #[default]
    Query,
    Checks,
}

impl SectionKind {
    fn is_query(&self) -> bool {
        *self == SectionKind::Query
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionData {
    pub title: String,
    #[serde(default, skip_serializing_if = "SectionKind::is_query")]
    pub kind: SectionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub result: QueryResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartSpec>,
    /// Labels and formats from the report definition, by column name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, ColumnDisplay>,
    /// Why the section's query failed, when it did: the report is built without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The same query for the day before and the same day a week before, when the section
    /// compares (none where that query failed or the lake has no such day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_day: Option<QueryResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_week: Option<QueryResult>,
    /// Its first row is shown as headline numbers at the top.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub headline: bool,
    /// How the section disagrees with the marts the run built (no rows where its mart has).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<String>,
    /// The days its figures read that the warehouse does not hold yet, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_history: Option<String>,
    /// When its numbers are unusual, and the same query for the same weekday in each of the
    /// rule's weeks before (the nearest first; a week with no rows is left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unusual: Option<daybook_core::config::UnusualRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub same_weekdays: Vec<QueryResult>,
}

impl SectionData {
    /// A section with only its title and result (a query's, or the checks').
    pub fn new(title: impl Into<String>, result: QueryResult) -> Self {
        Self {
            title: title.into(),
            kind: SectionKind::Query,
            description: None,
            result,
            chart: None,
            columns: BTreeMap::new(),
            error: None,
            previous_day: None,
            previous_week: None,
            headline: false,
            mismatch: None,
            short_history: None,
            unusual: None,
            same_weekdays: Vec::new(),
        }
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.result
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }

    /// Whether every non-null value of a column is a number.
    pub fn is_numeric(&self, column: usize) -> bool {
        let mut values = self
            .result
            .rows
            .iter()
            .map(|r| &r[column])
            .filter(|v| !v.is_null())
            .peekable();
        values.peek().is_some() && values.all(|v| v.is_number())
    }
}

/// A cell as people read it: integers with thousands separators, fractions to 3 places.
pub fn format_cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => group_thousands(i),
            None => {
                let f = n.as_f64().unwrap_or_default();
                let whole = f.fract() == 0.0 && f.abs() < 1e15;
                if whole || f.abs() >= 1000.0 {
                    group_thousands(f.round() as i64)
                } else {
                    // Three places for rates, but money reads 931.70, not 931.700.
                    let mut text = format!("{f:.3}");
                    if text.ends_with('0') {
                        text.pop();
                    }
                    text
                }
            }
        },
        other => other.to_string(),
    }
}

fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::format_cell;
    use serde_json::json;

    #[test]
    fn formats_numbers_for_people() {
        assert_eq!(format_cell(&json!(1234567)), "1,234,567");
        assert_eq!(format_cell(&json!(-1000)), "-1,000");
        assert_eq!(format_cell(&json!(0.12345)), "0.123");
        assert_eq!(format_cell(&json!(994.0)), "994");
        assert_eq!(format_cell(&json!(931.7)), "931.70");
        assert_eq!(format_cell(&json!(0.29)), "0.29");
        assert_eq!(format_cell(&json!(null)), "");
    }
}
