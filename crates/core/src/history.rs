//! A run's history as `daybook status` shows it: each state as it was entered and left,
//! recorded by the local runner or read from Step Functions' execution history.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One time a state ran: when it was entered, when it was left, how it failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateVisit {
    pub state: String,
    pub entered: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exited: Option<DateTime<Utc>>,
    /// The error it failed with (caught or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One state of a run as `status` shows it: every visit of it taken together (a Map's
/// iterations, a retried task, a redrive's second try).
#[derive(Debug, Clone, PartialEq)]
pub struct StateLine {
    pub state: String,
    pub visits: usize,
    pub seconds: f64,
    pub longest: f64,
    pub retries: u32,
    pub error: Option<String>,
    pub running: bool,
}

/// The states in the order they were first entered, with their time.
pub fn state_lines(history: &[StateVisit], now: chrono::DateTime<chrono::Utc>) -> Vec<StateLine> {
    let mut lines: Vec<StateLine> = Vec::new();
    for visit in history {
        let seconds = (visit.exited.unwrap_or(now) - visit.entered).num_milliseconds() as f64 / 1e3;
        let at = match lines.iter().position(|l| l.state == visit.state) {
            Some(at) => at,
            None => {
                lines.push(StateLine {
                    state: visit.state.clone(),
                    visits: 0,
                    seconds: 0.0,
                    longest: 0.0,
                    retries: 0,
                    error: None,
                    running: false,
                });
                lines.len() - 1
            }
        };
        let line = &mut lines[at];
        line.visits += 1;
        line.seconds += seconds;
        line.longest = line.longest.max(seconds);
        line.retries += visit.retries;
        line.running |= visit.exited.is_none();
        // The latest visit says how the state stands: a redrive's success clears a failure.
        line.error = visit.error.clone();
    }
    lines
}

/// The lines under a run's heading: a mark, the state, its visits and its time.
pub fn render_lines(lines: &[StateLine]) -> String {
    let width = lines
        .iter()
        .map(|l| l.state.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for line in lines {
        let mark = match (&line.error, line.running) {
            (_, true) => "…",
            (Some(_), false) => "✗",
            (None, false) => "✓",
        };
        let visits = if line.visits > 1 {
            format!("×{}", line.visits)
        } else {
            String::new()
        };
        let mut text = format!(
            "  {mark} {:<width$}  {visits:>4}  {:>8}",
            line.state,
            seconds(line.seconds)
        );
        if line.visits > 1 {
            text.push_str(&format!("  (longest {})", seconds(line.longest)));
        }
        if line.retries > 0 {
            text.push_str(&format!("  {} retries", line.retries));
        }
        if line.running {
            text.push_str("  running");
        }
        if let Some(error) = &line.error {
            text.push_str(&format!("  {error}"));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

pub fn seconds(s: f64) -> String {
    if s >= 120.0 {
        format!("{:.1}m", s / 60.0)
    } else {
        format!("{s:.2}s")
    }
}
