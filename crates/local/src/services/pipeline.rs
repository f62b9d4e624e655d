//! The pipeline's functions run in-process: what each Lambda does on AWS, done here with the
//! embedded adapters, behind the runner's `TaskInvoker`.

use crate::adapters::catalog::LocalCatalog;
use crate::adapters::fs_store::FsStore;
use crate::adapters::outbox::OutboxMailer;
use crate::adapters::paths::LocalPaths;
use crate::adapters::state::FileStateStore;
use crate::adapters::warehouse::DataFusionWarehouse;
use async_trait::async_trait;
use daybook_asl::{Failure, TaskInvoker};
use daybook_core::Classify;
use daybook_core::steps::{flatten, invocation, load, start_event};
use daybook_report::{build, send};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::PathBuf;

/// The functions the definition names, by the name that follows `function:` in their ARNs.
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("StartJobFunctionArn", "start-job"),
    ("FlattenDynamoDbFunctionArn", "flatten-dynamodb"),
    ("ExportRdsFunctionArn", "export-rds"),
    ("ExportSegmentFunctionArn", "export-segment"),
    ("LoadWarehouseFunctionArn", "load-warehouse"),
    ("BuildReportFunctionArn", "build-report"),
    ("RequestApprovalFunctionArn", "request-approval"),
    ("SendReportFunctionArn", "send-report"),
];

/// The definition substitutions that point every function placeholder at a local function.
pub fn local_substitutions() -> std::collections::BTreeMap<String, String> {
    let mut substitutions: std::collections::BTreeMap<String, String> = FUNCTIONS
        .iter()
        .map(|(placeholder, name)| {
            (
                placeholder.to_string(),
                format!("arn:aws:lambda:local:000000000000:function:{name}"),
            )
        })
        .collect();
    substitutions.insert(
        "LakeBucketName".into(),
        crate::adapters::lake_items::LOCAL_LAKE_BUCKET.into(),
    );
    substitutions.insert(
        "MapMaxConcurrency".into(),
        daybook_core::steps::fan_out_protocol::DEFAULT_MAP_CONCURRENCY.to_string(),
    );
    substitutions
}

pub struct LocalFunctions {
    root: PathBuf,
    store: FsStore,
    catalog: LocalCatalog,
    warehouse: DataFusionWarehouse,
    mailer: OutboxMailer,
    state: FileStateStore,
    callbacks: crate::adapters::callbacks::FileCallbacks,
    web: daybook_core::web::HyperWeb,
    secrets: crate::adapters::secrets::FileSecrets,
    workers: usize,
}

impl LocalFunctions {
    pub fn new(paths: &LocalPaths) -> Self {
        Self {
            root: paths.root.clone(),
            store: FsStore::new(&paths.root),
            catalog: LocalCatalog::new(&paths.root),
            warehouse: DataFusionWarehouse::new(&paths.root),
            mailer: OutboxMailer::new(&paths.outbox()),
            state: FileStateStore::new(&paths.state()),
            callbacks: crate::adapters::callbacks::FileCallbacks::new(&paths.callbacks()),
            web: daybook_core::web::HyperWeb::new(),
            secrets: crate::adapters::secrets::FileSecrets {
                dir: paths.secrets(),
            },
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        }
    }

    async fn dispatch(&self, name: &str, input: Value) -> Result<Value, Failure> {
        let now = chrono::Utc::now();
        match name {
            "start-job" => {
                let event: start_event::StartEvent = parse(name, input)?;
                output(
                    start_event::start_or_plan(
                        &self.store,
                        &event,
                        now,
                        chrono_tz::UTC,
                        rand::random(),
                    )
                    .await,
                )
            }
            "flatten-dynamodb" => {
                let invocation: invocation::FlattenInvocation = parse(name, input)?;
                output(
                    invocation
                        .run(&self.store, &flatten::ExportsOnly, self.workers)
                        .await,
                )
            }
            "export-rds" => {
                let task: daybook_rds::RdsTask = parse(name, input)?;
                output(self.export_rds(&task).await.map(|r| r.summary()))
            }
            "export-segment" => {
                let invocation: invocation::SegmentInvocation = parse(name, input)?;
                output(invocation.run(&self.store, self.workers).await)
            }
            "load-warehouse" => match parse(name, input)? {
                load::LoadStep::Load(task) => output(
                    load::load_warehouse(&self.store, &self.catalog, &self.warehouse, &task).await,
                ),
                load::LoadStep::Mart(task) => {
                    output(load::build_mart(&self.warehouse, &task).await)
                }
                load::LoadStep::Refresh(task) => {
                    output(load::poll_refresh(&self.catalog, &task).await)
                }
            },
            "build-report" => {
                let task: build::BuildInput = parse(name, input)?;
                output(build::build_report(&self.store, &self.warehouse, &task, now).await)
            }
            "request-approval" => {
                let task: daybook_report::approval::ApprovalRequest = parse(name, input)?;
                let links = crate::services::approval_site::local_links(&self.root)
                    .map_err(|e| Failure::new("Daybook.Failed", e))?;
                let posting = daybook_report::deliver::Posting {
                    web: &self.web,
                    secrets: &self.secrets,
                };
                let approvals = daybook_report::approval::Approvals {
                    store: &self.store,
                    mailer: &self.mailer,
                    state: &self.state,
                    callbacks: &self.callbacks,
                    links: &links,
                    posting: Some(&posting),
                };
                output(daybook_report::approval::request_approval(&approvals, &task, now).await)
            }
            "send-report" => {
                let task: send::SendInput = parse(name, input)?;
                let posting = send::Posting {
                    web: &self.web,
                    secrets: &self.secrets,
                };
                output(
                    send::send_report(&self.store, &self.mailer, &posting, &self.state, &task, now)
                        .await,
                )
            }
            other => Err(Failure::new(
                "Lambda.ResourceNotFoundException",
                format!(
                    "no local function named {other:?}; known: {}",
                    FUNCTIONS
                        .iter()
                        .map(|(_, n)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
}

impl LocalFunctions {
    /// Locally a source names its database by URL; a relative SQLite path is below the root.
    async fn export_rds(
        &self,
        task: &daybook_rds::RdsTask,
    ) -> Result<daybook_core::steps::publish::ExportReport, daybook_rds::RdsError> {
        let url = task
            .source
            .url
            .clone()
            .ok_or_else(|| daybook_rds::RdsError::Connect {
                target: task.source.source.clone(),
                message: "locally a source needs a url (secret_arn is read on AWS only)".into(),
                kind: daybook_core::ErrorKind::InvalidInput,
            })?;
        // A relative path is below the local root, and stays there: no `..`, no link out.
        // An absolute one is read where the config says.
        let url = match url.strip_prefix("sqlite://") {
            Some(path) if !path.starts_with('/') => {
                let file = path.split('?').next().unwrap_or_default();
                daybook_core::store::check_key(file, false)
                    .map_err(|e| daybook_rds::RdsError::Connect {
                        target: task.source.source.clone(),
                        message: format!(
                            "the relative sqlite path {file:?} must stay below the local root ({e}); give an absolute path to read a database elsewhere"
                        ),
                        kind: daybook_core::ErrorKind::InvalidInput,
                    })?;
                format!("sqlite://{}", self.root.join(path).display())
            }
            _ => url,
        };
        let ca = match &task.source.ssl_root_cert {
            Some(named) => Some(
                daybook_core::relational::ca_bundle(&self.store, named)
                    .await
                    .map_err(|message| daybook_rds::RdsError::Connect {
                        target: task.source.source.clone(),
                        message,
                        kind: daybook_core::ErrorKind::InvalidInput,
                    })?,
            ),
            None => None,
        };
        let db = daybook_rds::Database::connect(&url, ca.as_deref()).await?;
        let report = daybook_rds::run_rds_task(&db, &self.store, &self.state, task).await;
        db.close().await;
        report
    }
}

#[async_trait]
impl TaskInvoker for LocalFunctions {
    async fn invoke(&self, function: &str, input: Value) -> Result<Value, Failure> {
        let name = function
            .rsplit_once("function:")
            .map_or(function, |(_, name)| name);
        self.dispatch(name, input).await
    }
}

fn parse<T: DeserializeOwned>(function: &str, mut input: Value) -> Result<T, Failure> {
    // The runner reports the failed state itself; the step reads the rest.
    daybook_core::failure::take_state_name(&mut input);
    serde_json::from_value(input).map_err(|e| {
        Failure::new(
            daybook_core::ErrorKind::InvalidInput.error_type(),
            format!("{function}: the step input does not match: {e}"),
        )
    })
}

/// A step's result as the Lambda runtime reports it: the error named by its kind, as the
/// functions' `HandlerError` names it on AWS.
fn output<T: Serialize, E: Classify + std::fmt::Display>(
    result: Result<T, E>,
) -> Result<Value, Failure> {
    match result {
        Ok(value) => Ok(serde_json::to_value(value).expect("step outputs serialise")),
        Err(e) => Err(Failure::new(e.kind().error_type(), e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_relative_sqlite_path_may_not_leave_the_local_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(dir.path().join("outside.sqlite"), b"").unwrap();
        let functions = LocalFunctions::new(&LocalPaths::new(&root));
        let task = daybook_rds::RdsTask {
            job: daybook_core::steps::JobContext {
                variables: Default::default(),
                job_id: "job-1".into(),
                date: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
            },
            source: daybook_core::relational::RdsSource {
                source: "shop".into(),
                url: Some("sqlite://../outside.sqlite".into()),
                secret_arn: None,
                ssl_root_cert: None,
                tables: vec![daybook_core::relational::TableExport::new("orders")],
                row_group_rows: 1000,
            },
        };
        let error = functions.export_rds(&task).await.unwrap_err().to_string();
        assert!(error.contains("must stay below the local root"), "{error}");
    }
}
