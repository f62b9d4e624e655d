//! The handler of `start-job`, apart from the runtime so tests call it directly.

use daybook_aws::S3Store;
use daybook_aws::{lambda, sdk};

/// Built once per container, at init.
pub struct Adapters {
    pub store: S3Store,
    /// The schedule's time zone (`SCHEDULE_TIMEZONE`, default UTC): a run without a date
    /// reports on yesterday there.
    pub time_zone: chrono_tz::Tz,
}

impl Adapters {
    pub async fn from_env() -> anyhow::Result<Self> {
        let time_zone = match lambda::optional("SCHEDULE_TIMEZONE") {
            Some(name) => name.parse().map_err(|_| {
                anyhow::anyhow!(
                    "SCHEDULE_TIMEZONE is {name:?}, not an IANA time zone such as Asia/Seoul: fix the ScheduleTimezone parameter"
                )
            })?,
            None => chrono_tz::UTC,
        };
        let config = sdk::load().await;
        Ok(Self {
            store: lambda::lake_store(&config)?,
            time_zone,
        })
    }
}

/// Runs the step; the error names the step's input, what to do, and its kind (for Retry).
pub async fn handle(
    adapters: &Adapters,
    event: daybook_core::steps::start_event::StartEvent,
) -> Result<serde_json::Value, daybook_aws::lambda::HandlerError> {
    Ok(daybook_core::steps::start_event::start_or_plan(
        &adapters.store,
        &event,
        chrono::Utc::now(),
        adapters.time_zone,
        entropy(),
    )
    .await?)
}

/// Distinguishes job ids started in the same second.
fn entropy() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}
