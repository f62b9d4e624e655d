//! Database credentials from Secrets Manager, in every shape AWS documents for them
//! ("JSON structure of AWS Secrets Manager database credentials secrets"):
//!
//! * a secret made for RDS by the console or `create-secret`: `engine`, `host`, `port` (a number,
//!   or a string), `username`, `password`, `dbname`, and often `dbInstanceIdentifier` or
//!   `dbClusterIdentifier` (which name the instance, not a database);
//! * an RDS-managed master secret (`ManageMasterUserPassword`): `username` and `password` only.
//!
//! What the secret lacks (host, port, database, engine) comes from the source's `url`, which
//! then carries no credentials: `postgres://replica.abc.eu-west-1.rds.amazonaws.com:5432/shop`.

use daybook_core::ports::PortError;
use serde_json::{Map, Value};

/// Reads `secret_arn` and builds the connection URL: `postgres://…` or `mysql://…`, user and
/// password percent-encoded, the parts the secret lacks taken from `config_url`.
pub async fn rds_url(
    client: &aws_sdk_secretsmanager::Client,
    secret_arn: &str,
    config_url: Option<&str>,
) -> Result<String, PortError> {
    let output = client
        .get_secret_value()
        .secret_id(secret_arn)
        .send()
        .await
        .map_err(|e| {
            crate::sdk::classified(PortError::new(format!(
                "reading the database secret {secret_arn}: {}; check the ARN and that the function may call secretsmanager:GetSecretValue on it",
                crate::sdk::describe(&e)
            )), &e)
        })?;
    let text = output
        .secret_string()
        .ok_or_else(|| PortError::new(format!("the secret {secret_arn} has no string value")))?;
    url_from_secret(text, config_url).map_err(|e| {
        PortError::with_kind(
            format!("the secret {secret_arn}: {e}"),
            daybook_core::ErrorKind::InvalidInput,
        )
    })
}

/// The connection the source's `url` describes, for what the secret leaves out.
#[derive(Default)]
struct ConfiguredTarget {
    scheme: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    database: Option<String>,
    query: Option<String>,
}

fn configured_target(config_url: Option<&str>) -> Result<ConfiguredTarget, String> {
    let Some(text) = config_url else {
        return Ok(ConfiguredTarget::default());
    };
    let url = url::Url::parse(text).map_err(|e| {
        format!(
            "the source's url {text:?} is not a URL ({e}): give it as postgres://host:5432/database"
        )
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "the source has both a secret_arn and a url with credentials: keep the credentials in the secret and give the url as postgres://host:port/database".into(),
        );
    }
    let database = url.path().trim_start_matches('/');
    Ok(ConfiguredTarget {
        scheme: Some(url.scheme().to_string()),
        host: url.host_str().map(str::to_string),
        port: url.port(),
        database: (!database.is_empty()).then(|| database.to_string()),
        query: url.query().map(str::to_string),
    })
}

fn text_field<'a>(secret: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    secret
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `port` as RDS writes it (a number) or as a hand-made secret often has it (a string).
fn port_field(secret: &Map<String, Value>) -> Result<Option<u16>, String> {
    match secret.get("port") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .map(Some)
            .ok_or_else(|| format!("its port {n} is not a TCP port")),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("its port {s:?} is not a TCP port")),
        Some(other) => Err(format!("its port {other} is not a TCP port")),
    }
}

pub fn url_from_secret(text: &str, config_url: Option<&str>) -> Result<String, String> {
    let secret: Map<String, Value> = serde_json::from_str(text).map_err(|e| {
        format!("not a JSON object of database credentials (username, password, and host, port, dbname, engine where the source's url does not give them): {e}")
    })?;
    let configured = configured_target(config_url)?;
    let required = |name: &str| {
        text_field(&secret, name).ok_or_else(|| {
            format!("it has no {name:?}: a database secret holds at least username and password")
        })
    };
    let (username, password) = (required("username")?, required("password")?);
    let engine = text_field(&secret, "engine")
        .map(str::to_string)
        .or(configured.scheme)
        .unwrap_or_else(|| "postgres".into());
    let (scheme, default_port) = if engine.contains("postgres") {
        ("postgres", 5432)
    } else if engine.contains("mysql") || engine.contains("mariadb") || engine == "aurora" {
        ("mysql", 3306)
    } else {
        return Err(format!(
            "engine {engine:?} is not postgres, mysql or mariadb"
        ));
    };
    let host = text_field(&secret, "host")
        .map(str::to_string)
        .or(configured.host)
        .ok_or_else(|| {
            "it has no host (an RDS-managed master secret holds only username and password): give the source a url without credentials, e.g. postgres://replica.abc.eu-west-1.rds.amazonaws.com:5432/shop".to_string()
        })?;
    let port = port_field(&secret)?
        .or(configured.port)
        .unwrap_or(default_port);
    // `dbInstanceIdentifier` and `dbClusterIdentifier` name the instance, never a database.
    let database = text_field(&secret, "dbname")
        .map(str::to_string)
        .or(configured.database)
        .unwrap_or_default();
    let query = configured
        .query
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    Ok(format!(
        "{scheme}://{}:{}@{host}:{port}/{}{query}",
        encode(username),
        encode(password),
        encode(&database)
    ))
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_made_for_rds_becomes_a_url() {
        let url = url_from_secret(
            r#"{"engine":"postgres","host":"replica.abc.eu-west-1.rds.amazonaws.com","port":5432,"username":"report","password":"p@ss:w/rd","dbname":"shop"}"#,
            None,
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://report:p%40ss%3Aw%2Frd@replica.abc.eu-west-1.rds.amazonaws.com:5432/shop"
        );
        let mysql = url_from_secret(
            r#"{"engine":"mariadb","host":"h","username":"u","password":"p","dbname":"d"}"#,
            None,
        )
        .unwrap();
        assert_eq!(mysql, "mysql://u:p@h:3306/d");
        assert!(
            url_from_secret(
                r#"{"engine":"oracle","host":"h","username":"u","password":"p"}"#,
                None
            )
            .unwrap_err()
            .contains("oracle")
        );
    }

    /// The console's secret for an RDS instance carries both `dbname` and
    /// `dbInstanceIdentifier`, and hand-made ones often a string port.
    #[test]
    fn a_console_secret_with_an_instance_identifier_and_a_string_port_is_read() {
        let url = url_from_secret(
            r#"{"username":"report","password":"pw","engine":"postgres","host":"db.example","port":"6432","dbInstanceIdentifier":"shop-replica-1","dbname":"shop"}"#,
            None,
        )
        .unwrap();
        assert_eq!(url, "postgres://report:pw@db.example:6432/shop");
        let aurora = url_from_secret(
            r#"{"username":"u","password":"p","engine":"aurora-mysql","host":"c.cluster-ro.example","port":3306,"dbClusterIdentifier":"shop"}"#,
            None,
        )
        .unwrap();
        assert_eq!(aurora, "mysql://u:p@c.cluster-ro.example:3306/");
    }

    /// An RDS-managed master secret holds the user and password only: the rest is the url's.
    #[test]
    fn a_managed_master_secret_takes_the_rest_from_the_sources_url() {
        let managed = r#"{"username":"postgres","password":"Xy!9 z"}"#;
        let url = url_from_secret(
            managed,
            Some("postgres://replica.abc.rds.amazonaws.com:5433/shop?sslmode=verify-full"),
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://postgres:Xy%219%20z@replica.abc.rds.amazonaws.com:5433/shop?sslmode=verify-full"
        );
        let mysql = url_from_secret(managed, Some("mysql://replica.example/shop")).unwrap();
        assert_eq!(
            mysql,
            "mysql://postgres:Xy%219%20z@replica.example:3306/shop"
        );
        let lacking = url_from_secret(managed, None).unwrap_err();
        assert!(
            lacking.contains("no host") && lacking.contains("url"),
            "{lacking}"
        );
    }

    #[test]
    fn a_secret_that_cannot_connect_says_what_is_missing() {
        for (secret, said) in [
            (r#"{"password":"p","host":"h"}"#, "no \"username\""),
            (r#"{"username":"u","host":"h"}"#, "no \"password\""),
            (
                r#"{"username":"u","password":"p","host":"h","port":"x"}"#,
                "port \"x\"",
            ),
            (
                r#"{"username":"u","password":"p","host":"h","port":70000}"#,
                "port 70000",
            ),
            ("not json", "not a JSON object"),
        ] {
            let error = url_from_secret(secret, None).unwrap_err();
            assert!(error.contains(said), "{secret}: {error}");
        }
        let doubled = url_from_secret(
            r#"{"username":"u","password":"p"}"#,
            Some("postgres://u:p@h/db"),
        )
        .unwrap_err();
        assert!(doubled.contains("credentials"), "{doubled}");
    }
}
