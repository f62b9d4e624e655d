use super::column_type::{ColumnType, struct_fields};
use super::decimal::parse_decimal;
use super::value_ref::ValueRef;
use crate::dynamo::AttributeValue;
use arrow::array::{
    Array, ArrayRef, BinaryBuilder, BooleanBuilder, Decimal128Builder, Float64Builder,
    Int32Builder, Int64Builder, StringBuilder, StructArray, TimestampMicrosecondBuilder,
};
use arrow::buffer::NullBuffer;
use std::sync::Arc;

/// Bytes per text value reserved up front; a guess that only decides how often the first row
/// group's buffer grows.
const GUESSED_TEXT_BYTES: usize = 16;

/// Builds one Arrow column. `check` says whether a value fits without touching the column, so an
/// item is either written whole or quarantined whole; `append` then cannot fail.
pub enum ColumnBuilder {
    String(StringBuilder),
    Json(StringBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Decimal {
        builder: Decimal128Builder,
        precision: u8,
        scale: i8,
    },
    Bool(BooleanBuilder),
    Binary(BinaryBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Struct {
        fields: Vec<(String, ColumnBuilder)>,
        ty: ColumnType,
        validity: Vec<bool>,
    },
}

impl ColumnBuilder {
    pub fn new(ty: &ColumnType) -> Self {
        Self::with_capacity(ty, 0)
    }

    /// A builder with room for `rows` values (and a guess of their text), so that filling a row
    /// group does not regrow and copy its buffers.
    pub fn with_capacity(ty: &ColumnType, rows: usize) -> Self {
        let text = || StringBuilder::with_capacity(rows, rows * GUESSED_TEXT_BYTES);
        match ty {
            ColumnType::String => ColumnBuilder::String(text()),
            ColumnType::Json => ColumnBuilder::Json(text()),
            ColumnType::Int32 => ColumnBuilder::Int32(Int32Builder::with_capacity(rows)),
            ColumnType::Int64 => ColumnBuilder::Int64(Int64Builder::with_capacity(rows)),
            ColumnType::Float64 => ColumnBuilder::Float64(Float64Builder::with_capacity(rows)),
            ColumnType::Decimal { precision, scale } => ColumnBuilder::Decimal {
                builder: Decimal128Builder::new(),
                precision: *precision,
                scale: *scale,
            },
            ColumnType::Bool => ColumnBuilder::Bool(BooleanBuilder::new()),
            ColumnType::Binary => ColumnBuilder::Binary(BinaryBuilder::new()),
            ColumnType::Timestamp => ColumnBuilder::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"),
            ),
            ColumnType::Struct(fields) => ColumnBuilder::Struct {
                fields: fields
                    .iter()
                    .map(|(n, t)| (n.clone(), ColumnBuilder::new(t)))
                    .collect(),
                ty: ty.clone(),
                validity: Vec::new(),
            },
        }
    }

    /// Why `value` does not fit this column, or `Ok` if it does. Missing and NULL always fit.
    pub fn check(ty: &ColumnType, value: Option<ValueRef<'_>>) -> Result<(), String> {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(());
        };
        let mismatch = || format!("expected {ty}, found {}", value.kind().tag());
        match ty {
            ColumnType::Json => Ok(()),
            ColumnType::String => value
                .as_str()
                .or(value.as_number())
                .map(|_| ())
                .ok_or_else(mismatch),
            ColumnType::Int32 | ColumnType::Int64 => {
                let n = value.as_number().ok_or_else(mismatch)?;
                let fits = if *ty == ColumnType::Int32 {
                    n.parse::<i32>().is_ok()
                } else {
                    n.parse::<i64>().is_ok()
                };
                if fits {
                    Ok(())
                } else {
                    Err(format!(
                        "number {n} does not fit {ty} (declare the attribute as float64 or decimal(P,S))"
                    ))
                }
            }
            ColumnType::Float64 => {
                let n = value.as_number().ok_or_else(mismatch)?;
                match n.parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(()),
                    _ => Err(format!(
                        "number {n} is past a float64's range (and DynamoDB's, which ends near 1e126)"
                    )),
                }
            }
            ColumnType::Decimal { precision, scale } => {
                parse_decimal(value.as_number().ok_or_else(mismatch)?, *precision, *scale)
                    .map(|_| ())
            }
            ColumnType::Bool => match value {
                ValueRef::Attribute(AttributeValue::Bool(_)) => Ok(()),
                _ => Err(mismatch()),
            },
            ColumnType::Binary => {
                AttributeValue::decode_binary(value.as_binary().ok_or_else(mismatch)?).map(|_| ())
            }
            ColumnType::Timestamp => timestamp_micros(value).map(|_| ()),
            ColumnType::Struct(fields) => {
                let ValueRef::Attribute(AttributeValue::M(entries)) = value else {
                    return Err(mismatch());
                };
                for (name, _) in entries {
                    if !fields.iter().any(|(f, _)| f == name) {
                        return Err(format!(
                            "map field {name:?} is not in {ty} (set maps to json to keep any map)"
                        ));
                    }
                }
                for (name, field_ty) in fields {
                    let field = entries
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| ValueRef::Attribute(v));
                    Self::check(field_ty, field).map_err(|e| format!("map field {name:?}: {e}"))?;
                }
                Ok(())
            }
        }
    }

    /// Appends a value that `check` accepted (or a null for a missing one).
    pub fn append(&mut self, value: Option<ValueRef<'_>>) {
        let value = value.filter(|v| !v.is_null());
        match self {
            ColumnBuilder::String(b) => {
                b.append_option(value.and_then(|v| v.as_str().or(v.as_number())))
            }
            ColumnBuilder::Json(b) => match value {
                None => b.append_null(),
                Some(v) => {
                    v.write_plain_json(b)
                        .expect("writing into a string builder cannot fail");
                    b.append_value("");
                }
            },
            ColumnBuilder::Int32(b) => {
                b.append_option(value.and_then(|v| v.as_number()?.parse().ok()))
            }
            ColumnBuilder::Int64(b) => {
                b.append_option(value.and_then(|v| v.as_number()?.parse().ok()))
            }
            ColumnBuilder::Float64(b) => {
                b.append_option(value.and_then(|v| v.as_number()?.parse().ok()))
            }
            ColumnBuilder::Decimal {
                builder,
                precision,
                scale,
            } => builder.append_option(
                value.and_then(|v| parse_decimal(v.as_number()?, *precision, *scale).ok()),
            ),
            ColumnBuilder::Bool(b) => b.append_option(match value {
                Some(ValueRef::Attribute(AttributeValue::Bool(x))) => Some(*x),
                _ => None,
            }),
            ColumnBuilder::Binary(b) => b.append_option(
                value.and_then(|v| AttributeValue::decode_binary(v.as_binary()?).ok()),
            ),
            ColumnBuilder::Timestamp(b) => {
                b.append_option(value.and_then(|v| timestamp_micros(v).ok()))
            }
            ColumnBuilder::Struct {
                fields, validity, ..
            } => {
                let entries = match value {
                    Some(ValueRef::Attribute(AttributeValue::M(entries))) => Some(entries),
                    _ => None,
                };
                validity.push(entries.is_some());
                for (name, field) in fields.iter_mut() {
                    let v = entries
                        .and_then(|e| e.iter().find(|(n, _)| n == name))
                        .map(|(_, v)| ValueRef::Attribute(v));
                    field.append(v);
                }
            }
        }
    }

    pub fn append_i32(&mut self, value: Option<i32>) {
        if let ColumnBuilder::Int32(b) = self {
            b.append_option(value);
        }
    }

    pub fn append_str(&mut self, value: Option<&str>) {
        if let ColumnBuilder::String(b) | ColumnBuilder::Json(b) = self {
            b.append_option(value);
        }
    }

    /// The column so far; the builder starts again with room for as many rows and bytes, since
    /// row groups are alike and regrowing from empty costs copies and page faults each time.
    pub fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::String(b) | ColumnBuilder::Json(b) => {
                let array = b.finish();
                *b = StringBuilder::with_capacity(array.len(), array.value_data().len());
                Arc::new(array)
            }
            ColumnBuilder::Int32(b) => {
                let array = b.finish();
                *b = Int32Builder::with_capacity(array.len());
                Arc::new(array)
            }
            ColumnBuilder::Int64(b) => Arc::new(b.finish()),
            ColumnBuilder::Float64(b) => Arc::new(b.finish()),
            ColumnBuilder::Decimal {
                builder,
                precision,
                scale,
            } => Arc::new(
                builder
                    .finish()
                    .with_precision_and_scale(*precision, *scale)
                    .expect("precision and scale were validated when the type was parsed"),
            ),
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::Binary(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b) => Arc::new(b.finish()),
            ColumnBuilder::Struct {
                fields,
                ty,
                validity,
            } => {
                let ColumnType::Struct(field_types) = ty else {
                    unreachable!("struct builder holds a struct type")
                };
                let arrays: Vec<ArrayRef> = fields.iter_mut().map(|(_, f)| f.finish()).collect();
                let nulls = NullBuffer::from(std::mem::take(validity));
                Arc::new(StructArray::new(
                    struct_fields(field_types),
                    arrays,
                    Some(nulls),
                ))
            }
        }
    }
}

/// An instant from text in RFC 3339 (the offset is kept in the instant) or a number of seconds
/// since 1970, in UTC microseconds.
fn timestamp_micros(value: ValueRef<'_>) -> Result<i64, String> {
    if let Some(text) = value.as_str() {
        return chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.timestamp_micros())
            .map_err(|e| {
                format!("{text:?} is not an RFC 3339 timestamp such as 2026-11-21T10:00:00Z ({e})")
            });
    }
    let Some(n) = value.as_number() else {
        return Err(format!("expected timestamp, found {}", value.kind().tag()));
    };
    let micros = super::decimal::parse_decimal(n, 38, 6)
        .ok()
        .and_then(|scaled| i64::try_from(scaled).ok());
    micros
        .filter(|m| chrono::DateTime::from_timestamp_micros(*m).is_some())
        .ok_or_else(|| format!("number {n} is not a time in seconds since 1970"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;

    fn n(text: &str) -> AttributeValue<'_> {
        AttributeValue::N(text.into())
    }

    #[test]
    fn int64_takes_integers_and_explains_fractions() {
        let ty = ColumnType::Int64;
        assert!(ColumnBuilder::check(&ty, Some(ValueRef::Attribute(&n("42")))).is_ok());
        let err = ColumnBuilder::check(&ty, Some(ValueRef::Attribute(&n("1.5")))).unwrap_err();
        assert!(err.contains("does not fit int64"), "{err}");
        let mut builder = ColumnBuilder::new(&ty);
        builder.append(Some(ValueRef::Attribute(&n("42"))));
        builder.append(None);
        let array = builder.finish();
        let values = array.as_primitive::<Int64Type>();
        assert_eq!(values.value(0), 42);
        assert!(values.is_null(1));
    }

    #[test]
    fn strings_accept_numbers_as_exact_text_but_not_lists() {
        assert!(ColumnBuilder::check(&ColumnType::String, Some(ValueRef::N("1.50"))).is_ok());
        let list = AttributeValue::L(vec![]);
        let err = ColumnBuilder::check(&ColumnType::String, Some(ValueRef::Attribute(&list)))
            .unwrap_err();
        assert_eq!(err, "expected string, found L");
    }

    #[test]
    fn struct_refuses_unknown_fields() {
        let ty: ColumnType = "struct<sku:string>".parse().unwrap();
        let map = AttributeValue::M(vec![("qty".into(), n("1"))]);
        let err = ColumnBuilder::check(&ty, Some(ValueRef::Attribute(&map))).unwrap_err();
        assert!(err.contains("map field \"qty\""), "{err}");
    }
}

#[cfg(test)]
mod timestamp_tests {
    use super::*;
    use arrow::array::AsArray;
    use arrow::datatypes::TimestampMicrosecondType;

    #[test]
    fn timestamps_come_from_rfc3339_text_or_epoch_seconds() {
        let ty = ColumnType::Timestamp;
        let text = AttributeValue::S("2026-11-21T19:00:00+09:00".into());
        let epoch = AttributeValue::N("1795255200.5".into());
        let naive = AttributeValue::S("2026-11-21 10:00".into());
        let mut builder = ColumnBuilder::new(&ty);
        for value in [&text, &epoch] {
            ColumnBuilder::check(&ty, Some(ValueRef::Attribute(value))).unwrap();
            builder.append(Some(ValueRef::Attribute(value)));
        }
        let error = ColumnBuilder::check(&ty, Some(ValueRef::Attribute(&naive))).unwrap_err();
        assert!(error.contains("RFC 3339"), "{error}");
        let array = builder.finish();
        let values = array.as_primitive::<TimestampMicrosecondType>();
        assert_eq!(values.value(0), 1_795_255_200_000_000);
        assert_eq!(values.value(1), 1_795_255_200_500_000);
    }
}
