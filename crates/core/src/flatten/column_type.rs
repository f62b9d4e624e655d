use arrow::datatypes::{DataType, Field, Fields};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// The type of an output column, written in config and manifests as Hive-style text
/// (`string`, `int64`, `decimal(18,2)`, `struct<name:string,qty:int64>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ColumnType {
    String,
    Int32,
    Int64,
    Float64,
    Decimal {
        precision: u8,
        scale: i8,
    },
    Bool,
    Binary,
    /// An instant, in UTC microseconds: from text in RFC 3339 (`2026-11-21T10:00:00+09:00`)
    /// or a number of seconds since 1970.
    Timestamp,
    /// Any value, kept as plain JSON text.
    Json,
    Struct(Vec<(String, ColumnType)>),
}

impl ColumnType {
    pub fn arrow_type(&self) -> DataType {
        match self {
            ColumnType::String | ColumnType::Json => DataType::Utf8,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Binary => DataType::Binary,
            ColumnType::Timestamp => {
                DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into()))
            }
            ColumnType::Struct(fields) => DataType::Struct(struct_fields(fields)),
        }
    }

    pub fn field(&self, name: &str, nullable: bool) -> Field {
        Field::new(name, self.arrow_type(), nullable)
    }
}

pub(crate) fn struct_fields(fields: &[(String, ColumnType)]) -> Fields {
    Fields::from(
        fields
            .iter()
            .map(|(name, ty)| Arc::new(ty.field(name, true)))
            .collect::<Vec<_>>(),
    )
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::String => f.write_str("string"),
            ColumnType::Int32 => f.write_str("int32"),
            ColumnType::Int64 => f.write_str("int64"),
            ColumnType::Float64 => f.write_str("float64"),
            ColumnType::Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            ColumnType::Bool => f.write_str("bool"),
            ColumnType::Binary => f.write_str("binary"),
            ColumnType::Timestamp => f.write_str("timestamp"),
            ColumnType::Json => f.write_str("json"),
            ColumnType::Struct(fields) => {
                f.write_str("struct<")?;
                for (i, (name, ty)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{name}:{ty}")?;
                }
                f.write_str(">")
            }
        }
    }
}

impl From<ColumnType> for String {
    fn from(value: ColumnType) -> Self {
        value.to_string()
    }
}

impl TryFrom<String> for ColumnType {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl FromStr for ColumnType {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parser = TypeParser { rest: text.trim() };
        let ty = parser.parse()?;
        if !parser.rest.trim().is_empty() {
            return Err(format!(
                "unexpected {:?} after column type in {text:?}",
                parser.rest
            ));
        }
        Ok(ty)
    }
}

struct TypeParser<'a> {
    rest: &'a str,
}

const TYPE_HELP: &str = "expected string, int32, int64, float64, decimal(P,S), bool, binary, timestamp, json or struct<name:type,...>";

impl TypeParser<'_> {
    fn take_word(&mut self) -> &str {
        let trimmed = self.rest.trim_start();
        let end = trimmed
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(trimmed.len());
        let (word, rest) = trimmed.split_at(end);
        self.rest = rest;
        word
    }

    fn expect(&mut self, symbol: char) -> Result<(), String> {
        let trimmed = self.rest.trim_start();
        match trimmed.strip_prefix(symbol) {
            Some(rest) => {
                self.rest = rest;
                Ok(())
            }
            None => Err(format!("expected '{symbol}' at {trimmed:?}; {TYPE_HELP}")),
        }
    }

    fn parse(&mut self) -> Result<ColumnType, String> {
        let word = self.take_word().to_ascii_lowercase();
        Ok(match word.as_str() {
            "string" | "text" | "varchar" => ColumnType::String,
            "int32" | "int" | "integer" => ColumnType::Int32,
            "int64" | "bigint" => ColumnType::Int64,
            "float64" | "double" => ColumnType::Float64,
            "bool" | "boolean" => ColumnType::Bool,
            "binary" | "bytes" => ColumnType::Binary,
            "timestamp" => ColumnType::Timestamp,
            "json" => ColumnType::Json,
            "decimal" => {
                self.expect('(')?;
                let precision: u8 = self
                    .take_word()
                    .parse()
                    .map_err(|_| format!("decimal precision must be 1..=38; {TYPE_HELP}"))?;
                self.expect(',')?;
                let scale: i8 = self
                    .take_word()
                    .parse()
                    .map_err(|_| format!("decimal scale must be 0..=precision; {TYPE_HELP}"))?;
                self.expect(')')?;
                if !(1..=38).contains(&precision) || scale < 0 || scale as u8 > precision {
                    return Err(format!(
                        "decimal({precision},{scale}) is out of range: precision 1..=38, scale 0..=precision"
                    ));
                }
                ColumnType::Decimal { precision, scale }
            }
            "struct" => {
                self.expect('<')?;
                let mut fields = Vec::new();
                loop {
                    let name = self.take_word().to_string();
                    if name.is_empty() {
                        return Err(format!("struct field needs a name; {TYPE_HELP}"));
                    }
                    self.expect(':')?;
                    fields.push((name, self.parse()?));
                    if self.expect(',').is_err() {
                        break;
                    }
                }
                self.expect('>')?;
                ColumnType::Struct(fields)
            }
            other => return Err(format!("unknown column type {other:?}; {TYPE_HELP}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        for text in [
            "string",
            "int64",
            "decimal(18,2)",
            "json",
            "struct<a:string,b:struct<c:float64>>",
        ] {
            let ty: ColumnType = text.parse().unwrap();
            assert_eq!(ty.to_string(), text);
        }
    }

    #[test]
    fn explains_a_bad_type() {
        let err = "varchar2".parse::<ColumnType>().unwrap_err();
        assert!(err.contains("unknown column type \"varchar2\""), "{err}");
        assert!(
            "decimal(40,2)"
                .parse::<ColumnType>()
                .unwrap_err()
                .contains("out of range")
        );
    }
}
