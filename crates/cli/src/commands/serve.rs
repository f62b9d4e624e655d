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
    // A run whose own process stopped while it waited goes on here once it is decided.
    let root = args.root.clone();
    let take_up = tokio::spawn(async move {
        let mut tick = tokio::time::interval(TAKE_UP_EVERY);
        loop {
            tick.tick().await;
            take_up_runs(&root).await;
        }
    });
    server
        .run(
            std::time::Duration::from_secs(args.remind_every.max(1)),
            async {
                let _ = tokio::signal::ctrl_c().await;
            },
        )
        .await
        .map_err(anyhow::Error::msg)?;
    take_up.abort();
    Ok(())
}

/// How often `serve` looks for decided runs whose own process has stopped.
const TAKE_UP_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Goes on with each run whose process stopped while it waited for an approval answered
/// since, saying how each ended.
async fn take_up_runs(root: &std::path::Path) {
    let quiet: daybook_asl::Observer = std::sync::Arc::new(|_| {});
    match daybook_local::runs::take_up_answered_runs(root, quiet).await {
        Ok(taken) => {
            for (job_id, ended) in taken {
                match ended {
                    Ok(output) => println!(
                        "run {job_id} went on after its approval: {}",
                        super::progress::summary(root, &output)
                    ),
                    Err(e) => eprintln!("run {job_id} went on after its approval and failed: {e}"),
                }
            }
        }
        Err(e) => eprintln!("looking for decided runs to take up: {e}"),
    }
}
