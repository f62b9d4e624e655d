//! Approval links that cannot be forged or stretched: an approval id (never the task token), the
//! approver and an expiry, signed with HMAC-SHA256 under a key that has an id, so the key can
//! be rotated while links signed with the one before still verify.
//!
//! A link's token is `v1.<key id>.<claims>.<signature>`, each part URL-safe base64 without
//! padding; the claims are `<approval id>\n<approver>\n<expiry, Unix seconds>`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// One signing key: its id travels in the link, its secret never does.
#[derive(Clone)]
pub struct LinkKey {
    pub id: String,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "LinkKey({}, {} secret bytes)",
            self.id,
            self.secret.len()
        )
    }
}

/// The key links are signed with now, and the earlier ones whose links still verify.
#[derive(Debug, Clone)]
pub struct Keyring {
    pub current: LinkKey,
    pub previous: Vec<LinkKey>,
}

/// What a link says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaims {
    pub approval_id: String,
    pub approver: String,
    pub expires_at: DateTime<Utc>,
}

/// Why a link is refused, each with its own page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error(
        "this link is not a daybook approval link (it may have been cut short by the mail client): open it from the email again"
    )]
    Malformed,
    #[error(
        "this link's signature does not match: it was changed after it was sent, or was not made by this deployment"
    )]
    Forged,
    #[error(
        "this link was signed with a key this deployment no longer has: ask for a new approval email"
    )]
    UnknownKey,
    #[error("this link expired at {0}: ask for a new approval email")]
    Expired(DateTime<Utc>),
}

/// Links stay valid this long past their expiry, for clocks that disagree a little.
pub const CLOCK_SKEW_SECONDS: i64 = 60;

/// A key as stored: the stack creates `{"id": …, "secret": …}` in Secrets Manager; after a
/// rotation the secret holds `{"current": {…}, "previous": [{…}]}`.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredKey {
    id: String,
    secret: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum StoredKeyring {
    Rotated {
        current: StoredKey,
        #[serde(default)]
        previous: Vec<StoredKey>,
    },
    Single(StoredKey),
}

/// Links signed with a key this many rotations back still verify; older ones do not.
pub const PREVIOUS_KEYS_KEPT: usize = 2;

/// Shortest secret accepted: HMAC-SHA256 wants at least 32 bytes of key.
pub const MIN_SECRET_BYTES: usize = 32;

impl Keyring {
    /// Reads the keyring as stored (Secrets Manager's secret string, or the local key file).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let stored: StoredKeyring = serde_json::from_str(text).map_err(|e| {
            format!(
                "the link key is not {{\"id\": …, \"secret\": …}} or {{\"current\": …, \"previous\": […]}}: {e}"
            )
        })?;
        let key = |k: StoredKey| -> Result<LinkKey, String> {
            if k.secret.len() < MIN_SECRET_BYTES || k.id.is_empty() || k.id.contains('.') {
                return Err(format!(
                    "link key {:?} needs an id without dots and a secret of at least {MIN_SECRET_BYTES} bytes",
                    k.id
                ));
            }
            Ok(LinkKey {
                id: k.id,
                secret: k.secret.into_bytes(),
            })
        };
        match stored {
            StoredKeyring::Single(current) => Ok(Self {
                current: key(current)?,
                previous: vec![],
            }),
            StoredKeyring::Rotated { current, previous } => Ok(Self {
                current: key(current)?,
                previous: previous.into_iter().map(key).collect::<Result<_, _>>()?,
            }),
        }
    }

    pub fn to_json(&self) -> String {
        let stored = |k: &LinkKey| StoredKey {
            id: k.id.clone(),
            secret: String::from_utf8_lossy(&k.secret).into_owned(),
        };
        serde_json::to_string(&StoredKeyring::Rotated {
            current: stored(&self.current),
            previous: self.previous.iter().map(stored).collect(),
        })
        .expect("keyrings serialise")
    }

    /// A new current key; the old one verifies links already sent until
    /// [`PREVIOUS_KEYS_KEPT`] more rotations.
    pub fn rotated(&self, new: LinkKey) -> Self {
        let mut previous = vec![self.current.clone()];
        previous.extend(self.previous.iter().cloned());
        previous.truncate(PREVIOUS_KEYS_KEPT);
        Self {
            current: new,
            previous,
        }
    }

    /// A fresh key with a random secret (64 hex digits, 244 random bits), named after `now`.
    pub fn new_key(now: DateTime<Utc>) -> LinkKey {
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        LinkKey {
            id: now.format("k%Y%m%d%H%M%S").to_string(),
            secret: secret.into_bytes(),
        }
    }

    pub fn sign(&self, claims: &LinkClaims) -> String {
        let expiry = claims.expires_at.timestamp().to_string();
        self.sign_fields(
            APPROVAL_LINK,
            &[&claims.approval_id, &claims.approver, &expiry],
        )
    }

    /// The claims of a token this deployment signed and that has not expired at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<LinkClaims, LinkError> {
        let [approval_id, approver, expiry] = self.verified_fields(APPROVAL_LINK, token)?;
        Ok(LinkClaims {
            approval_id,
            approver,
            expires_at: unexpired(&expiry, now)?,
        })
    }

    /// A link to one stored file of a report, for as long as the email promises: the approval
    /// API checks it and answers with a presigned URL made at that moment, so the link does not
    /// die with the credentials of whoever sent the email.
    pub fn sign_file(&self, claims: &FileClaims) -> String {
        let expiry = claims.expires_at.timestamp().to_string();
        self.sign_fields(FILE_LINK, &[&claims.key, &expiry])
    }

    /// The file a file link names, if this deployment signed it and it has not expired.
    pub fn verify_file(&self, token: &str, now: DateTime<Utc>) -> Result<FileClaims, LinkError> {
        let [key, expiry] = self.verified_fields(FILE_LINK, token)?;
        Ok(FileClaims {
            key,
            expires_at: unexpired(&expiry, now)?,
        })
    }

    fn sign_fields(&self, version: &str, fields: &[&str]) -> String {
        let body = URL_SAFE_NO_PAD.encode(fields.join("\n"));
        let signed = format!("{version}.{}.{body}", self.current.id);
        let signature =
            URL_SAFE_NO_PAD.encode(mac(&self.current.secret, &signed).finalize().into_bytes());
        format!("{signed}.{signature}")
    }

    /// The `N` fields of a `version` token whose signature verifies under one of the keys.
    fn verified_fields<const N: usize>(
        &self,
        version: &str,
        token: &str,
    ) -> Result<[String; N], LinkError> {
        let mut parts = token.split('.');
        let (Some(kind), Some(key_id), Some(body), Some(signature), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(LinkError::Malformed);
        };
        if kind != version {
            return Err(LinkError::Malformed);
        }
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == key_id)
            .ok_or(LinkError::UnknownKey)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| LinkError::Malformed)?;
        // Constant-time: the comparison does not say how much of a guess was right.
        mac(&key.secret, &format!("{version}.{key_id}.{body}"))
            .verify_slice(&signature)
            .map_err(|_| LinkError::Forged)?;
        let text = URL_SAFE_NO_PAD
            .decode(body)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(LinkError::Malformed)?;
        let fields: Vec<String> = text.split('\n').map(str::to_string).collect();
        fields.try_into().map_err(|_| LinkError::Malformed)
    }
}

/// The tokens' first part: an approval link, or a link to a report's file. A token of one kind
/// never verifies as the other.
const APPROVAL_LINK: &str = "v1";
const FILE_LINK: &str = "f1";

/// What a file link says: the stored file's key and until when it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileClaims {
    pub key: String,
    pub expires_at: DateTime<Utc>,
}

/// The expiry field as a time, if `now` is not past it (give or take the clocks' skew).
fn unexpired(expiry: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, LinkError> {
    let expires_at = expiry
        .parse::<i64>()
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or(LinkError::Malformed)?;
    if now.timestamp() > expires_at.timestamp() + CLOCK_SKEW_SECONDS {
        return Err(LinkError::Expired(expires_at));
    }
    Ok(expires_at)
}

fn mac(secret: &[u8], text: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(text.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(id: &str, secret: &[u8]) -> LinkKey {
        LinkKey {
            id: id.into(),
            secret: secret.to_vec(),
        }
    }

    fn claims() -> LinkClaims {
        LinkClaims {
            approval_id: "a1b2c3".into(),
            approver: "lead@example.com".into(),
            expires_at: Utc.with_ymd_and_hms(2026, 11, 22, 6, 0, 0).unwrap(),
        }
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let ring = Keyring {
            current: key("k2", b"secret two"),
            previous: vec![],
        };
        let token = ring.sign(&claims());
        let before = Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap();
        assert_eq!(ring.verify(&token, before), Ok(claims()));
        let skewed = claims().expires_at + chrono::Duration::seconds(CLOCK_SKEW_SECONDS);
        assert!(
            ring.verify(&token, skewed).is_ok(),
            "a clock a minute behind"
        );
        let after = skewed + chrono::Duration::seconds(1);
        assert_eq!(
            ring.verify(&token, after),
            Err(LinkError::Expired(claims().expires_at))
        );
    }

    #[test]
    fn a_changed_link_or_another_key_is_refused() {
        let ring = Keyring {
            current: key("k1", b"secret one"),
            previous: vec![],
        };
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap();
        let token = ring.sign(&claims());
        // Another approver in the claims, the same signature.
        let mut other = claims();
        other.approver = "intruder@example.com".into();
        let forged_body = ring.sign(&other);
        let (head, _) = forged_body.rsplit_once('.').unwrap();
        let (_, signature) = token.rsplit_once('.').unwrap();
        assert_eq!(
            ring.verify(&format!("{head}.{signature}"), now),
            Err(LinkError::Forged)
        );
        let stranger = Keyring {
            current: key("k1", b"another deployment"),
            previous: vec![],
        };
        assert_eq!(stranger.verify(&token, now), Err(LinkError::Forged));
        for bad in [
            "",
            "v1",
            "v2.k1.x.y",
            "v1.k1.!!.??",
            &token[..token.len() - 5],
        ] {
            assert!(ring.verify(bad, now).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn links_signed_before_a_rotation_still_verify() {
        let old = Keyring {
            current: key("k1", b"secret one"),
            previous: vec![],
        };
        let token = old.sign(&claims());
        let rotated = Keyring {
            current: key("k2", b"secret two"),
            previous: vec![key("k1", b"secret one")],
        };
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap();
        assert_eq!(rotated.verify(&token, now), Ok(claims()));
        let retired = Keyring {
            current: key("k3", b"secret three"),
            previous: vec![key("k2", b"secret two")],
        };
        assert_eq!(retired.verify(&token, now), Err(LinkError::UnknownKey));
    }

    #[test]
    fn the_stacks_key_reads_rotates_twice_and_keeps_links_working() {
        let stack = r#"{"id": "k1", "secret": "0123456789abcdef0123456789abcdef0123456789abcdef"}"#;
        let ring = Keyring::from_json(stack).unwrap();
        let token = ring.sign(&claims());
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap();
        let once = ring.rotated(Keyring::new_key(now));
        let twice = Keyring::from_json(&once.to_json())
            .unwrap()
            .rotated(Keyring::new_key(now + chrono::Duration::seconds(1)));
        assert_eq!(
            twice.verify(&token, now),
            Ok(claims()),
            "two rotations back"
        );
        assert_ne!(twice.current.id, once.current.id);
        let thrice = twice.rotated(Keyring::new_key(now + chrono::Duration::seconds(2)));
        assert_eq!(thrice.previous.len(), PREVIOUS_KEYS_KEPT);
        assert_eq!(thrice.verify(&token, now), Err(LinkError::UnknownKey));
        for bad in [
            r#"{"id": "k1", "secret": "short"}"#,
            r#"{"id": "a.b", "secret": "0123456789abcdef0123456789abcdef0123"}"#,
            r#"{"current": {"id": "k1"}}"#,
            "not json",
        ] {
            assert!(Keyring::from_json(bad).is_err(), "{bad}");
        }
    }
}
