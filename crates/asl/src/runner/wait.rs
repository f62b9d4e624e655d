//! Wait states: Seconds, a Timestamp or their paths, on the runner's clock.

use super::*;

impl Runner {
    pub(super) async fn run_wait(
        &self,
        state: &Value,
        input: &Value,
        context: &Value,
    ) -> Result<(), Failure> {
        let seconds = match (state.get("Seconds"), state.get("SecondsPath")) {
            (Some(s), _) => s.as_f64(),
            (_, Some(p)) => select(p.as_str().unwrap_or_default(), input, context)?.as_f64(),
            _ => None,
        };
        let until = match (state.get("Timestamp"), state.get("TimestampPath")) {
            (Some(t), _) => t.as_str().map(str::to_string),
            (_, Some(p)) => select(p.as_str().unwrap_or_default(), input, context)?
                .as_str()
                .map(str::to_string),
            _ => None,
        };
        let duration = match (seconds, until) {
            (Some(s), _) if s >= 0.0 => Duration::from_secs_f64(s),
            (_, Some(t)) => {
                let target = DateTime::parse_from_rfc3339(&t).map_err(|e| {
                    Failure::runtime(format!("Wait timestamp {t:?} is not RFC 3339: {e}"))
                })?;
                (target.with_timezone(&Utc) - self.clock.now())
                    .to_std()
                    .unwrap_or_default()
            }
            _ => {
                return Err(Failure::runtime(
                    "Wait needs Seconds, SecondsPath, Timestamp or TimestampPath",
                ));
            }
        };
        self.clock.sleep(duration).await;
        Ok(())
    }
}
