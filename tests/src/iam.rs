//! IAM as deployed, checked for real: each function's role from `infra/template.yaml` (made by
//! `tests/iam/roles.py` on a moto server with enforcement on), a recorder of the calls each
//! function's SDK clients make, and an evaluator of those calls against the role's statements
//! for the services where moto checks actions but not resources.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Arc, Mutex};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// One request a function's SDK client sent.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    pub function: String,
    pub method: String,
    /// `X-Amz-Target` for JSON services (`DynamoDB_20120810.GetItem`), else empty.
    pub target: String,
    pub uri: String,
    pub body: Value,
}

#[derive(Debug, Default)]
pub struct CallRecorder {
    calls: Mutex<Vec<RecordedCall>>,
}

impl CallRecorder {
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.calls.lock().unwrap().clone()
    }

    /// An interceptor for one function's clients.
    pub fn for_function(self: &Arc<Self>, function: &str) -> Recording {
        Recording {
            function: function.to_string(),
            recorder: self.clone(),
        }
    }
}

#[derive(Debug)]
pub struct Recording {
    function: String,
    recorder: Arc<CallRecorder>,
}

impl Intercept for Recording {
    fn name(&self) -> &'static str {
        "daybook-tests-call-recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let body = request
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        self.recorder.calls.lock().unwrap().push(RecordedCall {
            function: self.function.clone(),
            method: request.method().to_string(),
            target: request
                .headers()
                .get("x-amz-target")
                .unwrap_or_default()
                .to_string(),
            uri: request.uri().to_string(),
            body,
        });
        Ok(())
    }
}

/// Temporary credentials of an assumed role.
#[derive(Debug, Clone)]
pub struct RoleCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
}

/// What `tests/iam/roles.py` made: per role (a function's logical id, or
/// `<function>-without-<Sid>`) its credentials and the statements of its deployed policy.
pub struct Roles {
    pub admin: RoleCredentials,
    pub roles: BTreeMap<String, (RoleCredentials, Vec<Value>)>,
}

fn credentials(value: &Value) -> RoleCredentials {
    let text = |k: &str| value[k].as_str().unwrap_or_default().to_string();
    RoleCredentials {
        access_key_id: text("access_key_id"),
        secret_access_key: text("secret_access_key"),
        session_token: text("session_token"),
    }
}

/// Runs `tests/iam/roles.py` against the moto server at `endpoint`. From then on the server
/// enforces IAM.
pub fn make_roles(endpoint: &str, parameters: &Value, physical: &Value, without: &[&str]) -> Roles {
    let root = crate::workspace_root();
    let mut command = Command::new("python3");
    command
        .arg(root.join("tests/iam/roles.py"))
        .arg("--template")
        .arg(root.join("infra/template.yaml"))
        .args(["--endpoint", endpoint])
        .args(["--parameters", &parameters.to_string()])
        .args(["--physical", &physical.to_string()]);
    for spec in without {
        command.args(["--without", spec]);
    }
    let output = command.output().expect(
        "python3 is not on PATH: run the README's test command (scripts/test), which puts its venv first",
    );
    assert!(
        output.status.success(),
        "tests/iam/roles.py failed (it needs samtranslator and boto3, which scripts/test installs):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let made: Value = serde_json::from_slice(&output.stdout).expect("roles.py prints JSON");
    let roles = made["roles"]
        .as_object()
        .expect("roles")
        .iter()
        .map(|(name, role)| {
            let statements = role["statements"].as_array().cloned().unwrap_or_default();
            (name.clone(), (credentials(role), statements))
        })
        .collect();
    Roles {
        admin: credentials(&made["admin"]),
        roles,
    }
}

/// An action on one of several resources (any one of them suffices, e.g. an SES identity by
/// address or by domain).
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    pub action: String,
    pub resources: Vec<String>,
    /// The condition keys the request carries with the caller as their value.
    pub owner_keys: Vec<&'static str>,
}

fn require(action: impl Into<String>, resources: Vec<String>) -> Requirement {
    Requirement {
        action: action.into(),
        resources,
        owner_keys: Vec::new(),
    }
}

/// A statement the caller started: only it may follow it.
const STATEMENT_OWNER: &str = "redshift-data:statement-owner-iam-userid";
/// A statement sent into a session the caller opened.
const SESSION_OWNER: &str = "redshift-data:session-owner-iam-userid";

fn arn(service: &str, rest: &str) -> String {
    format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}")
}

/// The IAM actions and resources a recorded call needs, for the services moto checks only by
/// action. S3 calls give none here: moto checks them by bucket and key itself.
pub fn requirements(call: &RecordedCall) -> Vec<Requirement> {
    let text = |k: &str| call.body[k].as_str().unwrap_or_default().to_string();
    if let Some(op) = call.target.strip_prefix("DynamoDB_20120810.") {
        let mut table = arn("dynamodb", &format!("table/{}", text("TableName")));
        if let Some(index) = call.body["IndexName"].as_str() {
            table = format!("{table}/index/{index}");
        }
        return vec![require(format!("dynamodb:{op}"), vec![table])];
    }
    if let Some(op) = call.target.strip_prefix("AWSGlue.") {
        let action = format!("glue:{op}");
        if op.contains("Crawler") {
            return vec![require(
                action,
                vec![arn("glue", &format!("crawler/{}", text("Name")))],
            )];
        }
        let database = text("DatabaseName");
        let mut needed = vec![require(action.clone(), vec![arn("glue", "catalog")])];
        if !database.is_empty() {
            needed.push(require(
                action.clone(),
                vec![arn("glue", &format!("database/{database}"))],
            ));
        }
        if let Some(table) = call.body["TableName"]
            .as_str()
            .or_else(|| call.body["TableInput"]["Name"].as_str())
        {
            needed.push(require(
                action,
                vec![arn("glue", &format!("table/{database}/{table}"))],
            ));
        }
        return needed;
    }
    if let Some(op) = call.target.strip_prefix("RedshiftData.") {
        let action = format!("redshift-data:{op}");
        if !matches!(op, "ExecuteStatement" | "BatchExecuteStatement") {
            return vec![Requirement {
                owner_keys: vec![STATEMENT_OWNER],
                ..require(action, vec!["*".into()])
            }];
        }
        // A statement in a session names no target: the session is the caller's own.
        if call.body.get("SessionId").is_some() {
            return vec![Requirement {
                owner_keys: vec![SESSION_OWNER],
                ..require(action, vec!["*".into()])
            }];
        }
        let database = text("Database");
        let (target, mut needed) = match call.body["WorkgroupName"].as_str() {
            Some(workgroup) => (
                arn("redshift-serverless", &format!("workgroup/{workgroup}")),
                vec![],
            ),
            None => {
                let cluster = text("ClusterIdentifier");
                let dbname = arn("redshift", &format!("dbname:{cluster}/{database}"));
                let auth = match call.body["DbUser"].as_str() {
                    Some(user) => vec![
                        require("redshift:GetClusterCredentials", vec![dbname]),
                        require(
                            "redshift:GetClusterCredentials",
                            vec![arn("redshift", &format!("dbuser:{cluster}/{user}"))],
                        ),
                    ],
                    None => vec![require(
                        "redshift:GetClusterCredentialsWithIAM",
                        vec![dbname],
                    )],
                };
                (arn("redshift", &format!("cluster:{cluster}")), auth)
            }
        };
        if let Some(secret) = call.body["SecretArn"].as_str() {
            needed = vec![require(
                "secretsmanager:GetSecretValue",
                vec![secret.to_string()],
            )];
        }
        needed.push(require(action, vec![target]));
        return needed;
    }
    if let Some(op) = call.target.strip_prefix("secretsmanager.") {
        // IAM evaluates a secret named by name against its ARN, which ends in a random
        // six-character suffix.
        let id = text("SecretId");
        let resource = if id.starts_with("arn:") {
            id
        } else {
            format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{id}-Ab12Cd")
        };
        return vec![require(format!("secretsmanager:{op}"), vec![resource])];
    }
    // Task-token callbacks have no resource in IAM: only a statement on "*" allows them.
    if let Some(op) = call.target.strip_prefix("AWSStepFunctions.") {
        return vec![require(format!("states:{op}"), vec!["*".into()])];
    }
    if call.uri.contains("/v2/email/outbound-emails") {
        let from = text("FromEmailAddress");
        let domain = from.rsplit('@').next().unwrap_or_default().to_string();
        let mut needed = vec![require(
            "ses:SendEmail",
            vec![
                arn("ses", &format!("identity/{from}")),
                arn("ses", &format!("identity/{domain}")),
            ],
        )];
        // SES authorises a send on the configuration set it names as well ("Actions, resources,
        // and condition keys for Amazon SES": SendEmail's resource types include
        // configuration-set).
        if let Some(set) = call.body["ConfigurationSetName"].as_str() {
            needed.push(require(
                "ses:SendEmail",
                vec![arn("ses", &format!("configuration-set/{set}"))],
            ));
        }
        return needed;
    }
    if !call.target.is_empty() {
        return vec![require(
            format!("unknown:{}", call.target),
            vec!["*".into()],
        )];
    }
    Vec::new()
}

/// The S3 action and object (or bucket) a recorded S3 request needs: moto checks these itself;
/// the evaluator reads them only to tell which statements a run used.
fn s3_requirement(call: &RecordedCall) -> Option<Requirement> {
    if !call.target.is_empty() || call.uri.contains("/v2/email/") {
        return None;
    }
    let after_host = call
        .uri
        .split_once("://")
        .map_or(call.uri.as_str(), |(_, r)| r);
    let path_and_query = &after_host[after_host.find('/')?..];
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let (bucket, key) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or((path.trim_start_matches('/'), ""));
    let action = match (call.method.as_str(), key.is_empty()) {
        ("GET", true) => "s3:ListBucket",
        ("GET" | "HEAD", false) => "s3:GetObject",
        ("DELETE", false) if query.contains("uploadId") => "s3:AbortMultipartUpload",
        ("DELETE", false) => "s3:DeleteObject",
        ("PUT" | "POST", false) => "s3:PutObject",
        _ => return None,
    };
    let resource = if key.is_empty() {
        format!("arn:aws:s3:::{bucket}")
    } else {
        format!(
            "arn:aws:s3:::{bucket}/{}",
            key.replace("%3D", "=").replace("%2F", "/")
        )
    };
    Some(require(action, vec![resource]))
}

/// The Sids of `statements` that allowed at least one call `function` made: the statements a
/// run needed. One that allowed none is either unneeded or on a path the run did not take.
pub fn used_statements(
    statements: &[Value],
    calls: &[RecordedCall],
    function: &str,
) -> std::collections::BTreeSet<String> {
    let mut used = std::collections::BTreeSet::new();
    for call in calls.iter().filter(|c| c.function == function) {
        for need in requirements(call).into_iter().chain(s3_requirement(call)) {
            for statement in statements {
                let allows_it = need.resources.iter().any(|r| {
                    allows_with(
                        std::slice::from_ref(statement),
                        &need.action,
                        r,
                        &need.owner_keys,
                    )
                });
                if allows_it {
                    used.insert(statement["Sid"].as_str().unwrap_or("<no Sid>").to_string());
                }
            }
        }
    }
    used
}

fn wildcard(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let (p, t) = if case_insensitive {
        (pattern.to_ascii_lowercase(), text.to_ascii_lowercase())
    } else {
        (pattern.to_string(), text.to_string())
    };
    let (p, t): (Vec<char>, Vec<char>) = (p.chars().collect(), t.chars().collect());
    // Iterative glob: `*` any run, `?` one character.
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The policy variable that IAM resolves to the caller's own user id (for a role session,
/// `<role id>:<session name>`), which is what the owner keys carry.
const CALLER: &str = "${aws:userid}";

/// Conditions evaluated with their values: an owner key the request carries holds the caller's
/// user id, as every statement a function follows, and every session it uses, is one it
/// started itself; so `StringEquals` on it holds for `${aws:userid}` and for no literal id
/// (which names one session, never every later one). A key the request does not carry fails
/// its StringEquals, as in IAM; an operator this evaluator does not know fails too.
fn conditions_hold(statement: &Value, owner_keys: &[&str]) -> bool {
    let Some(conditions) = statement.get("Condition").and_then(Value::as_object) else {
        return true;
    };
    conditions.iter().all(|(operator, keys)| {
        operator == "StringEquals"
            && keys.as_object().is_some_and(|keys| {
                keys.iter().all(|(key, value)| {
                    owner_keys.contains(&key.as_str()) && strings(value).contains(&CALLER)
                })
            })
    })
}

/// Whether `statements` allow `action` on `resource` (Allow statements, with wildcards; no
/// statement here denies) for a request that carries no condition keys.
pub fn allows(statements: &[Value], action: &str, resource: &str) -> bool {
    allows_with(statements, action, resource, &[])
}

/// `allows` for a request that carries `owner_keys`.
pub fn allows_with(
    statements: &[Value],
    action: &str,
    resource: &str,
    owner_keys: &[&str],
) -> bool {
    statements.iter().any(|statement| {
        statement["Effect"] == "Allow"
            && strings(&statement["Action"])
                .iter()
                .any(|a| wildcard(a, action, true))
            && strings(&statement["Resource"])
                .iter()
                .any(|r| wildcard(r, resource, false))
            && conditions_hold(statement, owner_keys)
    })
}

/// Every recorded call of `function` that `statements` do not allow, described for a person.
pub fn denied_calls(statements: &[Value], calls: &[RecordedCall], function: &str) -> Vec<String> {
    let mut denied = Vec::new();
    for call in calls.iter().filter(|c| c.function == function) {
        for need in requirements(call) {
            if !need
                .resources
                .iter()
                .any(|r| allows_with(statements, &need.action, r, &need.owner_keys))
            {
                denied.push(format!(
                    "{function}: {} on {} ({} {})",
                    need.action,
                    need.resources.join(" or "),
                    call.target,
                    call.uri
                ));
            }
        }
    }
    denied.sort();
    denied.dedup();
    denied
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statements_match_actions_and_resources_with_wildcards() {
        let statements = vec![json!({"Effect": "Allow", "Action": ["dynamodb:GetItem"],
            "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/state"})];
        let table = "arn:aws:dynamodb:us-east-1:123456789012:table/state";
        assert!(allows(&statements, "dynamodb:getitem", table));
        assert!(!allows(&statements, "dynamodb:PutItem", table));
        assert!(!allows(
            &statements,
            "dynamodb:GetItem",
            &format!("{table}-other")
        ));
        let glob = vec![
            json!({"Effect": "Allow", "Action": "glue:*", "Resource": "arn:aws:glue:*:*:table/db/*"}),
        ];
        assert!(allows(
            &glob,
            "glue:GetTable",
            "arn:aws:glue:us-east-1:1:table/db/t"
        ));
        assert!(!allows(
            &glob,
            "glue:GetTable",
            "arn:aws:glue:us-east-1:1:database/db"
        ));
    }

    #[test]
    fn an_owner_condition_holds_only_where_the_request_carries_its_key() {
        let sessions = vec![
            json!({"Effect": "Allow", "Action": "redshift-data:BatchExecuteStatement",
            "Resource": "*", "Condition": {"StringEquals": {SESSION_OWNER: "${aws:userid}"}}}),
        ];
        let action = "redshift-data:BatchExecuteStatement";
        assert!(allows_with(&sessions, action, "*", &[SESSION_OWNER]));
        assert!(!allows(&sessions, action, "*"), "a batch outside a session");
        assert!(!allows_with(&sessions, action, "*", &[STATEMENT_OWNER]));
        let one_session = vec![json!({"Effect": "Allow", "Action": action, "Resource": "*",
            "Condition": {"StringEquals": {SESSION_OWNER: "AROAEXAMPLE:daybook-load-1"}}})];
        assert!(
            !allows_with(&one_session, action, "*", &[SESSION_OWNER]),
            "a literal user id is one session, not the caller"
        );
    }
}
