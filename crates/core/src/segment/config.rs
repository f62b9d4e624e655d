use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One Segment source as the pipeline configures it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    /// The lake source name: tables go to `lake/<source>/<table>/`.
    #[serde(default = "default_source")]
    pub source: String,
    /// Where the S3 destination writes, `segment-logs/<source-id>/`; batch folders are below it.
    pub prefix: String,
    /// The IANA time zone days are cut in: an event belongs to the day of its own timestamp there.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Batches written up to this many hours after the day ends are read for its late events.
    #[serde(default = "default_late_hours")]
    pub late_hours: u32,
    /// Longer lines are quarantined (Segment itself refuses messages over 32 KB).
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
    #[serde(default = "default_row_group_rows")]
    pub row_group_rows: usize,
    /// A day too big for one invocation: its files are scanned and written by Distributed Maps,
    /// `files_per_iteration` files per child execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fan_out: Option<crate::fan_out::FanOut>,
    /// At most this many track events of a day get a table of their own: the most frequent
    /// (then by name). The others' calls are in `tracks` only, named in the run's warnings.
    /// Anyone with the site's write key can send new event names.
    #[serde(default = "default_max_event_tables")]
    pub max_event_tables: usize,
    /// At most this many property columns in an event table (the first in name order), under
    /// Spectrum's 1,600 columns with the common ones; the others go to `_extra` as one JSON object.
    #[serde(default = "default_max_properties_per_event")]
    pub max_properties_per_event: usize,
    /// A run whose quarantined share of the lines read is above this fails and publishes
    /// nothing (the day keeps its data); at or below it, the run publishes and warns.
    #[serde(default = "crate::quarantine::default_max_quarantined_share")]
    pub max_quarantined_share: f64,
}

/// The limits a day's tables are held to, as the scans' merge and the shapes take them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableLimits {
    pub max_event_tables: usize,
    pub max_properties_per_event: usize,
}

impl Default for TableLimits {
    fn default() -> Self {
        Self {
            max_event_tables: default_max_event_tables(),
            max_properties_per_event: default_max_properties_per_event(),
        }
    }
}

fn default_max_event_tables() -> usize {
    500
}
fn default_max_properties_per_event() -> usize {
    1000
}

fn default_source() -> String {
    "segment".into()
}
fn default_timezone() -> String {
    "UTC".into()
}
fn default_late_hours() -> u32 {
    24
}
fn default_max_line_bytes() -> usize {
    1 << 20
}
fn default_row_group_rows() -> usize {
    65_536
}

impl SegmentConfig {
    pub fn new(prefix: &str) -> Self {
        Self {
            source: default_source(),
            prefix: prefix.to_string(),
            timezone: default_timezone(),
            late_hours: default_late_hours(),
            max_line_bytes: default_max_line_bytes(),
            row_group_rows: default_row_group_rows(),
            fan_out: None,
            max_event_tables: default_max_event_tables(),
            max_properties_per_event: default_max_properties_per_event(),
            max_quarantined_share: crate::quarantine::default_max_quarantined_share(),
        }
    }

    /// Refuses a property limit that would make a table Spectrum cannot read: 1,600 columns at
    /// most, of which the common ones, `event`, `_extra` and the partitions take 25.
    pub fn check_limits(&self) -> Result<(), String> {
        const MOST: usize = 1600 - 25;
        if self.max_properties_per_event > MOST {
            return Err(format!(
                "Segment source {}: max_properties_per_event is {}; Redshift Spectrum reads at most 1,600 columns, so at most {MOST} can be properties",
                self.source, self.max_properties_per_event
            ));
        }
        Ok(())
    }

    pub fn limits(&self) -> TableLimits {
        TableLimits {
            max_event_tables: self.max_event_tables,
            max_properties_per_event: self.max_properties_per_event,
        }
    }

    pub fn time_zone(&self) -> Result<chrono_tz::Tz, String> {
        self.timezone.parse().map_err(|_| {
            format!(
                "time zone {:?} of Segment source {} is not an IANA name such as Europe/Paris",
                self.timezone, self.source
            )
        })
    }

    /// The batch times whose files can hold events of `day`: from an hour before the day starts
    /// (clocks run ahead) to `late_hours` after it ends.
    pub fn batch_window(&self, day: NaiveDate) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
        let tz = self.time_zone()?;
        let start = day_start(&tz, day);
        let end = day_start(&tz, day.succ_opt().unwrap_or(day));
        Ok((
            start - chrono::Duration::hours(1),
            end + chrono::Duration::hours(i64::from(self.late_hours)),
        ))
    }
}

fn day_start(tz: &chrono_tz::Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    tz.from_local_datetime(&midnight)
        .earliest()
        // A zone that skips midnight starts the day at the first instant after the gap.
        .unwrap_or_else(|| tz.from_utc_datetime(&midnight))
        .with_timezone(&Utc)
}

/// Which days of the events read are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaySelection {
    /// The daily run: events of other days are counted and left for their own runs.
    Only(NaiveDate),
    /// Every day found, each in its own partition (the CLI over a folder of files).
    All,
}

impl DaySelection {
    pub fn includes(self, day: NaiveDate) -> bool {
        match self {
            DaySelection::Only(only) => day == only,
            DaySelection::All => true,
        }
    }
}

/// A Segment file on local disk, with the name to report it by and its batch folder's time.
#[derive(Debug, Clone)]
pub struct SegmentFile {
    pub label: String,
    pub path: PathBuf,
    pub batch_time: Option<DateTime<Utc>>,
}

/// The time of a file's batch folder, `…/<epoch-ms>/<file>.gz`.
pub fn batch_time_of_key(key: &str) -> Option<DateTime<Utc>> {
    let mut parts = key.rsplit('/');
    parts.next()?;
    let folder = parts.next()?;
    let millis: i64 = folder.parse().ok()?;
    DateTime::from_timestamp_millis(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_window_follows_the_time_zone() {
        let mut config = SegmentConfig::new("segment-logs/src/");
        config.timezone = "Europe/Paris".into();
        config.late_hours = 2;
        let (from, to) = config
            .batch_window(NaiveDate::from_ymd_opt(2026, 11, 21).unwrap())
            .unwrap();
        assert_eq!(from.to_rfc3339(), "2026-11-20T22:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-11-22T01:00:00+00:00");
        config.timezone = "Mars/Olympus".into();
        assert!(config.time_zone().unwrap_err().contains("Mars/Olympus"));
    }

    #[test]
    fn batch_times_come_from_the_folder() {
        let t = batch_time_of_key("segment-logs/abc/1763683200000/part.gz").unwrap();
        assert_eq!(t.to_rfc3339(), "2025-11-21T00:00:00+00:00");
        assert_eq!(batch_time_of_key("segment-logs/abc/x/part.gz"), None);
    }
}
