use clap::{Args, Subcommand};
use daybook_report::signed_link::Keyring;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum LinkKey {
    /// Sign new approval links with a new key; links already sent keep working (the two keys
    /// before stay known).
    Rotate(RotateArgs),
}

#[derive(Args)]
pub struct RotateArgs {
    /// The deployed stack's key (the LinkKeySecretArn output); without it, the local key.
    #[arg(long, env = "DAYBOOK_LINK_KEY_SECRET")]
    secret: Option<String>,
    /// The local folder (the demo's --out), when no --secret is given.
    #[arg(long, default_value = "daybook-demo")]
    root: PathBuf,
}

pub async fn run(command: LinkKey) -> anyhow::Result<()> {
    let LinkKey::Rotate(args) = command;
    let ring = match &args.secret {
        None => daybook_local::approval_site::rotate_local_key(&args.root)
            .map_err(anyhow::Error::msg)?,
        Some(secret) => {
            let mut rotated = None;
            super::cloud::replace_link_key(secret, |current| {
                let ring = Keyring::from_json(current)
                    .map_err(|e| anyhow::anyhow!("the link key {secret}: {e}"))?
                    .rotated(Keyring::new_key(chrono::Utc::now()));
                let json = ring.to_json();
                rotated = Some(ring);
                Ok(json)
            })
            .await?;
            rotated.expect("the key was rotated")
        }
    };
    println!(
        "new links are signed with key {}; links signed with {} still work",
        ring.current.id,
        if ring.previous.is_empty() {
            "no earlier key".to_string()
        } else {
            ring.previous
                .iter()
                .map(|k| k.id.as_str())
                .collect::<Vec<_>>()
                .join(" and ")
        }
    );
    Ok(())
}
