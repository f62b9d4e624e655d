//! The deployed IAM, proven rather than assumed: every function runs its part of a whole
//! pipeline run with the role `infra/template.yaml` gives it (as SAM translates it), on a moto
//! server that enforces IAM. moto checks S3 calls by bucket and key and every other call by
//! action; the resources of those other calls are checked here, from the calls each function's
//! clients recorded, against the role's statements. A role missing one statement fails.

use crate::aws_moto::{BUCKET, DAY, with_bucket};
use crate::aws_pipeline::{
    CRAWLER, FunctionClients, GLUE_DATABASE, LINK_KEY, SENDER, SPECTRUM_ROLE, STATE_TABLE,
    pipeline_runner, prepare,
};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use daybook_aws::{S3Store, sdk};
use daybook_tests::iam::{CallRecorder, RoleCredentials, denied_calls, make_roles};
use daybook_tests::{FakeRedshift, MotoServer};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

const STREAM: &str =
    "arn:aws:dynamodb:us-east-1:123456789012:table/search_queries/stream/2025-11-21T00:00:00.000";

/// Statements no call of the IAM test's run needs, each with why no run of it reaches them.
const UNREACHED: &[(&str, &str)] = &[
    ("ApprovalApiFunction:ListLake", LIST_FOR_404),
    ("ApprovalApiFunction:ReadChatSecrets", CHAT),
    (
        "ApprovalApiFunction:SendReminders",
        "the sweep here finds no reminder due; approval.rs sends reminders, on moto without roles",
    ),
    (
        "BuildReportFunction:UseOwnSessions",
        "the RedshiftDataAccess policy all three SQL functions share; only load-warehouse stages rows in sessions",
    ),
    (
        "ExportRdsFunction:KeepWatermarks",
        "the pipeline's database is SQLite and its tables have no watermark; aws_exports keeps a watermark in DynamoDB, without roles",
    ),
    (
        "ExportRdsFunction:ReadCaBundles",
        "no source here names an ssl_root_cert; rds.rs verifies a CA bundle read from the store",
    ),
    (
        "ExportRdsFunction:ReadDatabaseSecrets",
        "the pipeline's database is SQLite, given by url; aws_exports reads a PostgreSQL secret, without roles",
    ),
    (
        "FlattenDynamoDbFunction:ParkFailedStreamBatches",
        "Lambda's event source mapping sends a failed stream batch to SQS with the function's role; no daybook code calls SQS",
    ),
    (
        "FlattenDynamoDbFunction:QuerySourceIndexes",
        "the pipeline reads DynamoDB export files; aws_moto queries the date index, without roles",
    ),
    (
        "FlattenDynamoDbFunction:ReadSourceStream",
        "Lambda's event source mapping reads the stream with the function's role; the handler is given the records",
    ),
    (
        "FlattenDynamoDbFunction:ReadSourceTables",
        "the pipeline reads DynamoDB export files; aws_moto scans and queries tables, without roles",
    ),
    ("LoadWarehouseFunction:ListLake", LIST_FOR_404),
    (
        "RequestApprovalFunction:CloseSupersededWaits",
        "one run asks for approval here; approval.rs supersedes an earlier run, without roles",
    ),
    ("RequestApprovalFunction:ListLake", LIST_FOR_404),
    (
        "RunQueryFunction:UseOwnSessions",
        "the RedshiftDataAccess policy all three SQL functions share; only load-warehouse stages rows in sessions",
    ),
    ("SendReportFunction:ListLake", LIST_FOR_404),
    ("StartJobFunction:ListLake", LIST_FOR_404),
];

/// The run here is approved by link; a Slack button press (the only reader of the signing
/// secret) is checked against a secret's ARN below (`the_chat_secrets_are_readable_and_no_others`).
const CHAT: &str = "this run is approved by link; approval/slack.rs answers Slack presses with local secrets, and the statement is checked against a secret's ARN below";

/// Without s3:ListBucket, S3 answers a GetObject of a missing key with 403 AccessDenied instead
/// of 404 NoSuchKey (S3 API reference, GetObject, "Permissions"): these functions read keys
/// that may not exist (a first run, a redrive's records) and must tell missing from refused.
const LIST_FOR_404: &str =
    "a GetObject of a missing key is 404 only with ListBucket; no read here misses";

/// Each function, by the name the definition invokes it with and its template logical id.
const FUNCTIONS: &[(&str, &str)] = &[
    ("start-job", "StartJobFunction"),
    ("flatten-dynamodb", "FlattenDynamoDbFunction"),
    ("export-rds", "ExportRdsFunction"),
    ("export-segment", "ExportSegmentFunction"),
    ("load-warehouse", "LoadWarehouseFunction"),
    ("build-report", "BuildReportFunction"),
    ("request-approval", "RequestApprovalFunction"),
    ("send-report", "SendReportFunction"),
    ("run-query", "RunQueryFunction"),
    ("approval-api", "ApprovalApiFunction"),
];

async fn role_config(endpoint: &str, role: &RoleCredentials) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            role.access_key_id.clone(),
            role.secret_access_key.clone(),
            Some(role.session_token.clone()),
            None,
            "assumed-role",
        ))
        .load()
        .await
}

/// The stack parameters of this test's deployment, and the names its resources got.
fn deployment(link_key: &str) -> (Value, Value) {
    let parameters = json!({
        "SenderIdentityArn": format!("arn:aws:ses:us-east-1:123456789012:identity/{SENDER}"),
        "RedshiftClusterIdentifier": "daybook",
        "RedshiftDbUser": "daybook",
        "RedshiftDatabase": "dev",
        "GlueDatabase": GLUE_DATABASE,
        "GlueCrawlerName": CRAWLER,
        "SpectrumRoleArn": SPECTRUM_ROLE,
        "SourceStreamArn": STREAM,
        "StreamFlattenConfig": "{\"source\":\"search_queries\",\"keys\":[\"query_id\"]}",
    });
    let physical = json!({
        "LakeBucket": { "Ref": BUCKET, "Arn": format!("arn:aws:s3:::{BUCKET}") },
        "StateTable": {
            "Ref": STATE_TABLE,
            "Arn": format!("arn:aws:dynamodb:us-east-1:123456789012:table/{STATE_TABLE}"),
        },
        "LinkKeySecret": { "Ref": link_key },
        "ApprovalApi": { "Ref": "abc123" },
    });
    (parameters, physical)
}

#[tokio::test]
async fn every_function_runs_the_pipeline_with_only_the_permissions_the_template_gives_it() {
    let moto = MotoServer::start();
    let setup = with_bucket(&moto).await;
    let fake = FakeRedshift::start();
    let scratch = tempfile::tempdir().unwrap();
    prepare(&setup, scratch.path(), &moto).await;
    let link_key = aws_sdk_secretsmanager::Client::new(&setup)
        .describe_secret()
        .secret_id(LINK_KEY)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let (parameters, physical) = deployment(&link_key);
    let roles = make_roles(
        &moto.endpoint,
        &parameters,
        &physical,
        &["StartJobFunction:WriteJobRecords"],
    );
    // IAM is enforced from here: the test's own calls use an administrator's role.
    let admin = role_config(&moto.endpoint, &roles.admin).await;
    let recorder = Arc::new(CallRecorder::default());
    let mut per_function = HashMap::new();
    for (function, logical) in FUNCTIONS {
        let (credentials, _) = &roles.roles[*logical];
        per_function.insert(*function, role_config(&moto.endpoint, credentials).await);
    }
    let clients = FunctionClients {
        default: admin.clone(),
        per_function,
        redshift_endpoint: fake.endpoint.clone(),
        recorder: Some(recorder.clone()),
        link_key,
        tasks: Arc::new(daybook_tests::FakeTaskTokens::start()),
    };
    // The report also goes to a signed webhook and the approval to a Teams channel, on
    // stand-ins, their keys in Secrets Manager under daybook/chat/: read on the functions' roles.
    let chats = daybook_local::demo::chat_standin::ChatStandIn::start()
        .await
        .unwrap();
    let key = daybook_report::deliver::webhook::new_key();
    chats.with(|s| {
        s.webhook_keys = daybook_report::deliver::webhook::keys(&key, "test").unwrap();
        s.teams_flows.insert("approvals".into());
    });
    let secrets = aws_sdk_secretsmanager::Client::new(&admin);
    for (name, value) in [
        ("daybook/chat/webhook-key", key.clone()),
        (
            "daybook/chat/teams-approvals",
            format!("{}/teams/approvals", chats.url),
        ),
    ] {
        secrets
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }
    let lake = S3Store::new(sdk::s3_client(&admin), BUCKET);
    let mut config: Value = serde_json::from_slice(
        &daybook_core::store::ObjectStore::get(&lake, "config/daybook.json")
            .await
            .unwrap(),
    )
    .unwrap();
    config["deliver"] = json!(["email", {"webhook": {
        "url": format!("{}/hook", chats.url), "secret": "daybook/chat/webhook-key"}}]);
    config["approval"] = json!({"teams": {"url_secret": "daybook/chat/teams-approvals"}});
    daybook_core::store::ObjectStore::put(
        &lake,
        "config/daybook.json",
        serde_json::to_vec(&config).unwrap(),
    )
    .await
    .unwrap();

    let delivery = pipeline_runner(&clients)
        .execute(
            "20261121-060000-iam001",
            json!({ "date": DAY, "started_by": "test" }),
        )
        .await
        .unwrap_or_else(|failure| panic!("a function was refused or failed: {failure}"));
    assert_eq!(delivery["recipients"], json!(["data-team@daybook.example"]));
    let (cards, hooks) = chats.with(|s| (s.cards.len(), s.webhooks.len()));
    assert_eq!(
        (cards, hooks),
        (1, 1),
        "the approval card and the signed webhook"
    );
    let sent = S3Store::new(sdk::s3_client(&admin), BUCKET);
    daybook_core::store::ObjectStore::get(&sent, "jobs/20261121-060000-iam001/send.json")
        .await
        .expect("send-report recorded the send in the job's folder");

    // A stream batch on the same role: flattened, and registered in its `_stream` table.
    let streaming = flatten_dynamodb::Adapters {
        store: clients.store("flatten-dynamodb"),
        reader: daybook_aws::DynamoDbReader::new(clients.dynamodb("flatten-dynamodb")),
        stream_config: Some(
            serde_json::from_value(json!({"source": "search_queries", "keys": ["query_id"]}))
                .unwrap(),
        ),
        stream_catalog: Some(daybook_aws::GlueCatalog::new(
            clients.glue("flatten-dynamodb"),
            GLUE_DATABASE,
            BUCKET,
        )),
        workers: 2,
    };
    let batch = std::fs::read_to_string(
        daybook_tests::workspace_root().join("events/flatten-dynamodb-stream.json"),
    )
    .unwrap();
    flatten_dynamodb::handle(&streaming, serde_json::from_str(&batch).unwrap())
        .await
        .unwrap_or_else(|e| panic!("the stream batch on flatten-dynamodb's role: {e}"));

    // A one-off analysis on run-query's role: read through the Data API, written under search/.
    let analysis = run_query::Adapters {
        store: clients.store("run-query"),
        warehouse: crate::aws_pipeline::warehouse(clients.redshift("run-query")),
    };
    let request =
        std::fs::read_to_string(daybook_tests::workspace_root().join("events/run-query.json"))
            .unwrap();
    let result = run_query::handle(&analysis, serde_json::from_str(&request).unwrap())
        .await
        .unwrap_or_else(|e| panic!("the analysis on run-query's role: {e}"));
    let written = result["xlsx_key"].as_str().unwrap();
    assert_eq!(written, "search/top-isbns-november/result.xlsx");
    daybook_core::store::ObjectStore::get(&sent, written)
        .await
        .expect("run-query wrote the workbook");

    // The approval function's schedule on its role: it lists the open requests (a Scan).
    let swept = approval_api::handle(
        &crate::aws_pipeline::approval_api(&clients),
        json!({ "sweep": true }),
    )
    .await
    .unwrap_or_else(|e| panic!("the approval sweep on approval-api's role: {e}"));
    assert_eq!(swept, json!({ "reminded": [], "expired": [] }));

    // A mart built with a run variable, on load-warehouse's role: its rows are staged with the
    // variable as a parameter in a session, and the day replaced in that session.
    let variables: daybook_core::variables::Variables = [(
        "min_views".to_string(),
        daybook_core::variables::VariableValue::Number(2.0),
    )]
    .into();
    let select = daybook_core::variables::bind_variables(
        "SELECT page, count(*) AS views FROM lake.segment_pages WHERE dt = DATE '2026-11-21' GROUP BY page HAVING count(*) >= {var.min_views}",
        &variables,
    )
    .unwrap();
    daybook_core::ports::Warehouse::materialize(
        &crate::aws_pipeline::warehouse(clients.redshift("load-warehouse")),
        "page_views_variable",
        &select,
        DAY.parse().unwrap(),
        "20261121-060000-iam001",
    )
    .await
    .unwrap_or_else(|e| panic!("a mart with variables on load-warehouse's role: {e}"));

    // The other services' calls, each checked against the resources its role allows.
    let calls = recorder.calls();
    for (function, logical) in FUNCTIONS {
        let denied = denied_calls(&roles.roles[*logical].1, &calls, function);
        assert!(
            denied.is_empty(),
            "{logical}'s role in infra/template.yaml does not allow:\n{}",
            denied.join("\n")
        );
    }
    let called = |function: &str, prefix: &str| {
        calls.iter().any(|c| {
            c.function == function && (c.target.starts_with(prefix) || c.uri.contains(prefix))
        })
    };
    for (function, service) in [
        ("load-warehouse", "AWSGlue."),
        ("flatten-dynamodb", "AWSGlue.BatchCreatePartition"),
        ("load-warehouse", "RedshiftData."),
        ("build-report", "RedshiftData."),
        ("run-query", "RedshiftData."),
        ("request-approval", "DynamoDB_20120810.PutItem"),
        ("request-approval", "secretsmanager.GetSecretValue"),
        ("request-approval", "/v2/email/outbound-emails"),
        ("approval-api", "secretsmanager.GetSecretValue"),
        ("approval-api", "DynamoDB_20120810.PutItem"),
        ("approval-api", "AWSStepFunctions.SendTaskSuccess"),
        ("approval-api", "DynamoDB_20120810.Scan"),
        ("send-report", "DynamoDB_20120810.PutItem"),
        ("send-report", "/v2/email/outbound-emails"),
    ] {
        assert!(
            called(function, service),
            "{function} made no {service} call"
        );
    }

    // Every statement of every role allowed a call of this run, or is listed with the reason
    // no run of this test reaches it.
    let mut unreached = Vec::new();
    for (function, logical) in FUNCTIONS {
        let statements = &roles.roles[*logical].1;
        let used = daybook_tests::iam::used_statements(statements, &calls, function);
        for statement in statements {
            let sid = statement["Sid"].as_str().unwrap_or("<no Sid>");
            if !used.contains(sid) {
                unreached.push(format!("{logical}:{sid}"));
            }
        }
    }
    unreached.sort();
    unreached.dedup();
    let listed: Vec<String> = UNREACHED
        .iter()
        .map(|(statement, _)| statement.to_string())
        .collect();
    assert_eq!(
        unreached, listed,
        "statements no call of this run needed, against UNREACHED (each with why)"
    );

    the_chat_secrets_are_readable_and_no_others(&roles);

    // The evaluator fails a role that lacks a statement its function needs...
    let glue_less: Vec<Value> = roles.roles["LoadWarehouseFunction"]
        .1
        .iter()
        .filter(|s| s["Sid"] != "RegisterLakeTables")
        .cloned()
        .collect();
    let denied = denied_calls(&glue_less, &calls, "load-warehouse");
    assert!(
        denied.iter().any(|d| d.contains("glue:CreateTable")),
        "{denied:?}"
    );
    // ...and one without the statement for its own sessions.
    let session_less: Vec<Value> = roles.roles["LoadWarehouseFunction"]
        .1
        .iter()
        .filter(|s| s["Sid"] != "UseOwnSessions")
        .cloned()
        .collect();
    let denied = denied_calls(&session_less, &calls, "load-warehouse");
    assert!(
        denied
            .iter()
            .any(|d| d.contains("redshift-data:BatchExecuteStatement on *")),
        "{denied:?}"
    );
    // ...and moto refuses an S3 write the role does not grant: start-job cannot snapshot.
    let (weak, _) = &roles.roles["StartJobFunction-without-WriteJobRecords"];
    let weak = role_config(&moto.endpoint, weak).await;
    let adapters = start_job::Adapters {
        store: S3Store::new(sdk::s3_client(&weak), BUCKET),
        time_zone: chrono_tz::UTC,
    };
    let error = start_job::handle(
        &adapters,
        serde_json::from_value(json!({ "job_id": "weak-1", "request": { "date": DAY } })).unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), daybook_core::ErrorKind::Failed);
    assert!(
        error.message().contains("AccessDenied"),
        "{}",
        error.message()
    );
}

/// Step Functions runs each state with the machine's role: every Task's function, and the
/// Distributed Map's child executions of the machine itself, its items read from the lake.
#[test]
fn each_state_machine_role_allows_what_its_definition_makes_step_functions_do() {
    use daybook_tests::machine_iam::{definition_needs, state_machine_statements, unmet};
    let (parameters, mut physical) = deployment("link-key");
    let function_arn =
        |name: &str| format!("arn:aws:lambda:us-east-1:123456789012:function:daybook-{name}");
    let mut substitutions = std::collections::BTreeMap::new();
    for (name, logical) in FUNCTIONS {
        physical[*logical] = json!({ "Ref": format!("daybook-{name}"), "Arn": function_arn(name) });
        substitutions.insert(format!("{logical}Arn"), function_arn(name));
    }
    // SAM names the machine as the template says: `${AWS::StackName}-daily-report`.
    let daily = "daybook-daily-report";
    let daily_arn = format!("arn:aws:states:us-east-1:123456789012:stateMachine:{daily}");
    physical["DailyReportStateMachine"] = json!({ "Ref": daily_arn, "Name": daily });
    substitutions.insert("DailyReportStateMachineArn".into(), daily_arn);
    substitutions.insert("LakeBucketName".into(), BUCKET.into());
    substitutions.insert("MapMaxConcurrency".into(), "40".into());
    let machines = state_machine_statements(&parameters, &physical);
    let root = daybook_tests::workspace_root();
    for (logical, file, name) in [
        ("DailyReportStateMachine", "daily-report.asl.json", daily),
        (
            "BackfillStateMachine",
            "backfill.asl.json",
            "daybook-backfill",
        ),
    ] {
        let mut text = std::fs::read_to_string(root.join("statemachines").join(file)).unwrap();
        for (placeholder, value) in &substitutions {
            text = text.replace(&format!("${{{placeholder}}}"), value);
        }
        assert!(
            !text.contains("${"),
            "{file} has a placeholder this test does not know"
        );
        let definition: Value = serde_json::from_str(&text).unwrap();
        let needs = definition_needs(&definition, name);
        let statements = &machines[logical];
        assert_eq!(unmet(statements, &needs), Vec::<String>::new(), "{logical}");
        if logical == "DailyReportStateMachine" {
            assert!(
                needs.iter().any(|n| n.action == "states:RedriveExecution"),
                "the daily definition has its Distributed Maps"
            );
            // Each fan-out statement is needed: without it, the Map Run cannot do its part.
            for sid in [
                "RunFanOutChildren",
                "FollowFanOutChildren",
                "RedriveFanOutChildren",
                "ReadFanOutItems",
            ] {
                let without: Vec<Value> = statements
                    .iter()
                    .filter(|s| s["Sid"] != sid)
                    .cloned()
                    .collect();
                assert_ne!(without.len(), statements.len(), "{sid} is in the template");
                let missing = unmet(&without, &needs);
                let maps = [
                    "\"Flatten DynamoDB export files\"",
                    "\"Scan Segment files\"",
                    "\"Write Segment files\"",
                ];
                assert!(
                    missing
                        .iter()
                        .all(|m| maps.iter().any(|map| m.contains(map))),
                    "{sid}: {missing:?}"
                );
                for map in maps {
                    assert!(
                        missing.iter().any(|m| m.contains(map)),
                        "{sid} is needed by {map}: {missing:?}"
                    );
                }
            }
        }
    }
}

/// The three functions that post to chats read their tokens and keys (secrets under
/// `daybook/chat/`, as Secrets Manager names them with its six-character suffix), and no
/// other secret; the build may record why a report is not sent.
fn the_chat_secrets_are_readable_and_no_others(roles: &daybook_tests::iam::Roles) {
    use daybook_tests::iam::allows;
    let chat = "arn:aws:secretsmanager:us-east-1:123456789012:secret:daybook/chat/slack-bot-Ab12Cd";
    let database = "arn:aws:secretsmanager:us-east-1:123456789012:secret:daybook/rds/shop-Ab12Cd";
    for logical in [
        "SendReportFunction",
        "RequestApprovalFunction",
        "ApprovalApiFunction",
    ] {
        let statements = &roles.roles[logical].1;
        assert!(
            allows(statements, "secretsmanager:GetSecretValue", chat),
            "{logical} cannot read the Slack token"
        );
        assert!(
            !allows(statements, "secretsmanager:GetSecretValue", database),
            "{logical} may read a database's credentials"
        );
    }
    assert!(allows(
        &roles.roles["BuildReportFunction"].1,
        "s3:PutObject",
        &format!("arn:aws:s3:::{BUCKET}/jobs/20261121-060000-iam001/not-sent.json")
    ));
}
