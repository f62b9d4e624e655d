//! A section's long result as a grid (`pivot` in its config): a retention table reads as
//! cohorts down and weeks across, not as one line per cohort and week.

use crate::model::data::SectionData;
use crate::model::display::{self, Conventions};
use daybook_core::config::{ColumnDisplay, PivotSpec};
use daybook_core::ports::QueryResult;
use serde_json::Value;

/// `section` with its rows as the grid `spec` asks for; as it was when the result lacks one of
/// the spec's columns (its problem is then the chart's or the query's, not the grid's).
pub fn pivoted(
    mut section: SectionData,
    spec: &PivotSpec,
    conventions: Conventions<'_>,
) -> SectionData {
    let (Some(row_at), Some(column_at), Some(value_at)) = (
        section.column_index(&spec.rows),
        section.column_index(&spec.columns),
        section.column_index(&spec.value),
    ) else {
        return section;
    };
    let views = display::columns(&section, conventions);
    let kept: Vec<usize> = (0..views.len())
        .filter(|c| ![column_at, value_at].contains(c))
        .collect();
    // Lines and columns in the order they first appear (the query's ORDER BY).
    let mut lines: Vec<(Value, Vec<Value>)> = Vec::new();
    let mut across: Vec<Value> = Vec::new();
    for row in &section.result.rows {
        if !across.contains(&row[column_at]) {
            across.push(row[column_at].clone());
        }
        if !lines.iter().any(|(key, _)| *key == row[row_at]) {
            lines.push((
                row[row_at].clone(),
                kept.iter().map(|&c| row[c].clone()).collect(),
            ));
        }
    }
    let heading = |v: &Value| {
        format!(
            "{}_{}",
            section.result.columns[column_at],
            crate::model::data::format_cell(v)
        )
    };
    let mut columns: Vec<String> = kept
        .iter()
        .map(|&c| section.result.columns[c].clone())
        .collect();
    columns.extend(across.iter().map(heading));
    let rows = lines
        .iter()
        .map(|(key, first)| {
            let mut cells = first.clone();
            cells.extend(across.iter().map(|at| {
                section
                    .result
                    .rows
                    .iter()
                    .find(|r| r[row_at] == *key && r[column_at] == *at)
                    .map_or(Value::Null, |r| r[value_at].clone())
            }));
            cells
        })
        .collect();
    let value_view = &views[value_at];
    for at in &across {
        section.columns.insert(
            heading(at),
            ColumnDisplay {
                label: Some(format!(
                    "{} {}",
                    views[column_at].label,
                    crate::model::data::format_cell(at)
                )),
                format: Some(value_view.format),
                higher_is_better: Some(value_view.higher_is_better),
                private: false,
            },
        );
    }
    section.result = QueryResult { columns, rows };
    section
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_long_result_reads_as_cohorts_down_and_weeks_across() {
        let long = QueryResult {
            columns: [
                "cohort_week",
                "week_number",
                "cohort_customers",
                "retention",
            ]
            .map(String::from)
            .to_vec(),
            rows: vec![
                vec![json!("2026-11-02"), json!(0), json!(40), json!(1.0)],
                vec![json!("2026-11-02"), json!(1), json!(40), json!(0.25)],
                vec![json!("2026-11-02"), json!(2), json!(40), json!(0.1)],
                vec![json!("2026-11-09"), json!(0), json!(50), json!(1.0)],
                vec![json!("2026-11-09"), json!(1), json!(50), json!(0.2)],
            ],
        };
        let spec = PivotSpec {
            rows: "cohort_week".into(),
            columns: "week_number".into(),
            value: "retention".into(),
        };
        let grid = pivoted(
            SectionData::new("Retention", long),
            &spec,
            Conventions::default(),
        );
        assert_eq!(
            grid.result.columns,
            [
                "cohort_week",
                "cohort_customers",
                "week_number_0",
                "week_number_1",
                "week_number_2"
            ]
        );
        assert_eq!(
            grid.result.rows,
            vec![
                vec![
                    json!("2026-11-02"),
                    json!(40),
                    json!(1.0),
                    json!(0.25),
                    json!(0.1)
                ],
                vec![
                    json!("2026-11-09"),
                    json!(50),
                    json!(1.0),
                    json!(0.2),
                    Value::Null
                ],
            ]
        );
        let html = crate::render::html::render_browser(
            &crate::model::data::ReportData {
                name: "r".into(),
                title: "R".into(),
                date: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
                job_id: "j".into(),
                generated_at: chrono::Utc::now(),
                currency: None,
                locale: None,
                sections: vec![grid],
                summary: vec![],
                variables: vec![],
            },
            &[],
        )
        .unwrap();
        assert!(
            html.contains("Week number 1") && html.contains("25.0%"),
            "percent, labelled"
        );
    }
}
