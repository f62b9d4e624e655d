//! The columns of Segment's tables: the common fields every call has, the fields of each call
//! type, and for each track event its properties, whose types are learnt from the day's data.

use super::event::CallType;
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// The type a column holds; a property's type widens as the day's values are seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Column and table names as Glue and Redshift accept them: lower snake case.
pub fn snake_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 4);
    let mut previous_lower = false;
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && previous_lower {
                out.push('_');
            }
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        } else {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            previous_lower = false;
        }
    }
    let trimmed = out.trim_end_matches('_');
    match trimmed.chars().next() {
        None => "_".into(),
        Some(c) if c.is_ascii_digit() => format!("_{trimmed}"),
        Some(_) => trimmed.to_string(),
    }
}

/// The table a track event's rows go to: its name in snake case, kept clear of the call tables.
pub fn event_table(event: &str) -> String {
    let name = snake_name(event);
    if CallType::ALL.iter().any(|c| c.table() == name) {
        format!("track_{name}")
    } else {
        name
    }
}

/// The property columns of one event table, learnt value by value.
#[derive(Debug, Clone, Default)]
pub struct PropertyColumns {
    /// Column name → kind (None while only nulls were seen), in first-seen order (properties
    /// are seen in name order, so the columns are too).
    columns: Vec<(String, Option<ColumnKind>)>,
    index: HashMap<String, usize>,
    /// Columns that got values of incompatible types, with the types seen.
    conflicts: BTreeMap<String, BTreeSet<&'static str>>,
}

impl PropertyColumns {
    /// Records the types of an event's properties (nested objects flatten to `a_b` columns).
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

    pub fn columns(&self) -> impl Iterator<Item = (&str, ColumnKind)> {
        self.columns
            .iter()
            .map(|(name, kind)| (name.as_str(), kind.unwrap_or(ColumnKind::Text)))
    }

    /// One line per conflicting column, for the manifest.
    pub fn conflict_notes(&self) -> Vec<String> {
        self.conflicts
            .iter()
            .map(|(name, types)| {
                format!(
                    "column {name} had values of types {} and is stored as text",
                    types.iter().copied().collect::<Vec<_>>().join(", ")
                )
            })
            .collect()
    }
}

/// Calls `visit(column, value)` for every leaf property, nested objects named `a_b`: the schema
/// and the rows name columns through this one walk.
pub fn walk_properties<'v>(
    properties: &'v serde_json::Map<String, Value>,
    prefix: &str,
    visit: &mut dyn FnMut(String, &'v Value),
) {
    for (key, value) in properties {
        let name = property_column(prefix, key);
        match value {
            Value::Object(inner) => walk_properties(inner, &name, visit),
            other => visit(name, other),
        }
    }
}

pub fn property_column(prefix: &str, key: &str) -> String {
    let name = snake_name(key);
    if prefix.is_empty() {
        if COMMON_COLUMNS.iter().any(|(c, _)| *c == name) || name == "event" {
            format!("property_{name}")
        } else {
            name
        }
    } else {
        format!("{prefix}_{name}")
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

    pub fn for_event(properties: &PropertyColumns) -> Self {
        Self::new(
            COMMON_COLUMNS
                .iter()
                .map(|(n, k)| (n.to_string(), *k))
                .chain([("event".to_string(), ColumnKind::Text)])
                .chain(properties.columns().map(|(n, k)| (n.to_string(), k)))
                .collect(),
            properties.conflict_notes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_become_lower_snake_case() {
        assert_eq!(snake_name("Product Viewed"), "product_viewed");
        assert_eq!(snake_name("orderId"), "order_id");
        assert_eq!(
            snake_name("Checkout Step 2 — Viewed!"),
            "checkout_step_2_viewed"
        );
        assert_eq!(snake_name("3ds"), "_3ds");
        assert_eq!(event_table("Pages"), "track_pages");
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
                ("cart_size", ColumnKind::Int),
                ("gift", ColumnKind::Bool),
                ("price", ColumnKind::Float),
                ("qty", ColumnKind::Int),
                ("sku", ColumnKind::Text),
            ]
        );
        assert_eq!(
            columns.conflict_notes(),
            vec!["column sku had values of types integer, text and is stored as text"]
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
    fn properties_named_like_common_columns_are_prefixed() {
        let mut columns = PropertyColumns::default();
        columns.observe(json!({"timestamp": "x", "event": "y"}).as_object().unwrap());
        let names: Vec<_> = columns.columns().map(|(n, _)| n.to_string()).collect();
        assert_eq!(names, vec!["property_event", "property_timestamp"]);
    }
}
