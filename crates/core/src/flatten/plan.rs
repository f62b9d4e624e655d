use super::column_type::ColumnType;
use crate::dynamo::{AttributeValue, Item};
use crate::naming::{Namespace, PARTITION_COLUMNS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Name of the table that holds one row per item with its scalar attributes.
pub const ITEMS_TABLE: &str = "_items";
/// Column of the items table that keeps attributes the plan does not know, as JSON.
pub const EXTRA_COLUMN: &str = "_extra";

/// What the user declares about a DynamoDB table; the rest is discovered from a sample.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FlattenConfig {
    /// Lake source name: output goes under `lake/<source>/<table>/`.
    pub source: String,
    /// Attributes that identify an item; repeated on every row of every table.
    pub keys: Vec<String>,
    /// Declared scalar columns and their types; these win over discovery.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnType>,
    /// Declared array attributes and their element types; each becomes its own table.
    #[serde(default)]
    pub arrays: BTreeMap<String, ColumnType>,
    /// Discover undeclared attributes from the first items read.
    #[serde(default = "default_true")]
    pub discover: bool,
    /// How maps inside lists (and map attributes) are written.
    #[serde(default)]
    pub maps: MapMode,
    /// Rows buffered per table before a row group is written: the memory bound.
    #[serde(default = "default_row_group_rows")]
    pub row_group_rows: usize,
    /// A run whose quarantined share of the records read is above this fails and publishes
    /// nothing (the day keeps its data); at or below it, the run publishes and warns.
    #[serde(default = "crate::quarantine::default_max_quarantined_share")]
    pub max_quarantined_share: f64,
}

fn default_true() -> bool {
    true
}

pub fn default_row_group_rows() -> usize {
    128 * 1024
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum MapMode {
    /// Plain JSON text.
    #[default]
    Json,
    /// A struct column whose fields are discovered from the sample.
    Struct,
}

impl FlattenConfig {
    pub fn new(source: impl Into<String>, keys: Vec<String>) -> Self {
        Self {
            source: source.into(),
            keys,
            columns: BTreeMap::new(),
            arrays: BTreeMap::new(),
            discover: true,
            maps: MapMode::Json,
            row_group_rows: default_row_group_rows(),
            max_quarantined_share: crate::quarantine::default_max_quarantined_share(),
        }
    }
}

/// The resolved shape of every output table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlattenPlan {
    pub source: String,
    pub keys: Vec<PlannedColumn>,
    pub scalars: Vec<PlannedColumn>,
    pub arrays: Vec<PlannedColumn>,
    /// Keep attributes outside the plan in the `_extra` JSON column.
    pub keep_extra: bool,
    pub row_group_rows: usize,
    /// The items table's column counting each array's elements, in the order of `arrays`.
    pub count_columns: Vec<String>,
    /// What a reader should know: attributes whose column or table is not named as they are
    /// (see `naming`), and number types inferred from the sample.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The source's `max_quarantined_share`, for the publish.
    #[serde(default = "crate::quarantine::default_max_quarantined_share")]
    pub max_quarantined_share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedColumn {
    /// The attribute as the items hold it.
    pub name: String,
    /// Its column (for arrays, its table), a plain name told apart from every other.
    pub column: String,
    /// For arrays, the element type.
    #[serde(rename = "type")]
    pub ty: ColumnType,
}

/// The element's index in its list, in every array table.
pub const POSITION_COLUMN: &str = "pos";
/// The element itself, in every array table.
pub const VALUE_COLUMN: &str = "value";

impl FlattenPlan {
    /// Resolves the plan: declared types first, then whatever the sample shows.
    pub fn resolve(config: &FlattenConfig, sample: &[Item]) -> Result<Self, String> {
        if config.keys.is_empty() {
            return Err(format!(
                "flatten config for {:?} declares no key attributes; name at least one (e.g. --key query_id)",
                config.source
            ));
        }
        if config.row_group_rows == 0 {
            return Err("row_group_rows must be at least 1".into());
        }
        let mut evidence: BTreeMap<String, Evidence> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        if config.discover {
            for item in sample {
                for (name, value) in &item.attributes {
                    if !evidence.contains_key(name.as_ref()) {
                        order.push(name.to_string());
                    }
                    evidence.entry(name.to_string()).or_default().observe(value);
                }
            }
        }

        let mut keys = Vec::new();
        for key in &config.keys {
            let ty = match config.columns.get(key) {
                Some(ty) => ty.clone(),
                None => evidence
                    .get(key)
                    .map(|e| e.resolve(config.maps))
                    .unwrap_or(ColumnType::String),
            };
            if matches!(ty, ColumnType::Json | ColumnType::Struct(_)) {
                return Err(format!(
                    "key attribute {key:?} holds lists or maps in the sample; a key must be a string, number or binary"
                ));
            }
            keys.push(PlannedColumn {
                name: key.clone(),
                column: String::new(),
                ty,
            });
        }

        let mut scalars = Vec::new();
        let mut arrays = Vec::new();
        let is_key = |name: &str| config.keys.iter().any(|k| k == name);
        for (name, ty) in &config.columns {
            if !is_key(name) {
                scalars.push(PlannedColumn {
                    name: name.clone(),
                    column: String::new(),
                    ty: ty.clone(),
                });
            }
        }
        for (name, ty) in &config.arrays {
            if config.columns.contains_key(name) || is_key(name) {
                return Err(format!(
                    "attribute {name:?} is declared both as a column and as an array; keep one"
                ));
            }
            arrays.push(PlannedColumn {
                name: name.clone(),
                column: String::new(),
                ty: ty.clone(),
            });
        }
        let mut number_notes = Vec::new();
        for name in order {
            if is_key(&name)
                || config.columns.contains_key(&name)
                || config.arrays.contains_key(&name)
            {
                continue;
            }
            let seen = &evidence[&name];
            let evidence_of_values = match &seen.elements {
                Some(elements) if seen.arrays > 0 => elements.as_ref(),
                _ => seen,
            };
            number_notes.extend(evidence_of_values.number_note(&name));
            if seen.arrays > 0 {
                arrays.push(PlannedColumn {
                    name,
                    column: String::new(),
                    ty: seen
                        .elements
                        .as_deref()
                        .map_or(ColumnType::String, |e| e.resolve(config.maps)),
                });
            } else {
                scalars.push(PlannedColumn {
                    ty: seen.resolve(config.maps),
                    column: String::new(),
                    name,
                });
            }
        }
        let (count_columns, mut notes) = name_columns(&mut keys, &mut scalars, &mut arrays);
        notes.extend(number_notes);
        Ok(Self {
            source: config.source.clone(),
            keys,
            scalars,
            arrays,
            keep_extra: config.discover,
            row_group_rows: config.row_group_rows,
            count_columns,
            notes,
            max_quarantined_share: config.max_quarantined_share,
        })
    }

    pub fn table_names(&self) -> Vec<String> {
        std::iter::once(ITEMS_TABLE.to_string())
            .chain(self.arrays.iter().map(|a| a.column.clone()))
            .collect()
    }
}

/// Names every column and table of the plan (see `naming`): keys clear of the partition
/// columns and of the array tables' `pos` and `value`; the items table's columns clear of the
/// keys, of `_extra` and of one another; array tables clear of `_items` (which the catalog
/// calls `items`). Returns the count columns and the notes on renames.
fn name_columns(
    keys: &mut [PlannedColumn],
    scalars: &mut [PlannedColumn],
    arrays: &mut [PlannedColumn],
) -> (Vec<String>, Vec<String>) {
    let mut key_names = Namespace::reserving(PARTITION_COLUMNS.into_iter().chain([
        POSITION_COLUMN,
        VALUE_COLUMN,
        EXTRA_COLUMN,
    ]));
    name_all(keys, &mut key_names, "key attribute");
    let mut tables = Namespace::reserving([ITEMS_TABLE, ITEMS_TABLE.trim_start_matches('_')]);
    name_all(arrays, &mut tables, "list attribute");
    let mut items = Namespace::reserving(PARTITION_COLUMNS.into_iter().chain([EXTRA_COLUMN]));
    for key in keys.iter() {
        items.reserve(&key.column);
    }
    name_all(scalars, &mut items, "attribute");
    let counts: Vec<String> = arrays
        .iter()
        .map(|a| format!("{}_count", a.column))
        .collect();
    let raws: Vec<&str> = counts.iter().map(String::as_str).collect();
    let count_columns = items.assign(&raws, "count column");
    let notes = [key_names, tables, items]
        .into_iter()
        .flat_map(Namespace::into_notes)
        .collect();
    (count_columns, notes)
}

/// Gives each column its name in `names`.
fn name_all(columns: &mut [PlannedColumn], names: &mut Namespace, what: &str) {
    let raws: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let raws: Vec<&str> = raws.iter().map(String::as_str).collect();
    for (column, name) in columns.iter_mut().zip(names.assign(&raws, what)) {
        column.column = name;
    }
}

/// What the sample showed about one attribute (or about the elements of one array).
#[derive(Debug, Default)]
struct Evidence {
    strings: usize,
    numbers: usize,
    fractional: bool,
    wide: bool,
    /// Some number was written with an exponent (`1e5`).
    exponent: bool,
    /// Most digits before the point, and after it, of any plain number seen.
    whole_digits: usize,
    scale: usize,
    bools: usize,
    binaries: usize,
    maps: usize,
    lists_as_values: usize,
    arrays: usize,
    fields: BTreeMap<String, Evidence>,
    field_order: Vec<String>,
    elements: Option<Box<Evidence>>,
}

impl Evidence {
    fn observe(&mut self, value: &AttributeValue) {
        match value {
            AttributeValue::S(_) => self.strings += 1,
            AttributeValue::N(n) => self.observe_number(n),
            AttributeValue::B(_) => self.binaries += 1,
            AttributeValue::Bool(_) => self.bools += 1,
            AttributeValue::Null => {}
            AttributeValue::M(entries) => {
                self.maps += 1;
                for (name, v) in entries {
                    if !self.fields.contains_key(name.as_ref()) {
                        self.field_order.push(name.to_string());
                    }
                    self.fields
                        .entry(name.to_string())
                        .or_default()
                        .observe_as_element(v);
                }
            }
            AttributeValue::L(values) => {
                self.arrays += 1;
                let elements = self.elements.get_or_insert_with(Default::default);
                for v in values {
                    elements.observe_as_element(v);
                }
            }
            AttributeValue::Ss(values) => {
                self.arrays += 1;
                self.elements.get_or_insert_with(Default::default).strings += values.len();
            }
            AttributeValue::Ns(values) => {
                self.arrays += 1;
                let elements = self.elements.get_or_insert_with(Default::default);
                for n in values {
                    elements.observe_number(n);
                }
            }
            AttributeValue::Bs(values) => {
                self.arrays += 1;
                self.elements.get_or_insert_with(Default::default).binaries += values.len();
            }
        }
    }

    /// Inside an array or a map, a nested list is a value, not another table.
    fn observe_as_element(&mut self, value: &AttributeValue) {
        if value.is_array() {
            self.lists_as_values += 1;
        } else {
            self.observe(value);
        }
    }

    fn observe_number(&mut self, n: &str) {
        self.numbers += 1;
        if n.parse::<i64>().is_ok() {
            return;
        }
        let digits = n.trim_start_matches(['-', '+']);
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let plain = [whole, fraction]
            .iter()
            .all(|part| part.bytes().all(|b| b.is_ascii_digit()));
        if !plain {
            // Exponent notation: exact digits are kept only as text.
            self.exponent = true;
            self.fractional = true;
            return;
        }
        let whole_digits = whole.trim_start_matches('0').len();
        self.whole_digits = self.whole_digits.max(whole_digits);
        self.scale = self.scale.max(fraction.len());
        if fraction.is_empty() {
            self.wide = true;
        } else {
            self.fractional = true;
        }
    }

    /// The type of a number-only attribute: Int64 when every value fits; else a decimal that
    /// keeps every digit the sample shows; else text, which keeps them too.
    fn number_type(&self) -> ColumnType {
        if !self.fractional && !self.wide {
            return ColumnType::Int64;
        }
        if !self.exponent && self.whole_digits + self.scale <= 38 {
            ColumnType::Decimal {
                precision: 38,
                scale: self.scale as i8,
            }
        } else {
            ColumnType::String
        }
    }

    /// What a reader should know of a number attribute's inferred type, if anything.
    fn number_note(&self, name: &str) -> Option<String> {
        if self.strings > 0 || self.numbers == 0 || !(self.fractional || self.wide) {
            return None;
        }
        Some(match self.number_type() {
            ColumnType::String => format!(
                "attribute {name:?} holds numbers no decimal(38,S) can hold exactly (exponents or over 38 digits in the sample); they are kept as text. Declare it float64 in columns to trade digits for a number type"
            ),
            ty => format!(
                "attribute {name:?} is typed {ty} from the sample, so every digit is kept; a later value with more digits is quarantined. Declare its type in columns to choose another"
            ),
        })
    }

    fn resolve(&self, maps: MapMode) -> ColumnType {
        let kinds = [
            self.strings,
            self.numbers,
            self.bools,
            self.binaries,
            self.maps,
            self.lists_as_values,
        ]
        .iter()
        .filter(|&&n| n > 0)
        .count();
        if kinds == 0 {
            return ColumnType::String;
        }
        if kinds > 1 {
            // Numbers written as text keep their exact digits, so S+N mixes stay strings.
            return if self.strings > 0 && self.numbers > 0 && kinds == 2 {
                ColumnType::String
            } else {
                ColumnType::Json
            };
        }
        if self.strings > 0 {
            ColumnType::String
        } else if self.numbers > 0 {
            self.number_type()
        } else if self.bools > 0 {
            ColumnType::Bool
        } else if self.binaries > 0 {
            ColumnType::Binary
        } else if self.maps > 0 && maps == MapMode::Struct {
            ColumnType::Struct(
                self.field_order
                    .iter()
                    .map(|name| {
                        let field = &self.fields[name];
                        let ty = match field.resolve(MapMode::Json) {
                            ColumnType::Struct(_) => ColumnType::Json,
                            other => other,
                        };
                        (name.clone(), ty)
                    })
                    .collect(),
            )
        } else {
            ColumnType::Json
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(json: &str) -> Item<'static> {
        Item::from_dynamodb_json(json).unwrap()
    }

    #[test]
    fn discovers_scalars_arrays_and_element_types() {
        let sample = vec![
            item(
                r#"{"id":{"S":"a"},"n":{"N":"1"},"f":{"N":"1.5"},"tags":{"SS":["x"]},"scores":{"L":[{"N":"1"},{"N":"2.5"}]},"ok":{"BOOL":true}}"#,
            ),
            item(
                r#"{"id":{"S":"b"},"n":{"N":"2"},"tags":{"L":[{"S":"y"}]},"extra":{"M":{"k":{"S":"v"}}}}"#,
            ),
        ];
        let plan =
            FlattenPlan::resolve(&FlattenConfig::new("t", vec!["id".into()]), &sample).unwrap();
        assert_eq!(
            plan.keys,
            vec![PlannedColumn {
                name: "id".into(),
                column: "id".into(),
                ty: ColumnType::String
            }]
        );
        let scalar = |n: &str| {
            plan.scalars
                .iter()
                .find(|c| c.name == n)
                .unwrap()
                .ty
                .clone()
        };
        assert_eq!(scalar("n"), ColumnType::Int64);
        let one_place = ColumnType::Decimal {
            precision: 38,
            scale: 1,
        };
        assert_eq!(
            scalar("f"),
            one_place,
            "a decimal keeps the digits a double would round"
        );
        assert_eq!(scalar("ok"), ColumnType::Bool);
        assert_eq!(scalar("extra"), ColumnType::Json);
        let array = |n: &str| plan.arrays.iter().find(|c| c.name == n).unwrap().ty.clone();
        assert_eq!(array("tags"), ColumnType::String);
        assert_eq!(array("scores"), one_place);
    }

    #[test]
    fn maps_in_lists_become_structs_when_asked() {
        let sample = vec![item(
            r#"{"id":{"S":"a"},"lines":{"L":[{"M":{"sku":{"S":"x"},"qty":{"N":"2"}}}]}}"#,
        )];
        let mut config = FlattenConfig::new("t", vec!["id".into()]);
        config.maps = MapMode::Struct;
        let plan = FlattenPlan::resolve(&config, &sample).unwrap();
        assert_eq!(
            plan.arrays[0].ty.to_string(),
            "struct<sku:string,qty:int64>"
        );
    }

    #[test]
    fn declared_types_win_over_the_sample() {
        let sample = vec![item(r#"{"id":{"N":"1"},"price":{"N":"10"}}"#)];
        let mut config = FlattenConfig::new("t", vec!["id".into()]);
        config
            .columns
            .insert("price".into(), "decimal(10,2)".parse().unwrap());
        let plan = FlattenPlan::resolve(&config, &sample).unwrap();
        assert_eq!(plan.keys[0].ty, ColumnType::Int64);
        assert_eq!(plan.scalars[0].ty.to_string(), "decimal(10,2)");
    }

    #[test]
    fn refuses_a_plan_without_keys() {
        let err = FlattenPlan::resolve(&FlattenConfig::new("t", vec![]), &[]).unwrap_err();
        assert!(err.contains("declares no key attributes"), "{err}");
    }
}
