//! The commands' AWS side, present only when daybook is built with `--features aws`: the demo
//! and every local command build without the AWS SDK, which is most of a cold build.

use daybook_core::ports::{StateStore, TaskCallbacks};

/// How to get a daybook that talks to AWS, for an operator who asked for it without one.
#[cfg(not(feature = "aws"))]
fn built_without_aws(what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{what} talks to AWS, and this daybook was built without it: install it with \
         `cargo install --path crates/cli --features aws` (or run `cargo run -p daybook-cli --features aws -- …`)"
    )
}

/// The deployed stack's state table and the Step Functions callbacks, with the usual AWS
/// credentials and region.
#[cfg(feature = "aws")]
pub async fn state_and_callbacks(
    table: &str,
) -> anyhow::Result<(Box<dyn StateStore>, Box<dyn TaskCallbacks>)> {
    let config = daybook_aws::sdk::load().await;
    Ok((
        Box::new(daybook_aws::DynamoDbStateStore::new(
            daybook_aws::sdk::dynamodb_client(&config),
            table,
        )),
        Box::new(daybook_aws::SfnCallbacks::new(
            daybook_aws::sdk::sfn_client(&config),
        )),
    ))
}

#[cfg(not(feature = "aws"))]
pub async fn state_and_callbacks(
    table: &str,
) -> anyhow::Result<(Box<dyn StateStore>, Box<dyn TaskCallbacks>)> {
    Err(built_without_aws(&format!("--state-table {table}")))
}

/// Reads the link key from Secrets Manager, lets `change` make the new one and stores it.
#[cfg(feature = "aws")]
pub async fn replace_link_key(
    secret: &str,
    change: impl FnOnce(&str) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    let config = daybook_aws::sdk::load().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let current = daybook_aws::link_key::read(&client, secret).await?;
    let next = change(&current)?;
    daybook_aws::link_key::write(&client, secret, &next).await?;
    Ok(())
}

#[cfg(not(feature = "aws"))]
pub async fn replace_link_key(
    secret: &str,
    _change: impl FnOnce(&str) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    Err(built_without_aws(&format!("--secret {secret}")))
}
