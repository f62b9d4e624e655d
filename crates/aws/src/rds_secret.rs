//! Database credentials from Secrets Manager, in the format RDS writes its managed secrets in.

use daybook_core::ports::PortError;
use serde::Deserialize;

#[derive(Deserialize)]
struct RdsSecretValue {
    engine: Option<String>,
    host: String,
    port: Option<u16>,
    username: String,
    password: String,
    #[serde(alias = "dbInstanceIdentifier")]
    dbname: Option<String>,
}

/// Reads `secret_arn` and builds the connection URL: `postgres://…` or `mysql://…` from its
/// `engine`, user and password percent-encoded.
pub async fn rds_url(
    client: &aws_sdk_secretsmanager::Client,
    secret_arn: &str,
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
    url_from_secret(text).map_err(|e| PortError::new(format!("the secret {secret_arn}: {e}")))
}

pub fn url_from_secret(text: &str) -> Result<String, String> {
    let secret: RdsSecretValue = serde_json::from_str(text).map_err(|e| {
        format!("not an RDS secret (expected engine, host, port, username, password, dbname): {e}")
    })?;
    let engine = secret.engine.as_deref().unwrap_or("postgres");
    let (scheme, default_port) = if engine.contains("postgres") {
        ("postgres", 5432)
    } else if engine.contains("mysql") || engine.contains("mariadb") {
        ("mysql", 3306)
    } else {
        return Err(format!(
            "engine {engine:?} is not postgres, mysql or mariadb"
        ));
    };
    Ok(format!(
        "{scheme}://{}:{}@{}:{}/{}",
        encode(&secret.username),
        encode(&secret.password),
        secret.host,
        secret.port.unwrap_or(default_port),
        secret.dbname.as_deref().map(encode).unwrap_or_default()
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
    fn a_managed_secret_becomes_a_url() {
        let url = url_from_secret(
            r#"{"engine":"postgres","host":"replica.abc.eu-west-1.rds.amazonaws.com","port":5432,"username":"report","password":"p@ss:w/rd","dbname":"shop"}"#,
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://report:p%40ss%3Aw%2Frd@replica.abc.eu-west-1.rds.amazonaws.com:5432/shop"
        );
        let mysql = url_from_secret(
            r#"{"engine":"mariadb","host":"h","username":"u","password":"p","dbname":"d"}"#,
        )
        .unwrap();
        assert_eq!(mysql, "mysql://u:p@h:3306/d");
        assert!(
            url_from_secret(r#"{"engine":"oracle","host":"h","username":"u","password":"p"}"#)
                .unwrap_err()
                .contains("oracle")
        );
    }
}
