//! A Redshift Data API stand-in on a loopback port, for what moto cannot do: moto 5.2.5 has no
//! BatchExecuteStatement, answers CreatedAt in a form the SDK rejects, and never pages. This one
//! records every request, reports each statement as STARTED once before FINISHED (so callers
//! must poll), never finishes one whose SQL contains `SLOW_ME`, fails any statement whose SQL
//! contains `FAIL_ME` with a Redshift-like error, and serves every query's result in pages of
//! two records.
//!
//! Sessions and parameters are held to the Data API's rules: a statement with
//! `SessionKeepAliveSeconds` opens a session and answers its `SessionId`; a statement in a
//! session names no target of its own, waits until the session's last statement has finished,
//! and alone sees the session's `CREATE TEMP TABLE`s; every `:name` in a statement needs a
//! `Parameters` entry of that name with a value of at least one character, every entry is
//! used, and BatchExecuteStatement takes none.
//!
//! And the database behaves as a fresh one does: no user but those that have logged in (none
//! of the IAM-mapped `IAMR:…` users before their first login), so a GRANT to an unknown user
//! or role fails as Redshift's does; `CREATE TABLE` of a table that exists fails unless it says
//! `IF NOT EXISTS`; and a statement that writes a table another unfinished statement writes
//! fails with Redshift's serializable isolation error 1023. A statement using a construct
//! Redshift documents as unsupported (`redshift_sql`) fails as it would there.

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
    /// Each session's temporary tables and its last statement.
    sessions: HashMap<String, Session>,
    /// Statements that fail when polled, with Redshift's error.
    failing: HashMap<String, String>,
    /// The Redshift roles an administrator made (`CREATE ROLE`) before the first run.
    roles: Vec<String>,
    /// Each unfinished statement's tables it writes.
    writing: HashMap<String, Vec<String>>,
    /// Where statements run, when the test gives a PostgreSQL; otherwise every query answers
    /// the same three rows.
    engine: Option<crate::redshift_on_postgres::PostgresEngine>,
}

/// The roles the README's one-time Redshift steps make.
pub const BOOTSTRAP_ROLES: [&str; 2] = ["daybook_loader", "daybook_reader"];

/// The table a statement writes, if it writes one: `CREATE TABLE [IF NOT EXISTS] t`,
/// `DELETE FROM t`, `INSERT INTO t`.
fn written_table(sql: &str) -> Option<(String, bool)> {
    let words: Vec<&str> = sql.split_whitespace().collect();
    match words.as_slice() {
        ["CREATE", "TABLE", "IF", "NOT", "EXISTS", name, ..] => Some((name.to_string(), true)),
        ["CREATE", "TABLE", name, ..] => Some((name.to_string(), false)),
        ["DELETE", "FROM", name, ..] | ["INSERT", "INTO", name, ..] => {
            Some((name.to_string(), true))
        }
        _ => None,
    }
}

/// Who a GRANT names after its last `TO`: a role, or a user (quoted or not).
fn grantee(sql: &str) -> Option<(bool, String)> {
    if !sql.starts_with("GRANT ") && !sql.starts_with("ALTER DEFAULT PRIVILEGES") {
        return None;
    }
    let rest = &sql[sql.rfind(" TO ")? + 4..];
    let (role, name) = match rest.strip_prefix("ROLE ") {
        Some(name) => (true, name),
        None => (false, rest),
    };
    let name = name
        .split_whitespace()
        .next()?
        .trim_matches('"')
        .to_string();
    (name != "PUBLIC").then_some((role, name))
}

#[derive(Default)]
struct Session {
    temp_tables: Vec<String>,
    last_statement: Option<String>,
}

/// Fields that name where a statement runs; a statement in a session names none.
const TARGET_FIELDS: [&str; 5] = [
    "WorkgroupName",
    "ClusterIdentifier",
    "Database",
    "SecretArn",
    "DbUser",
];

fn invalid(message: String) -> (&'static str, Value) {
    (
        "400 Bad Request",
        json!({ "__type": "ValidationException", "Message": message }),
    )
}

/// The `:name` placeholders of `sql`: not a `::` cast, nor a colon inside a quoted string or
/// identifier (`'arn:aws:…'`, `"IAMR:role"`).
fn placeholders(sql: &str) -> Vec<String> {
    let bytes = sql.as_bytes();
    let mut names = Vec::new();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (None, b'\'' | b'"') => {
                quote = Some(bytes[i]);
                i += 1;
                continue;
            }
            (Some(q), c) if c == q => {
                quote = None;
                i += 1;
                continue;
            }
            (Some(_), _) => {
                i += 1;
                continue;
            }
            _ => {}
        }
        if bytes[i] == b':' && (i == 0 || bytes[i - 1] != b':') && bytes.get(i + 1) != Some(&b':') {
            let name: String = sql[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let starts_a_name = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
            if starts_a_name && !names.contains(&name) {
                names.push(name);
            }
        }
        i += 1;
    }
    names
}

pub struct FakeRedshift {
    pub endpoint: String,
    state: Arc<Mutex<Statements>>,
}

impl FakeRedshift {
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// A stand-in that runs every statement it accepts on the PostgreSQL at `url` (with the
    /// README's Redshift roles made there), answering with the rows it gives.
    pub fn on_postgres(url: &str) -> Self {
        Self::start_with(Some(crate::redshift_on_postgres::PostgresEngine::new(
            url,
            &BOOTSTRAP_ROLES,
        )))
    }

    fn start_with(engine: Option<crate::redshift_on_postgres::PostgresEngine>) -> Self {
        let state = Arc::new(Mutex::new(Statements {
            roles: BOOTSTRAP_ROLES.iter().map(|r| r.to_string()).collect(),
            engine,
            ..Default::default()
        }));
        let shared = state.clone();
        let endpoint = crate::json_api::start(
            "application/x-amz-json-1.1",
            move |operation: &str, request: Value| answer(&shared, operation, request),
        );
        Self { endpoint, state }
    }

    /// Runs `sql` to its end as the Data API would (submitted, then polled until done); its
    /// Redshift error, or `FINISHED`.
    pub fn execute(&self, sql: &str) -> String {
        let (_, started) = answer(
            &self.state,
            "ExecuteStatement",
            json!({ "Sql": sql, "Database": "dev", "ClusterIdentifier": "daybook" }),
        );
        let id = json!({ "Id": started["Id"] });
        answer(&self.state, "DescribeStatement", id.clone());
        let (_, done) = answer(&self.state, "DescribeStatement", id);
        done["Error"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| done["Status"].as_str().unwrap_or_default().to_string())
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
            if let Some(refusal) = check_session_and_parameters(&state, operation, &request) {
                return refusal;
            }
            let sqls: Vec<String> = match request.get("Sqls") {
                Some(list) => list
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect(),
                None => vec![request["Sql"].as_str().unwrap_or_default().to_string()],
            };
            let mut fails = None;
            let mut writes = Vec::new();
            for sql in &sqls {
                if let Some((name, may_exist)) = written_table(sql) {
                    let busy = state
                        .writing
                        .iter()
                        .any(|(other, tables)| *other != id && tables.contains(&name));
                    if busy {
                        fails.get_or_insert(format!(
                            "ERROR: 1023 DETAIL: Serializable isolation violation on table - {name}, transactions forming the cycle are: {id}"
                        ));
                    } else if sql.starts_with("CREATE TABLE") && !state.tables.contains(&name) {
                        state.tables.push(name.clone());
                    } else if sql.starts_with("CREATE TABLE") && !may_exist {
                        fails.get_or_insert(format!("ERROR: relation \"{name}\" already exists"));
                    }
                    writes.push(name);
                }
                // Redshift refuses what it documents it does not run, where PostgreSQL and
                // DataFusion would run it.
                if let Some(refusal) = crate::redshift_sql::unsupported(sql) {
                    fails.get_or_insert(format!("ERROR: {refusal}"));
                }
                if let Some((role, name)) = grantee(sql) {
                    let known = role && state.roles.contains(&name);
                    if !known {
                        let what = if role { "role" } else { "user" };
                        fails.get_or_insert(format!("ERROR: {what} \"{name}\" does not exist"));
                    }
                }
            }
            state.writing.insert(id.clone(), writes);
            let session_id = match (
                request.get("SessionId"),
                request.get("SessionKeepAliveSeconds"),
            ) {
                (Some(session), _) => Some(session.as_str().unwrap_or_default().to_string()),
                (None, Some(_)) => Some(format!(
                    "5e550000-0000-4000-8000-{:012}",
                    state.sessions.len() + 1
                )),
                (None, None) => None,
            };
            let mut temp_tables = session_id
                .as_ref()
                .and_then(|s| state.sessions.get(s))
                .map(|s| s.temp_tables.clone())
                .unwrap_or_default();
            for sql in &sqls {
                // A temporary table exists only in the session that made it.
                if let Some(missing) = sql
                    .split_whitespace()
                    .skip_while(|word| *word != "FROM")
                    .nth(1)
                    .filter(|t| {
                        t.starts_with("daybook_stage_") && !temp_tables.iter().any(|m| m == t)
                    })
                {
                    state.failing.insert(
                        id.clone(),
                        format!("ERROR: relation \"{missing}\" does not exist"),
                    );
                }
                if let Some(rest) = sql.strip_prefix("CREATE TEMP TABLE ") {
                    temp_tables.push(
                        rest.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string(),
                    );
                }
            }
            if fails.is_none() && !state.failing.contains_key(&id) {
                let parameters: Vec<(String, String)> = request["Parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        let text = |f: &str| p[f].as_str().unwrap_or_default().to_string();
                        (text("name"), text("value"))
                    })
                    .collect();
                let session = session_id.clone();
                if let Some(engine) = state.engine.as_mut()
                    && let Err(error) = engine.run(&id, session.as_deref(), &sqls, &parameters)
                {
                    fails = Some(format!("ERROR: {error}"));
                }
            }
            if let Some(error) = fails {
                state.failing.insert(id.clone(), error);
            }
            if let Some(session) = &session_id {
                let entry = state.sessions.entry(session.clone()).or_default();
                entry.temp_tables = temp_tables;
                entry.last_statement = Some(id.clone());
            }
            state.sqls.insert(id.clone(), sqls);
            let mut out = json!({ "Id": id, "CreatedAt": now });
            if let Some(session) = session_id {
                out["SessionId"] = json!(session);
            }
            ("200 OK", out)
        }
        "DescribeStatement" => {
            let id = request["Id"].as_str().unwrap_or_default().to_string();
            let Some(sqls) = state.sqls.get(&id).cloned() else {
                return (
                    "400 Bad Request",
                    json!({ "__type": "ResourceNotFoundException", "Message": "no such statement" }),
                );
            };
            let failing = state.failing.get(&id).cloned();
            let polls = state.polled.entry(id.clone()).or_insert(0);
            *polls += 1;
            if *polls > 1 {
                state.writing.remove(&id);
            }
            let polls = state.polled[&id];
            let status = if polls == 1 || sqls.iter().any(|s| s.contains("SLOW_ME")) {
                "STARTED"
            } else if failing.is_some() || sqls.iter().any(|s| s.contains("FAIL_ME")) {
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
                    let rows = state
                        .engine
                        .as_ref()
                        .and_then(|e| e.results.get(&id))
                        .and_then(|(_, counts)| counts.get(i).copied())
                        .unwrap_or(7);
                    json!({ "Id": format!("{id}:{}", i + 1), "Status": own, "QueryString": sql, "ResultRows": rows })
                })
                .collect();
            let mut out = json!({ "Id": id, "Status": status, "CreatedAt": now, "UpdatedAt": now, "SubStatements": subs });
            if status == "FAILED" {
                out["Error"] = json!(
                    failing.unwrap_or_else(|| "ERROR: syntax error at or near \"FAIL_ME\"".into())
                );
            }
            ("200 OK", out)
        }
        "GetStatementResult" => {
            let id = request["Id"].as_str().unwrap_or_default();
            if let Some(engine) = &state.engine {
                let Some((result, _)) = engine.results.get(id) else {
                    return (
                        "400 Bad Request",
                        json!({ "__type": "ResourceNotFoundException", "Message": format!("statement {id} has no result") }),
                    );
                };
                return ("200 OK", result_page(result, request["NextToken"].as_str()));
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

/// One page of a statement's rows, two records a page, as the stand-in always pages.
fn result_page(result: &crate::redshift_on_postgres::ResultSet, token: Option<&str>) -> Value {
    let from: usize = token.and_then(|t| t.parse().ok()).unwrap_or(0);
    let to = (from + 2).min(result.records.len());
    let mut out = json!({
        "Records": result.records[from.min(to)..to],
        "ColumnMetadata": result.columns.iter().map(|(name, kind)| json!({ "name": name, "typeName": kind })).collect::<Vec<_>>(),
        "TotalNumRows": result.records.len(),
    });
    if to < result.records.len() {
        out["NextToken"] = json!(to.to_string());
    }
    out
}

/// The Data API's refusals of a statement's session and parameters, if it breaks a rule.
fn check_session_and_parameters(
    state: &Statements,
    operation: &str,
    request: &Value,
) -> Option<(&'static str, Value)> {
    if let Some(session) = request.get("SessionId").and_then(Value::as_str) {
        let Some(known) = state.sessions.get(session) else {
            return Some(invalid(format!(
                "Session {session} does not exist or has expired"
            )));
        };
        if let Some(field) = TARGET_FIELDS.iter().find(|f| request.get(**f).is_some()) {
            return Some(invalid(format!(
                "{field} cannot be specified with SessionId: the session names where it runs"
            )));
        }
        if let Some(last) = &known.last_statement
            && state.polled.get(last).copied().unwrap_or(0) < 2
        {
            return Some(invalid(format!(
                "Session {session} is busy running statement {last}"
            )));
        }
    }
    let given: Vec<String> = match request.get("Parameters") {
        None => Vec::new(),
        Some(_) if operation == "BatchExecuteStatement" => {
            return Some(invalid("BatchExecuteStatement takes no Parameters".into()));
        }
        Some(list) => {
            let mut names = Vec::new();
            for parameter in list.as_array().cloned().unwrap_or_default() {
                if !parameter["value"].is_string() {
                    return Some(invalid(format!("parameter {parameter} has no text value")));
                }
                // SqlParameter's value: "Length Constraints: Minimum length of 1".
                if parameter["value"] == "" {
                    return Some(invalid(format!(
                        "1 validation error detected: Value at 'parameters.{}.member.value' failed to satisfy constraint: Member must have length greater than or equal to 1",
                        parameter["name"].as_str().unwrap_or_default()
                    )));
                }
                names.push(parameter["name"].as_str().unwrap_or_default().to_string());
            }
            names
        }
    };
    let sqls: Vec<&str> = match request.get("Sqls") {
        Some(list) => list
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect(),
        None => vec![request["Sql"].as_str().unwrap_or_default()],
    };
    let used: Vec<String> = sqls.iter().flat_map(|sql| placeholders(sql)).collect();
    if let Some(missing) = used.iter().find(|n| !given.contains(n)) {
        return Some(invalid(format!(
            "no value was given for parameter :{missing}"
        )));
    }
    if let Some(unused) = given.iter().find(|n| !used.contains(n)) {
        return Some(invalid(format!(
            "parameter {unused} is not used in the SQL"
        )));
    }
    None
}
