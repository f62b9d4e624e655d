//! Plain JSON written straight into a text sink, byte for byte what `to_plain_json().to_string()`
//! gives, without building a `serde_json::Value` (a map allocation per object) for every row of a
//! JSON column.

use super::value::{AttributeValue, plain_number};
use std::fmt::{self, Write};

impl AttributeValue<'_> {
    pub fn write_plain_json(&self, out: &mut impl Write) -> fmt::Result {
        match self {
            AttributeValue::S(s) | AttributeValue::B(s) => write_string(s, out),
            AttributeValue::N(n) => write!(out, "{}", plain_number(n)),
            AttributeValue::Bool(b) => out.write_str(if *b { "true" } else { "false" }),
            AttributeValue::Null => out.write_str("null"),
            AttributeValue::L(values) => write_array(values, out, |v, out| v.write_plain_json(out)),
            AttributeValue::M(entries) => {
                // serde_json's map is ordered by key and keeps the last of repeated keys.
                let mut sorted: Vec<&(_, _)> = entries.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                out.write_char('{')?;
                let mut first = true;
                for (index, (name, value)) in sorted.iter().map(|e| (&e.0, &e.1)).enumerate() {
                    if sorted.get(index + 1).is_some_and(|next| next.0 == *name) {
                        continue;
                    }
                    if !first {
                        out.write_char(',')?;
                    }
                    first = false;
                    write_string(name, out)?;
                    out.write_char(':')?;
                    value.write_plain_json(out)?;
                }
                out.write_char('}')
            }
            AttributeValue::Ss(values) | AttributeValue::Bs(values) => {
                write_array(values, out, |v, out| write_string(v, out))
            }
            AttributeValue::Ns(values) => {
                write_array(values, out, |n, out| write!(out, "{}", plain_number(n)))
            }
        }
    }
}

fn write_array<T, W: Write>(
    values: &[T],
    out: &mut W,
    mut write: impl FnMut(&T, &mut W) -> fmt::Result,
) -> fmt::Result {
    out.write_char('[')?;
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            out.write_char(',')?;
        }
        write(value, out)?;
    }
    out.write_char(']')
}

/// A JSON string escaped as serde_json escapes it: quote, backslash and control characters only.
pub fn write_string(text: &str, out: &mut impl Write) -> fmt::Result {
    out.write_char('"')?;
    let mut plain_from = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.write_str(&text[plain_from..at])?;
        if escape.is_empty() {
            write!(out, "\\u{byte:04x}")?;
        } else {
            out.write_str(escape)?;
        }
        plain_from = at + 1;
    }
    out.write_str(&text[plain_from..])?;
    out.write_char('"')
}

#[cfg(test)]
mod tests {
    use crate::dynamo::Item;

    #[test]
    fn writes_what_serde_json_writes() {
        let item = Item::from_dynamodb_json(
            r#"{
              "s": {"S": "quote \" backslash \\ newline \n tab \t bell \u0007 del \u007f 한글 / ✓"},
              "n": {"N": "42"}, "f": {"N": "0.5"}, "big": {"N": "123456789012345678901234567890"},
              "e": {"N": "1E+3"}, "neg": {"N": "-7"}, "b": {"B": "AAE="},
              "t": {"BOOL": true}, "z": {"NULL": true},
              "l": {"L": [{"S": "a"}, {"N": "1.25"}, {"L": []}, {"M": {}}]},
              "m": {"M": {"z": {"S": "last"}, "a": {"M": {"y": {"N": "2"}, "x": {"BOOL": false}}}, "z": {"S": "again"}}},
              "ss": {"SS": ["x", "\"y\""]}, "ns": {"NS": ["1", "2.50"]}, "bs": {"BS": []}
            }"#,
        )
        .unwrap();
        for (name, value) in &item.attributes {
            let mut written = String::new();
            value.write_plain_json(&mut written).unwrap();
            assert_eq!(
                written,
                value.to_plain_json().to_string(),
                "attribute {name}"
            );
        }
    }
}
