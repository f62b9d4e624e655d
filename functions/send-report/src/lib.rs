//! The handler of `send-report`, apart from the runtime so tests call it directly.

use daybook_aws::lambda::{HandlerError, MailAdapters, optional, required};
use daybook_report::file_links::FileLinks;
use daybook_report::signed_link::Keyring;

/// Built once per container, at init: the lake, SES and the state table, and what signs the
/// email's links.
pub struct Adapters {
    pub store: daybook_aws::S3Store,
    pub mailer: daybook_aws::SesMailer,
    pub state: daybook_aws::DynamoDbStateStore,
    /// Slack, Teams and webhooks: their tokens and keys from Secrets Manager.
    pub web: daybook_core::web::HyperWeb,
    pub secrets: daybook_aws::secrets::SecretsManagerSecrets,
    /// With `APPROVAL_URL` and `LINK_KEY_SECRET_ARN` (as the stack sets them), the email's
    /// links are the approval API's and live as long as `link_expiry_hours`; without, they are
    /// presigned S3 URLs, which end with this function's session.
    pub links: Option<LinkSigning>,
}

/// Where the link key is and where the approval API answers.
pub struct LinkSigning {
    pub secrets: aws_sdk_secretsmanager::Client,
    pub link_key_secret: String,
    pub approval_url: String,
}

impl Adapters {
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = daybook_aws::sdk::load().await;
        let MailAdapters {
            store,
            mailer,
            state,
        } = MailAdapters::from_config(&config)?;
        let links = match optional("APPROVAL_URL") {
            Some(approval_url) => Some(LinkSigning {
                secrets: aws_sdk_secretsmanager::Client::new(&config),
                link_key_secret: required("LINK_KEY_SECRET_ARN")?,
                approval_url,
            }),
            None => None,
        };
        Ok(Self {
            store,
            mailer,
            state,
            web: daybook_core::web::HyperWeb::new(),
            secrets: daybook_aws::secrets::SecretsManagerSecrets {
                client: aws_sdk_secretsmanager::Client::new(&config),
            },
            links,
        })
    }
}

/// Runs the step; the error names the step's input, what to do, and its kind (for Retry).
pub async fn handle(
    adapters: &Adapters,
    event: daybook_report::send::SendInput,
) -> Result<serde_json::Value, HandlerError> {
    let now = chrono::Utc::now();
    let signed;
    let store: &dyn daybook_core::store::ObjectStore = match &adapters.links {
        Some(links) => {
            // Read per send: a rotated key signs the next email at once.
            let text = daybook_aws::link_key::read(&links.secrets, &links.link_key_secret).await?;
            let keyring = Keyring::from_json(&text).map_err(|e| {
                HandlerError::invalid_input(format!(
                    "the link key {} is unusable: {e}; restore it or rotate it with `daybook link-key rotate`",
                    links.link_key_secret
                ))
            })?;
            signed = FileLinks {
                inner: &adapters.store,
                keyring,
                base_url: links.approval_url.clone(),
                now,
            };
            &signed
        }
        None => &adapters.store,
    };
    let posting = daybook_report::send::Posting {
        web: &adapters.web,
        secrets: &adapters.secrets,
    };
    let output = daybook_report::send::send_report(
        store,
        &adapters.mailer,
        &posting,
        &adapters.state,
        &event,
        now,
    )
    .await?;
    Ok(serde_json::to_value(output).expect("step outputs serialise"))
}
