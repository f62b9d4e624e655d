//! The columns of Segment's tables: the common fields every call has, the fields of each call
//! type, and for each track event its properties, whose types are learnt from the day's data.

use super::event::CallType;
use crate::naming::{Namespace, PARTITION_COLUMNS};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// The type a column holds; a property's type widens as the day's values are seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    Bool,
    Int,
    Float,
    Text,
    Timestamp,
}

impl ColumnKind {
    pub fn arrow(self) -> DataType {
        match self {
            ColumnKind::Bool => DataType::Boolean,
            ColumnKind::Int => DataType::Int64,
            ColumnKind::Float => DataType::Float64,
            ColumnKind::Text => DataType::Utf8,
            ColumnKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        }
    }

    const ALL: [ColumnKind; 5] = [
        ColumnKind::Bool,
        ColumnKind::Int,
        ColumnKind::Float,
        ColumnKind::Text,
        ColumnKind::Timestamp,
    ];

    fn name(self) -> &'static str {
        match self {
            ColumnKind::Bool => "boolean",
            ColumnKind::Int => "integer",
            ColumnKind::Float => "number",
            ColumnKind::Text => "text",
            ColumnKind::Timestamp => "timestamp",
        }
    }
}

/// Columns every table has, in order.
pub const COMMON_COLUMNS: &[(&str, ColumnKind)] = &[
    ("message_id", ColumnKind::Text),
    ("anonymous_id", ColumnKind::Text),
    ("user_id", ColumnKind::Text),
    ("timestamp", ColumnKind::Timestamp),
    ("received_at", ColumnKind::Timestamp),
    ("sent_at", ColumnKind::Timestamp),
    ("context_ip", ColumnKind::Text),
    ("context_user_agent", ColumnKind::Text),
    ("context_locale", ColumnKind::Text),
    ("context_page_path", ColumnKind::Text),
    ("context_page_referrer", ColumnKind::Text),
    ("context_page_search", ColumnKind::Text),
    ("context_page_title", ColumnKind::Text),
    ("context_page_url", ColumnKind::Text),
    ("context_library_name", ColumnKind::Text),
    ("context_library_version", ColumnKind::Text),
    ("context_campaign_name", ColumnKind::Text),
    ("context_campaign_source", ColumnKind::Text),
    ("context_campaign_medium", ColumnKind::Text),
    ("context_campaign_term", ColumnKind::Text),
    ("context_campaign_content", ColumnKind::Text),
];

/// The columns after the common ones in a call type's table; objects are kept as JSON text.
pub fn call_columns(call: CallType) -> &'static [(&'static str, ColumnKind)] {
    match call {
        CallType::Track => &[
            ("event", ColumnKind::Text),
            ("properties", ColumnKind::Text),
        ],
        CallType::Page | CallType::Screen => {
            &[("name", ColumnKind::Text), ("properties", ColumnKind::Text)]
        }
        CallType::Identify => &[("traits", ColumnKind::Text)],
        CallType::Group => &[("group_id", ColumnKind::Text), ("traits", ColumnKind::Text)],
        CallType::Alias => &[("previous_id", ColumnKind::Text)],
    }
}

/// The tables of one day's track events, named after the events in a namespace of their own
/// (clear of the call tables): raw event name → table name, with the notes on renames.
pub fn event_tables<'e>(
    events: impl IntoIterator<Item = &'e str>,
) -> (HashMap<String, String>, Vec<String>) {
    let raws: Vec<&str> = events.into_iter().collect();
    let mut names = Namespace::reserving(CallType::ALL.iter().map(|c| c.table()));
    let assigned = names.assign(&raws, "event");
    let tables = raws
        .iter()
        .map(|raw| raw.to_string())
        .zip(assigned)
        .collect();
    (tables, names.into_notes())
}

/// The property columns of one event table, learnt value by value. Kept between the steps of
/// a fan-out as its columns and conflicts; the index is rebuilt when read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "SavedColumns", into = "SavedColumns")]
pub struct PropertyColumns {
    /// Property path → kind (None while only nulls were seen), in first-seen order (properties
    /// are seen in name order, so the columns are too).
    columns: Vec<(String, Option<ColumnKind>)>,
    index: HashMap<String, usize>,
    /// Columns that got values of incompatible types, with the types seen.
    conflicts: BTreeMap<String, BTreeSet<&'static str>>,
    /// Events observed, which rank the events when a day has more than a source takes.
    events: u64,
    /// Property paths left out of the columns because the table had its limit (the smallest
    /// names in name order are kept, so the choice does not depend on the files' order), at
    /// most `CUT_NAMES_KEPT` of them, and how many more there were.
    cut: BTreeSet<String>,
    cut_more: u64,
    /// The largest kept path once the columns are full, so that a cut costs one comparison.
    largest: Option<String>,
}

/// Cut property names remembered for the warning and the merge; past that they are counted.
const CUT_NAMES_KEPT: usize = 10_000;

/// The column an event table's properties beyond its limit go to, as one JSON object.
pub const EXTRA_PROPERTIES_COLUMN: &str = "_extra";

impl PropertyColumns {
    /// Records the types of an event's properties (nested objects flatten to `a.b` paths).
    pub fn observe(&mut self, properties: &serde_json::Map<String, Value>) {
        self.observe_within(properties, usize::MAX);
    }

    /// As `observe`, keeping at most `limit` columns: the `limit` smallest property paths in
    /// name order, whatever order the events and files come in; the others are cut.
    pub fn observe_within(&mut self, properties: &serde_json::Map<String, Value>, limit: usize) {
        self.events += 1;
        walk_properties(properties, "", &mut |name, value| {
            self.observe_one(name, value_kind(value), limit)
        });
    }

    fn cut_name(&mut self, name: String) {
        if self.cut.contains(&name) {
            return;
        }
        if self.cut.len() < CUT_NAMES_KEPT {
            self.cut.insert(name);
        } else {
            self.cut_more += 1;
        }
    }

    fn observe_one(&mut self, name: String, kind: Option<ColumnKind>, limit: usize) {
        let at = match self.index.get(&name) {
            Some(&at) => at,
            None if self.columns.len() < limit => {
                self.largest = None;
                self.cut.remove(&name);
                self.index.insert(name.clone(), self.columns.len());
                self.columns.push((name, None));
                self.columns.len() - 1
            }
            None => {
                // Full: the name takes the place of the largest kept one if it sorts before it.
                if self.largest.is_none() {
                    self.largest = self.columns.iter().map(|(n, _)| n).max().cloned();
                }
                match self.largest.take() {
                    Some(largest) if name < largest => {
                        let at = self.index[&largest];
                        self.columns.remove(at);
                        self.conflicts.remove(&largest);
                        self.cut_name(largest);
                        self.cut.remove(&name);
                        self.index = self
                            .columns
                            .iter()
                            .enumerate()
                            .map(|(at, (name, _))| (name.clone(), at))
                            .collect();
                        self.index.insert(name.clone(), self.columns.len());
                        self.columns.push((name, None));
                        self.columns.len() - 1
                    }
                    largest => {
                        self.largest = largest;
                        self.cut_name(name);
                        return;
                    }
                }
            }
        };
        let Some(kind) = kind else { return };
        let (name, current) = &mut self.columns[at];
        *current = Some(match *current {
            None => kind,
            Some(seen) if seen == kind => seen,
            Some(ColumnKind::Int) if kind == ColumnKind::Float => ColumnKind::Float,
            Some(ColumnKind::Float) if kind == ColumnKind::Int => ColumnKind::Float,
            Some(seen) => {
                let types = self.conflicts.entry(name.clone()).or_default();
                types.insert(seen.name());
                types.insert(kind.name());
                ColumnKind::Text
            }
        });
    }

    /// Folds another file's observations into these (the result does not depend on order).
    pub fn merge(&mut self, other: &PropertyColumns) {
        self.merge_within(other, usize::MAX);
    }

    /// As `merge`, keeping at most `limit` columns, chosen as `observe_within` chooses them.
    pub fn merge_within(&mut self, other: &PropertyColumns, limit: usize) {
        self.events += other.events;
        for (name, kind) in &other.columns {
            self.observe_one(name.clone(), *kind, limit);
        }
        for (name, types) in &other.conflicts {
            if self.index.contains_key(name) {
                self.conflicts
                    .entry(name.clone())
                    .or_default()
                    .extend(types.iter().copied());
            }
        }
        for name in &other.cut {
            if !self.index.contains_key(name) {
                self.cut_name(name.clone());
            }
        }
        self.cut_more += other.cut_more;
    }

    /// How many events were observed.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Whether some properties were left out of the columns (they go to `_extra`).
    pub fn has_cut(&self) -> bool {
        !self.cut.is_empty()
    }

    /// The warning for the properties left out, if any.
    pub fn cut_note(&self, limit: usize) -> Option<String> {
        if self.cut.is_empty() {
            return None;
        }
        let count = self.cut.len() as u64 + self.cut_more;
        let examples: Vec<&str> = self.cut.iter().take(3).map(String::as_str).collect();
        Some(format!(
            "{count} properties beyond the {limit} kept as columns (max_properties_per_event; Spectrum reads at most 1,600 columns) are kept as JSON in {EXTRA_PROPERTIES_COLUMN}, e.g. {}",
            examples.join(", ")
        ))
    }

    /// Every property path and the kind of its column.
    pub fn columns(&self) -> impl Iterator<Item = (&str, ColumnKind)> {
        self.columns
            .iter()
            .map(|(name, kind)| (name.as_str(), kind.unwrap_or(ColumnKind::Text)))
    }

    /// One line per conflicting property, for the manifest.
    pub fn conflict_notes(&self) -> Vec<String> {
        self.conflicts
            .iter()
            .map(|(name, types)| {
                format!(
                    "property {name:?} had values of types {} and is stored as text",
                    types.iter().copied().collect::<Vec<_>>().join(", ")
                )
            })
            .collect()
    }
}

#[derive(Serialize, Deserialize)]
struct SavedColumns {
    columns: Vec<(String, Option<ColumnKind>)>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    conflicts: BTreeMap<String, BTreeSet<ColumnKind>>,
    #[serde(default)]
    events: u64,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    cut: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    cut_more: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl From<PropertyColumns> for SavedColumns {
    fn from(columns: PropertyColumns) -> Self {
        let kind_named = |name: &str| {
            ColumnKind::ALL
                .into_iter()
                .find(|kind| kind.name() == name)
                .expect("conflicts hold kinds' names")
        };
        Self {
            conflicts: columns
                .conflicts
                .into_iter()
                .map(|(name, types)| (name, types.into_iter().map(kind_named).collect()))
                .collect(),
            columns: columns.columns,
            events: columns.events,
            cut: columns.cut,
            cut_more: columns.cut_more,
        }
    }
}

impl From<SavedColumns> for PropertyColumns {
    fn from(saved: SavedColumns) -> Self {
        Self {
            index: saved
                .columns
                .iter()
                .enumerate()
                .map(|(at, (name, _))| (name.clone(), at))
                .collect(),
            columns: saved.columns,
            conflicts: saved
                .conflicts
                .into_iter()
                .map(|(name, kinds)| (name, kinds.into_iter().map(ColumnKind::name).collect()))
                .collect(),
            events: saved.events,
            cut: saved.cut,
            cut_more: saved.cut_more,
            largest: None,
        }
    }
}

/// Calls `visit(path, value)` for every leaf property: the schema and the rows find a leaf's
/// column through this one walk. The path is the keys from the top joined by `.` (a `.` or `\\`
/// inside a key is escaped with `\\`), so two different leaves never share a path.
pub fn walk_properties<'v>(
    properties: &'v serde_json::Map<String, Value>,
    prefix: &str,
    visit: &mut dyn FnMut(String, &'v Value),
) {
    for (key, value) in properties {
        let path = property_path(prefix, key);
        match value {
            Value::Object(inner) => walk_properties(inner, &path, visit),
            other => visit(path, other),
        }
    }
}

fn property_path(prefix: &str, key: &str) -> String {
    let mut path = String::with_capacity(prefix.len() + key.len() + 1);
    if !prefix.is_empty() {
        path.push_str(prefix);
        path.push('.');
    }
    if key.contains(['.', '\\']) {
        for c in key.chars() {
            if c == '.' || c == '\\' {
                path.push('\\');
            }
            path.push(c);
        }
    } else {
        path.push_str(key);
    }
    path
}

/// A track event's properties as the columns of its event table read them (none when they are
/// not an object), or why they cannot be: nested deeper than serde_json's 128 levels, or a
/// number past a double's range (`1e400`). Both passes of an export decide with this one
/// function, so an event is quarantined in the first exactly when the second would skip it.
pub fn event_properties(
    raw: Option<&serde_json::value::RawValue>,
) -> Result<serde_json::Map<String, Value>, String> {
    let Some(raw) = raw else {
        return Ok(serde_json::Map::new());
    };
    match serde_json::from_str(raw.get()) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Ok(serde_json::Map::new()),
        Err(e) => Err(format!(
            "properties cannot become columns ({e}); daybook reads properties nested at most 128 levels, with numbers a double can hold"
        )),
    }
}

/// A leaf's kind; nulls have none, arrays are kept as JSON text.
pub fn value_kind(value: &Value) -> Option<ColumnKind> {
    match value {
        Value::Null => None,
        Value::Bool(_) => Some(ColumnKind::Bool),
        Value::Number(n) if n.is_i64() => Some(ColumnKind::Int),
        Value::Number(_) => Some(ColumnKind::Float),
        Value::String(_) | Value::Array(_) | Value::Object(_) => Some(ColumnKind::Text),
    }
}

/// A table's full column list and its Arrow schema.
#[derive(Debug, Clone)]
pub struct TableColumns {
    pub columns: Vec<(String, ColumnKind)>,
    pub schema: Arc<Schema>,
    /// Property path → index of its column, for event tables.
    pub properties: HashMap<String, usize>,
    /// The `_extra` column of an event table whose properties were cut, where they go.
    pub extra: Option<usize>,
    pub notes: Vec<String>,
}

impl TableColumns {
    pub fn new(columns: Vec<(String, ColumnKind)>, notes: Vec<String>) -> Self {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(name, kind)| Field::new(name, kind.arrow(), name != "message_id"))
            .collect();
        Self {
            columns,
            schema: Arc::new(Schema::new(fields)),
            properties: HashMap::new(),
            extra: None,
            notes,
        }
    }

    pub fn for_call(call: CallType) -> Self {
        Self::new(
            COMMON_COLUMNS
                .iter()
                .chain(call_columns(call))
                .map(|(n, k)| (n.to_string(), *k))
                .collect(),
            vec![],
        )
    }

    /// An event's table: the common columns, `event`, then one column per property path, named
    /// clear of the others (`notes` come first in the manifest, then the renames).
    pub fn for_event(properties: &PropertyColumns, mut notes: Vec<String>) -> Self {
        let mut names = Namespace::reserving(
            COMMON_COLUMNS
                .iter()
                .map(|(name, _)| *name)
                .chain(["event", EXTRA_PROPERTIES_COLUMN])
                .chain(PARTITION_COLUMNS),
        );
        let paths: Vec<(&str, ColumnKind)> = properties.columns().collect();
        let raws: Vec<&str> = paths.iter().map(|(path, _)| *path).collect();
        let assigned = names.assign(&raws, "property");
        let mut columns: Vec<(String, ColumnKind)> = COMMON_COLUMNS
            .iter()
            .map(|(n, k)| (n.to_string(), *k))
            .chain([("event".to_string(), ColumnKind::Text)])
            .collect();
        let mut index = HashMap::with_capacity(paths.len());
        for ((path, kind), name) in paths.iter().zip(assigned) {
            index.insert(path.to_string(), columns.len());
            columns.push((name, *kind));
        }
        notes.extend(names.into_notes());
        notes.extend(properties.conflict_notes());
        let extra = properties.has_cut().then(|| {
            columns.push((EXTRA_PROPERTIES_COLUMN.to_string(), ColumnKind::Text));
            columns.len() - 1
        });
        Self {
            properties: index,
            extra,
            ..Self::new(columns, notes)
        }
    }
}

#[cfg(test)]
mod tests;
