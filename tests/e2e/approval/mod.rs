//! Approval from the email, the console and the CLI, on AWS: the `approval-api` handler driven
//! with API Gateway HTTP API events, the report in S3, the state table in DynamoDB, the link key
//! in Secrets Manager and SES on moto; Step Functions' callbacks on `FakeTaskTokens`, which, as
//! AWS does and moto does not, takes one answer per waiting task and no answer after it.

use crate::aws_moto::with_bucket;
use crate::aws_pipeline::{
    APPROVAL_URL, FunctionClients, LINK_KEY, SENDER, api_call, api_event, approval_adapters,
    approval_api, create_link_key, prepare_state_table,
};
use crate::report::{build_input, section};
use aws_config::SdkConfig;
use daybook_core::config::EmailConfig;
use daybook_core::store::ObjectStore;
use daybook_report::approval::{
    Answer, ApprovalRecord, ApprovalRequest, Approvals, LinkMaker, answer_of, request_of_job, sweep,
};
use daybook_report::artifacts::ReportArtifacts;
use daybook_report::send::{SendInput, send_report};
use daybook_report::signed_link::{Keyring, LinkClaims};
use daybook_tests::MotoServer;
use serde_json::{Value, json};

const LEAD: &str = "lead@daybook.example";
const CFO: &str = "cfo@daybook.example";

/// A deployment on moto with one built report in the lake.
struct Deployment {
    _moto: MotoServer,
    config: SdkConfig,
    clients: FunctionClients,
    report: ReportArtifacts,
    _scratch: tempfile::TempDir,
}

impl Deployment {
    async fn start() -> Self {
        let moto = MotoServer::start();
        let config = with_bucket(&moto).await;
        prepare_state_table(&config).await;
        create_link_key(&config).await;
        aws_sdk_sesv2::Client::new(&config)
            .create_email_identity()
            .email_identity(SENDER)
            .send()
            .await
            .unwrap();
        // The report is built locally, then put in the lake under the same keys.
        let scratch = tempfile::tempdir().unwrap();
        let local = daybook_local::FsStore::new(scratch.path());
        let warehouse = daybook_local::warehouse::DataFusionWarehouse::new(scratch.path());
        let mut input = build_input(vec![section(
            "Orders",
            "SELECT 'Seoul' AS city, 1200 AS orders UNION ALL SELECT 'Busan', 800",
        )]);
        input.report.title = "Daily <sales>".into();
        let report =
            daybook_report::build::build_report(&local, &warehouse, &input, chrono::Utc::now())
                .await
                .unwrap();
        let clients = FunctionClients::shared(&config, "http://127.0.0.1:9");
        let lake = clients.store("test");
        for key in report.stored_keys() {
            lake.put(&key, local.get(&key).await.unwrap())
                .await
                .unwrap();
        }
        Self {
            _moto: moto,
            config,
            clients,
            report,
            _scratch: scratch,
        }
    }

    fn email(&self) -> EmailConfig {
        EmailConfig::new(SENDER, &["team@daybook.example"], &[LEAD, CFO])
    }

    /// request-approval's handler for `job` with task token `token`, the task waiting on it.
    async fn request(&self, job: &str, token: &str) -> ApprovalRecord {
        self.clients.tasks.wait(token);
        let adapters = approval_adapters(&self.clients, "request-approval", Some(APPROVAL_URL));
        let request = ApprovalRequest {
            token: token.into(),
            job: daybook_core::steps::JobContext {
                variables: Default::default(),
                job_id: job.into(),
                date: "2026-11-21".parse().unwrap(),
            },
            report: self.report.clone(),
            email: self.email(),
            approval: Default::default(),
        };
        request_approval::handle(&adapters, request).await.unwrap();
        request_of_job(&self.clients.state("test"), job)
            .await
            .unwrap()
    }

    async fn keyring(&self) -> Keyring {
        let text = daybook_aws::link_key::read(
            &aws_sdk_secretsmanager::Client::new(&self.config),
            LINK_KEY,
        )
        .await
        .unwrap();
        Keyring::from_json(&text).unwrap()
    }

    async fn answer(&self, record: &ApprovalRecord) -> Option<Answer> {
        answer_of(&self.clients.state("test"), &record.approval_id)
            .await
            .unwrap()
    }

    /// Each raw message's destinations as moto records them: the call's own first, then the
    /// addresses of the message's headers.
    fn destinations(&self) -> Vec<Vec<String>> {
        let data = daybook_tests::http_get(&self._moto.endpoint, "/moto-api/data.json");
        let data: Value = serde_json::from_str(&data).unwrap();
        data["ses"]["RawMessage"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| {
                (m["destinations"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter())
                .filter_map(|d| d.as_str().map(str::to_string))
                .collect()
            })
            .collect()
    }

    /// SES's raw messages so far.
    fn sent(&self) -> Vec<String> {
        let data = daybook_tests::http_get(&self._moto.endpoint, "/moto-api/data.json");
        let data: Value = serde_json::from_str(&data).unwrap();
        data["ses"]["RawMessage"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|m| m["raw_data"].as_str().map(str::to_string))
            .collect()
    }
}

fn signed(ring: &Keyring, approval_id: &str, approver: &str, expires_in_hours: i64) -> String {
    let token = ring.sign(&LinkClaims {
        approval_id: approval_id.into(),
        approver: approver.into(),
        expires_at: chrono::Utc::now() + chrono::Duration::hours(expires_in_hours),
    });
    format!("{APPROVAL_URL}/approvals/{token}")
}

/// No page shows a task token, a key or a Rust error.
fn assert_leaks_nothing(page: &str, record: &ApprovalRecord) {
    assert!(!page.contains(&record.token), "{page}");
    assert!(
        !page.contains("panicked") && !page.contains("src/"),
        "{page}"
    );
}

#[tokio::test]
async fn a_link_shows_on_get_decides_once_on_post_and_refuses_every_bad_link() {
    let deployment = Deployment::start().await;
    let record = deployment
        .request("20261121-060000-appr01", "token-appr01")
        .await;
    let api = approval_api(&deployment.clients);
    let link = &record.links[LEAD];
    assert!(
        link.starts_with(&format!("{APPROVAL_URL}/approvals/v1.k1.")),
        "{link}"
    );
    // Each approver got their own email with their own links, not the other's.
    let sent = deployment.sent();
    assert_eq!(sent.len(), 2);
    let to_lead = sent
        .iter()
        .find(|m| m.contains(&format!("To: <{LEAD}>")))
        .unwrap();
    let lead_text = mail_parser::MessageParser::default()
        .parse(to_lead.as_bytes())
        .unwrap()
        .body_text(0)
        .unwrap()
        .into_owned();
    assert!(lead_text.contains(&format!("Approve: {link}?decision=approve")));
    assert!(!lead_text.contains(&record.links[CFO]));

    // GET shows the report's summary, who decides and the form; it decides nothing.
    let (status, page) = api_call(
        &api,
        api_event("GET", &format!("{link}?decision=approve"), None),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Daily &lt;sales&gt;"),
        "the title is escaped: {page}"
    );
    assert!(page.contains(LEAD) && page.contains("team@daybook.example"));
    assert!(page.contains(r#"<form method="post""#));
    assert_leaks_nothing(&page, &record);
    assert_eq!(deployment.answer(&record).await, None);
    assert!(deployment.clients.tasks.answers().is_empty());

    // Bad links: each its own page, nothing decided.
    let ring = deployment.keyring().await;
    let (head, signature) = link.rsplit_once('.').unwrap();
    let flipped = format!(
        "{head}.{}{}",
        if signature.starts_with('A') { "B" } else { "A" },
        &signature[1..]
    );
    let bad = [
        (
            format!("{APPROVAL_URL}/approvals/not-a-link"),
            400,
            "not a daybook approval link",
        ),
        (flipped, 403, "signature does not match"),
        (
            format!("{APPROVAL_URL}/elsewhere"),
            404,
            "There is no page here",
        ),
        (signed(&ring, &record.approval_id, LEAD, -2), 410, "expired"),
        (
            signed(&ring, &record.approval_id, "intruder@evil.example", 24),
            403,
            "is not among the approvers",
        ),
        (
            signed(&ring, "0123456789abcdef0123456789abcdef", LEAD, 24),
            404,
            "not known here",
        ),
    ];
    for (bad_link, want, says) in &bad {
        for method in ["GET", "POST"] {
            let (status, page) =
                api_call(&api, api_event(method, bad_link, Some("decision=approve"))).await;
            assert_eq!(status, i64::from(*want), "{method} {bad_link}: {page}");
            assert!(page.contains(says), "{method} {bad_link}: {page}");
            assert_leaks_nothing(&page, &record);
        }
    }
    // A comment too long, or no decision: the form again, nothing decided.
    let long = format!("comment={}&decision=approve", "x".repeat(1001));
    let (status, page) = api_call(&api, api_event("POST", link, Some(&long))).await;
    assert_eq!(status, 200);
    assert!(page.contains("keep it under 1000"), "{page}");
    let (status, page) = api_call(&api, api_event("POST", link, Some("comment=hm"))).await;
    assert_eq!(status, 200);
    assert!(page.contains("Choose Approve or Reject"), "{page}");
    let huge = format!("comment={}", "x".repeat(20_000));
    let (status, _) = api_call(&api, api_event("POST", link, Some(&huge))).await;
    assert_eq!(status, 413);
    assert_eq!(deployment.answer(&record).await, None);

    // The key is rotated: links already sent still work, new ones use the new key.
    let rotated = ring.rotated(Keyring::new_key(chrono::Utc::now()));
    daybook_aws::link_key::write(
        &aws_sdk_secretsmanager::Client::new(&deployment.config),
        LINK_KEY,
        &rotated.to_json(),
    )
    .await
    .unwrap();
    let (status, _) = api_call(&api, api_event("GET", link, None)).await;
    assert_eq!(status, 200, "a link signed before the rotation");

    // Both approvers approve at the same moment: exactly one decision reaches the run.
    let comment = "comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E+ok&decision=approve";
    let cfo_link = &record.links[CFO];
    let (first, second) = tokio::join!(
        api_call(&api, api_event("POST", link, Some(comment))),
        api_call(&api, api_event("POST", cfo_link, Some(comment))),
    );
    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(statuses, [200, 410], "{} / {}", first.1, second.1);
    let answers = deployment.clients.tasks.answers();
    assert_eq!(
        answers.len(),
        1,
        "Step Functions got one answer: {answers:?}"
    );
    let Some(Answer::Decided(decision)) = deployment.answer(&record).await else {
        panic!("no decision");
    };
    let output: Value = serde_json::from_str(answers[0].1["output"].as_str().unwrap()).unwrap();
    assert_eq!(output["by"], decision.by);
    assert_eq!(output["report_sha256"], record.report_sha256);
    let winner = if first.0 == 200 { &first.1 } else { &second.1 };
    assert!(
        winner.contains("Approved") && !winner.contains("<script>"),
        "{winner}"
    );
    // Replayed: a clear page, nothing changes.
    for replay in [link, cfo_link] {
        let (status, page) =
            api_call(&api, api_event("POST", replay, Some("decision=approve"))).await;
        assert_eq!(status, 410);
        assert!(page.contains("Nothing changed"), "{page}");
    }
    assert_eq!(deployment.clients.tasks.answers().len(), 1);

    // The send step sends what was approved, saying who approved it; changed files, never.
    {
        let send = send_report::Adapters {
            store: deployment.clients.store("send-report"),
            mailer: daybook_aws::SesMailer::new(aws_sdk_sesv2::Client::new(&deployment.config)),
            state: deployment.clients.state("send-report"),
            web: daybook_core::web::HyperWeb::new(),
            secrets: daybook_aws::secrets::SecretsManagerSecrets {
                client: aws_sdk_secretsmanager::Client::new(&deployment.config),
            },
            links: None,
        };
        let input = SendInput {
            job: record.job.clone(),
            report: record.report.clone(),
            email: record.email.clone(),
            deliver: vec![daybook_core::config::Destination::Email],
            approval: Some(decision.clone()),
        };
        send_report(
            &send.store,
            &send.mailer,
            &crate::report::email_only_posting(),
            &send.state,
            &input,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        let sent = deployment.sent();
        let report = mail_parser::MessageParser::default()
            .parse(sent.last().unwrap().as_bytes())
            .unwrap();
        let html = report.body_html(0).unwrap();
        assert!(
            html.contains(&format!("Approved by {} at", decision.by)),
            "{html:.2000}"
        );
        assert!(
            html.contains("&lt;script&gt;alert(1)"),
            "the comment is shown, escaped"
        );
        assert!(!html.contains("<script>"));
        send.store
            .put(&record.report.html_key, b"<p>rebuilt</p>".to_vec())
            .await
            .unwrap();
        let refused = send_report(
            &send.store,
            &send.mailer,
            &crate::report::email_only_posting(),
            &send.state,
            &input,
            chrono::Utc::now(),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            refused.contains("changed after it was approved"),
            "{refused}"
        );
    }
}

#[tokio::test]
async fn a_newer_request_supersedes_the_sweep_reminds_and_expires_and_the_console_decides() {
    let deployment = Deployment::start().await;
    let api = approval_api(&deployment.clients);
    let older = deployment
        .request("20261121-060000-old001", "token-old")
        .await;
    let newer = deployment
        .request("20261121-070000-new001", "token-new")
        .await;
    // The older run was told to stop; its links say why.
    let answers = deployment.clients.tasks.answers();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].0, "SendTaskFailure");
    assert_eq!(answers[0].1["taskToken"], "token-old");
    assert_eq!(answers[0].1["error"], "Daybook.Superseded");
    let (status, page) = api_call(&api, api_event("GET", &older.links[LEAD], None)).await;
    assert_eq!(status, 410);
    assert!(page.contains("A newer request replaced this one"), "{page}");

    // The schedule's sweep: nothing due yet.
    let swept = approval_api::handle(&api, json!({ "sweep": true }))
        .await
        .unwrap();
    assert_eq!(swept, json!({ "reminded": [], "expired": [] }));
    // Past the reminder time: both approvers are reminded, once.
    let links = LinkMaker {
        keyring: deployment.keyring().await,
        base_url: APPROVAL_URL.into(),
    };
    let approvals = Approvals {
        store: &api.store,
        mailer: &api.mailer,
        state: &api.state,
        callbacks: &api.callbacks,
        links: &links,
        posting: None,
    };
    let before = deployment.sent().len();
    let later = newer.requested_at + chrono::Duration::hours(5);
    assert_eq!(
        sweep(&approvals, later).await.unwrap().reminded,
        std::slice::from_ref(&newer.approval_id)
    );
    let reminders = &deployment.sent()[before..];
    assert_eq!(reminders.len(), 2);
    assert!(
        reminders
            .iter()
            .all(|m| m.contains("Subject: =?utf-8?Q?Reminder:_Approve")),
        "{reminders:?}"
    );
    assert!(sweep(&approvals, later).await.unwrap().reminded.is_empty());
    // Past the deadline: closed, and the run failed naming who was asked.
    let expired = sweep(&approvals, newer.deadline + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(expired.expired, std::slice::from_ref(&newer.approval_id));
    let failure = deployment.clients.tasks.answers().last().unwrap().1.clone();
    assert_eq!(failure["taskToken"], "token-new");
    assert_eq!(failure["error"], "Daybook.ApprovalTimedOut");
    let cause = failure["cause"].as_str().unwrap();
    assert!(cause.contains(LEAD) && cause.contains(CFO), "{cause}");
    let (status, page) = api_call(
        &api,
        api_event("POST", &newer.links[LEAD], Some("decision=approve")),
    )
    .await;
    assert_eq!(status, 410);
    assert!(page.contains("This approval is closed"), "{page}");

    // The Lambda console: a test event decides, recorded with who and how.
    let console = deployment
        .request("20261121-080000-con001", "token-console")
        .await;
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(
            daybook_tests::workspace_root().join("events/approval-console.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut event = event;
    event["job"] = json!(console.job.job_id);
    event["decision"] = json!("reject");
    let decided = approval_api::handle(&api, event.clone()).await.unwrap();
    assert_eq!(decided["decided"], "rejected");
    let Some(Answer::Decided(decision)) = deployment.answer(&console).await else {
        panic!("the console did not decide");
    };
    assert_eq!(decision.by, "Ana Kim");
    assert_eq!(decision.via, "Lambda console");
    assert!(
        decision
            .reason
            .contains("Checked against the sales dashboard")
    );
    let again = approval_api::handle(&api, event).await.unwrap_err();
    assert!(
        again.message().contains("already rejected by Ana Kim"),
        "{}",
        again.message()
    );
    for (bad, says) in [
        (
            json!({ "job": console.job.job_id, "decision": "maybe", "by": "Ana" }),
            "write \"approve\" or \"reject\"",
        ),
        (
            json!({ "job": "../../etc", "decision": "approve", "by": "Ana" }),
            "is not one plain name",
        ),
        (
            json!({ "job": console.job.job_id, "decision": "approve" }),
            "a console decision is",
        ),
        (json!({ "hello": 1 }), "this function takes"),
    ] {
        let error = approval_api::handle(&api, bad.clone()).await.unwrap_err();
        assert_eq!(error.kind(), daybook_core::ErrorKind::InvalidInput, "{bad}");
        assert!(error.message().contains(says), "{bad}: {}", error.message());
    }

    // A run that stopped waiting (timed out, aborted): the link says the approval is closed.
    let stopped = deployment
        .request("20261121-090000-gone01", "token-gone")
        .await;
    deployment.clients.tasks.time_out("token-gone");
    let (status, page) = api_call(
        &api,
        api_event("POST", &stopped.links[CFO], Some("decision=approve")),
    )
    .await;
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("no longer waiting"), "{page}");
    assert!(matches!(
        deployment.answer(&stopped).await,
        Some(Answer::Closed { .. })
    ));
}

/// Step Functions gives each attempt of a `.waitForTaskToken` task a token of its own, so a
/// Retry of Request approval asks again for the same job with a new token. Nobody is emailed a
/// second time, the links already sent keep working (nothing is superseded), and the decision
/// answers the token the run waits on now.
#[tokio::test]
async fn a_retried_approval_task_with_a_new_token_emails_nobody_again() {
    let deployment = Deployment::start().await;
    let api = approval_api(&deployment.clients);
    let job = "20261121-060000-try001";
    let first = deployment.request(job, "token-attempt-1").await;
    let emailed = deployment.sent().len();
    assert_eq!(emailed, 2, "one preview per approver");
    let second = deployment.request(job, "token-attempt-2").await;
    assert_eq!(
        deployment.sent().len(),
        emailed,
        "no approver is emailed twice"
    );
    assert_eq!(second.approval_id, first.approval_id);
    assert_eq!(second.token, "token-attempt-2");
    assert!(
        deployment.clients.tasks.answers().is_empty(),
        "nothing was superseded"
    );
    let (status, page) = api_call(
        &api,
        api_event("POST", &first.links[LEAD], Some("decision=approve")),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Approved"), "{page}");
    let answers = deployment.clients.tasks.answers();
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0].0, "SendTaskSuccess");
    assert_eq!(answers[0].1["taskToken"], "token-attempt-2");
}

mod decisions;

/// `daybook serve` on a free port of its own for the root, until [`Serving::stop`].
pub(crate) struct Serving {
    pub url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

impl Serving {
    pub(crate) async fn start(root: &std::path::Path) -> Self {
        let server = daybook_local::approval_site::ApprovalServer::bind(
            root,
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let url = server.url.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run(std::time::Duration::from_secs(3600), async {
            let _ = stopped.await;
        }));
        Self { url, stop, task }
    }

    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}
mod slack;
