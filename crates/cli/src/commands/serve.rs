use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args)]
pub struct ServeArgs {
    /// The local folder the runs use (the demo's --out).
    #[arg(long, default_value = "daybook-demo")]
    root: PathBuf,
    /// Where to listen; loopback only unless you mean otherwise.
    #[arg(long, default_value = daybook_local::approval_site::DEFAULT_ADDRESS)]
    address: SocketAddr,
    /// How often to send due approval reminders, in seconds.
    #[arg(long, default_value_t = 60)]
    remind_every: u64,
}

/// `daybook serve`: the approval links of local runs, until Ctrl-C.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let server = daybook_local::approval_site::ApprovalServer::bind(&args.root, args.address)
        .await
        .map_err(anyhow::Error::msg)?;
    println!(
        "serving the approval links of {} at {} (Ctrl-C stops)",
        args.root.display(),
        server.url
    );
    server
        .run(
            std::time::Duration::from_secs(args.remind_every.max(1)),
            async {
                let _ = tokio::signal::ctrl_c().await;
            },
        )
        .await
        .map_err(anyhow::Error::msg)
}
