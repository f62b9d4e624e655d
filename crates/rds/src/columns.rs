//! The Arrow column each database type maps to, and the builders that collect a row group.

use arrow::array::{
    ArrayBuilder, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder,
    Float32Builder, Float64Builder, Int8Builder, Int16Builder, Int32Builder, Int64Builder,
    ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, TimeUnit};
use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use std::sync::Arc;

/// What a column holds, whatever the engine called it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnKind {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// Exact numbers with their declared precision and scale.
    Decimal {
        precision: u8,
        scale: i8,
    },
    Bool,
    Text,
    Binary,
    Date,
    /// Instants in UTC; `zoned` says whether the engine stored a zone (timestamptz) or not.
    Timestamp {
        zoned: bool,
    },
    Time,
    Uuid,
    Json,
    List(Box<ColumnKind>),
}

impl ColumnKind {
    pub fn arrow(&self) -> DataType {
        match self {
            ColumnKind::Int8 => DataType::Int8,
            ColumnKind::Int16 => DataType::Int16,
            ColumnKind::Int32 => DataType::Int32,
            ColumnKind::Int64 => DataType::Int64,
            ColumnKind::Float32 => DataType::Float32,
            ColumnKind::Float64 => DataType::Float64,
            ColumnKind::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
            ColumnKind::Bool => DataType::Boolean,
            ColumnKind::Text | ColumnKind::Uuid | ColumnKind::Json => DataType::Utf8,
            ColumnKind::Binary => DataType::Binary,
            ColumnKind::Date => DataType::Date32,
            ColumnKind::Timestamp { .. } => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
            }
            // As text: Glue and Spectrum have no time-of-day type to declare for it.
            ColumnKind::Time => DataType::Utf8,
            ColumnKind::List(inner) => {
                DataType::List(Arc::new(Field::new("item", inner.arrow(), true)))
            }
        }
    }
}

/// One value read from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Decimal(BigDecimal),
    Bool(bool),
    Text(String),
    Binary(Vec<u8>),
    Date(NaiveDate),
    Timestamp(DateTime<Utc>),
    Time(NaiveTime),
    List(Vec<Cell>),
}

/// A decoded optional value as a cell: `None` is SQL NULL.
pub fn cell_or_null<T>(value: Option<T>, cell: impl FnOnce(T) -> Cell) -> Cell {
    value.map_or(Cell::Null, cell)
}

impl Cell {
    /// The value as a SQL literal, for the next run's `WHERE column > literal`.
    pub fn literal(&self) -> Option<String> {
        Some(match self {
            Cell::Int(v) => v.to_string(),
            Cell::Float(v) => v.to_string(),
            Cell::Decimal(v) => v.to_string(),
            Cell::Text(v) => format!("'{}'", v.replace('\'', "''")),
            Cell::Date(v) => format!("'{v}'"),
            Cell::Timestamp(v) => format!("'{}'", v.format("%Y-%m-%d %H:%M:%S%.6f")),
            Cell::Null | Cell::Bool(_) | Cell::Binary(_) | Cell::Time(_) | Cell::List(_) => {
                return None;
            }
        })
    }
}

impl Cell {
    /// A saved watermark read back as a value of its column's kind, to be bound as the export's
    /// parameter. Anything but one well-formed literal of that kind (`30 OR 1=1`, a quote that
    /// does not close) is refused: the state file is data, never SQL.
    pub fn from_literal(literal: &str, kind: &ColumnKind) -> Result<Cell, String> {
        let quoted = || -> Result<String, String> {
            let inner = literal
                .strip_prefix('\'')
                .and_then(|rest| rest.strip_suffix('\''))
                .ok_or("it is not one quoted value")?;
            if inner.replace("''", "").contains('\'') {
                return Err("it is not one quoted value".into());
            }
            Ok(inner.replace("''", "'"))
        };
        let parsed = match kind {
            ColumnKind::Int8 | ColumnKind::Int16 | ColumnKind::Int32 | ColumnKind::Int64 => literal
                .parse()
                .map(Cell::Int)
                .map_err(|_| "it is not a whole number".to_string()),
            ColumnKind::Float32 | ColumnKind::Float64 => match literal.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Cell::Float(v)),
                _ => Err("it is not a finite number".to_string()),
            },
            ColumnKind::Decimal { .. } => literal
                .parse::<BigDecimal>()
                .map(Cell::Decimal)
                .map_err(|_| "it is not a decimal number".to_string()),
            ColumnKind::Text => quoted().map(Cell::Text),
            ColumnKind::Date => quoted().and_then(|text| {
                text.parse()
                    .map(Cell::Date)
                    .map_err(|_| "it is not a date".to_string())
            }),
            ColumnKind::Timestamp { .. } => quoted().and_then(|text| {
                chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f")
                    .map(|t| Cell::Timestamp(t.and_utc()))
                    .map_err(|_| "it is not a timestamp".to_string())
            }),
            other => Err(format!("a {other:?} column cannot be a watermark")),
        };
        parsed.map_err(|why| format!("the saved watermark {literal:?} is refused: {why}"))
    }
}

/// A column's builder; appending a cell of the wrong shape is a bug in an engine's mapping.
pub struct ColumnBuilder {
    kind: ColumnKind,
    builder: Box<dyn ArrayBuilder>,
}

impl ColumnBuilder {
    pub fn new(kind: &ColumnKind) -> Self {
        Self {
            kind: kind.clone(),
            builder: builder_for(kind),
        }
    }

    pub fn append(&mut self, cell: &Cell) -> Result<(), String> {
        append_to(self.builder.as_mut(), &self.kind, cell)
    }

    pub fn finish(&mut self) -> ArrayRef {
        self.builder.finish()
    }
}

fn builder_for(kind: &ColumnKind) -> Box<dyn ArrayBuilder> {
    match kind {
        ColumnKind::Int8 => Box::new(Int8Builder::new()),
        ColumnKind::Int16 => Box::new(Int16Builder::new()),
        ColumnKind::Int32 => Box::new(Int32Builder::new()),
        ColumnKind::Int64 => Box::new(Int64Builder::new()),
        ColumnKind::Float32 => Box::new(Float32Builder::new()),
        ColumnKind::Float64 => Box::new(Float64Builder::new()),
        ColumnKind::Decimal { precision, scale } => Box::new(
            Decimal128Builder::new()
                .with_precision_and_scale(*precision, *scale)
                .expect("precision checked when the column was mapped"),
        ),
        ColumnKind::Bool => Box::new(BooleanBuilder::new()),
        ColumnKind::Text | ColumnKind::Uuid | ColumnKind::Json => Box::new(StringBuilder::new()),
        ColumnKind::Binary => Box::new(BinaryBuilder::new()),
        ColumnKind::Date => Box::new(Date32Builder::new()),
        ColumnKind::Timestamp { .. } => {
            Box::new(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
        }
        ColumnKind::Time => Box::new(StringBuilder::new()),
        ColumnKind::List(inner) => Box::new(ListBuilder::new(builder_for(inner))),
    }
}

fn downcast<T: 'static>(builder: &mut dyn ArrayBuilder) -> &mut T {
    builder
        .as_any_mut()
        .downcast_mut::<T>()
        .expect("the builder was made for this kind")
}

fn append_to(builder: &mut dyn ArrayBuilder, kind: &ColumnKind, cell: &Cell) -> Result<(), String> {
    let mismatch = || format!("a {cell:?} value cannot go in a {kind:?} column");
    match (kind, cell) {
        (ColumnKind::Int8, Cell::Int(v)) => {
            downcast::<Int8Builder>(builder).append_value(i8::try_from(*v).map_err(|_| mismatch())?)
        }
        (ColumnKind::Int16, Cell::Int(v)) => downcast::<Int16Builder>(builder)
            .append_value(i16::try_from(*v).map_err(|_| mismatch())?),
        (ColumnKind::Int32, Cell::Int(v)) => downcast::<Int32Builder>(builder)
            .append_value(i32::try_from(*v).map_err(|_| mismatch())?),
        (ColumnKind::Int64, Cell::Int(v)) => downcast::<Int64Builder>(builder).append_value(*v),
        (ColumnKind::Float32, Cell::Float(v)) => {
            downcast::<Float32Builder>(builder).append_value(*v as f32)
        }
        (ColumnKind::Float64, Cell::Float(v)) => {
            downcast::<Float64Builder>(builder).append_value(*v)
        }
        (ColumnKind::Decimal { precision, scale }, Cell::Decimal(v)) => {
            let unscaled = scaled(v, *precision, *scale)?;
            downcast::<Decimal128Builder>(builder).append_value(unscaled)
        }
        (ColumnKind::Bool, Cell::Bool(v)) => downcast::<BooleanBuilder>(builder).append_value(*v),
        (ColumnKind::Text | ColumnKind::Uuid | ColumnKind::Json, Cell::Text(v)) => {
            downcast::<StringBuilder>(builder).append_value(v)
        }
        (ColumnKind::Binary, Cell::Binary(v)) => downcast::<BinaryBuilder>(builder).append_value(v),
        (ColumnKind::Date, Cell::Date(v)) => downcast::<Date32Builder>(builder).append_value(
            (*v - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32,
        ),
        (ColumnKind::Timestamp { .. }, Cell::Timestamp(v)) => {
            downcast::<TimestampMicrosecondBuilder>(builder).append_value(v.timestamp_micros())
        }
        (ColumnKind::Time, Cell::Time(v)) => {
            downcast::<StringBuilder>(builder).append_value(v.format("%H:%M:%S%.f").to_string())
        }
        (ColumnKind::List(inner), Cell::List(values)) => {
            let list = downcast::<ListBuilder<Box<dyn ArrayBuilder>>>(builder);
            for value in values {
                append_to(list.values().as_mut(), inner, value)?;
            }
            list.append(true)
        }
        (_, Cell::Null) => append_null(builder, kind),
        _ => return Err(mismatch()),
    }
    Ok(())
}

fn append_null(builder: &mut dyn ArrayBuilder, kind: &ColumnKind) {
    match kind {
        ColumnKind::Int8 => downcast::<Int8Builder>(builder).append_null(),
        ColumnKind::Int16 => downcast::<Int16Builder>(builder).append_null(),
        ColumnKind::Int32 => downcast::<Int32Builder>(builder).append_null(),
        ColumnKind::Int64 => downcast::<Int64Builder>(builder).append_null(),
        ColumnKind::Float32 => downcast::<Float32Builder>(builder).append_null(),
        ColumnKind::Float64 => downcast::<Float64Builder>(builder).append_null(),
        ColumnKind::Decimal { .. } => downcast::<Decimal128Builder>(builder).append_null(),
        ColumnKind::Bool => downcast::<BooleanBuilder>(builder).append_null(),
        ColumnKind::Text | ColumnKind::Uuid | ColumnKind::Json => {
            downcast::<StringBuilder>(builder).append_null()
        }
        ColumnKind::Binary => downcast::<BinaryBuilder>(builder).append_null(),
        ColumnKind::Date => downcast::<Date32Builder>(builder).append_null(),
        ColumnKind::Timestamp { .. } => {
            downcast::<TimestampMicrosecondBuilder>(builder).append_null()
        }
        ColumnKind::Time => downcast::<StringBuilder>(builder).append_null(),
        ColumnKind::List(_) => {
            downcast::<ListBuilder<Box<dyn ArrayBuilder>>>(builder).append(false)
        }
    }
}

/// The decimal's digits at the column's scale, refused when they would not fit its precision.
fn scaled(value: &BigDecimal, precision: u8, scale: i8) -> Result<i128, String> {
    let rounded = value.with_scale_round(i64::from(scale), bigdecimal::RoundingMode::HalfEven);
    if &rounded != value {
        return Err(format!(
            "{value} has more than {scale} decimal places, more than the column declares"
        ));
    }
    let (digits, _) = rounded.as_bigint_and_exponent();
    let unscaled = i128::try_from(digits)
        .map_err(|_| format!("{value} is too large for decimal({precision},{scale})"))?;
    if unscaled.unsigned_abs() >= 10u128.pow(u32::from(precision)) {
        return Err(format!("{value} does not fit decimal({precision},{scale})"));
    }
    Ok(unscaled)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_column_kind_has_a_type_glue_and_spectrum_can_declare() {
        let scalars = [
            ColumnKind::Int8,
            ColumnKind::Int16,
            ColumnKind::Int32,
            ColumnKind::Int64,
            ColumnKind::Float32,
            ColumnKind::Float64,
            ColumnKind::Decimal {
                precision: 20,
                scale: 0,
            },
            ColumnKind::Bool,
            ColumnKind::Text,
            ColumnKind::Binary,
            ColumnKind::Date,
            ColumnKind::Timestamp { zoned: true },
            ColumnKind::Time,
            ColumnKind::Uuid,
            ColumnKind::Json,
        ];
        for kind in scalars.iter().cloned().chain(
            scalars
                .iter()
                .cloned()
                .map(|k| ColumnKind::List(Box::new(k))),
        ) {
            let declared = daybook_core::lake::hive_type(&kind.arrow());
            assert!(!declared.contains("unsupported"), "{kind:?} → {declared}");
        }
        assert_eq!(
            daybook_core::lake::hive_type(&ColumnKind::Time.arrow()),
            "string"
        );
    }

    use super::*;
    use arrow::array::{Array, AsArray};
    use std::str::FromStr;

    #[test]
    fn decimals_keep_every_digit_or_refuse() {
        let kind = ColumnKind::Decimal {
            precision: 38,
            scale: 4,
        };
        let mut builder = ColumnBuilder::new(&kind);
        builder
            .append(&Cell::Decimal(
                BigDecimal::from_str("12345678901234567890123.4567").unwrap(),
            ))
            .unwrap();
        builder.append(&Cell::Null).unwrap();
        let error = builder
            .append(&Cell::Decimal(BigDecimal::from_str("1.23456").unwrap()))
            .unwrap_err();
        assert!(error.contains("more than 4 decimal places"), "{error}");
        let array = builder.finish();
        assert_eq!(array.data_type(), &DataType::Decimal128(38, 4));
        let decimals = array.as_primitive::<arrow::datatypes::Decimal128Type>();
        assert_eq!(decimals.value_as_string(0), "12345678901234567890123.4567");
        assert!(decimals.is_null(1));
    }

    #[test]
    fn lists_and_timestamps_build() {
        let mut list = ColumnBuilder::new(&ColumnKind::List(Box::new(ColumnKind::Int32)));
        list.append(&Cell::List(vec![Cell::Int(1), Cell::Null, Cell::Int(3)]))
            .unwrap();
        list.append(&Cell::Null).unwrap();
        let array = list.finish();
        assert_eq!(array.len(), 2);
        assert!(array.is_null(1));
        let mut stamps = ColumnBuilder::new(&ColumnKind::Timestamp { zoned: true });
        stamps
            .append(&Cell::Timestamp(DateTime::from_timestamp(0, 1000).unwrap()))
            .unwrap();
        assert_eq!(
            stamps.finish().data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(
            Cell::Text("O'Brien".into()).literal().unwrap(),
            "'O''Brien'"
        );
    }
}
