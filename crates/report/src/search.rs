//! One-off analyses (a `search` folder of Excel results, as the teams we replace keep): a
//! read-only query over the marts, written as a workbook to `search/<id>/result.xlsx`.
//!
//! On AWS the query runs as a database user that may only SELECT (its function's role, which
//! the loader grants read access to); the checks here refuse what is plainly not one query
//! before it reaches the database, and never overwrite an earlier result.

use crate::model::data::{ReportData, SectionData};
use crate::{ReportError, Result};
use chrono::{DateTime, NaiveDate, Utc};
use daybook_core::config::bind_run_date;
use daybook_core::ports::Warehouse;
use daybook_core::store::ObjectStore;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// The analysis' name: its folder, `search/<id>/`.
    pub id: String,
    /// One SELECT (or WITH … SELECT) over the marts and the lake; `{run_date}` is `date`.
    pub sql: String,
    /// The workbook's title (default: the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The day `{run_date}` stands for (default: yesterday, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    pub id: String,
    pub xlsx_key: String,
    pub sql_key: String,
    pub columns: Vec<String>,
    pub rows: usize,
}

/// `search/<id>/`
pub fn search_prefix(id: &str) -> String {
    format!("search/{id}/")
}

/// Runs the request's query and stores its result as a workbook beside the query's text.
pub async fn run_search(
    store: &dyn ObjectStore,
    warehouse: &dyn Warehouse,
    request: &SearchRequest,
    now: DateTime<Utc>,
) -> Result<SearchResult> {
    check_id(&request.id)?;
    check_read_only(&request.sql)?;
    let prefix = search_prefix(&request.id);
    if !store.list(&prefix).await?.is_empty() {
        return Err(ReportError::Invalid(format!(
            "analysis {:?} already has a result at {}: an analysis is never overwritten, so give this one a new id",
            request.id,
            store.location(&prefix)
        )));
    }
    let date = request
        .date
        .unwrap_or_else(|| now.date_naive().pred_opt().unwrap_or(now.date_naive()));
    let sql = bind_run_date(&request.sql, date);
    let result = warehouse.query(&sql).await.map_err(|e| {
        let kind = daybook_core::Classify::kind(&e);
        ReportError::Port(daybook_core::ports::PortError::with_kind(
            format!("analysis {:?}: the query failed: {e}", request.id),
            kind,
        ))
    })?;
    let title = request.title.clone().unwrap_or_else(|| request.id.clone());
    let columns = result.columns.clone();
    let rows = result.rows.len();
    let data = ReportData {
        variables: Vec::new(),
        summary: Vec::new(),
        name: request.id.clone(),
        title: title.clone(),
        date,
        job_id: request.id.clone(),
        generated_at: now,
        currency: None,
        locale: None,
        sections: vec![SectionData {
            description: Some(request.sql.clone()),
            ..SectionData::new(title, result)
        }],
    };
    let workbook = crate::render::xlsx::render_workbook(&data)?;
    let sql_key = format!("{prefix}query.sql");
    let xlsx_key = format!("{prefix}result.xlsx");
    store.put(&sql_key, sql.into_bytes()).await?;
    store.put(&xlsx_key, workbook).await?;
    Ok(SearchResult {
        id: request.id.clone(),
        xlsx_key,
        sql_key,
        columns,
        rows,
    })
}

fn check_id(id: &str) -> Result<()> {
    daybook_core::naming::check_folder(id, "analysis id").map_err(ReportError::Invalid)
}

/// One statement that reads: it starts with SELECT or WITH (after comments) and has no `;`
/// but a final one. The database user's grants are what make it read-only; this says early
/// and plainly what would be refused.
pub fn check_read_only(sql: &str) -> Result<()> {
    let mut text = sql.trim();
    loop {
        if let Some(rest) = text.strip_prefix("--") {
            text = rest
                .split_once('\n')
                .map_or("", |(_, after)| after)
                .trim_start();
        } else if let Some(rest) = text.strip_prefix("/*") {
            text = rest
                .split_once("*/")
                .map_or("", |(_, after)| after)
                .trim_start();
        } else {
            break;
        }
    }
    let first: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase();
    let body = text.trim_end().trim_end_matches(';');
    if !matches!(first.as_str(), "SELECT" | "WITH") {
        return Err(ReportError::Invalid(format!(
            "an analysis is one SELECT (or WITH … SELECT); this starts with {:?}",
            text.chars().take(30).collect::<String>()
        )));
    }
    if body.contains(';') {
        return Err(ReportError::Invalid(
            "an analysis is one statement: remove the `;` between statements".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_reading_statement_passes() {
        for good in [
            "SELECT 1",
            "  -- top keywords\nWITH t AS (SELECT 1) SELECT * FROM t;",
            "/* note */ select * from marts.search_top",
        ] {
            assert!(check_read_only(good).is_ok(), "{good}");
        }
        for bad in [
            "DELETE FROM marts.search_top",
            "SELECT 1; DROP TABLE marts.search_top",
            "-- only a comment",
            "",
        ] {
            assert!(check_read_only(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_are_folder_names() {
        assert!(check_id("top-isbns-2026").is_ok());
        for bad in ["", "../x", "A", "a/b", &"x".repeat(65)] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }
}
