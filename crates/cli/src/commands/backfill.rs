use clap::Args;
use daybook_core::steps::backfill::{BackfillRequest, DEFAULT_CONCURRENCY};
use daybook_local::backfill::{DayEvent, DayObserver, DayPreparer, run_backfill_preparing};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Args)]
pub struct BackfillArgs {
    /// The first day to run.
    #[arg(long, value_parser = super::run_date)]
    from: chrono::NaiveDate,
    /// The last day to run (at most a year after --from, and a day that is over).
    #[arg(long, value_parser = super::run_date)]
    to: chrono::NaiveDate,
    /// Days run at once (1 to 10).
    #[arg(long, default_value_t = DEFAULT_CONCURRENCY)]
    concurrency: u32,
    /// Build, approve and send each day's report too; by default lake and marts only, no email.
    #[arg(long)]
    send: bool,
    /// The local folder the runs use (the demo's --out).
    #[arg(long, default_value = "daybook-demo")]
    root: PathBuf,
    /// A value for one of the config's variables, as name=value (repeat for more); every day
    /// runs with the same values.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    variables: Vec<String>,
    /// With --stack: start the backfill and return, instead of following its days until it ends.
    #[arg(long)]
    detach: bool,
    #[command(flatten)]
    stack: super::stack::StackArgs,
}

/// How each day ended, for the summary.
#[derive(Default)]
struct Days {
    dates: BTreeMap<String, chrono::NaiveDate>,
    bars: BTreeMap<String, ProgressBar>,
    /// (date, job, failure): each day as it ended.
    ended: Vec<(String, String, Option<String>)>,
}

pub async fn run(args: BackfillArgs) -> anyhow::Result<()> {
    let request = BackfillRequest {
        variables: daybook_core::variables::parse_assignments(&args.variables)
            .map_err(anyhow::Error::msg)?,
        from: args.from,
        to: args.to,
        concurrency: Some(args.concurrency),
        send: args.send,
        config_key: None,
        started_by: Some(format!(
            "daybook backfill ({})",
            std::env::var("USER").unwrap_or_else(|_| "cli".into())
        )),
    };
    // The same checks start-job makes, before anything runs: one clear line for a bad range.
    let now = chrono::Utc::now();
    daybook_core::steps::backfill::plan_backfill(
        &request,
        now.date_naive().pred_opt().expect("today has a yesterday"),
        now,
        0,
    )
    .map_err(anyhow::Error::msg)?;
    let count = (args.to - args.from).num_days() + 1;
    let name = format!(
        "backfill-{}-{}-{:06x}",
        args.from.format("%Y%m%d"),
        args.to.format("%Y%m%d"),
        rand::random::<u32>() & 0xff_ffff
    );
    if args.stack.on_aws() {
        let link = super::cloud::start_machine(
            &args.stack,
            "BackfillStateMachineArn",
            &name,
            &serde_json::to_value(&request)?,
        )
        .await?;
        println!(
            "started {name}: {count} days, {} at a time\n{link}",
            args.concurrency
        );
        if args.detach {
            println!("each day is a daily execution: `daybook runs --stack …` lists them");
            return Ok(());
        }
        eprintln!("following it (Ctrl-C stops following; the backfill goes on)");
        let board = DayBoard::new(count as u64);
        let started = std::time::Instant::now();
        let ended = super::cloud::follow_backfill(&args.stack, &name, board.observer()).await;
        let flag = args.stack.flag();
        return board.summarize(count, started, ended, |job| {
            format!("daybook redrive {job} {flag}")
        });
    }
    daybook_local::runs::check_variables(&args.root, &request.variables)?;
    eprintln!(
        "daybook backfill {name}: {count} days, {} at a time, {}, in {}",
        args.concurrency,
        if args.send {
            "each report built, approved and sent"
        } else {
            "lake and marts only, no report, no email"
        },
        args.root.display()
    );
    let board = DayBoard::new(count as u64);
    let on_day = board.observer();
    let started = std::time::Instant::now();
    // In a demo's root, the days asked for are generated as the demo generates its own.
    let root_of_days = args.root.clone();
    let prepare: DayPreparer = Arc::new(move |date| {
        daybook_local::demo::prepare_day(&root_of_days, date)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let result = run_backfill_preparing(&args.root, &name, &request, on_day, Some(prepare)).await;
    let root = args.root.display().to_string();
    board.summarize(
        count,
        started,
        result.map(|_| ()).map_err(anyhow::Error::from),
        |job| format!("daybook redrive {job} --root {root}"),
    )
}

/// A progress bar for the days, a line per running day, and a line per day as it ends.
struct DayBoard {
    progress: MultiProgress,
    overall: ProgressBar,
    days: Arc<Mutex<Days>>,
}

impl DayBoard {
    fn new(count: u64) -> Self {
        let progress = MultiProgress::new();
        let overall = progress.add(ProgressBar::new(count));
        overall.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} days  {elapsed_precise}")
                .expect("a valid template"),
        );
        Self {
            progress,
            overall,
            days: Arc::new(Mutex::new(Days::default())),
        }
    }

    fn observer(&self) -> DayObserver {
        let days = self.days.clone();
        let progress = self.progress.clone();
        let overall = self.overall.clone();
        let spinner =
            ProgressStyle::with_template("  {spinner} {prefix}  {msg}").expect("a valid template");
        Arc::new(move |event: &DayEvent| {
            let mut days = days.lock().expect("the progress lock");
            match event {
                DayEvent::Started { job_id, date } => {
                    let bar = progress.insert_before(&overall, ProgressBar::new_spinner());
                    bar.set_style(spinner.clone());
                    bar.set_prefix(format!(
                        "{}  {job_id}",
                        date.map(|d| d.to_string()).unwrap_or_default()
                    ));
                    bar.enable_steady_tick(Duration::from_millis(200));
                    if let Some(date) = date {
                        days.dates.insert(job_id.clone(), *date);
                    }
                    days.bars.insert(job_id.clone(), bar);
                }
                DayEvent::Entered { job_id, state } => {
                    if let Some(bar) = days.bars.get(job_id) {
                        bar.set_message(state.clone());
                    }
                }
                DayEvent::Finished {
                    job_id,
                    elapsed,
                    failure,
                } => {
                    let date = days
                        .dates
                        .get(job_id)
                        .map(|d| d.to_string())
                        .unwrap_or_default();
                    if let Some(bar) = days.bars.remove(job_id) {
                        bar.finish_and_clear();
                    }
                    let line = match failure {
                        None => format!("  ✓ {date}  {job_id} ({:.1}s)", elapsed.as_secs_f64()),
                        Some((f, state)) => format!("  ✗ {date}  {job_id} in {state}: {f}"),
                    };
                    overall.inc(1);
                    if progress.println(&line).is_err() || progress.is_hidden() {
                        eprintln!("{line}");
                    }
                    days.ended.push((
                        date,
                        job_id.clone(),
                        failure.as_ref().map(|(f, _)| f.error.clone()),
                    ));
                }
            }
        })
    }

    /// The summary line, and for failed days the way on (`redrive` gives each its command).
    fn summarize(
        &self,
        count: i64,
        started: std::time::Instant,
        result: anyhow::Result<()>,
        redrive: impl Fn(&str) -> String,
    ) -> anyhow::Result<()> {
        self.overall.finish_and_clear();
        let days = self.days.lock().expect("the progress lock");
        let failed: Vec<_> = days.ended.iter().filter(|d| d.2.is_some()).collect();
        eprintln!(
            "{} of {count} days done, {} failed, in {:.1}s",
            days.ended.len() - failed.len(),
            failed.len(),
            started.elapsed().as_secs_f64()
        );
        if failed.is_empty() {
            return result;
        }
        // Each failed day was printed with its state and cause as it ended; the way on, per day.
        let redrives: Vec<String> = failed
            .iter()
            .map(|(date, job, _)| format!("{date}: {}", redrive(job)))
            .collect();
        Err(anyhow::anyhow!(
            "{} of {count} days failed. Fix the cause shown above, then resume each where it stopped ({}), or backfill it again",
            failed.len(),
            redrives.join("; ")
        ))
    }
}
