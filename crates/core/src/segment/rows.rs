//! Arrow builders for one table's rows, flushed to a Parquet part as row groups fill.

use super::event::SegmentEvent;
use super::schema::{ColumnKind, TableColumns, walk_properties};
use crate::parquet_sink::{ParquetSink, WrittenFile};
use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::borrow::Cow;
use std::path::PathBuf;

/// One cell of a row before it is appended to its column.
#[derive(Debug, Clone)]
pub enum Cell<'a> {
    Text(Cow<'a, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Time(DateTime<Utc>),
}

enum ColumnBuilder {
    Text(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Timestamp(TimestampMicrosecondBuilder),
}

impl ColumnBuilder {
    fn new(kind: ColumnKind) -> Self {
        match kind {
            ColumnKind::Text => ColumnBuilder::Text(StringBuilder::new()),
            ColumnKind::Int => ColumnBuilder::Int(Int64Builder::new()),
            ColumnKind::Float => ColumnBuilder::Float(Float64Builder::new()),
            ColumnKind::Bool => ColumnBuilder::Bool(BooleanBuilder::new()),
            ColumnKind::Timestamp => {
                ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
        }
    }

    /// Appends a cell converted to the column's type; the day's schema was learnt from the same
    /// values, so a cell that does not fit can only be text in a text column.
    fn append(&mut self, cell: Option<&Cell>) {
        match (self, cell) {
            (ColumnBuilder::Text(b), Some(Cell::Text(s))) => b.append_value(s),
            (ColumnBuilder::Text(b), Some(Cell::Int(v))) => b.append_value(v.to_string()),
            (ColumnBuilder::Text(b), Some(Cell::Float(v))) => b.append_value(v.to_string()),
            (ColumnBuilder::Text(b), Some(Cell::Bool(v))) => b.append_value(v.to_string()),
            (ColumnBuilder::Text(b), Some(Cell::Time(t))) => b.append_value(t.to_rfc3339()),
            (ColumnBuilder::Int(b), Some(Cell::Int(v))) => b.append_value(*v),
            (ColumnBuilder::Float(b), Some(Cell::Float(v))) => b.append_value(*v),
            (ColumnBuilder::Float(b), Some(Cell::Int(v))) => b.append_value(*v as f64),
            (ColumnBuilder::Bool(b), Some(Cell::Bool(v))) => b.append_value(*v),
            (ColumnBuilder::Timestamp(b), Some(Cell::Time(t))) => {
                b.append_value(t.timestamp_micros())
            }
            (ColumnBuilder::Text(b), _) => b.append_null(),
            (ColumnBuilder::Int(b), _) => b.append_null(),
            (ColumnBuilder::Float(b), _) => b.append_null(),
            (ColumnBuilder::Bool(b), _) => b.append_null(),
            (ColumnBuilder::Timestamp(b), _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Text(b) => std::sync::Arc::new(b.finish()),
            ColumnBuilder::Int(b) => std::sync::Arc::new(b.finish()),
            ColumnBuilder::Float(b) => std::sync::Arc::new(b.finish()),
            ColumnBuilder::Bool(b) => std::sync::Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b) => std::sync::Arc::new(b.finish()),
        }
    }
}

/// Rows are flushed as a row group when their values reach this size: a day has a dozen tables
/// open per worker, and Segment rows are wide.
const ROW_GROUP_BYTES: usize = 8 << 20;

/// One table's rows from one worker: a Parquet part file, created on the first row.
pub struct TableRows {
    columns: TableColumns,
    index: super::FastMap<String, usize>,
    builders: Vec<ColumnBuilder>,
    pending: usize,
    pending_bytes: usize,
    row_group_rows: usize,
    path: PathBuf,
    sink: Option<ParquetSink>,
}

impl TableRows {
    pub fn new(columns: TableColumns, path: PathBuf, row_group_rows: usize) -> Self {
        let index = columns
            .columns
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), i))
            .collect();
        let builders = columns
            .columns
            .iter()
            .map(|(_, k)| ColumnBuilder::new(*k))
            .collect();
        Self {
            columns,
            index,
            builders,
            pending: 0,
            pending_bytes: 0,
            row_group_rows,
            path,
            sink: None,
        }
    }

    /// Appends one event as a row; with `properties` (an event table's row) they are spread
    /// over their columns, without (a call table's row) they are kept as JSON text.
    pub fn push<'e>(
        &mut self,
        event: &'e SegmentEvent<'e>,
        properties: Option<&serde_json::Map<String, Value>>,
    ) -> std::io::Result<()> {
        let mut row: Vec<Option<Cell<'e>>> = vec![None; self.builders.len()];
        common_cells(event, &self.index, &mut row);
        let put = |row: &mut Vec<Option<Cell<'e>>>, name: &str, cell: Option<Cell<'e>>| {
            if let Some(&at) = self.index.get(name) {
                row[at] = cell;
            }
        };
        let borrowed = |value: Option<&'e str>| value.map(|v| Cell::Text(Cow::Borrowed(v)));
        put(&mut row, "event", borrowed(event.event.as_deref()));
        put(&mut row, "name", borrowed(event.name.as_deref()));
        put(&mut row, "group_id", borrowed(event.group_id.as_deref()));
        put(
            &mut row,
            "previous_id",
            borrowed(event.previous_id.as_deref()),
        );
        put(&mut row, "traits", borrowed(event.traits.map(|r| r.get())));
        if let Some(map) = properties {
            let columns = &self.columns.properties;
            // Properties the table has no column for (over max_properties_per_event) are kept
            // together in `_extra`, as one JSON object of path → value.
            let mut extra = serde_json::Map::new();
            walk_properties(map, "", &mut |path, value| match columns.get(&path) {
                Some(&at) => row[at] = json_cell(value),
                None => {
                    extra.insert(path, value.clone());
                }
            });
            if let Some(at) = self.columns.extra
                && !extra.is_empty()
            {
                row[at] = Some(Cell::Text(Cow::Owned(Value::Object(extra).to_string())));
            }
        } else {
            put(
                &mut row,
                "properties",
                borrowed(event.properties.map(|r| r.get())),
            );
        }
        for (builder, cell) in self.builders.iter_mut().zip(row.iter_mut()) {
            self.pending_bytes += match cell {
                Some(Cell::Text(text)) => text.len() + 4,
                _ => 8,
            };
            builder.append(cell.take().as_ref());
        }
        self.pending += 1;
        if self.pending >= self.row_group_rows || self.pending_bytes >= ROW_GROUP_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.pending == 0 {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(|b| b.finish()).collect();
        let batch = RecordBatch::try_new(self.columns.schema.clone(), arrays)
            .map_err(std::io::Error::other)?;
        if self.sink.is_none() {
            self.sink = Some(ParquetSink::create(
                &self.path,
                self.columns.schema.clone(),
                self.row_group_rows,
                &["message_id".to_string()],
            )?);
        }
        self.sink
            .as_mut()
            .expect("created above")
            .write_row_group(&batch)?;
        self.pending = 0;
        self.pending_bytes = 0;
        Ok(())
    }

    /// Writes the last row group and closes the file; `None` when no row was pushed.
    pub fn finish(mut self) -> std::io::Result<Option<WrittenFile>> {
        self.flush()?;
        self.sink.map(ParquetSink::finish).transpose()
    }
}

fn common_cells<'e>(
    event: &'e SegmentEvent<'e>,
    index: &super::FastMap<String, usize>,
    row: &mut [Option<Cell<'e>>],
) {
    let context = &event.context;
    let page = context.page.as_ref();
    let library = context.library.as_ref();
    let campaign = context.campaign.as_ref();
    let owned = |v: Option<&'e str>| v.map(|s| Cell::Text(Cow::Borrowed(s)));
    let cells: [(&str, Option<Cell<'e>>); 21] = [
        ("message_id", owned(Some(&event.message_id))),
        ("anonymous_id", owned(event.anonymous_id.as_deref())),
        ("user_id", owned(event.user_id.as_deref())),
        ("timestamp", Some(Cell::Time(event.timestamp))),
        ("received_at", event.received_at.map(Cell::Time)),
        ("sent_at", event.sent_at.map(Cell::Time)),
        ("context_ip", owned(context.ip.as_deref())),
        ("context_user_agent", owned(context.user_agent.as_deref())),
        ("context_locale", owned(context.locale.as_deref())),
        (
            "context_page_path",
            owned(page.and_then(|p| p.path.as_deref())),
        ),
        (
            "context_page_referrer",
            owned(page.and_then(|p| p.referrer.as_deref())),
        ),
        (
            "context_page_search",
            owned(page.and_then(|p| p.search.as_deref())),
        ),
        (
            "context_page_title",
            owned(page.and_then(|p| p.title.as_deref())),
        ),
        (
            "context_page_url",
            owned(page.and_then(|p| p.url.as_deref())),
        ),
        (
            "context_library_name",
            owned(library.and_then(|l| l.name.as_deref())),
        ),
        (
            "context_library_version",
            owned(library.and_then(|l| l.version.as_deref())),
        ),
        (
            "context_campaign_name",
            owned(campaign.and_then(|c| c.name.as_deref())),
        ),
        (
            "context_campaign_source",
            owned(campaign.and_then(|c| c.source.as_deref())),
        ),
        (
            "context_campaign_medium",
            owned(campaign.and_then(|c| c.medium.as_deref())),
        ),
        (
            "context_campaign_term",
            owned(campaign.and_then(|c| c.term.as_deref())),
        ),
        (
            "context_campaign_content",
            owned(campaign.and_then(|c| c.content.as_deref())),
        ),
    ];
    for (name, cell) in cells {
        if let Some(&at) = index.get(name) {
            row[at] = cell;
        }
    }
}

fn json_cell(value: &Value) -> Option<Cell<'static>> {
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(Cell::Bool(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(Cell::Int(i)),
            None => n.as_f64().map(Cell::Float),
        },
        Value::String(s) => Some(Cell::Text(Cow::Owned(s.clone()))),
        other => Some(Cell::Text(Cow::Owned(other.to_string()))),
    }
}
