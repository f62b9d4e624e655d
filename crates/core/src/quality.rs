//! Data-quality checks run by the load step before any mart is built: every table has rows for
//! the day and as many as its export's manifest says; configured tables also have their key
//! columns filled and unique, and recent enough events. Checks are SQL through the warehouse
//! port, so they see what the marts will see.

use crate::marts::LAKE_SCHEMA;
use crate::ports::{PortError, Warehouse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksConfig {
    /// What a failed check does, unless its table says otherwise.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// Checks of particular tables, beyond the row count, the reconciliation and the volume
    /// every table gets.
    #[serde(default)]
    pub tables: Vec<TableChecks>,
    /// A table's day fails its `volume` check when it has fewer rows than this share of the
    /// day before (default 0.1: a tenth); 0 turns the check off.
    #[serde(default = "default_min_share_of_previous_day")]
    pub min_share_of_previous_day: f64,
}

fn default_min_share_of_previous_day() -> f64 {
    0.1
}

impl Default for ChecksConfig {
    fn default() -> Self {
        Self {
            on_failure: OnFailure::default(),
            tables: Vec::new(),
            min_share_of_previous_day: default_min_share_of_previous_day(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// The run goes on; the report and the approval email show the warning.
    #[default]
    Warn,
    /// The load step fails before building any mart; nothing is reported or sent.
    Stop,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableChecks {
    /// The catalog name, `<source>_<table>` (as in `lake.<name>`).
    pub table: String,
    /// The fewest rows the day may have (default 1; 0 for a table that is often empty, such
    /// as Segment's `aliases`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rows: Option<u64>,
    /// Columns that must have a value in every row of the day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_null: Vec<String>,
    /// Columns that together identify a row: no two rows of the day may share them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness: Option<Freshness>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<OnFailure>,
}

/// The newest value of `column` must be at most `max_age_hours` before the end of the run date
/// (midnight UTC after it): a day whose events stop at noon has lost half of its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Freshness {
    pub column: String,
    pub max_age_hours: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Passed,
    /// Failed, configured to warn.
    Warning,
    /// Failed, configured to stop the run.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub table: String,
    /// `rows`, `volume`, `reconciled`, `not_null`, `unique` or `freshness`.
    pub check: String,
    pub status: CheckStatus,
    pub detail: String,
}

/// A table the load step registered for the day, with the row count its manifest promises.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedTable {
    pub table: String,
    pub manifest_rows: u64,
}

/// Runs every check for `dt`. A query that fails is an error (the warehouse or the
/// configuration is wrong, not the data); a check that fails is a result.
pub async fn run_checks(
    warehouse: &dyn Warehouse,
    config: &ChecksConfig,
    tables: &[LoadedTable],
    dt: NaiveDate,
) -> Result<Vec<CheckResult>, PortError> {
    let mut results = Vec::new();
    let outcome =
        |table: &str, on_failure: OnFailure, check: &str, ok: bool, detail: String| CheckResult {
            table: table.to_string(),
            check: check.to_string(),
            status: match (ok, on_failure) {
                (true, _) => CheckStatus::Passed,
                (false, OnFailure::Warn) => CheckStatus::Warning,
                (false, OnFailure::Stop) => CheckStatus::Failed,
            },
            detail,
        };
    let configured = |table: &str| config.tables.iter().find(|t| t.table == table);
    let on_failure_of = |table: &str| {
        configured(table)
            .and_then(|t| t.on_failure)
            .unwrap_or(config.on_failure)
    };
    if !tables.is_empty() {
        let counts = warehouse.query(&row_counts_sql(tables, dt)?).await?;
        let mut seen_by_position = vec![(0u64, 0u64); tables.len()];
        for row in &counts.rows {
            let position = row.first().and_then(number).unwrap_or(-1.0);
            if let Some(slot) = seen_by_position.get_mut(position as usize) {
                let count = |i: usize| row.get(i).and_then(number).unwrap_or(0.0) as u64;
                *slot = (count(1), count(2));
            }
        }
        for (table, &(seen, previous)) in tables.iter().zip(&seen_by_position) {
            let on_failure = on_failure_of(&table.table);
            let min_rows = configured(&table.table)
                .and_then(|t| t.min_rows)
                .unwrap_or(1);
            results.push(outcome(
                &table.table,
                on_failure,
                "rows",
                seen >= min_rows,
                if seen >= min_rows {
                    format!("{seen} rows for {dt}")
                } else {
                    format!("{seen} rows for {dt}, fewer than the {min_rows} expected")
                },
            ));
            let share = config.min_share_of_previous_day;
            let least = (previous as f64 * share).ceil() as u64;
            results.push(outcome(
                &table.table,
                on_failure,
                "volume",
                share <= 0.0 || previous == 0 || seen >= least,
                match previous {
                    0 => "no rows the day before to compare with".to_string(),
                    _ if seen >= least => format!("{seen} rows, {previous} the day before"),
                    _ => format!(
                        "{seen} rows, far below the {previous} of the day before (at least {least} expected): an export may have lost most of the day"
                    ),
                },
            ));
            results.push(outcome(
                &table.table,
                on_failure,
                "reconciled",
                seen == table.manifest_rows,
                if seen == table.manifest_rows {
                    format!("{seen} rows, as the export's manifest says")
                } else {
                    format!(
                        "the warehouse sees {seen} rows, the export's manifest says {}: the partition may point at another run",
                        table.manifest_rows
                    )
                },
            ));
        }
    }
    for checks in &config.tables {
        let on_failure = checks.on_failure.unwrap_or(config.on_failure);
        if !tables.iter().any(|t| t.table == checks.table) {
            results.push(outcome(
                &checks.table,
                on_failure,
                "rows",
                false,
                format!("no export of this run wrote {}; check the table's name in the checks configuration", checks.table),
            ));
            continue;
        }
        results.extend(
            table_checks(warehouse, checks, dt)
                .await?
                .into_iter()
                .map(|(check, ok, detail)| outcome(&checks.table, on_failure, check, ok, detail)),
        );
    }
    Ok(results)
}

/// Checks that failed and are configured to stop the run.
pub fn stopping(results: &[CheckResult]) -> Vec<&CheckResult> {
    results
        .iter()
        .filter(|r| r.status == CheckStatus::Failed)
        .collect()
}

/// One statement for all tables: on Redshift every statement costs a round of polling.
fn row_counts_sql(tables: &[LoadedTable], dt: NaiveDate) -> Result<String, PortError> {
    let previous = dt.pred_opt().unwrap_or(dt);
    let mut parts = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        let name = identifier(&t.table)?;
        parts.push(format!(
            "SELECT {i} AS position, sum(CASE WHEN dt = DATE '{dt}' THEN 1 ELSE 0 END) AS row_count, sum(CASE WHEN dt = DATE '{previous}' THEN 1 ELSE 0 END) AS previous_count FROM {LAKE_SCHEMA}.{name} WHERE dt IN (DATE '{dt}', DATE '{previous}')"
        ));
    }
    Ok(format!(
        "SELECT position, row_count, previous_count FROM (\n{}\n) AS counts ORDER BY position",
        parts.join("\nUNION ALL\n")
    ))
}

async fn table_checks(
    warehouse: &dyn Warehouse,
    checks: &TableChecks,
    dt: NaiveDate,
) -> Result<Vec<(&'static str, bool, String)>, PortError> {
    let table = format!("{LAKE_SCHEMA}.{}", identifier(&checks.table)?);
    let mut out = Vec::new();
    let mut selects = vec!["count(*) AS row_count".to_string()];
    for column in &checks.not_null {
        selects.push(format!(
            "sum(CASE WHEN {} IS NULL THEN 1 ELSE 0 END) AS nulls_{column}",
            identifier(column)?
        ));
    }
    if let Some(freshness) = &checks.freshness {
        selects.push(format!(
            "EXTRACT(EPOCH FROM max({})) AS newest_epoch",
            identifier(&freshness.column)?
        ));
    }
    let stats = warehouse
        .query(&format!(
            "SELECT {} FROM {table} WHERE dt = DATE '{dt}'",
            selects.join(", ")
        ))
        .await?;
    let value = |i: usize| stats.rows.first().and_then(|r| r.get(i));
    for (i, column) in checks.not_null.iter().enumerate() {
        let nulls = value(i + 1).and_then(number).unwrap_or(0.0) as u64;
        out.push((
            "not_null",
            nulls == 0,
            match nulls {
                0 => format!("{column} is set in every row"),
                n => format!("{column} is null in {n} rows"),
            },
        ));
    }
    if let Some(freshness) = &checks.freshness {
        let end_of_day = dt
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp() as f64)
            .unwrap_or_default();
        let newest = value(1 + checks.not_null.len()).and_then(number);
        out.push(match newest {
            None => (
                "freshness",
                false,
                format!("{} has no value for {dt}", freshness.column),
            ),
            Some(epoch) => {
                let age_hours = (end_of_day - epoch) / 3600.0;
                let newest = chrono::DateTime::from_timestamp(epoch as i64, 0)
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_else(|| epoch.to_string());
                if age_hours < -FUTURE_TOLERANCE_HOURS {
                    (
                        "freshness",
                        false,
                        format!(
                            "newest {} is {newest}, {:.1} h after the end of the day: rows from the future, so a clock or a time zone is wrong",
                            freshness.column, -age_hours
                        ),
                    )
                } else {
                    (
                        "freshness",
                        age_hours <= freshness.max_age_hours,
                        format!(
                            "newest {} is {newest}, {age_hours:.1} h before the end of the day (at most {} h allowed)",
                            freshness.column, freshness.max_age_hours
                        ),
                    )
                }
            }
        });
    }
    if !checks.unique.is_empty() {
        let keys = checks
            .unique
            .iter()
            .map(|c| identifier(c))
            .collect::<Result<Vec<_>, _>>()?
            .join(", ");
        let duplicates = warehouse
            .query(&format!(
                "SELECT count(*) AS duplicated_keys, coalesce(sum(copies), 0) AS rows_involved FROM (SELECT {keys}, count(*) AS copies FROM {table} WHERE dt = DATE '{dt}' GROUP BY {keys} HAVING count(*) > 1) AS duplicated"
            ))
            .await?;
        let first = |i: usize| {
            duplicates
                .rows
                .first()
                .and_then(|r| r.get(i))
                .and_then(number)
                .unwrap_or(0.0) as u64
        };
        let (keys_repeated, rows) = (first(0), first(1));
        out.push((
            "unique",
            keys_repeated == 0,
            match keys_repeated {
                0 => format!("({}) is unique", checks.unique.join(", ")),
                n => format!(
                    "{n} values of ({}) occur more than once, in {rows} rows",
                    checks.unique.join(", ")
                ),
            },
        ));
    }
    Ok(out)
}

/// Table and column names go into SQL text, so only plain identifiers are accepted; they are
/// quoted, because lake columns such as `timestamp` are keywords in some engines.
fn identifier(name: &str) -> Result<String, PortError> {
    let mut chars = name.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        Ok(format!("\"{name}\""))
    } else {
        Err(PortError::new(format!(
            "check configuration: {name:?} is not a plain lower-case name (a-z, 0-9, _); name the column or table as the catalog does"
        )))
    }
}

/// Engines return counts as integers, floats or (Redshift NUMERIC) text.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// How far past the end of a day (UTC) a day's newest row may be: a day cut in a time zone west
/// of UTC ends up to 12 hours later, and no zone is more than 14 hours from UTC.
const FUTURE_TOLERANCE_HOURS: f64 = 14.0;

/// A one-line summary for emails: "12 passed, 1 warning".
pub fn summary(results: &[CheckResult]) -> String {
    let count = |s: CheckStatus| results.iter().filter(|r| r.status == s).count();
    let mut parts = vec![format!("{} passed", count(CheckStatus::Passed))];
    for (status, word) in [
        (CheckStatus::Warning, "warning"),
        (CheckStatus::Failed, "failed"),
    ] {
        match count(status) {
            0 => {}
            1 => parts.push(format!("1 {word}")),
            n if word == "warning" => parts.push(format!("{n} warnings")),
            n => parts.push(format!("{n} {word}")),
        }
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_reject_anything_that_could_change_the_sql() {
        assert!(identifier("query_id").is_ok());
        assert!(identifier("_extra").is_ok());
        for bad in ["", "Query", "a b", "x;drop", "1st", "a\"b"] {
            assert!(identifier(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_summary_counts_each_status() {
        let result = |status| CheckResult {
            table: "t".into(),
            check: "rows".into(),
            status,
            detail: String::new(),
        };
        let results = [
            result(CheckStatus::Passed),
            result(CheckStatus::Passed),
            result(CheckStatus::Warning),
            result(CheckStatus::Warning),
            result(CheckStatus::Failed),
        ];
        assert_eq!(summary(&results), "2 passed, 2 warnings, 1 failed");
        assert_eq!(stopping(&results).len(), 1);
    }

    #[test]
    fn row_counts_are_one_statement_in_table_order() {
        let tables = [
            LoadedTable {
                table: "a".into(),
                manifest_rows: 1,
            },
            LoadedTable {
                table: "b".into(),
                manifest_rows: 2,
            },
        ];
        let sql = row_counts_sql(&tables, NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()).unwrap();
        assert_eq!(sql.matches("UNION ALL").count(), 1);
        assert!(sql.contains("FROM lake.\"b\" WHERE dt IN (DATE '2026-11-20', DATE '2026-11-19')"));
        assert!(sql.ends_with("ORDER BY position"));
    }
}

#[cfg(test)]
mod volume_tests {
    use super::*;
    use crate::ports::{MartRun, QueryResult};

    /// A warehouse that answers every query with `result`, after checking the statement holds
    /// `sql_holds`.
    pub(super) struct Answers {
        pub(super) result: QueryResult,
        pub(super) sql_holds: &'static str,
    }

    #[async_trait::async_trait]
    impl Warehouse for Answers {
        async fn materialize(
            &self,
            _: &str,
            _: &crate::variables::BoundSql,
            _: NaiveDate,
            _: &str,
        ) -> Result<MartRun, PortError> {
            Err(PortError::new("no marts here"))
        }
        async fn query_with(
            &self,
            sql: &crate::variables::BoundSql,
        ) -> Result<QueryResult, PortError> {
            let sql = sql.render(crate::variables::Placeholders::Colon);
            assert!(sql.contains(self.sql_holds), "{sql}");
            Ok(self.result.clone())
        }
    }

    /// Answers the row-count statement with fixed (today, day before) counts per table.
    fn counts(counts: Vec<(u64, u64)>) -> Answers {
        Answers {
            result: QueryResult {
                columns: vec![
                    "position".into(),
                    "row_count".into(),
                    "previous_count".into(),
                ],
                rows: counts
                    .iter()
                    .enumerate()
                    .map(|(i, (today, before))| vec![json(i as u64), json(*today), json(*before)])
                    .collect(),
            },
            sql_holds: "DATE '2026-11-20'",
        }
    }

    fn json(n: u64) -> Value {
        Value::from(n)
    }

    #[tokio::test]
    async fn a_day_far_below_the_day_before_fails_its_volume_check() {
        let tables: Vec<LoadedTable> = ["a", "b", "c"]
            .iter()
            .zip([5u64, 900, 100])
            .map(|(t, rows)| LoadedTable {
                table: t.to_string(),
                manifest_rows: rows,
            })
            .collect();
        let warehouse = counts(vec![(5, 1000), (900, 1000), (100, 0)]);
        let config = ChecksConfig {
            on_failure: OnFailure::Stop,
            ..ChecksConfig::default()
        };
        let dt = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let results = run_checks(&warehouse, &config, &tables, dt).await.unwrap();
        let volume = |table: &str| {
            results
                .iter()
                .find(|r| r.table == table && r.check == "volume")
                .unwrap()
        };
        assert_eq!(volume("a").status, CheckStatus::Failed);
        assert!(
            volume("a").detail.contains("far below the 1000"),
            "{}",
            volume("a").detail
        );
        assert_eq!(volume("b").status, CheckStatus::Passed);
        assert_eq!(
            volume("c").status,
            CheckStatus::Passed,
            "nothing to compare with"
        );
        assert_eq!(stopping(&results).len(), 1);
    }
}

#[cfg(test)]
mod freshness_tests {
    use super::*;
    use crate::ports::QueryResult;

    /// Answers a table's statistics with 10 rows, the newest at `epoch`.
    fn newest(epoch: f64) -> super::volume_tests::Answers {
        super::volume_tests::Answers {
            result: QueryResult {
                columns: vec!["row_count".into(), "newest_epoch".into()],
                rows: vec![vec![Value::from(10), Value::from(epoch)]],
            },
            sql_holds: "max(\"timestamp\")",
        }
    }

    async fn freshness_at(hours_after_midnight_utc: f64) -> (bool, String) {
        let dt = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let end_of_day = dt.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap();
        let epoch = end_of_day.and_utc().timestamp() as f64 + hours_after_midnight_utc * 3600.0;
        let checks = TableChecks {
            table: "segment_pages".into(),
            min_rows: None,
            not_null: vec![],
            unique: vec![],
            freshness: Some(Freshness {
                column: "timestamp".into(),
                max_age_hours: 6.0,
            }),
            on_failure: None,
        };
        let out = table_checks(&newest(epoch), &checks, dt).await.unwrap();
        let (_, passed, detail) = out.into_iter().find(|(c, _, _)| *c == "freshness").unwrap();
        (passed, detail)
    }

    #[tokio::test]
    async fn rows_from_the_future_fail_freshness_as_stale_rows_do() {
        assert!(freshness_at(-2.0).await.0, "two hours before midnight");
        assert!(!freshness_at(-7.0).await.0, "older than six hours");
        // A day cut in a zone west of UTC ends hours after midnight UTC.
        assert!(freshness_at(8.0).await.0, "Pacific time's day");
        let (passed, detail) = freshness_at(71.9).await;
        assert!(!passed, "three days ahead: {detail}");
        assert!(
            detail.contains("71.9 h after the end of the day"),
            "{detail}"
        );
    }
}
