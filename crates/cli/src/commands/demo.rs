use anyhow::Context;
use clap::Args;
use daybook_local::demo::{DemoOptions, run_demo};
use std::path::PathBuf;

#[derive(Args)]
pub struct DemoArgs {
    /// Folder for everything the demo writes: lake, catalog, reports, outbox.
    #[arg(long, default_value = "daybook-demo")]
    out: PathBuf,
    /// Wait for a person (the link in the approval email, served by `daybook serve`, or
    /// `daybook approve <job-id>`) instead of approving automatically.
    #[arg(long)]
    manual_approval: bool,
    /// The day to report on (default: yesterday, UTC).
    #[arg(long, value_parser = super::run_date)]
    date: Option<chrono::NaiveDate>,
    /// Search-query items (and Segment events) on a weekday; weekends have about a fifth fewer,
    /// and each day a few percent more or less.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    items: u64,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Also run this many days before the date first (lake and marts only, no email), so
    /// trends, WAU/MAU and the moves against the day before and last week read real days:
    /// 35 gives five weeks, in about three and a half minutes.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=400))]
    history_days: u32,
    /// A value for one of the config's variables, as name=value (repeat for more): the demo
    /// declares top_n, how many rows its top lists show.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    variables: Vec<String>,
    /// Also deliver to chats on stand-ins on this machine: slack, teams, webhook (comma
    /// separated). What each received is saved under <out>/deliveries/.
    #[arg(long, value_delimiter = ',', value_name = "slack,teams,webhook")]
    deliver: Vec<daybook_local::demo::deliver::DemoChat>,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let date = args.date.unwrap_or_else(super::yesterday);
    let job_id = daybook_core::steps::job::new_job_id(date, chrono::Utc::now(), rand::random());
    let options = DemoOptions {
        root: args.out.clone(),
        date,
        items: args.items,
        files: 4,
        seed: args.seed,
        manual_approval: args.manual_approval,
        job_id: job_id.clone(),
        variables: daybook_core::variables::parse_assignments(&args.variables)
            .map_err(anyhow::Error::msg)?,
        deliver: args.deliver.clone(),
    };
    eprintln!(
        "daybook demo: job {job_id}, date {date}, {} items a weekday, in {}",
        args.items,
        args.out.display()
    );
    let started = std::time::Instant::now();
    if args.history_days > 0 {
        eprintln!(
            "history: {} days before {date}, lake and marts only",
            args.history_days
        );
        daybook_local::demo::run_history(&options, args.history_days, |day, n, total, seconds| {
            eprintln!("  ✓ {day} ({n}/{total}, {seconds:.1}s)")
        })
        .await
        .with_context(|| format!("demo history before {date}"))?;
    }
    let approval = if args.manual_approval {
        super::progress::Approval::Person
    } else {
        super::progress::Approval::Automatic
    };
    let observer = super::progress::printer(&job_id, &args.out, approval);
    let outcome = run_demo(&options, observer)
        .await
        .with_context(|| format!("demo run {job_id}"))?;
    eprintln!("done in {:.1}s", started.elapsed().as_secs_f64());
    println!("report (browser copy): {}", outcome.report_html.display());
    println!("report (Excel):        {}", outcome.report_xlsx.display());
    match (&outcome.email, &outcome.not_sent) {
        (Some(email), _) => println!("email sent:            {}", email.display()),
        (None, Some(why)) => println!("nothing sent:          {why}"),
        (None, None) => {}
    }
    for posted in &outcome.posted {
        println!("delivered (stand-in):  {}", posted.display());
    }
    Ok(())
}
