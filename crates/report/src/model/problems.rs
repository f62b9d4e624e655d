//! What is wrong with a report: a failed query, a section that disagrees with its mart, a chart
//! that would be empty or flat, a data-quality check that did not pass. Above the data and the
//! charts, as it reads both.

use super::data::{ReportData, SectionData, SectionKind};
use chrono::NaiveDate;

impl ReportData {
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
            .filter(|s| s.kind == SectionKind::Checks)
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

impl SectionData {
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
        match super::chart::plot(self, chart, date) {
            Ok(plot) => plot.problem(chart),
            Err(missing) => Some(missing),
        }
    }
}
