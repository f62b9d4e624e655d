//! The day's tables, from every file's scan merged: which tables a day has (the call tables,
//! and an event table for each of the day's most frequent events) and the columns of each.

use super::config::{DaySelection, TableLimits};
use super::event::CallType;
use super::scan::FileRead;
use super::schema::{PropertyColumns, TableColumns, event_tables};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A file's counts and the types of its events' properties: what the day's tables are made of.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ScanSummary {
    pub read: FileRead,
    /// Rows per (day, table).
    #[serde(with = "day_keyed")]
    pub rows: BTreeMap<(NaiveDate, String), u64>,
    /// Property columns per (day, event name as sent).
    #[serde(with = "day_keyed")]
    pub properties: BTreeMap<(NaiveDate, String), PropertyColumns>,
    pub other_days: u64,
    pub quarantined: u64,
}

/// A map keyed by (day, name) as a list of `[day, name, value]`: JSON keys are strings only.
mod day_keyed {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer, V: Serialize>(
        map: &BTreeMap<(NaiveDate, String), V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter().map(|((day, name), value)| (day, name, value)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<(NaiveDate, String), V>, D::Error> {
        let entries: Vec<(NaiveDate, String, V)> = Vec::deserialize(deserializer)?;
        Ok(entries
            .into_iter()
            .map(|(day, name, value)| ((day, name), value))
            .collect())
    }
}

/// The day's tables once every file is scanned: each table's columns, and per day the table
/// each track event goes to.
pub struct DayShapes {
    pub shapes: BTreeMap<(NaiveDate, String), TableColumns>,
    pub event_table: HashMap<NaiveDate, HashMap<String, String>>,
}

/// The day's tables as the scans found them, merged over files: rows per (day, table) and
/// property types per (day, event). Merging does not depend on the files' order.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct DayTables {
    #[serde(with = "day_keyed")]
    rows: BTreeMap<(NaiveDate, String), u64>,
    #[serde(with = "day_keyed")]
    properties: BTreeMap<(NaiveDate, String), PropertyColumns>,
    #[serde(default)]
    limits: TableLimits,
}

impl DayTables {
    pub fn of(summaries: &[&ScanSummary], limits: TableLimits) -> Self {
        let mut tables = Self {
            limits,
            ..Self::default()
        };
        for summary in summaries {
            tables.add(summary);
        }
        tables
    }

    pub fn add(&mut self, summary: &ScanSummary) {
        for (key, count) in &summary.rows {
            *self.rows.entry(key.clone()).or_default() += count;
        }
        for (key, columns) in &summary.properties {
            self.properties
                .entry(key.clone())
                .or_default()
                .merge_within(columns, self.limits.max_properties_per_event);
        }
    }

    /// Every table of the days selected and its columns.
    pub fn shapes(&self, days: DaySelection) -> DayShapes {
        resolve_shapes(
            self.rows.keys().map(|(day, _)| *day),
            &self.properties,
            days,
            self.limits,
        )
    }
}

/// Every table of the selected days and its columns, from the property types of the whole
/// day (every file's, merged): the same for one invocation or a fan-out.
fn resolve_shapes(
    days_with_rows: impl Iterator<Item = NaiveDate>,
    properties: &BTreeMap<(NaiveDate, String), PropertyColumns>,
    days: DaySelection,
    limits: TableLimits,
) -> DayShapes {
    let mut shapes: BTreeMap<(NaiveDate, String), TableColumns> = BTreeMap::new();
    let mut selected_days: Vec<NaiveDate> = days_with_rows.collect();
    if let DaySelection::Only(day) = days {
        selected_days.push(day);
    }
    selected_days.sort();
    selected_days.dedup();
    for day in &selected_days {
        // Every call table exists for every day written, empty or not, so that marts can rely on it.
        for call in CallType::ALL {
            shapes.insert(
                (*day, call.table().to_string()),
                TableColumns::for_call(call),
            );
        }
    }
    // Event name → table, per day: the names are made injective over the day's events.
    let mut event_table: HashMap<NaiveDate, HashMap<String, String>> = HashMap::new();
    for day in &selected_days {
        // The most frequent events (then by name) get tables, up to the limit.
        let mut ranked: Vec<(&str, u64)> = properties
            .iter()
            .filter(|((d, _), _)| d == day)
            .map(|((_, event), columns)| (event.as_str(), columns.events()))
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let left_out = ranked.split_off(ranked.len().min(limits.max_event_tables));
        if !left_out.is_empty() {
            let calls: u64 = left_out.iter().map(|(_, n)| n).sum();
            let examples: Vec<String> = left_out
                .iter()
                .take(3)
                .map(|(e, _)| format!("{e:?}"))
                .collect();
            if let Some(tracks) = shapes.get_mut(&(*day, CallType::Track.table().to_string())) {
                tracks.notes.push(format!(
                    "{} track events ({calls} calls) have no table of their own, over max_event_tables ({}): their calls are in tracks only, e.g. {}",
                    left_out.len(),
                    limits.max_event_tables,
                    examples.join(", ")
                ));
            }
        }
        // Named in name order, as every event was before the limit, so names stay stable.
        ranked.sort_by(|a, b| a.0.cmp(b.0));
        let (tables, notes) = event_tables(ranked.iter().map(|(event, _)| *event));
        for (event, table) in tables {
            let columns = &properties[&(*day, event.clone())];
            let mut renamed: Vec<String> = notes
                .iter()
                .filter(|note| note.starts_with(&format!("event {event:?} ")))
                .cloned()
                .collect();
            renamed.extend(columns.cut_note(limits.max_properties_per_event));
            shapes.insert(
                (*day, table.clone()),
                TableColumns::for_event(columns, renamed),
            );
            event_table.entry(*day).or_default().insert(event, table);
        }
    }
    DayShapes {
        shapes,
        event_table,
    }
}
