//! A Redshift Data API stand-in on a loopback port, for what moto cannot do: moto 5.2.5 has no
//! BatchExecuteStatement, answers CreatedAt in a form the SDK rejects, and never pages. This one
//! records every request, reports each statement as STARTED once before FINISHED (so callers
//! must poll), fails any statement whose SQL contains `FAIL_ME` with a Redshift-like error,
//! remembers the tables `CREATE TABLE` made (and answers `information_schema.tables` with
//! them), and serves every other query's result in pages of two records.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Statements {
    requests: Vec<(String, Value)>,
    sqls: HashMap<String, Vec<String>>,
    polled: HashMap<String, u32>,
    /// `schema.table` of every table a CREATE TABLE statement made.
    tables: Vec<String>,
}

pub struct FakeRedshift {
    pub endpoint: String,
    state: Arc<Mutex<Statements>>,
}

impl FakeRedshift {
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(Statements::default()));
        let shared = state.clone();
        let endpoint = crate::json_api::start(
            "application/x-amz-json-1.1",
            move |operation: &str, request: Value| answer(&shared, operation, request),
        );
        Self { endpoint, state }
    }

    /// Every request so far, as (operation, JSON body).
    pub fn requests(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn answer(state: &Mutex<Statements>, operation: &str, request: Value) -> (&'static str, Value) {
    let mut state = state.lock().unwrap();
    state
        .requests
        .push((operation.to_string(), request.clone()));
    let now = 1_795_000_000.0;
    match operation {
        "ExecuteStatement" | "BatchExecuteStatement" => {
            let id = format!("00000000-0000-4000-8000-{:012}", state.sqls.len() + 1);
            let sqls = match request.get("Sqls") {
                Some(list) => list
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect(),
                None => vec![request["Sql"].as_str().unwrap_or_default().to_string()],
            };
            for sql in &sqls {
                if let Some(rest) = sql.strip_prefix("CREATE TABLE ") {
                    let name = rest.split_whitespace().next().unwrap_or_default();
                    state.tables.push(name.to_string());
                }
            }
            state.sqls.insert(id.clone(), sqls);
            ("200 OK", json!({ "Id": id, "CreatedAt": now }))
        }
        "DescribeStatement" => {
            let id = request["Id"].as_str().unwrap_or_default().to_string();
            let Some(sqls) = state.sqls.get(&id).cloned() else {
                return (
                    "400 Bad Request",
                    json!({ "__type": "ResourceNotFoundException", "Message": "no such statement" }),
                );
            };
            let polls = state.polled.entry(id.clone()).or_insert(0);
            *polls += 1;
            let status = if *polls == 1 {
                "STARTED"
            } else if sqls.iter().any(|s| s.contains("FAIL_ME")) {
                "FAILED"
            } else {
                "FINISHED"
            };
            let subs: Vec<Value> = sqls
                .iter()
                .enumerate()
                .map(|(i, sql)| {
                    // Only the failing statement fails; the others of its batch are aborted.
                    let own = match status {
                        "FAILED" if !sql.contains("FAIL_ME") => "ABORTED",
                        other => other,
                    };
                    json!({ "Id": format!("{id}:{}", i + 1), "Status": own, "QueryString": sql, "ResultRows": 7 })
                })
                .collect();
            let mut out = json!({ "Id": id, "Status": status, "CreatedAt": now, "UpdatedAt": now, "SubStatements": subs });
            if status == "FAILED" {
                out["Error"] = json!("ERROR: syntax error at or near \"FAIL_ME\"");
            }
            ("200 OK", out)
        }
        "GetStatementResult" => {
            let id = request["Id"].as_str().unwrap_or_default();
            let sql = state
                .sqls
                .get(id)
                .and_then(|s| s.first())
                .cloned()
                .unwrap_or_default();
            if sql.contains("information_schema.tables") {
                let exists = state.tables.iter().any(|t| {
                    let (schema, table) = t.split_once('.').unwrap_or_default();
                    sql.contains(&format!("table_schema = '{schema}'"))
                        && sql.contains(&format!("table_name = '{table}'"))
                });
                return (
                    "200 OK",
                    json!({
                        "Records": [[{ "longValue": i64::from(exists) }]],
                        "ColumnMetadata": [{ "name": "tables", "typeName": "int8" }],
                        "TotalNumRows": 1
                    }),
                );
            }
            let page = request["NextToken"].as_str().unwrap_or("1");
            let rows = [
                (1, "harry potter", "12.50"),
                (2, "dune", "7.25"),
                (3, "9781234567897", "3.00"),
            ];
            let (from, next) = if page == "1" {
                (0, Some("2"))
            } else {
                (2, None)
            };
            let records: Vec<Value> = rows[from..(from + 2).min(rows.len())]
                .iter()
                .map(|(n, s, d)| {
                    json!([{ "longValue": n }, { "stringValue": s }, { "stringValue": d }])
                })
                .collect();
            let mut out = json!({
                "Records": records,
                "ColumnMetadata": [
                    { "name": "place", "typeName": "int8" },
                    { "name": "keyword", "typeName": "varchar" },
                    { "name": "share", "typeName": "numeric" }
                ],
                "TotalNumRows": 3
            });
            if let Some(next) = next {
                out["NextToken"] = json!(next);
            }
            ("200 OK", out)
        }
        "CancelStatement" => ("200 OK", json!({ "Status": true })),
        other => (
            "400 Bad Request",
            json!({ "__type": "UnknownOperationException", "Message": format!("{other} is not faked") }),
        ),
    }
}
