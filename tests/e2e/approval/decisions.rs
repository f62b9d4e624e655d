use super::*;

/// A presigned S3 URL dies with the session of the credentials that signed it, whatever its
/// expiry says; a Lambda's session lasts hours. So the report links in an email are the
/// approval API's, signed with the link key for `link_expiry_hours`: opening one answers with
/// a presigned URL made at that moment, which S3 (moto) serves.
#[tokio::test]
async fn a_report_link_in_an_email_opens_for_as_long_as_the_email_says() {
    use daybook_report::file_links::{Opened, open};
    let deployment = Deployment::start().await;
    let api = approval_api(&deployment.clients);
    let record = deployment
        .request("20261121-060000-link01", "token-link01")
        .await;
    let text = daybook_tests::text_part(&deployment.sent()[0]);
    let link = daybook_tests::after_label(&text, "Full report with charts: ")
        .expect("the preview links the full report");
    assert!(
        link.starts_with(&format!("{APPROVAL_URL}/files/f1.k1.")),
        "{link}"
    );
    assert!(
        !link.contains("X-Amz-"),
        "no AWS signature in the email: {link}"
    );

    // Opened: a redirect to a presigned URL made now, which serves the report.
    let response = approval_api::handle(&api, api_event("GET", &link, None))
        .await
        .unwrap();
    assert_eq!(response["statusCode"], 302, "{response}");
    let location = response["headers"]["location"].as_str().unwrap();
    assert!(location.contains("X-Amz-Expires=300"), "{location}");
    let path = &location[location.find("/daybook-lake/").unwrap()..];
    let page = daybook_tests::http_get(&deployment._moto.endpoint, path);
    let stored = deployment
        .clients
        .store("test")
        .get(&record.report.html_key)
        .await
        .unwrap();
    assert!(
        page.contains(String::from_utf8_lossy(&stored[..200]).as_ref()),
        "the report's bytes: {page:.300}"
    );

    // Three days later it still opens, as promised (72 hours); past that, a clear page.
    let keyring = deployment.keyring().await;
    let token = &link[link.find("/files/").unwrap() + "/files/".len()..];
    let store = deployment.clients.store("approval-api");
    let sent_at = record.requested_at;
    let promised = chrono::Duration::hours(i64::from(record.email.link_expiry_hours));
    let later = sent_at + promised - chrono::Duration::minutes(5);
    assert!(matches!(
        open(&store, &keyring, token, later).await,
        Opened::Redirect(_)
    ));
    let too_late = sent_at + promised + chrono::Duration::hours(1);
    let Opened::Refused { status, message } = open(&store, &keyring, token, too_late).await else {
        panic!("an expired link is refused");
    };
    assert_eq!(status, 410);
    assert!(message.contains("expired"), "{message}");
    // Changed, or an approval link's token in its place: refused, nothing served.
    let forged = token.replacen("f1.k1.", "f1.k1.A", 1);
    let (status, page) = api_call(
        &api,
        api_event("GET", &format!("{APPROVAL_URL}/files/{forged}"), None),
    )
    .await;
    assert_eq!(status, 404, "{page}");
    let approval_token =
        &record.links[LEAD][record.links[LEAD].find("/approvals/").unwrap() + 11..];
    let (status, _) = api_call(
        &api,
        api_event(
            "GET",
            &format!("{APPROVAL_URL}/files/{approval_token}"),
            None,
        ),
    )
    .await;
    assert_eq!(status, 404);
}

/// The task-token stand-in refuses what Step Functions refuses (SendTaskSuccess and
/// SendTaskFailure API references): a token no task was given (`InvalidToken`), an output that
/// is not JSON (`InvalidOutput`), a second answer (`TaskTimedOut`).
#[tokio::test]
async fn task_token_answers_are_refused_as_step_functions_refuses_them() {
    use aws_sdk_sfn::error::ProvideErrorMetadata;
    let tasks = daybook_tests::FakeTaskTokens::start();
    let config = crate::aws_moto::sdk_config_at(&tasks.endpoint).await;
    let sfn = aws_sdk_sfn::Client::new(&config);
    let code = |e: aws_sdk_sfn::error::SdkError<_, _>| {
        let e: aws_sdk_sfn::Error = e.into();
        e.code().unwrap_or_default().to_string()
    };
    let never = sfn
        .send_task_success()
        .task_token("never-issued")
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(never), "InvalidToken");
    tasks.wait("token-1");
    let not_json = sfn
        .send_task_success()
        .task_token("token-1")
        .output("approved")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(not_json), "InvalidOutput");
    sfn.send_task_success()
        .task_token("token-1")
        .output(r#"{"approved": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tasks.result_of("token-1"),
        Some(Ok(json!({"approved": true})))
    );
    let again = sfn
        .send_task_failure()
        .task_token("token-1")
        .error("Daybook.Rejected")
        .send()
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some("TaskTimedOut"));
}

/// The send ledger on DynamoDB's conditional writes: two sends of one job at once (a Lambda
/// retry overlapping the first attempt) give each recipient one message, and a recipient whose
/// earlier attempt stopped between its claim and its record is in doubt: never sent to again
/// without a person, and named with what to check.
#[tokio::test]
async fn the_send_ledger_sends_each_recipient_once_at_once_and_never_when_in_doubt() {
    use daybook_core::ports::StateStore;
    let deployment = Deployment::start().await;
    let record = deployment
        .request("20261121-060000-send01", "token-send01")
        .await;
    let previews = deployment.sent().len();
    let mut email = record.email.clone();
    email.to = vec!["a@daybook.example".into(), "b@daybook.example".into()];
    email.cc = vec!["c@daybook.example".into()];
    let input = SendInput {
        job: record.job.clone(),
        report: record.report.clone(),
        email,
        deliver: vec![daybook_core::config::Destination::Email],
        approval: None,
    };
    let adapters = || send_report::Adapters {
        store: deployment.clients.store("send-report"),
        mailer: daybook_aws::SesMailer::new(aws_sdk_sesv2::Client::new(&deployment.config)),
        state: deployment.clients.state("send-report"),
        web: daybook_core::web::HyperWeb::new(),
        secrets: daybook_aws::secrets::SecretsManagerSecrets {
            client: aws_sdk_secretsmanager::Client::new(&deployment.config),
        },
        links: None,
    };
    let (first, second) = (adapters(), adapters());
    let now = chrono::Utc::now();
    let posting = crate::report::email_only_posting();
    let (one, two) = tokio::join!(
        send_report(
            &first.store,
            &first.mailer,
            &posting,
            &first.state,
            &input,
            now
        ),
        send_report(
            &second.store,
            &second.mailer,
            &posting,
            &second.state,
            &input,
            now
        ),
    );
    let sent = deployment.destinations()[previews..].to_vec();
    for recipient in [
        "a@daybook.example",
        "b@daybook.example",
        "c@daybook.example",
    ] {
        assert_eq!(
            sent.iter()
                .filter(|to| to.first().map(String::as_str) == Some(recipient))
                .count(),
            1,
            "{recipient} got one message ({one:?} / {two:?})"
        );
    }

    // In doubt: claimed, never recorded.
    let doubtful = "d@daybook.example";
    let key = daybook_report::send::send_key(&record.job.job_id, &record.report.name, doubtful);
    first
        .state
        .put(&key, json!({ "status": "sending", "started_at": now }))
        .await
        .unwrap();
    let mut again = input.clone();
    again.email.to.push(doubtful.into());
    let before = deployment.sent().len();
    let error = send_report(
        &first.store,
        &first.mailer,
        &crate::report::email_only_posting(),
        &first.state,
        &again,
        now,
    )
    .await
    .unwrap_err()
    .to_string();
    assert_eq!(deployment.sent().len(), before, "nobody was sent to again");
    assert!(
        error.contains("may or may not have gone out") && error.contains(&key),
        "{error}"
    );
}
