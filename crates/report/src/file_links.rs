//! Report links that live as long as the email says. A presigned S3 URL dies with the session
//! of the credentials that signed it, whatever its expiry: one made by a Lambda's role lasts
//! hours, not the `link_expiry_hours` the email promises. So on AWS the links in an email are
//! daybook links, `<approval API>/files/<token>`, signed with the link key and naming the file
//! and the expiry; the approval API checks one when it is opened and answers with a presigned
//! URL made at that moment, for a few minutes.

use crate::signed_link::{FileClaims, Keyring, LinkError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use daybook_core::store::{ObjectStore, StoreError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The path below the approval API's URL that opens a file link.
pub const FILE_ROUTE: &str = "/files/";

/// How long the presigned URL a file link redirects to lasts: long enough to follow the
/// redirect, short enough that a forwarded URL is soon useless.
pub const REDIRECT_LIFETIME: Duration = Duration::from_secs(300);

/// A store whose `share_link` gives signed daybook links; everything else is `inner`'s.
pub struct FileLinks<'a> {
    pub inner: &'a dyn ObjectStore,
    pub keyring: Keyring,
    /// The approval API's URL.
    pub base_url: String,
    /// When the links' lives start (the send).
    pub now: DateTime<Utc>,
}

impl FileLinks<'_> {
    /// The link to `key` that opens until `expires_at`.
    pub fn link(&self, key: &str, expires_at: DateTime<Utc>) -> String {
        let token = self.keyring.sign_file(&FileClaims {
            key: key.to_string(),
            expires_at,
        });
        format!("{}{FILE_ROUTE}{token}", self.base_url.trim_end_matches('/'))
    }
}

#[async_trait]
impl ObjectStore for FileLinks<'_> {
    fn location(&self, key: &str) -> String {
        self.inner.location(key)
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        self.inner.put(key, body).await
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<(), StoreError> {
        self.inner.put_file(key, path).await
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.inner.get(key).await
    }

    async fn fetch_to_local(&self, key: &str, scratch: &Path) -> Result<PathBuf, StoreError> {
        self.inner.fetch_to_local(key, scratch).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list(prefix).await
    }

    async fn share_link(&self, key: &str, expires_in: Duration) -> Result<String, StoreError> {
        let life = chrono::Duration::from_std(expires_in).unwrap_or(chrono::Duration::days(7));
        Ok(self.link(key, self.now + life))
    }

    fn scratch_root(&self) -> PathBuf {
        self.inner.scratch_root()
    }
}

/// What opening a file link gives: where to send the browser, or why not.
#[derive(Debug, Clone, PartialEq)]
pub enum Opened {
    Redirect(String),
    Refused { status: u16, message: String },
}

/// Opens the file link `token` at `now`: a presigned URL of `store` (made now, for
/// [`REDIRECT_LIFETIME`]) when the link is this deployment's, unexpired, and names a report's
/// file; a refusal saying what to do otherwise.
pub async fn open(
    store: &dyn ObjectStore,
    keyring: &Keyring,
    token: &str,
    now: DateTime<Utc>,
) -> Opened {
    let claims = match keyring.verify_file(token, now) {
        Ok(claims) => claims,
        Err(LinkError::Expired(at)) => {
            return Opened::Refused {
                status: 410,
                message: format!(
                    "This link expired at {at}, as the email said it would. The report stays in the lake: ask the sender for it again."
                ),
            };
        }
        Err(_) => {
            return Opened::Refused {
                status: 404,
                message: "This link is not one this deployment made, or the mail client cut it short: open it from the email again.".into(),
            };
        }
    };
    // Signed links name report files only; the key signing them signs nothing else, but a
    // link to anything else is refused all the same.
    if !claims.key.starts_with("reports/") {
        return Opened::Refused {
            status: 404,
            message: "This link does not name a report.".into(),
        };
    }
    match store.share_link(&claims.key, REDIRECT_LIFETIME).await {
        Ok(url) => Opened::Redirect(url),
        Err(e) => Opened::Refused {
            status: 503,
            message: format!(
                "The report could not be opened just now ({e}); try again in a minute."
            ),
        },
    }
}
