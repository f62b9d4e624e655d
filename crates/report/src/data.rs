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
    /// The run's variables as `name = value`, shown under the report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<String>,
}

impl ReportData {
    /// Its currency and date locale.
    pub fn conventions(&self) -> crate::display::Conventions<'_> {
        crate::display::Conventions {
            currency: self.currency.as_deref(),
            locale: self.locale.unwrap_or_default(),
        }
    }

    /// What is wrong with the report, one line per section in trouble: shown at the top of the
    /// report and in the approval email, so that a wrong report never looks right.
    /// Failed and warning data-quality checks are problems too: a report built on stale or
    /// broken data must say so.
    /// Every problem as the report's readers see it.
    pub fn problems(&self) -> Vec<String> {
        self.problems_with(SectionData::problem)
    }

    /// Every problem with the failed queries' errors: for the run's operators.
    pub fn problem_details(&self) -> Vec<String> {
        self.problems_with(SectionData::problem_detail)
    }

    fn problems_with(&self, problem: fn(&SectionData, NaiveDate) -> Option<String>) -> Vec<String> {
        let mut problems: Vec<String> = self
            .sections
            .iter()
            .filter_map(|s| problem(s, self.date).map(|p| format!("{}: {p}", s.title)))
            .collect();
        for checks in self
            .sections
            .iter()
            .filter(|s| s.title == crate::steps::CHECKS_SECTION)
        {
            problems.extend(
                checks
                    .result
                    .rows
                    .iter()
                    .filter(|row| row.first().and_then(|v| v.as_str()) != Some("ok"))
                    .map(|row| {
                        let cells: Vec<&str> = row.iter().filter_map(|v| v.as_str()).collect();
                        format!("{}: {}", checks.title, cells.join(" · "))
                    }),
            );
        }
        problems
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionData {
    pub title: String,
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
}

impl SectionData {
    /// A section with only its title and result (a query's, or the checks').
    pub fn new(title: impl Into<String>, result: QueryResult) -> Self {
        Self {
            title: title.into(),
            description: None,
            result,
            chart: None,
            columns: BTreeMap::new(),
            error: None,
            previous_day: None,
            previous_week: None,
            headline: false,
            mismatch: None,
        }
    }

    /// Why this section must not be read as it looks: its query failed, or its chart would
    /// be empty, flat or a trend of one day.
    /// The section's problem as everyone who gets the report reads it: a failed query says
    /// that it failed, not its SQL or the engine's words, which are for the run's operators
    /// ([`Self::problem_detail`]).
    pub fn problem(&self, date: NaiveDate) -> Option<String> {
        if self.error.is_some() {
            return Some(
                "the query failed; the run's operators have the error in its report".to_string(),
            );
        }
        self.problem_detail(date)
    }

    /// The problem as the run's operators read it, the failed query's error included.
    pub fn problem_detail(&self, date: NaiveDate) -> Option<String> {
        if let Some(error) = &self.error {
            return Some(format!("the query failed: {error}"));
        }
        if let Some(mismatch) = &self.mismatch {
            return Some(mismatch.clone());
        }
        let chart = self.chart.as_ref()?;
        match crate::chart::plot(self, chart, date) {
            Ok(plot) => plot.problem(chart),
            Err(missing) => Some(missing),
        }
    }

    /// The chart's points, when the section has a chart that can be drawn.
    pub fn plot(&self, date: NaiveDate) -> Option<crate::chart::Plot> {
        let chart = self.chart.as_ref()?;
        crate::chart::plot(self, chart, date).ok()
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
