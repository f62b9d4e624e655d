use super::column_type::ColumnType;
use super::columns::ColumnBuilder;
use super::plan::{EXTRA_COLUMN, FlattenPlan, ITEMS_TABLE, POSITION_COLUMN, VALUE_COLUMN};
use super::value_ref::ValueRef;
use crate::dynamo::{AttributeValue, Item};
use crate::lake::PartitionLayout;
use crate::parquet_sink::{ParquetSink, WrittenFile};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use std::path::Path;
use std::sync::Arc;

/// One output table: its name, Arrow schema and the column types behind the schema.
pub struct TableShape {
    pub name: String,
    pub schema: SchemaRef,
    pub types: Vec<ColumnType>,
}

/// Every output table of a plan, `_items` first.
pub fn table_shapes(plan: &FlattenPlan) -> Vec<TableShape> {
    let keys = || {
        plan.keys
            .iter()
            .map(|k| (k.column.clone(), k.ty.clone(), false))
    };
    let mut items: Vec<(String, ColumnType, bool)> = keys().collect();
    items.extend(
        plan.scalars
            .iter()
            .map(|c| (c.column.clone(), c.ty.clone(), true)),
    );
    items.extend(
        plan.count_columns
            .iter()
            .map(|name| (name.clone(), ColumnType::Int32, true)),
    );
    if plan.keep_extra {
        items.push((EXTRA_COLUMN.to_string(), ColumnType::Json, true));
    }
    let mut shapes = vec![TableShape::new(ITEMS_TABLE, items)];
    for array in &plan.arrays {
        let mut columns: Vec<_> = keys().collect();
        columns.push((POSITION_COLUMN.to_string(), ColumnType::Int32, false));
        columns.push((VALUE_COLUMN.to_string(), array.ty.clone(), true));
        shapes.push(TableShape::new(&array.column, columns));
    }
    shapes
}

impl TableShape {
    fn new(name: &str, columns: Vec<(String, ColumnType, bool)>) -> Self {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, t, nullable)| t.field(n, *nullable))
            .collect();
        Self {
            name: name.to_string(),
            schema: Arc::new(Schema::new(fields)),
            types: columns.into_iter().map(|(_, t, _)| t).collect(),
        }
    }
}

struct TableWriter {
    name: String,
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    buffered: usize,
    sink: ParquetSink,
}

impl TableWriter {
    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffered == 0 {
            return Ok(());
        }
        let arrays = self.columns.iter_mut().map(ColumnBuilder::finish).collect();
        let batch =
            RecordBatch::try_new(self.schema.clone(), arrays).map_err(std::io::Error::other)?;
        self.buffered = 0;
        self.sink.write(&batch)
    }
}

/// One output file per table, fed item by item. An item is checked against every column before
/// anything is appended, so it lands in all tables or (with its reason) in none.
pub struct TableSet<'p> {
    plan: &'p FlattenPlan,
    items: TableWriter,
    arrays: Vec<TableWriter>,
    items_written: u64,
    /// Attribute names of the plan's keys, scalars and arrays, in that order.
    slot_names: Vec<String>,
}

/// A table's file from one part of the input.
#[derive(Debug, Clone)]
pub struct TablePart {
    pub table: String,
    pub key: String,
    pub file: WrittenFile,
}

impl<'p> TableSet<'p> {
    pub fn create(
        plan: &'p FlattenPlan,
        layout: &PartitionLayout,
        staging: &Path,
        part: usize,
    ) -> std::io::Result<Self> {
        let mut writers = Vec::new();
        let keys: Vec<String> = plan.keys.iter().map(|k| k.column.clone()).collect();
        for shape in table_shapes(plan) {
            let key = layout.part_key(&shape.name, part);
            let sink = ParquetSink::create(
                &crate::lake::staged_path(staging, &key).map_err(std::io::Error::other)?,
                shape.schema.clone(),
                plan.row_group_rows,
                &keys,
            )?;
            let columns = shape
                .types
                .iter()
                .map(|ty| ColumnBuilder::with_capacity(ty, plan.row_group_rows))
                .collect();
            writers.push(TableWriter {
                name: shape.name,
                schema: shape.schema,
                columns,
                buffered: 0,
                sink,
            });
        }
        let items = writers.remove(0);
        Ok(Self {
            plan,
            items,
            arrays: writers,
            items_written: 0,
            slot_names: plan
                .keys
                .iter()
                .chain(&plan.scalars)
                .chain(&plan.arrays)
                .map(|c| c.name.clone())
                .collect(),
        })
    }

    /// Writes the item to every table, or returns (in the inner `Err`) the reason it must be
    /// quarantined, having written nothing. The outer error is a failed write.
    pub fn push(&mut self, item: &Item) -> std::io::Result<Result<(), String>> {
        let plan = self.plan;
        // One pass over the item's attributes places each in its plan slot (keys, scalars,
        // arrays); checking and appending then never search by name again.
        let mut slots: Vec<Option<&AttributeValue>> = vec![None; self.slot_names.len()];
        let mut has_extra = false;
        for (name, value) in &item.attributes {
            match self.slot_names.iter().position(|n| n == name) {
                Some(slot) => slots[slot] = Some(value),
                None => has_extra = true,
            }
        }
        let (keys, rest) = slots.split_at(plan.keys.len());
        let (scalars, arrays) = rest.split_at(plan.scalars.len());
        if let Err(reason) = Self::check(plan, keys, scalars, arrays) {
            return Ok(Err(reason));
        }
        let keys: Vec<&AttributeValue> = keys
            .iter()
            .map(|k| k.expect("check ensured every key is present"))
            .collect();

        let columns = &mut self.items.columns;
        let mut col = 0;
        for key in &keys {
            columns[col].append(Some(ValueRef::Attribute(key)));
            col += 1;
        }
        for value in scalars {
            columns[col].append(value.map(ValueRef::Attribute));
            col += 1;
        }
        for value in arrays {
            columns[col].append_i32(value.and_then(|v| v.element_count()).map(|c| c as i32));
            col += 1;
        }
        if plan.keep_extra {
            let text = has_extra.then(|| {
                let extra: serde_json::Map<String, serde_json::Value> = item
                    .attributes
                    .iter()
                    .filter(|(name, _)| !self.slot_names.iter().any(|known| known == name))
                    .map(|(name, v)| (name.to_string(), v.to_plain_json()))
                    .collect();
                serde_json::Value::Object(extra).to_string()
            });
            columns[col].append_str(text.as_deref());
        }
        self.items.buffered += 1;
        self.items_written += 1;
        if self.items.buffered >= plan.row_group_rows {
            self.items.flush()?;
        }

        for (value, writer) in arrays.iter().zip(self.arrays.iter_mut()) {
            let Some(value) = value else { continue };
            let mut pos = 0i32;
            ValueRef::for_each_element(value, |element| {
                for (i, key) in keys.iter().enumerate() {
                    writer.columns[i].append(Some(ValueRef::Attribute(key)));
                }
                writer.columns[keys.len()].append_i32(Some(pos));
                writer.columns[keys.len() + 1].append(Some(element));
                pos += 1;
            });
            writer.buffered += pos as usize;
            if writer.buffered >= plan.row_group_rows {
                writer.flush()?;
            }
        }
        Ok(Ok(()))
    }

    /// Why an item (its values in plan order) does not fit the plan, if it does not.
    fn check(
        plan: &FlattenPlan,
        keys: &[Option<&AttributeValue>],
        scalars: &[Option<&AttributeValue>],
        arrays: &[Option<&AttributeValue>],
    ) -> Result<(), String> {
        for (key, value) in plan.keys.iter().zip(keys) {
            match value {
                None | Some(AttributeValue::Null) => {
                    return Err(format!("item has no key attribute {:?}", key.name));
                }
                Some(v) => ColumnBuilder::check(&key.ty, Some(ValueRef::Attribute(v)))
                    .map_err(|e| format!("key attribute {:?}: {e}", key.name))?,
            }
        }
        for (column, value) in plan.scalars.iter().zip(scalars) {
            ColumnBuilder::check(&column.ty, value.map(ValueRef::Attribute))
                .map_err(|e| format!("attribute {:?}: {e}", column.name))?;
        }
        for (array, value) in plan.arrays.iter().zip(arrays) {
            let Some(value) = value else { continue };
            if matches!(value, AttributeValue::Null) {
                continue;
            }
            let mut failure = None;
            let mut pos = 0;
            let is_array = ValueRef::for_each_element(value, |element| {
                if failure.is_none()
                    && let Err(e) = ColumnBuilder::check(&array.ty, Some(element))
                {
                    failure = Some(format!("attribute {:?}[{pos}]: {e}", array.name));
                }
                pos += 1;
            });
            if !is_array {
                return Err(format!(
                    "attribute {:?}: expected a list or set, found {}",
                    array.name,
                    value.kind().tag()
                ));
            }
            if let Some(reason) = failure {
                return Err(reason);
            }
        }
        Ok(())
    }

    pub fn items_written(&self) -> u64 {
        self.items_written
    }

    /// Flushes and closes every table's file.
    pub fn finish(
        mut self,
        layout: &PartitionLayout,
        part: usize,
    ) -> std::io::Result<Vec<TablePart>> {
        let mut parts = Vec::new();
        for mut writer in std::iter::once(self.items).chain(self.arrays.drain(..)) {
            writer.flush()?;
            let key = layout.part_key(&writer.name, part);
            parts.push(TablePart {
                table: writer.name,
                key,
                file: writer.sink.finish()?,
            });
        }
        Ok(parts)
    }
}
