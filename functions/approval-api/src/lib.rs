//! The handler of `approval-api`, apart from the runtime so tests call it directly. It takes
//! three kinds of event:
//! - an API Gateway HTTP API request (payload 2.0): the approval pages behind the links;
//! - a decision typed into the Lambda console's test event:
//!   `{"job": "…", "decision": "approve" | "reject", "by": "…", "comment": "…"}`;
//! - the schedule's `{"sweep": true}` (or an EventBridge "Scheduled Event"): reminders,
//!   and requests past their deadline closed.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use daybook_aws::lambda::HandlerError;
use daybook_report::approval::{
    ApprovalSite, Approvals, Decision, LinkMaker, SLACK_ROUTE, SiteRequest, SiteResponse,
    SlackPress, decide_job, sweep,
};
use daybook_report::file_links::{self, Opened};
use daybook_report::signed_link::Keyring;
use serde::Deserialize;
use serde_json::{Value, json};

pub type Adapters = daybook_aws::lambda::ApprovalAdapters;

/// A decision given in the Lambda console. Invoking the function is the authorisation (IAM:
/// `lambda:InvokeFunction`); Lambda does not pass the caller's identity to the function, so
/// `by` names who decides, and CloudTrail records which principal invoked it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleDecision {
    pub job: String,
    pub decision: String,
    pub by: String,
    #[serde(default)]
    pub comment: Option<String>,
}

pub async fn handle(adapters: &Adapters, event: Value) -> Result<Value, HandlerError> {
    let now = chrono::Utc::now();
    if event.get("requestContext").is_some() {
        let request: ApiGatewayV2httpRequest = serde_json::from_value(event).map_err(|e| {
            HandlerError::invalid_input(format!("an HTTP event this function cannot read: {e}"))
        })?;
        let response = page(adapters, &request, now).await;
        return Ok(serde_json::to_value(response).expect("responses serialise"));
    }
    if event.get("decision").is_some() {
        let decision: ConsoleDecision = serde_json::from_value(event).map_err(|e| {
            HandlerError::invalid_input(format!(
                "a console decision is {{\"job\": \"<job id>\", \"decision\": \"approve\" or \"reject\", \"by\": \"<your name>\", \"comment\": \"…\"}}: {e}"
            ))
        })?;
        return console(adapters, decision, now).await;
    }
    if event.get("sweep").is_some() || event["detail-type"] == "Scheduled Event" {
        let keyring = keyring(adapters).await?;
        // Reminders reuse each request's recorded links; the base is only a fallback.
        let links = LinkMaker {
            keyring,
            base_url: adapters.approval_url.clone().unwrap_or_default(),
        };
        let approvals = Approvals {
            store: &adapters.store,
            mailer: &adapters.mailer,
            state: &adapters.state,
            callbacks: &adapters.callbacks,
            links: &links,
            // Reminders are emails; the Slack message was posted once, with the request.
            posting: None,
        };
        let done = sweep(&approvals, now).await?;
        return Ok(serde_json::to_value(done).expect("sweeps serialise"));
    }
    Err(HandlerError::invalid_input(
        "this function takes an API Gateway HTTP request, a console decision {\"job\", \"decision\", \"by\", \"comment\"} or {\"sweep\": true}; see events/approval-console.json",
    ))
}

async fn keyring(adapters: &Adapters) -> Result<Keyring, HandlerError> {
    Keyring::from_json(&adapters.link_key().await?).map_err(|e| {
        HandlerError::invalid_input(format!(
            "the link key {} is unusable: {e}; rotate it with `daybook link-key rotate`",
            adapters.link_key_secret
        ))
    })
}

async fn console(
    adapters: &Adapters,
    event: ConsoleDecision,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Value, HandlerError> {
    let approved = match event.decision.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return Err(HandlerError::invalid_input(format!(
                "decision is {other:?}: write \"approve\" or \"reject\""
            )));
        }
    };
    let decision = Decision::new(
        approved,
        &event.by,
        event.comment.as_deref(),
        "Lambda console",
        now,
    )
    .map_err(|e| HandlerError::invalid_input(e.to_string()))?;
    let (record, decision) = decide_job(
        &adapters.state,
        &adapters.callbacks,
        &event.job,
        decision,
        now,
    )
    .await?;
    tracing::info!(job = %event.job, approved, by = %decision.by, "decided from the Lambda console");
    Ok(json!({
        "decided": if approved { "approved" } else { "rejected" },
        "job": record.job.job_id,
        "report": record.report.name,
        "date": record.job.date,
        "by": decision.by,
        "at": decision.at,
    }))
}

async fn page(
    adapters: &Adapters,
    request: &ApiGatewayV2httpRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiGatewayV2httpResponse {
    let body = request.body.as_deref().map(|body| {
        if request.is_base64_encoded {
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        } else {
            body.to_string()
        }
    });
    let path = request.raw_path.clone().unwrap_or_default();
    if path == SLACK_ROUTE && request.request_context.http.method == "POST" {
        return slack_press(adapters, request, now).await;
    }
    let site_request = SiteRequest {
        method: request.request_context.http.method.to_string(),
        path: request.raw_path.clone().unwrap_or_default(),
        query: request.raw_query_string.clone().filter(|q| !q.is_empty()),
        body,
    };
    let response = match keyring(adapters).await {
        Ok(keyring) if site_request.path.starts_with(file_links::FILE_ROUTE) => {
            let token = &site_request.path[file_links::FILE_ROUTE.len()..];
            match file_links::open(&adapters.store, &keyring, token, now).await {
                Opened::Redirect(url) => return redirect(&url),
                Opened::Refused { status, message } => SiteResponse {
                    status,
                    html: format!(
                        "<!DOCTYPE html><meta charset=\"utf-8\"><title>Report link</title><p>{}</p>",
                        message
                            .replace('&', "&amp;")
                            .replace('<', "&lt;")
                            .replace('>', "&gt;")
                    ),
                },
            }
        }
        Ok(keyring) => {
            let site = ApprovalSite {
                store: &adapters.store,
                state: &adapters.state,
                callbacks: &adapters.callbacks,
                keyring: &keyring,
            };
            site.respond(&site_request, now).await
        }
        Err(e) => {
            tracing::error!(error = %e, "reading the link key");
            SiteResponse {
                status: 503,
                html: "<!DOCTYPE html><title>Unavailable</title><p>The approval service cannot read its key just now. Nothing was decided; try again in a minute.</p>".into(),
            }
        }
    };
    http_response(response)
}

/// A Slack button press (the app's Interactivity Request URL): its signature is checked on
/// the body exactly as sent.
async fn slack_press(
    adapters: &Adapters,
    request: &ApiGatewayV2httpRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiGatewayV2httpResponse {
    let body: Vec<u8> = match request.body.as_deref() {
        Some(body) if request.is_base64_encoded => base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap_or_default(),
        Some(body) => body.as_bytes().to_vec(),
        None => Vec::new(),
    };
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    let posting = daybook_report::deliver::Posting {
        web: &adapters.web,
        secrets: &adapters.chat_secrets,
    };
    let press = SlackPress {
        store: &adapters.store,
        state: &adapters.state,
        callbacks: &adapters.callbacks,
        posting: &posting,
    };
    let answer = press
        .answer(
            header("x-slack-request-timestamp"),
            header("x-slack-signature"),
            &body,
            now,
        )
        .await;
    let mut headers = aws_lambda_events::http::HeaderMap::new();
    headers.insert(
        "content-type",
        "text/plain; charset=utf-8"
            .parse()
            .expect("static header values are valid"),
    );
    let mut http = ApiGatewayV2httpResponse::default();
    http.status_code = i64::from(answer.status);
    http.headers = headers;
    http.body = Some(Body::Text(answer.text));
    http
}

/// A `302` to the presigned URL a file link opens: not cached, and the URL (which carries a
/// signature) not sent on as a referrer.
fn redirect(url: &str) -> ApiGatewayV2httpResponse {
    let mut response = http_response(SiteResponse {
        status: 302,
        html: String::new(),
    });
    response.headers.insert(
        "location",
        url.parse()
            .expect("a presigned URL is a valid header value"),
    );
    response
}

pub fn http_response(response: SiteResponse) -> ApiGatewayV2httpResponse {
    let mut headers = aws_lambda_events::http::HeaderMap::new();
    for (name, value) in SiteResponse::headers() {
        headers.insert(name, value.parse().expect("static header values are valid"));
    }
    let mut http = ApiGatewayV2httpResponse::default();
    http.status_code = i64::from(response.status);
    http.headers = headers;
    http.body = Some(Body::Text(response.html));
    http.is_base64_encoded = false;
    http
}
