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
        web: daybook_core::web::HyperWeb::new(),
        chat_secrets: daybook_aws::secrets::SecretsManagerSecrets {
            client: clients.secrets(function),
        },
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
                web: daybook_core::web::HyperWeb::new(),
                secrets: daybook_aws::secrets::SecretsManagerSecrets {
                    client: clients.secrets("send-report"),
                },
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
        Definition::parse(daybook_local::runs::DAILY_REPORT_DEFINITION, &substitutions).unwrap();
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

mod run;
mod setup;
mod warehouse;

pub(crate) use setup::{create_glue_database, create_link_key, prepare, prepare_state_table};
