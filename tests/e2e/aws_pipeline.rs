//! The deployed state machine's definition, run by the local runner with every Task invoking the
//! real Lambda handlers on their AWS adapters: S3, DynamoDB, Glue, SESv2 and Step Functions'
//! SendTaskSuccess on one moto server; the Redshift Data API on `FakeRedshift`, which pages,
//! batches and fails where moto cannot.

use crate::aws_moto::{BUCKET, DAY, sdk_config, sdk_config_at, upload_export, with_bucket};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use daybook_asl::{CallbackWaiter, Definition, Failure, Runner, SystemClock, TaskInvoker};
use daybook_aws::{
    CrawlerRun, DynamoDbReader, DynamoDbStateStore, GlueCatalog, RedshiftTarget, RedshiftWarehouse,
    S3Store, SesMailer, SfnCallbacks, SpectrumSchema, sdk,
};
use daybook_core::ports::StateStore;
use daybook_core::store::ObjectStore;
use daybook_core::variables::{BoundSql, VariableValue, bind_variables};
use daybook_local::pipeline::local_substitutions;
use daybook_report::approval::{Answer, Decision, answer_of, decide_job, request_of_job};
use daybook_tests::{FakeRedshift, MotoServer, http_get, http_post};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

pub(crate) const STATE_TABLE: &str = "daybook-state";
pub(crate) const SPECTRUM_ROLE: &str = "arn:aws:iam::123456789012:role/daybook-spectrum";
pub(crate) const CRAWLER: &str = "daybook-extra";

/// How many crawls the test crawler has run.
async fn glue_crawls(config: &SdkConfig) -> usize {
    aws_sdk_glue::Client::new(config)
        .list_crawls()
        .crawler_name(CRAWLER)
        .send()
        .await
        .unwrap()
        .crawls()
        .len()
}
pub(crate) const GLUE_DATABASE: &str = "daybook_lake";
/// The approval link key's secret, as the stack creates it.
pub(crate) const LINK_KEY: &str = "daybook-link-key";
pub(crate) const APPROVAL_URL: &str = "https://approvals.daybook.example";
pub(crate) const SENDER: &str = "reports@daybook.example";
/// The SES configuration set the pipeline's messages are sent with.
pub(crate) const CONFIGURATION_SET: &str = "daybook-events";

/// Each function's adapters, built as its `Adapters::from_env` would on AWS.
pub(crate) struct AwsFunctions {
    start: start_job::Adapters,
    flatten: flatten_dynamodb::Adapters,
    rds: export_rds::Adapters,
    segment: export_segment::Adapters,
    load: load_warehouse::Adapters,
    build: build_report::Adapters,
    request: request_approval::Adapters,
    send: send_report::Adapters,
}

/// `approval-api`'s adapters on its own clients, as on AWS (it has no APPROVAL_URL).
pub(crate) fn approval_api(clients: &FunctionClients) -> approval_api::Adapters {
    approval_adapters(clients, "approval-api", None)
}

pub(crate) fn approval_adapters(
    clients: &FunctionClients,
    function: &str,
    approval_url: Option<&str>,
) -> daybook_aws::lambda::ApprovalAdapters {
    daybook_aws::lambda::ApprovalAdapters {
        store: clients.store(function),
        mailer: SesMailer::new(clients.ses(function)),
        state: clients.state(function),
        callbacks: SfnCallbacks::new(clients.sfn(function)),
        secrets: clients.secrets(function),
        link_key_secret: clients.link_key.clone(),
        approval_url: approval_url.map(str::to_string),
    }
}

/// How the functions' SDK clients are made: by default all from one config; in the IAM test
/// each from its own role's config, with every call recorded.
pub(crate) struct FunctionClients {
    pub default: SdkConfig,
    pub per_function: std::collections::HashMap<&'static str, SdkConfig>,
    /// Where the Redshift Data API is (the fake).
    pub redshift_endpoint: String,
    pub recorder: Option<Arc<daybook_tests::iam::CallRecorder>>,
    /// The link key's secret id (its ARN where IAM checks it).
    pub link_key: String,
    /// Where SendTaskSuccess and SendTaskFailure go.
    pub tasks: Arc<daybook_tests::FakeTaskTokens>,
}

/// Adds the recorder's interceptor for `function` to a service's config builder.
macro_rules! client {
    ($clients:expr, $function:expr, $service:ident) => {{
        let mut builder = $service::config::Builder::from($clients.config($function));
        if let Some(recorder) = &$clients.recorder {
            builder = builder.interceptor(recorder.for_function($function));
        }
        builder
    }};
}

impl FunctionClients {
    pub(crate) fn shared(config: &SdkConfig, redshift_endpoint: &str) -> Self {
        Self {
            default: config.clone(),
            per_function: Default::default(),
            redshift_endpoint: redshift_endpoint.to_string(),
            recorder: None,
            link_key: LINK_KEY.to_string(),
            tasks: Arc::new(daybook_tests::FakeTaskTokens::start()),
        }
    }

    fn config(&self, function: &str) -> &SdkConfig {
        self.per_function.get(function).unwrap_or(&self.default)
    }

    pub(crate) fn s3(&self, function: &str) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            client!(self, function, aws_sdk_s3)
                .force_path_style(true)
                .build(),
        )
    }

    pub(crate) fn dynamodb(&self, function: &str) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(client!(self, function, aws_sdk_dynamodb).build())
    }

    pub(crate) fn glue(&self, function: &str) -> aws_sdk_glue::Client {
        aws_sdk_glue::Client::from_conf(client!(self, function, aws_sdk_glue).build())
    }

    fn ses(&self, function: &str) -> aws_sdk_sesv2::Client {
        aws_sdk_sesv2::Client::from_conf(client!(self, function, aws_sdk_sesv2).build())
    }

    /// Step Functions' callbacks go to the task-token stand-in (moto accepts any token).
    fn sfn(&self, function: &str) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::from_conf(
            client!(self, function, aws_sdk_sfn)
                .endpoint_url(&self.tasks.endpoint)
                .build(),
        )
    }

    pub(crate) fn secrets(&self, function: &str) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::from_conf(
            client!(self, function, aws_sdk_secretsmanager).build(),
        )
    }

    pub(crate) fn redshift(&self, function: &str) -> aws_sdk_redshiftdata::Client {
        aws_sdk_redshiftdata::Client::from_conf(
            client!(self, function, aws_sdk_redshiftdata)
                .endpoint_url(&self.redshift_endpoint)
                .build(),
        )
    }

    pub(crate) fn store(&self, function: &str) -> S3Store {
        S3Store::new(self.s3(function), BUCKET)
    }

    pub(crate) fn state(&self, function: &str) -> DynamoDbStateStore {
        DynamoDbStateStore::new(self.dynamodb(function), STATE_TABLE)
    }
}

fn store(config: &SdkConfig) -> S3Store {
    S3Store::new(sdk::s3_client(config), BUCKET)
}

fn state(config: &SdkConfig) -> DynamoDbStateStore {
    DynamoDbStateStore::new(sdk::dynamodb_client(config), STATE_TABLE)
}

pub(crate) fn warehouse(client: aws_sdk_redshiftdata::Client) -> RedshiftWarehouse {
    RedshiftWarehouse::new(
        client,
        RedshiftTarget::Cluster {
            id: "daybook".into(),
            db_user: Some("daybook".into()),
        },
        "dev",
        None,
    )
    .with_poll(daybook_aws::redshift_warehouse::PollPolicy {
        first_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        deadline: Duration::from_secs(10),
    })
}

impl AwsFunctions {
    pub(crate) fn new(clients: &FunctionClients) -> Self {
        Self {
            start: start_job::Adapters {
                store: clients.store("start-job"),
                time_zone: chrono_tz::UTC,
            },
            flatten: flatten_dynamodb::Adapters {
                store: clients.store("flatten-dynamodb"),
                reader: DynamoDbReader::new(clients.dynamodb("flatten-dynamodb")),
                stream_config: None,
                stream_catalog: None,
                workers: 2,
            },
            rds: export_rds::Adapters {
                store: clients.store("export-rds"),
                state: clients.state("export-rds"),
                secrets: clients.secrets("export-rds"),
            },
            segment: export_segment::Adapters {
                store: clients.store("export-segment"),
                put_config: None,
                workers: 2,
            },
            load: load_warehouse::Adapters {
                store: clients.store("load-warehouse"),
                catalog: GlueCatalog::new(clients.glue("load-warehouse"), GLUE_DATABASE, BUCKET)
                    .with_crawler(CrawlerRun {
                        name: CRAWLER.into(),
                        poll_every: std::time::Duration::from_millis(50),
                        deadline: std::time::Duration::from_secs(30),
                    }),
                warehouse: warehouse(clients.redshift("load-warehouse")).with_spectrum(
                    SpectrumSchema {
                        glue_database: GLUE_DATABASE.into(),
                        iam_role: SPECTRUM_ROLE.into(),
                    },
                ),
            },
            build: build_report::Adapters {
                store: clients.store("build-report"),
                warehouse: warehouse(clients.redshift("build-report")),
            },
            request: approval_adapters(clients, "request-approval", Some(APPROVAL_URL)),
            send: send_report::Adapters {
                store: clients.store("send-report"),
                mailer: SesMailer::new(clients.ses("send-report")),
                state: clients.state("send-report"),
                links: Some(send_report::LinkSigning {
                    secrets: clients.secrets("send-report"),
                    link_key_secret: clients.link_key.clone(),
                    approval_url: APPROVAL_URL.into(),
                }),
            },
        }
    }
}

/// The deployed definition, run by the local runner with every Task on these functions'
/// adapters, and the approval given as a person would: the approver's link opened (GET) and
/// its form posted (POST), as API Gateway events to the `approval-api` handler.
pub(crate) fn pipeline_runner(clients: &FunctionClients) -> Runner {
    let mut substitutions = local_substitutions();
    substitutions.insert("LakeBucketName".into(), crate::aws_moto::BUCKET.into());
    let definition =
        Definition::parse(daybook_local::demo::DAILY_REPORT_DEFINITION, &substitutions).unwrap();
    Runner::new(
        definition,
        Arc::new(AwsFunctions::new(clients)),
        Arc::new(ApproverByLink {
            api: approval_api(clients),
            tasks: clients.tasks.clone(),
        }),
        Arc::new(SystemClock),
    )
    .with_item_source(Arc::new(S3Items(aws_sdk_s3::Client::new(&clients.default))))
}

/// The DynamoDB source of the test config that fans out.
pub(crate) const FANNED_SOURCE: &str = "search_archive";
pub(crate) const FANNED_SEGMENT_SOURCE: &str = "segment_archive";

/// What Step Functions reads a Distributed Map's items with: S3 GetObject. (The machine role's
/// permission for it is checked in aws_iam.)
struct S3Items(aws_sdk_s3::Client);

#[async_trait::async_trait]
impl daybook_asl::ItemSource for S3Items {
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
        let object = self
            .0
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| format!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
        let body = object.body.collect().await.map_err(|e| e.to_string())?;
        Ok(body.into_bytes().to_vec())
    }
}

/// An API Gateway HTTP API (payload 2.0) request for `link` (the path and query the approver's
/// link has), as the Lambda integration delivers it: a form body base64-encoded.
pub(crate) fn api_event(method: &str, link: &str, form: Option<&str>) -> Value {
    let path_and_query = link.strip_prefix(APPROVAL_URL).unwrap_or(link);
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{method} /approvals/{{token}}"),
        "rawPath": path,
        "rawQueryString": query,
        "headers": { "host": "approvals.daybook.example" },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "approvals.daybook.example",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7", "userAgent": "test" },
            "requestId": "r1",
            "routeKey": format!("{method} /approvals/{{token}}"),
            "stage": "$default",
            "time": "24/Nov/2026:06:00:00 +0000",
            "timeEpoch": 1795500000000u64
        },
        "isBase64Encoded": false
    });
    if let Some(form) = form {
        use base64::Engine;
        event["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
        event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(form));
        event["isBase64Encoded"] = json!(true);
    }
    event
}

/// Status and page of the approval API's answer to `event`.
pub(crate) async fn api_call(api: &approval_api::Adapters, event: Value) -> (i64, String) {
    let response = approval_api::handle(api, event).await.unwrap();
    let page = response["body"].as_str().unwrap_or_default().to_string();
    (response["statusCode"].as_i64().unwrap(), page)
}

/// A person approving from the email: the link's page first (which decides nothing), then its
/// form. The runner continues with the answer Step Functions was sent.
struct ApproverByLink {
    api: approval_api::Adapters,
    tasks: Arc<daybook_tests::FakeTaskTokens>,
}

#[async_trait]
impl CallbackWaiter for ApproverByLink {
    async fn wait(
        &self,
        token: &str,
        execution: &str,
        _state: &str,
        _timeout: Option<Duration>,
    ) -> Result<Value, Failure> {
        self.tasks.wait(token);
        let record = request_of_job(&self.api.state, execution).await.unwrap();
        assert_eq!(record.token, token, "the token kept is the one passed");
        assert!(
            record.links.values().all(|l| !l.contains(token)),
            "no link carries the task token"
        );
        let link = &record.links["lead@daybook.example"];
        let (status, page) = api_call(
            &self.api,
            api_event("GET", &format!("{link}?decision=approve"), None),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("Approve and send"), "{page}");
        assert_eq!(
            answer_of(&self.api.state, &record.approval_id)
                .await
                .unwrap(),
            None,
            "GET decided nothing"
        );
        let (status, page) = api_call(
            &self.api,
            api_event(
                "POST",
                link,
                Some("comment=Numbers+match+the+dashboard&decision=approve"),
            ),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert!(
            matches!(
                answer_of(&self.api.state, &record.approval_id)
                    .await
                    .unwrap(),
                Some(Answer::Decided(_))
            ),
            "the POST decided"
        );
        // The run resumes with what Step Functions was sent, as on AWS: not with the record.
        match self.tasks.result_of(token) {
            Some(Ok(output)) => Ok(output),
            Some(Err((error, cause))) => Err(Failure::new(error, cause)),
            None => panic!("Step Functions got no answer for {token}"),
        }
    }
}

/// The event as the function's runtime parses it (`serve` uses the same function).
fn parse<T: DeserializeOwned>(_function: &str, input: Value) -> Result<T, Failure> {
    daybook_aws::lambda::parse_event(input).map_err(failed)
}

/// A handler's error as Step Functions receives it: the error name is the `errorType` the
/// runtime posts (`Daybook.Transient`, `Daybook.InvalidInput`, `Daybook.Failed`).
fn failed(e: daybook_aws::lambda::HandlerError) -> Failure {
    let diagnostic = lambda_runtime::Diagnostic::from(e);
    Failure::new(diagnostic.error_type, diagnostic.error_message)
}

#[async_trait]
impl TaskInvoker for AwsFunctions {
    async fn invoke(&self, function: &str, input: Value) -> Result<Value, Failure> {
        let name = function.rsplit_once("function:").map_or(function, |p| p.1);
        match name {
            "start-job" => start_job::handle(&self.start, parse(name, input)?)
                .await
                .map_err(failed),
            "flatten-dynamodb" => flatten_dynamodb::handle(&self.flatten, parse(name, input)?)
                .await
                .map_err(failed),
            "export-rds" => export_rds::handle(&self.rds, parse(name, input)?)
                .await
                .map_err(failed),
            "export-segment" => export_segment::handle(&self.segment, parse(name, input)?)
                .await
                .map_err(failed),
            "load-warehouse" => load_warehouse::handle(&self.load, parse(name, input)?)
                .await
                .map_err(failed),
            "build-report" => build_report::handle(&self.build, parse(name, input)?)
                .await
                .map_err(failed),
            "request-approval" => request_approval::handle(&self.request, parse(name, input)?)
                .await
                .map_err(failed),
            "send-report" => send_report::handle(&self.send, parse(name, input)?)
                .await
                .map_err(failed),
            other => Err(Failure::new(
                "Lambda.ResourceNotFoundException",
                format!("no function {other}"),
            )),
        }
    }
}

/// The demo's pipeline config with one report section shaped like FakeRedshift's answers, its
/// shop database at `shop` (SQLite stands in for the replica: the URL path is the same code).
fn config(shop: &std::path::Path) -> Value {
    let mut config = serde_json::to_value(daybook_local::demo::demo_config()).unwrap();
    config["rds"][0]["url"] = json!(format!("sqlite://{}", shop.display()));
    // The same export again as a big one: flattened over the Distributed Map, a file per child,
    // so that its plan, children and commit run on AWS's clients (and, in aws_iam, roles).
    let mut big = config["dynamodb"][0].clone();
    big["source"] = json!(FANNED_SOURCE);
    big["fan_out"] = json!({ "files_per_iteration": 1 });
    config["dynamodb"].as_array_mut().unwrap().push(big);
    // The same Segment day again as a big one: scanned and written over two Distributed Maps.
    let mut big_day = config["segment"][0].clone();
    big_day["source"] = json!(FANNED_SEGMENT_SOURCE);
    big_day["fan_out"] = json!({ "files_per_iteration": 1 });
    config["segment"].as_array_mut().unwrap().push(big_day);
    // Sent with a configuration set, as SES's event publishing needs: SES authorises the send
    // on the set too, so the roles must allow it.
    config["email"]["configuration_set"] = json!(CONFIGURATION_SET);
    config["report"]["sections"] = json!([{
        "title": "Top search keywords",
        "sql": "SELECT item_rank AS place, item AS keyword, share FROM marts.search_top WHERE dt = {run_date}",
        "chart": { "category": "keyword", "value": "share" }
    }]);
    config
}

pub(crate) async fn prepare(config: &SdkConfig, scratch: &std::path::Path, moto: &MotoServer) {
    // moto's crawls wait for a manual step unless told to finish at once.
    http_post(
        &moto.endpoint,
        "/moto-api/state-manager/set-transition",
        r#"{"model_name": "glue::crawl", "transition": {"progression": "immediate"}}"#,
    );
    let shop = scratch.join("shop.sqlite");
    daybook_rds::shop::write_shop_sqlite(
        &shop,
        &daybook_rds::shop::ShopSpec {
            last_day: DAY.parse().unwrap(),
            days: 2,
            orders_per_day: 20,
            seed: 1,
        },
    )
    .unwrap();
    let lake = store(config);
    lake.put(
        "config/daybook.json",
        serde_json::to_vec(&self::config(&shop)).unwrap(),
    )
    .await
    .unwrap();
    upload_export(&lake, 300).await;
    let mut segment = daybook_generate::segment::SegmentSpec::new(600, DAY.parse().unwrap());
    segment.batches = 3;
    for file in daybook_generate::segment::write_segment_logs(scratch, &segment)
        .unwrap()
        .files
    {
        let key = file
            .strip_prefix(scratch)
            .unwrap()
            .to_string_lossy()
            .to_string();
        lake.put_file(&key, &file).await.unwrap();
    }
    prepare_state_table(config).await;
    create_glue_database(config).await;
    aws_sdk_glue::Client::new(config)
        .create_crawler()
        .name(CRAWLER)
        .role("arn:aws:iam::123456789012:role/glue")
        .database_name(GLUE_DATABASE)
        .targets(
            aws_sdk_glue::types::CrawlerTargets::builder()
                .s3_targets(
                    aws_sdk_glue::types::S3Target::builder()
                        .path(format!("s3://{BUCKET}/reference/"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    aws_sdk_sesv2::Client::new(config)
        .create_email_identity()
        .email_identity(SENDER)
        .send()
        .await
        .unwrap();
    aws_sdk_sesv2::Client::new(config)
        .create_configuration_set()
        .configuration_set_name(CONFIGURATION_SET)
        .send()
        .await
        .unwrap();
    create_link_key(config).await;
}

/// The link key as the stack creates it (`GenerateSecretString` into `{"id": "k1"}`); returns
/// its ARN.
pub(crate) async fn create_link_key(config: &SdkConfig) -> String {
    aws_sdk_secretsmanager::Client::new(config)
        .create_secret()
        .name(LINK_KEY)
        .secret_string(r#"{"id": "k1", "secret": "Qm9sZCBjb2ZmZWUgYW5kIGEgbG9uZyByZXBvcnQgdG8gcmVhZCBiZWZvcmUgOQ"}"#)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap()
}

#[tokio::test]
async fn the_state_machine_runs_every_lambda_handler_against_aws_apis() {
    let moto = MotoServer::start();
    let config = with_bucket(&moto).await;
    let fake = FakeRedshift::start();
    let scratch = tempfile::tempdir().unwrap();
    prepare(&config, scratch.path(), &moto).await;
    let runner = pipeline_runner(&FunctionClients::shared(&config, &fake.endpoint));
    let job_id = "20261121-060000-aws001";
    let delivery = runner
        .execute(job_id, json!({ "date": DAY, "started_by": "test" }))
        .await
        .unwrap();
    assert_eq!(delivery["recipients"], json!(["data-team@daybook.example"]));
    assert_eq!(delivery["already_sent"], false);

    // Glue: one table per lake table, its partition on the run folder this job committed.
    let glue = aws_sdk_glue::Client::new(&config);
    for table in [
        "search_queries_items",
        "search_queries_isbn13_list",
        "search_queries_selected_lib",
        "search_queries_user_search",
        "search_archive_items",
        "search_archive_user_search",
        "shop_orders",
        "shop_order_items",
        "segment_pages",
        "segment_product_viewed",
    ] {
        let partition = glue
            .get_partition()
            .database_name(GLUE_DATABASE)
            .table_name(table)
            .partition_values(DAY)
            .send()
            .await
            .unwrap_or_else(|e| panic!("partition of {table}: {}", sdk::describe(&e)));
        let location = partition
            .partition
            .and_then(|p| p.storage_descriptor)
            .and_then(|s| s.location)
            .unwrap();
        assert!(
            location.starts_with("s3://daybook-lake/lake/")
                && location.ends_with(&format!("/dt={DAY}/run={job_id}/")),
            "{table}: {location}"
        );
    }

    // The big source went through the Distributed Map: one child per data file, each part in
    // the run folder under its file's number, and the manifest last, as a whole flatten has it.
    let lake = store(&config);
    let items_manifest = async |source: &str| -> Value {
        let key = format!("lake/{source}/_items/dt={DAY}/run={job_id}/_manifest.json");
        serde_json::from_slice(&lake.get(&key).await.unwrap()).unwrap()
    };
    let manifest = items_manifest(FANNED_SOURCE).await;
    let whole = items_manifest("search_queries").await;
    assert_eq!(manifest["rows"], whole["rows"]);
    assert_eq!(manifest["schema"], whole["schema"]);
    let parts = lake
        .list(&format!("jobs/{job_id}/fan-out/{FANNED_SOURCE}/parts/"))
        .await
        .unwrap();
    assert_eq!(parts.len(), manifest["files"].as_array().unwrap().len());
    assert!(parts.len() > 1, "{parts:?}");
    // The big Segment day: the same rows and columns as the whole day, a part per batch file.
    for table in ["tracks", "pages", "product_viewed"] {
        let manifest = async |source: &str| -> Value {
            let key = format!("lake/{source}/{table}/dt={DAY}/run={job_id}/_manifest.json");
            serde_json::from_slice(&lake.get(&key).await.unwrap()).unwrap()
        };
        let (big, whole) = (
            manifest(FANNED_SEGMENT_SOURCE).await,
            manifest("segment").await,
        );
        assert_eq!(big["rows"], whole["rows"], "{table}");
        assert_eq!(big["schema"], whole["schema"], "{table}");
    }
    let written = lake
        .list(&format!(
            "jobs/{job_id}/segment-fan-out/{FANNED_SEGMENT_SOURCE}/parts/"
        ))
        .await
        .unwrap();
    assert!(written.len() >= 3, "a record per batch file: {written:?}");

    // The schemas first (the lake's from the Glue database), then each mart in one batch on
    // the configured cluster: its rows staged, the table made from them if absent (the fake
    // starts empty), then the day replaced.
    let batches: Vec<Value> = fake
        .requests()
        .into_iter()
        .filter(|(operation, _)| operation == "BatchExecuteStatement")
        .map(|(_, body)| body)
        .collect();
    assert_eq!(
        batches[0]["Sqls"],
        json!([
            "CREATE SCHEMA IF NOT EXISTS marts",
            format!(
                "CREATE EXTERNAL SCHEMA IF NOT EXISTS lake FROM DATA CATALOG DATABASE '{GLUE_DATABASE}' IAM_ROLE '{SPECTRUM_ROLE}'"
            )
        ])
    );
    let marts = daybook_core::marts::known_marts();
    assert_eq!(batches.len(), 1 + marts.len());
    for (batch, mart) in batches[1..].iter().zip(marts) {
        assert_eq!(batch["ClusterIdentifier"], "daybook");
        assert_eq!(batch["Database"], "dev");
        assert_eq!(batch["StatementName"], format!("daybook-{job_id}-{mart}"));
        let sqls = batch["Sqls"].as_array().unwrap();
        assert!(
            sqls[0].as_str().unwrap().starts_with(&format!(
                "CREATE TEMP TABLE daybook_stage_{mart} AS SELECT DATE '{DAY}' AS dt, q.* FROM ("
            )),
            "{}",
            sqls[0]
        );
        assert_eq!(
            sqls[1],
            format!("CREATE TABLE IF NOT EXISTS marts.{mart} (LIKE daybook_stage_{mart})")
        );
    }
    // The data-quality checks ran through the Data API before the marts, and the report shows them.
    let checks = fake
        .requests()
        .iter()
        .filter(|(operation, body)| {
            operation == "ExecuteStatement"
                && body["Sql"].as_str().unwrap().contains("AS row_count")
        })
        .count();
    assert!(checks >= 1, "the row counts ran on Redshift");
    let crawls = glue_crawls(&config).await;
    assert_eq!(
        crawls, 1,
        "the crawler ran once, after the partitions were registered"
    );

    // The report was rendered from every page of Redshift's result into the job's folder.
    let report_key = format!("reports/daily-search/dt={DAY}/{job_id}/report.html");
    let html = String::from_utf8(store(&config).get(&report_key).await.unwrap()).unwrap();
    assert!(html.contains("harry potter") && html.contains("9781234567897"));

    // The decision is on record with the approved files' hash, and SES got two raw messages:
    // the approval request, the report (saying who approved it).
    let record = request_of_job(&state(&config), job_id).await.unwrap();
    let Some(Answer::Decided(decision)) = answer_of(&state(&config), &record.approval_id)
        .await
        .unwrap()
    else {
        panic!("no decision recorded")
    };
    assert_eq!(decision.by, "lead@daybook.example");
    assert_eq!(
        decision.comment.as_deref(),
        Some("Numbers match the dashboard")
    );
    assert_eq!(
        decision.report_sha256.as_deref(),
        Some(record.report_sha256.as_str())
    );
    let data = http_get(&moto.endpoint, "/moto-api/data.json");
    let data: Value = serde_json::from_str(&data).unwrap();
    let raw: Vec<&str> = data["ses"]["RawMessage"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["raw_data"].as_str())
        .collect();
    assert_eq!(raw.len(), 2, "{raw:?}");
    assert!(raw[0].contains("To: <lead@daybook.example>"));
    assert!(raw[0].contains("Subject: =?utf-8?Q?Approve:_Daily_search_report"));
    assert!(raw[1].contains("To: <data-team@daybook.example>"));
    assert!(raw[1].contains("daily-search-2026-11-21.xlsx"));
    assert!(
        raw[0].contains(&format!("{APPROVAL_URL}/approvals/v1.k1.")),
        "the approval email links to the approval API"
    );
    let sent = mail_parser::MessageParser::default()
        .parse(raw[1].as_bytes())
        .unwrap();
    assert!(
        sent.body_text(0)
            .unwrap()
            .contains("Approved by lead@daybook.example at"),
        "the sent report says who approved it"
    );

    // A second approval of the same job is refused and names the first.
    let now = chrono::Utc::now();
    let again = decide_job(
        &state(&config),
        &SfnCallbacks::new(sdk::sfn_client(&config)),
        job_id,
        Decision::new(true, "bo", None, "CLI", now),
        now,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        again.contains("already approved by lead@daybook.example"),
        "{again}"
    );
}

#[tokio::test]
async fn an_unverified_sender_is_refused_with_the_addresses_named() {
    let moto = MotoServer::start();
    let config = sdk_config(&moto).await;
    let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&config));
    let err = daybook_core::ports::Mailer::send_raw(
        &mailer,
        &daybook_core::ports::Envelope {
            from: "nobody@unverified.example".into(),
            to: vec!["data-team@daybook.example".to_string()],
            ..Default::default()
        },
        b"Subject: hi\r\n\r\nhello\r\n".to_vec(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("SES SendEmail from nobody@unverified.example to data-team@daybook.example"),
        "{err}"
    );
    assert!(err.contains("MessageRejected"), "{err}");
}

#[tokio::test]
async fn the_state_table_writes_once_and_returns_the_first_record() {
    let moto = MotoServer::start();
    let config = sdk_config(&moto).await;
    prepare_state_table(&config).await;
    let state = state(&config);
    let first = json!({ "status": "sending", "n": 1 });
    assert_eq!(
        state.put_if_absent("send/a", first.clone()).await.unwrap(),
        None
    );
    assert_eq!(
        state
            .put_if_absent("send/a", json!({ "status": "sending", "n": 2 }))
            .await
            .unwrap(),
        Some(first)
    );
    state
        .put("send/a", json!({ "status": "sent" }))
        .await
        .unwrap();
    assert_eq!(
        state.get("send/a").await.unwrap(),
        Some(json!({ "status": "sent" }))
    );
    assert_eq!(state.get("send/b").await.unwrap(), None);
}

pub(crate) async fn prepare_state_table(config: &SdkConfig) {
    sdk::dynamodb_client(config)
        .create_table()
        .table_name(STATE_TABLE)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

pub(crate) async fn create_glue_database(config: &SdkConfig) {
    aws_sdk_glue::Client::new(config)
        .create_database()
        .database_input(
            aws_sdk_glue::types::DatabaseInput::builder()
                .name(GLUE_DATABASE)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

async fn items_partition_location(glue: &aws_sdk_glue::Client, dt: &str) -> String {
    glue.get_partition()
        .database_name(GLUE_DATABASE)
        .table_name("search_queries_items")
        .partition_values(dt)
        .send()
        .await
        .unwrap()
        .partition
        .and_then(|p| p.storage_descriptor)
        .and_then(|s| s.location)
        .unwrap()
}

#[tokio::test]
async fn a_new_column_updates_the_glue_table_and_a_rerun_moves_the_partition() {
    let moto = MotoServer::start();
    let config = sdk_config(&moto).await;
    create_glue_database(&config).await;
    let glue = aws_sdk_glue::Client::new(&config);
    let catalog = GlueCatalog::new(glue.clone(), GLUE_DATABASE, BUCKET);
    let column = |name: &str, hive: &str| daybook_core::lake::SchemaColumn {
        name: name.into(),
        ty: "Utf8".into(),
        nullable: true,
        hive_type: hive.into(),
    };
    let day: chrono::NaiveDate = DAY.parse().unwrap();
    use daybook_core::ports::{Catalog, PartitionRef};
    // A backfill of 150 days: two BatchCreatePartition calls (Glue takes 100 at a time).
    let days = |run: &str| -> Vec<PartitionRef> {
        (0..150)
            .map(|back| {
                let dt = day - chrono::Days::new(back);
                PartitionRef {
                    dt,
                    run_prefix: format!("lake/search_queries/_items/dt={dt}/run={run}/"),
                }
            })
            .collect()
    };
    catalog
        .register_partitions(
            "search_queries_items",
            &[column("query_id", "string")],
            &days("first"),
        )
        .await
        .unwrap();
    // The rerun finds them all and repoints them with BatchUpdatePartition.
    catalog
        .register_partitions(
            "search_queries_items",
            &[column("query_id", "string"), column("results", "bigint")],
            &days("second"),
        )
        .await
        .unwrap();
    let oldest = day - chrono::Days::new(149);
    assert_eq!(
        items_partition_location(&glue, &oldest.to_string()).await,
        format!("s3://daybook-lake/lake/search_queries/_items/dt={oldest}/run=second/")
    );
    let table = glue
        .get_table()
        .database_name(GLUE_DATABASE)
        .name("search_queries_items")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let storage = table.storage_descriptor.unwrap();
    let columns: Vec<(String, String)> = storage
        .columns
        .unwrap()
        .into_iter()
        .map(|c| (c.name, c.r#type.unwrap()))
        .collect();
    assert_eq!(
        columns,
        [
            ("query_id".to_string(), "string".to_string()),
            ("results".to_string(), "bigint".to_string())
        ]
    );
    assert_eq!(
        storage.location.unwrap(),
        "s3://daybook-lake/lake/search_queries/_items/"
    );
    assert_eq!(
        storage.serde_info.unwrap().serialization_library.unwrap(),
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    );
    assert_eq!(table.partition_keys.unwrap()[0].name, "dt");
    assert_eq!(
        items_partition_location(&glue, DAY).await,
        "s3://daybook-lake/lake/search_queries/_items/dt=2026-11-21/run=second/"
    );
}

#[tokio::test]
async fn a_redshift_query_is_polled_read_page_by_page_and_typed_by_column() {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let result = daybook_core::ports::Warehouse::query(
        &warehouse(aws_sdk_redshiftdata::Client::new(&config)),
        "SELECT 1",
    )
    .await
    .unwrap();
    assert_eq!(result.columns, ["place", "keyword", "share"]);
    assert_eq!(
        result.rows,
        [
            [json!(1), json!("harry potter"), json!(12.5)],
            [json!(2), json!("dune"), json!(7.25)],
            [json!(3), json!("9781234567897"), json!(3.0)],
        ]
    );
    let operations: Vec<String> = fake.requests().into_iter().map(|(op, _)| op).collect();
    assert_eq!(
        operations,
        [
            "ExecuteStatement",
            "DescribeStatement",
            "DescribeStatement",
            "GetStatementResult",
            "GetStatementResult"
        ]
    );
}

#[tokio::test]
async fn a_failed_mart_names_the_mart_and_carries_redshifts_error() {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let err = daybook_core::ports::Warehouse::materialize(
        &warehouse(aws_sdk_redshiftdata::Client::new(&config)),
        "search_top",
        &BoundSql::plain("SELECT FAIL_ME"),
        DAY.parse().unwrap(),
        "job-1",
    )
    .await
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "mart search_top for 2026-11-21: Redshift says: ERROR: syntax error at or near \"FAIL_ME\"\nin statement 1 of the batch:\nCREATE TEMP TABLE daybook_stage_search_top AS SELECT DATE '2026-11-21' AS dt, q.* FROM (\nSELECT FAIL_ME\n) AS q"
    );
}

/// One form for the first build and every later one: the table is made from the staged rows
/// if it is not there, then the day replaced, in one transaction.
#[tokio::test]
async fn a_mart_is_made_if_absent_and_its_day_replaced_in_one_transaction() {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let redshift = warehouse(aws_sdk_redshiftdata::Client::new(&config));
    use daybook_core::ports::Warehouse;
    for day in ["2026-11-20", "2026-11-21"] {
        redshift
            .materialize(
                "page_views",
                &BoundSql::plain("SELECT 1 AS views"),
                day.parse().unwrap(),
                "job-1",
            )
            .await
            .unwrap();
    }
    let batches: Vec<Value> = fake
        .requests()
        .into_iter()
        .filter(|(operation, _)| operation == "BatchExecuteStatement")
        .map(|(_, body)| body["Sqls"].clone())
        .collect();
    let build = |day: &str| {
        json!([
            format!(
                "CREATE TEMP TABLE daybook_stage_page_views AS SELECT DATE '{day}' AS dt, q.* FROM (\nSELECT 1 AS views\n) AS q"
            ),
            "CREATE TABLE IF NOT EXISTS marts.page_views (LIKE daybook_stage_page_views)",
            format!("DELETE FROM marts.page_views WHERE dt = DATE '{day}'"),
            "INSERT INTO marts.page_views SELECT * FROM daybook_stage_page_views",
        ])
    };
    assert_eq!(batches, [build("2026-11-20"), build("2026-11-21")]);
}

/// A backfill's first two days into an empty warehouse, at once: both find no mart table.
/// Redshift refuses the second CREATE TABLE of a table ("relation already exists") and fails
/// one of two transactions writing the same table with error 1023 (the stand-in too). The
/// loser must be a transient error, which the state machine retries, and the retry must build.
#[tokio::test]
async fn two_days_building_one_mart_at_once_leave_one_retry_and_no_lost_mart() {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let redshift = warehouse(aws_sdk_redshiftdata::Client::new(&config));
    use daybook_core::Classify;
    use daybook_core::ports::Warehouse;
    let select = BoundSql::plain("SELECT 1 AS views");
    let (day_1, day_2) = ("2026-10-01".parse().unwrap(), "2026-10-02".parse().unwrap());
    let (first, second) = tokio::join!(
        redshift.materialize("page_views", &select, day_1, "backfill-1"),
        redshift.materialize("page_views", &select, day_2, "backfill-2"),
    );
    let failed: Vec<_> = [&first, &second]
        .into_iter()
        .filter_map(|r| r.as_ref().err())
        .collect();
    assert_eq!(failed.len(), 1, "one day wins: {first:?} / {second:?}");
    assert_eq!(
        failed[0].kind(),
        daybook_core::ErrorKind::Transient,
        "retried by the state machine: {}",
        failed[0]
    );
    assert!(failed[0].to_string().contains("1023"), "{}", failed[0]);
    let day = if first.is_err() { day_1 } else { day_2 };
    redshift
        .materialize("page_views", &select, day, "backfill-retry")
        .await
        .unwrap();
    // And a plain CREATE TABLE of a table that exists is refused, as Redshift refuses it.
    assert!(
        fake.execute("CREATE TABLE marts.page_views AS SELECT 1")
            .contains("already exists")
    );
}

#[tokio::test]
async fn a_mart_with_variables_stages_its_rows_with_parameters_and_replaces_the_day_in_that_session()
 {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let redshift = warehouse(aws_sdk_redshiftdata::Client::new(&config));
    use daybook_core::ports::Warehouse;
    let hostile = "x'); DROP TABLE marts.page_views; --";
    let variables: daybook_core::variables::Variables = [
        ("page".to_string(), VariableValue::Text(hostile.into())),
        ("min_views".to_string(), VariableValue::Number(3.0)),
    ]
    .into();
    let select = bind_variables(
        "SELECT page, views FROM lake.pages WHERE page <> {var.page} AND views >= {var.min_views}",
        &variables,
    )
    .unwrap();
    for day in ["2026-11-20", "2026-11-21"] {
        let run = redshift
            .materialize("page_views", &select, day.parse().unwrap(), "job-1")
            .await
            .unwrap();
        assert_eq!(run.rows, 7, "the rows the batch's INSERT (or CREATE) wrote");
    }
    let requests = fake.requests();
    let staged: Vec<&Value> = requests
        .iter()
        .filter(|(operation, body)| {
            operation == "ExecuteStatement" && body.get("Parameters").is_some()
        })
        .map(|(_, body)| body)
        .collect();
    assert_eq!(staged.len(), 2, "one staging statement per build");
    assert_eq!(
        staged[1]["Sql"],
        json!(
            "CREATE TEMP TABLE daybook_stage_page_views AS SELECT DATE '2026-11-21' AS dt, q.* FROM (\nSELECT page, views FROM lake.pages WHERE page <> :var_page AND views >= CAST(:var_min_views AS DOUBLE PRECISION)\n) AS q"
        )
    );
    assert_eq!(
        staged[1]["Parameters"],
        json!([{"name": "var_page", "value": hostile}, {"name": "var_min_views", "value": "3"}])
    );
    assert!(staged[1]["SessionKeepAliveSeconds"].as_i64().unwrap() > 0);
    let batches: Vec<&Value> = requests
        .iter()
        .filter(|(operation, _)| operation == "BatchExecuteStatement")
        .map(|(_, body)| body)
        .collect();
    assert_eq!(
        batches[1]["Sqls"],
        json!([
            "CREATE TABLE IF NOT EXISTS marts.page_views (LIKE daybook_stage_page_views)",
            "DELETE FROM marts.page_views WHERE dt = DATE '2026-11-21'",
            "INSERT INTO marts.page_views SELECT * FROM daybook_stage_page_views"
        ])
    );
    assert!(
        batches[1]["SessionId"].is_string(),
        "the batch runs in the staging session"
    );
    assert!(
        requests
            .iter()
            .all(|(_, body)| !body.to_string().contains("DROP TABLE marts")
                || body.get("Parameters").is_some()),
        "the value travels only as a parameter"
    );
}

#[tokio::test]
async fn a_query_with_variables_passes_them_as_parameters() {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let redshift = warehouse(aws_sdk_redshiftdata::Client::new(&config));
    use daybook_core::ports::Warehouse;
    let variables: daybook_core::variables::Variables = [(
        "carriers".to_string(),
        VariableValue::List(vec!["CJ".into(), "Hanjin".into()]),
    )]
    .into();
    let select = bind_variables(
        "SELECT * FROM marts.late_deliveries WHERE carrier IN {var.carriers}",
        &variables,
    )
    .unwrap();
    let result = redshift.query_with(&select).await.unwrap();
    assert_eq!(result.rows.len(), 3);
    let (_, body) = &fake.requests()[0];
    assert_eq!(
        body["Sql"],
        json!(
            "SELECT * FROM marts.late_deliveries WHERE carrier IN (:var_carriers_0, :var_carriers_1)"
        )
    );
    assert_eq!(
        body["Parameters"],
        json!([{"name": "var_carriers_0", "value": "CJ"}, {"name": "var_carriers_1", "value": "Hanjin"}])
    );
    // A placeholder without its value is the Data API's ValidationException, named.
    let unbound = redshift
        .query("SELECT :nobody")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        unbound.contains("no value was given for parameter :nobody"),
        "{unbound}"
    );
}

#[tokio::test]
async fn a_crawler_that_does_not_finish_in_time_stops_the_load_with_its_name() {
    let moto = MotoServer::start();
    let config = sdk_config(&moto).await;
    create_glue_database(&config).await;
    let glue = aws_sdk_glue::Client::new(&config);
    glue.create_crawler()
        .name(CRAWLER)
        .role("arn:aws:iam::123456789012:role/glue")
        .database_name(GLUE_DATABASE)
        .targets(aws_sdk_glue::types::CrawlerTargets::builder().build())
        .send()
        .await
        .unwrap();
    // moto's default: the crawl runs until someone moves it on, which nobody does here.
    let crawler = CrawlerRun {
        name: CRAWLER.into(),
        poll_every: std::time::Duration::from_millis(20),
        deadline: std::time::Duration::from_millis(300),
    };
    // The state machine's loop: start, then one look per wait, until the deadline.
    let mut refresh = crawler.start(&glue).await.unwrap();
    assert!(refresh.started);
    let error = loop {
        tokio::time::sleep(crawler.poll_every).await;
        match crawler.poll(&glue, &refresh).await {
            Ok(Some(next)) => refresh = next,
            Ok(None) => panic!("the crawl cannot finish: nobody moves it on"),
            Err(e) => break e.to_string(),
        }
    };
    assert!(
        error.starts_with("Glue crawler daybook-extra: still running: gave up after 0.3 s"),
        "{error}"
    );
    assert_eq!(glue_crawls(&config).await, 1);
}

/// With IAM authentication each function's role is its own database user, which Redshift
/// makes at that role's first login: a fresh stack's loader runs before the report's user
/// exists, and Redshift refuses a GRANT to a user it does not know (the stand-in too). So the
/// loader grants to the reader role, which the reading functions' IAM roles name in their
/// RedshiftDbRoles tag.
#[tokio::test]
async fn with_role_database_users_the_loader_grants_the_reader_role_on_a_fresh_database() {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let loader = warehouse(aws_sdk_redshiftdata::Client::new(&config))
        .with_spectrum(SpectrumSchema {
            glue_database: GLUE_DATABASE.into(),
            iam_role: "default".into(),
        })
        .with_reader_role(Some("daybook_reader".into()))
        .unwrap();
    daybook_core::ports::Warehouse::prepare(&loader)
        .await
        .unwrap();
    let batch = fake
        .requests()
        .into_iter()
        .find(|(operation, _)| operation == "BatchExecuteStatement")
        .unwrap()
        .1;
    assert_eq!(
        batch["Sqls"],
        json!([
            "CREATE SCHEMA IF NOT EXISTS marts",
            format!(
                "CREATE EXTERNAL SCHEMA IF NOT EXISTS lake FROM DATA CATALOG DATABASE '{GLUE_DATABASE}' IAM_ROLE default"
            ),
            "GRANT USAGE ON SCHEMA marts TO ROLE daybook_reader",
            "GRANT SELECT ON ALL TABLES IN SCHEMA marts TO ROLE daybook_reader",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA marts GRANT SELECT ON TABLES TO ROLE daybook_reader",
            "GRANT USAGE ON SCHEMA lake TO ROLE daybook_reader",
        ])
    );
    // The role was never made: one line saying who makes it, and how.
    let missing = warehouse(aws_sdk_redshiftdata::Client::new(&config))
        .with_reader_role(Some("analysts".into()))
        .unwrap();
    let error = daybook_core::ports::Warehouse::prepare(&missing)
        .await
        .unwrap_err();
    assert_eq!(
        daybook_core::Classify::kind(&error),
        daybook_core::ErrorKind::InvalidInput
    );
    assert!(
        error.to_string().contains("CREATE ROLE analysts"),
        "{error}"
    );
    // A user that has not logged in yet cannot be granted to, as on Redshift.
    let grant = fake
        .execute("GRANT USAGE ON SCHEMA marts TO \"IAMR:daybook-BuildReportFunctionRole-1A2B3C\"");
    assert!(grant.contains("does not exist"), "{grant}");
    let refused = warehouse(aws_sdk_redshiftdata::Client::new(&config))
        .with_reader_role(Some("x; DROP TABLE marts.page_views; --".into()))
        .err()
        .expect("a role name that is not plain is refused");
    assert!(
        refused.to_string().contains("REDSHIFT_READER_ROLE"),
        "{refused}"
    );
}

/// The Data API refuses an empty parameter value (SqlParameter's value has a minimum length of
/// 1), and the stand-in does too: an empty text variable builds its mart all the same.
#[tokio::test]
async fn an_empty_text_variable_builds_its_mart_on_the_data_api() {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let redshift = warehouse(aws_sdk_redshiftdata::Client::new(&config));
    use daybook_core::ports::Warehouse;
    let variables: daybook_core::variables::Variables = [
        ("region".to_string(), VariableValue::Text(String::new())),
        ("min_views".to_string(), VariableValue::Number(3.0)),
    ]
    .into();
    let select = bind_variables(
        "SELECT page FROM lake.pages WHERE region = {var.region} AND views >= {var.min_views}",
        &variables,
    )
    .unwrap();
    redshift
        .materialize("page_views", &select, DAY.parse().unwrap(), "job-1")
        .await
        .unwrap();
    redshift.query_with(&select).await.unwrap();
    let parameters: Vec<Value> = fake
        .requests()
        .into_iter()
        .filter_map(|(_, body)| body.get("Parameters").cloned())
        .collect();
    assert_eq!(parameters.len(), 2, "the staging statement and the query");
    for list in parameters {
        assert_eq!(list, json!([{"name": "var_min_views", "value": "3"}]));
    }
}

/// All of an invocation's Redshift waits share the Lambda's time: a statement still running
/// when that time is nearly up is cancelled and the step fails as transient, which the
/// definition retries, instead of the function being killed (`Sandbox.Timedout`, which no
/// Retry matches) or waiting out each statement's own deadline in turn.
#[tokio::test]
async fn a_statement_still_running_at_the_invocations_end_is_cancelled_and_retried() {
    let fake = FakeRedshift::start();
    let config = sdk_config_at(&fake.endpoint).await;
    let redshift = warehouse(aws_sdk_redshiftdata::Client::new(&config));
    use daybook_core::Classify;
    use daybook_core::ports::Warehouse;
    let started = std::time::Instant::now();
    let error = daybook_aws::lambda::with_invocation_deadline(
        started + Duration::from_millis(300),
        redshift.materialize(
            "page_views",
            &BoundSql::plain("SELECT SLOW_ME"),
            DAY.parse().unwrap(),
            "job-1",
        ),
    )
    .await
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up at the invocation's end, not the statement's 10 s: {:?}",
        started.elapsed()
    );
    assert_eq!(error.kind(), daybook_core::ErrorKind::Transient, "{error}");
    assert!(error.to_string().contains("cancelled"), "{error}");
    assert!(
        fake.requests()
            .iter()
            .any(|(operation, _)| operation == "CancelStatement")
    );
}
