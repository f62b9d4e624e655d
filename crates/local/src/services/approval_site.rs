//! The approval links on a laptop: a signing key kept below the local root, and `daybook
//! serve`, a small HTTP server on loopback that answers the links with the same approval
//! pages as the deployed API, and sends reminders.

use crate::adapters::callbacks::FileCallbacks;
use crate::adapters::fs_store::FsStore;
use crate::adapters::outbox::OutboxMailer;
use crate::adapters::paths::LocalPaths;
use crate::adapters::state::FileStateStore;
use daybook_report::approval::{ApprovalSite, Approvals, LinkMaker, SiteRequest};
use daybook_report::signed_link::Keyring;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where `daybook serve` listens unless told otherwise.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:8787";

fn key_file(root: &Path) -> PathBuf {
    root.join(".daybook/link-key.json")
}

fn site_file(root: &Path) -> PathBuf {
    root.join(".daybook/approval-site.json")
}

/// The local signing key, made on first use (the deployed stack keeps its key in Secrets
/// Manager instead).
pub fn local_keyring(root: &Path) -> Result<Keyring, String> {
    let path = key_file(root);
    match std::fs::read_to_string(&path) {
        Ok(text) => Keyring::from_json(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let ring = Keyring {
                current: Keyring::new_key(chrono::Utc::now()),
                previous: vec![],
            };
            write_private(&path, &ring.to_json())?;
            Ok(ring)
        }
        Err(e) => Err(format!("reading {}: {e}", path.display())),
    }
}

/// Replaces the local key; links signed with the one before keep working.
pub fn rotate_local_key(root: &Path) -> Result<Keyring, String> {
    let ring = local_keyring(root)?.rotated(Keyring::new_key(chrono::Utc::now()));
    write_private(&key_file(root), &ring.to_json())?;
    Ok(ring)
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("writing {}: {e}", path.display());
    std::fs::create_dir_all(path.parent().expect("key file has a folder")).map_err(fail)?;
    let temp = path.with_extension("partial");
    std::fs::write(&temp, text).map_err(fail)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
    }
    std::fs::rename(&temp, path).map_err(fail)
}

/// The address the links point at: the running `daybook serve`'s, else the default.
pub fn local_base_url(root: &Path) -> String {
    std::fs::read(site_file(root))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["url"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("http://{DEFAULT_ADDRESS}"))
}

pub fn local_links(root: &Path) -> Result<LinkMaker, String> {
    Ok(LinkMaker {
        keyring: local_keyring(root)?,
        base_url: local_base_url(root),
    })
}

struct Served {
    root: PathBuf,
    store: FsStore,
    state: FileStateStore,
    callbacks: FileCallbacks,
    mailer: OutboxMailer,
    /// Slack: answers to button presses, and the secrets that sign them.
    web: daybook_core::web::HyperWeb,
    secrets: crate::adapters::secrets::FileSecrets,
}

/// A bound server, before it runs: its address is known (port 0 picks a free one).
pub struct ApprovalServer {
    listener: tokio::net::TcpListener,
    served: Arc<Served>,
    pub url: String,
    header_timeout: std::time::Duration,
}

impl ApprovalServer {
    /// Binds `address` and records its URL below `root`, so that approval emails sent from now
    /// on link to it.
    pub async fn bind(root: &Path, address: SocketAddr) -> Result<Self, String> {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| format!("listening on {address}: {e} (is another `daybook serve` running? pick another --port)"))?;
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        let url = format!("http://{bound}");
        write_private(
            &site_file(root),
            &serde_json::json!({ "url": url }).to_string(),
        )?;
        local_keyring(root)?;
        let paths = LocalPaths::new(root);
        Ok(Self {
            listener,
            url,
            header_timeout: HEADER_TIMEOUT,
            served: Arc::new(Served {
                root: root.to_path_buf(),
                store: FsStore::new(root).with_links_at(format!("http://{bound}{FILES}")),
                state: FileStateStore::new(&paths.state()),
                callbacks: FileCallbacks::new(&paths.callbacks()),
                mailer: OutboxMailer::new(&paths.outbox()),
                web: daybook_core::web::HyperWeb::new(),
                secrets: crate::adapters::secrets::FileSecrets {
                    dir: paths.secrets(),
                },
            }),
        })
    }

    /// How long a connection may take to send a request's head before it is closed.
    pub fn with_header_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Serves approval pages until `shutdown` resolves, sending due reminders every
    /// `sweep_every`.
    pub async fn run(
        self,
        sweep_every: std::time::Duration,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), String> {
        let served = self.served.clone();
        let sweeper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(sweep_every);
            loop {
                tick.tick().await;
                if let Err(e) = sweep(&served).await {
                    tracing::warn!(%e, "sending approval reminders");
                }
            }
        });
        let app = axum::Router::new()
            .fallback(page)
            .with_state(self.served.clone());
        // Our own accept loop, for what axum::serve does not bound: connections at once, and
        // the time a request's head may take (a half-open connection is closed, not kept).
        let open = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        let shutdown = std::pin::pin!(shutdown);
        let mut shutdown = shutdown;
        loop {
            let stream = tokio::select! {
                _ = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors or a connection reset before it was taken.
                        tracing::warn!(%e, "accepting a connection");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let Ok(permit) = open.clone().try_acquire_owned() else {
                drop(stream);
                continue;
            };
            let service = hyper_util::service::TowerToHyperService::new(app.clone());
            let header_timeout = self.header_timeout;
            tokio::spawn(async move {
                let _permit = permit;
                let mut connection = hyper::server::conn::http1::Builder::new();
                connection
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(header_timeout);
                let _ = connection
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
        sweeper.abort();
        Ok(())
    }
}

/// Largest Slack interaction read: its payload repeats the message the button is in.
const MAX_SLACK_BYTES: usize = 256 * 1024;

/// Where the site shows built reports: an approval page links the full report there, since a
/// browser does not open a `file://` link from an `http://` page.
const FILES: &str = "/files";
/// What `/files` serves: the reports' files, nothing else of the root.
const SERVED_FILES: &str = "reports/";

/// A report's file, with the type its name says; anything else is not found.
async fn report_file(served: &Served, key: &str) -> axum::response::Response {
    let kind = match key.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("png") => "image/png",
        Some("txt") => "text/plain; charset=utf-8",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "",
    };
    let found = match (kind, key.starts_with(SERVED_FILES)) {
        ("", _) | (_, false) => None,
        _ => daybook_core::store::ObjectStore::get(&served.store, key)
            .await
            .ok(),
    };
    let Some(bytes) = found else {
        return site_response(
            404,
            "<!DOCTYPE html><title>Not found</title><p>No such report file.</p>".into(),
        );
    };
    axum::http::Response::builder()
        .status(200)
        .header("content-type", kind)
        .header("x-content-type-options", "nosniff")
        .header("cache-control", "no-store")
        .header("referrer-policy", "no-referrer")
        // The report is our own HTML: inline styles and its pictures beside it, nothing else.
        .header(
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'",
        )
        .body(axum::body::Body::from(bytes))
        .expect("static headers are valid")
}

/// Connections served at once; past it a new one is closed at once.
const MAX_CONNECTIONS: usize = 256;
/// How long a request's head may take to arrive, and then its body.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn site_response(status: u16, html: String) -> axum::response::Response {
    let mut builder = axum::http::Response::builder().status(status);
    for (name, value) in daybook_report::approval::SiteResponse::headers() {
        builder = builder.header(name, value);
    }
    builder
        .body(axum::body::Body::from(html))
        .expect("static headers are valid")
}

async fn sweep(served: &Served) -> Result<(), String> {
    let links = local_links(&served.root)?;
    let approvals = Approvals {
        store: &served.store,
        mailer: &served.mailer,
        state: &served.state,
        callbacks: &served.callbacks,
        links: &links,
        posting: None,
    };
    let done = daybook_report::approval::sweep(&approvals, chrono::Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    for id in done.reminded {
        tracing::info!(approval = %id, "reminder sent");
    }
    for id in done.expired {
        tracing::info!(approval = %id, "past its deadline: closed, its run failed");
    }
    Ok(())
}

async fn page(
    axum::extract::State(served): axum::extract::State<Arc<Served>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> axum::response::Response {
    use daybook_report::approval::{MAX_FORM_BYTES, SLACK_ROUTE};
    // A Slack button press carries the whole message it was pressed in.
    let slack = method == axum::http::Method::POST && uri.path() == SLACK_ROUTE;
    let most = if slack {
        MAX_SLACK_BYTES
    } else {
        MAX_FORM_BYTES
    };
    if method == axum::http::Method::GET
        && let Some(key) = uri
            .path()
            .strip_prefix(FILES)
            .and_then(|p| p.strip_prefix('/'))
    {
        return report_file(&served, key).await;
    }
    let too_large = || {
        site_response(
            413,
            format!(
                "<!DOCTYPE html><title>Too large</title><p>A form is at most {MAX_FORM_BYTES} bytes. Nothing was decided.</p>"
            ),
        )
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > most as u64) {
        return too_large();
    }
    let body = match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, most)).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return too_large(),
        Err(_) => {
            return site_response(
                408,
                "<!DOCTYPE html><title>Too slow</title><p>The form did not arrive in time. Nothing was decided.</p>".into(),
            );
        }
    };
    if slack {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let posting = daybook_report::deliver::Posting {
            web: &served.web,
            secrets: &served.secrets,
        };
        let press = daybook_report::approval::SlackPress {
            store: &served.store,
            state: &served.state,
            callbacks: &served.callbacks,
            posting: &posting,
        };
        let answer = press
            .answer(
                header("x-slack-request-timestamp"),
                header("x-slack-signature"),
                &body,
                chrono::Utc::now(),
            )
            .await;
        return axum::http::Response::builder()
            .status(answer.status)
            .header("content-type", "text/plain; charset=utf-8")
            .body(axum::body::Body::from(answer.text))
            .expect("a plain response builds");
    }
    let request = SiteRequest {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        body: Some(String::from_utf8_lossy(&body).into_owned()),
    };
    // Read each time: `daybook link-key rotate` may have replaced it while serving.
    let response = match local_keyring(&served.root) {
        Ok(keyring) => {
            let site = ApprovalSite {
                store: &served.store,
                state: &served.state,
                callbacks: &served.callbacks,
                keyring: &keyring,
            };
            site.respond(&request, chrono::Utc::now()).await
        }
        Err(e) => {
            tracing::error!(%e, "reading the local link key");
            daybook_report::approval::SiteResponse {
                status: 503,
                html: "<!DOCTYPE html><title>Unavailable</title><p>The local link key is unreadable; see the terminal running daybook serve. Nothing was decided.</p>".into(),
            }
        }
    };
    site_response(response.status, response.html)
}
