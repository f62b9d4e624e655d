//! Whether a built report is sent: its `send_when` read against its headline numbers, its
//! problems and its unusual numbers, with the reason in words for the run record.

use crate::model::data::ReportData;
use crate::model::display;
use daybook_core::config::{Measure, SendWhen};
use serde::{Deserialize, Serialize};

/// The build's answer to "is this report sent?", and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendDecision {
    pub wanted: bool,
    pub why: String,
}

impl Default for SendDecision {
    /// What a report built before `send_when` existed did: it was sent.
    fn default() -> Self {
        Self {
            wanted: true,
            why: "send_when is always".into(),
        }
    }
}

impl ReportData {
    /// A metric of `send_when`: a headline column's number (its first row), its move, or a
    /// count of the report's problems or unusual numbers.
    pub fn metric(&self, name: &str, measure: Measure) -> Option<f64> {
        match (name, measure) {
            ("problems", Measure::Value) => return Some(self.problems().len() as f64),
            ("unusual", Measure::Value) => return Some(self.unusual().len() as f64),
            _ => {}
        }
        let conventions = self.conventions();
        self.sections
            .iter()
            .filter(|s| s.headline && s.error.is_none() && !s.result.rows.is_empty())
            .find_map(|section| {
                let views = display::columns(section, conventions);
                let column = views
                    .iter()
                    .position(|v| v.numeric() && v.name.eq_ignore_ascii_case(name))?;
                let now = section.result.rows[0][column].as_f64()?;
                let earlier = match measure {
                    Measure::Value => return Some(now),
                    Measure::VsDay => section.previous_day.as_ref()?,
                    Measure::VsWeek => section.previous_week.as_ref()?,
                };
                let before = display::earlier_value(section, &views, 0, column, earlier)?;
                (before != 0.0).then(|| (now - before) / before.abs())
            })
    }

    /// Whether `when` holds for this report, and why, in words.
    pub fn send_decision(&self, when: &SendWhen) -> SendDecision {
        match when {
            SendWhen::Always => SendDecision::default(),
            SendWhen::Problems => {
                let problems = self.problems();
                SendDecision {
                    wanted: !problems.is_empty(),
                    why: if problems.is_empty() {
                        "send_when is problems, and the report has none".into()
                    } else {
                        format!(
                            "send_when is problems, and the report has {}: {}",
                            problems.len(),
                            problems.join("; ")
                        )
                    },
                }
            }
            SendWhen::Condition(condition) => {
                let verdict = condition.evaluate(&|name, measure| self.metric(name, measure));
                let read = if verdict.read.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", verdict.read.join(", "))
                };
                SendDecision {
                    wanted: verdict.holds,
                    why: format!(
                        "send_when {:?} {}{read}",
                        condition.text(),
                        if verdict.holds {
                            "holds"
                        } else {
                            "does not hold"
                        }
                    ),
                }
            }
        }
    }
}
