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
}

impl PropertyColumns {
    /// Records the types of an event's properties (nested objects flatten to `a.b` paths).
    pub fn observe(&mut self, properties: &serde_json::Map<String, Value>) {
        walk_properties(properties, "", &mut |name, value| {
            self.observe_one(name, value_kind(value))
        });
    }

    fn observe_one(&mut self, name: String, kind: Option<ColumnKind>) {
        let at = match self.index.get(&name) {
            Some(&at) => at,
            None => {
                self.index.insert(name.clone(), self.columns.len());
                self.columns.push((name, None));
                self.columns.len() - 1
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
        for (name, kind) in &other.columns {
            self.observe_one(name.clone(), *kind);
        }
        for (name, types) in &other.conflicts {
            self.conflicts
                .entry(name.clone())
                .or_default()
                .extend(types.iter().copied());
        }
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
                .chain(["event"])
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
        Self {
            properties: index,
            ..Self::new(columns, notes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_tables_are_snake_case_and_clear_of_the_call_tables() {
        let (tables, notes) = event_tables([
            "Product Viewed",
            "Checkout Step 2 — Viewed!",
            "Pages",
            "注文完了",
        ]);
        assert_eq!(tables["Product Viewed"], "product_viewed");
        assert_eq!(
            tables["Checkout Step 2 — Viewed!"],
            "checkout_step_2_viewed"
        );
        assert!(tables["Pages"].starts_with("pages_"), "{tables:?}");
        assert!(
            tables["注文完了"].starts_with("zhu_wen_wan_liao_"),
            "{tables:?}"
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[test]
    fn types_widen_and_conflicts_fall_back_to_text() {
        let mut columns = PropertyColumns::default();
        columns.observe(
            json!({"qty": 1, "price": 3, "sku": "a", "gift": null, "cart": {"size": 2}})
                .as_object()
                .unwrap(),
        );
        columns.observe(
            json!({"qty": 2, "price": 3.5, "sku": 7, "gift": true})
                .as_object()
                .unwrap(),
        );
        let kinds: Vec<_> = columns.columns().collect();
        assert_eq!(
            kinds,
            vec![
                ("cart.size", ColumnKind::Int),
                ("gift", ColumnKind::Bool),
                ("price", ColumnKind::Float),
                ("qty", ColumnKind::Int),
                ("sku", ColumnKind::Text),
            ]
        );
        assert_eq!(
            columns.conflict_notes(),
            vec!["property \"sku\" had values of types integer, text and is stored as text"]
        );
    }

    #[test]
    fn merging_files_gives_the_same_types_in_any_order() {
        let mut a = PropertyColumns::default();
        a.observe(json!({"v": 1}).as_object().unwrap());
        let mut b = PropertyColumns::default();
        b.observe(json!({"v": "x"}).as_object().unwrap());
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(
            ab.columns().collect::<Vec<_>>(),
            ba.columns().collect::<Vec<_>>()
        );
        assert_eq!(ab.conflict_notes(), ba.conflict_notes());
    }

    #[test]
    fn property_columns_survive_being_kept_as_json() {
        let mut columns = PropertyColumns::default();
        columns.observe(
            json!({"v": 1, "w": null, "x": {"y": true}})
                .as_object()
                .unwrap(),
        );
        columns.observe(json!({"v": "text", "z": 2.5}).as_object().unwrap());
        let kept: PropertyColumns =
            serde_json::from_value(serde_json::to_value(&columns).unwrap()).unwrap();
        assert_eq!(
            kept.columns().collect::<Vec<_>>(),
            columns.columns().collect::<Vec<_>>()
        );
        assert_eq!(kept.conflict_notes(), columns.conflict_notes());
        let mut merged = kept.clone();
        merged.observe(json!({"w": 3}).as_object().unwrap());
        assert_eq!(
            merged.columns().count(),
            4,
            "the index was rebuilt: no column twice"
        );
    }

    #[test]
    fn properties_never_shadow_common_or_partition_columns_nor_one_another() {
        let mut properties = PropertyColumns::default();
        properties.observe(
            json!({"timestamp": "x", "event": "y", "dt": 1, "a_b": 1, "a": {"b": 2}, "A": 3, "注文": 4, "金額": 5})
                .as_object()
                .unwrap(),
        );
        let table = TableColumns::for_event(&properties, vec![]);
        let names: Vec<&str> = table.columns.iter().map(|(n, _)| n.as_str()).collect();
        let unique: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert_eq!(table.properties.len(), 8);
        assert_eq!(names[table.properties["a_b"]], "a_b");
        assert_ne!(names[table.properties["a.b"]], "a_b");
        assert_ne!(names[table.properties["dt"]], "dt");
        assert_eq!(table.notes.len(), 6, "{:?}", table.notes);
    }
}
