//! The [`Web`] port on hyper's client: plain HTTP always (a stand-in on this machine), HTTPS
//! with the `web-tls` feature (the Lambdas and the CLI built for AWS), on rustls with the
//! system's roots as the AWS SDK uses them.

use crate::ports::{PortError, Web, WebRequest, WebResponse};
use async_trait::async_trait;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use std::time::Duration;

/// How long one request may take, answer included: Slack asks for answers within 3 s and
/// its uploads of a chart take well under this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer read: the services answer with a few kilobytes of JSON.
const LARGEST_ANSWER: usize = 1 << 20;

#[cfg(feature = "web-tls")]
type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;
#[cfg(not(feature = "web-tls"))]
type Connector = hyper_util::client::legacy::connect::HttpConnector;

pub struct HyperWeb {
    /// The client, or why there is none (a machine without TLS roots), said at each post.
    client: Result<Client<Connector, Full<bytes::Bytes>>, String>,
}

impl Default for HyperWeb {
    fn default() -> Self {
        Self::new()
    }
}

impl HyperWeb {
    pub fn new() -> Self {
        #[cfg(feature = "web-tls")]
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map(|builder| builder.https_or_http().enable_http1().build())
            .map_err(|e| {
                format!("reading the system's TLS roots: {e}; install the ca-certificates package")
            });
        #[cfg(not(feature = "web-tls"))]
        let connector: Result<Connector, String> =
            Ok(hyper_util::client::legacy::connect::HttpConnector::new());
        Self {
            client: connector.map(|connector| {
                Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector)
            }),
        }
    }
}

#[async_trait]
impl Web for HyperWeb {
    async fn post(&self, request: WebRequest) -> Result<WebResponse, PortError> {
        let shown = crate::ports::shown_url(&request.url);
        if !cfg!(feature = "web-tls") && request.url.starts_with("https://") {
            return Err(PortError::new(format!(
                "posting to {shown}: this daybook was built without TLS; install the CLI with `--features aws` (as docs/cli.md says) to deliver to Slack, Teams or a webhook"
            )));
        }
        let mut builder = hyper::Request::post(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let outgoing = builder
            .body(Full::new(bytes::Bytes::from(request.body)))
            .map_err(|e| PortError::new(format!("posting to {shown}: {e}")))?;
        let client = self
            .client
            .as_ref()
            .map_err(|e| PortError::new(format!("posting to {shown}: {e}")))?;
        let answered = tokio::time::timeout(REQUEST_TIMEOUT, async {
            let response = client.request(outgoing).await.map_err(|e| {
                PortError::transient(format!("posting to {shown}: {e}; it is tried again"))
            })?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = http_body_util::Limited::new(response.into_body(), LARGEST_ANSWER)
                .collect()
                .await
                .map_err(|e| PortError::transient(format!("reading the answer of {shown}: {e}")))?
                .to_bytes()
                .to_vec();
            Ok::<_, PortError>(WebResponse {
                status,
                headers,
                body,
            })
        })
        .await;
        answered.unwrap_or_else(|_| {
            Err(PortError::transient(format!(
                "posting to {shown}: no answer within {} s; it is tried again",
                REQUEST_TIMEOUT.as_secs()
            )))
        })
    }
}
