use base64::Engine;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::fmt;

/// DynamoDB nests lists and maps at most 32 levels deep; an item nested deeper is not one
/// DynamoDB could hold, and goes to quarantine.
pub const MAX_NESTING: usize = 32;

/// Text inside an item: borrowed from the line it was parsed from, owned only where JSON
/// escapes had to be undone (or where the item came from elsewhere, `'static`).
pub type Text<'a> = Cow<'a, str>;

/// One attribute value in DynamoDB JSON. Binary values stay base64 text until a column needs bytes,
/// so that items which only pass through never pay for decoding.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue<'a> {
    S(Text<'a>),
    N(Text<'a>),
    B(Text<'a>),
    Bool(bool),
    Null,
    L(Vec<AttributeValue<'a>>),
    M(Vec<(Text<'a>, AttributeValue<'a>)>),
    Ss(Vec<Text<'a>>),
    Ns(Vec<Text<'a>>),
    Bs(Vec<Text<'a>>),
}

/// The type tag of a value, for messages and schema discovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeKind {
    S,
    N,
    B,
    Bool,
    Null,
    L,
    M,
    Ss,
    Ns,
    Bs,
}

impl AttributeKind {
    pub fn tag(self) -> &'static str {
        match self {
            AttributeKind::S => "S",
            AttributeKind::N => "N",
            AttributeKind::B => "B",
            AttributeKind::Bool => "BOOL",
            AttributeKind::Null => "NULL",
            AttributeKind::L => "L",
            AttributeKind::M => "M",
            AttributeKind::Ss => "SS",
            AttributeKind::Ns => "NS",
            AttributeKind::Bs => "BS",
        }
    }
}

impl<'a> AttributeValue<'a> {
    /// The same value owning all its text, free of the buffer it was parsed from.
    pub fn into_owned(self) -> AttributeValue<'static> {
        let own = |t: Text<'a>| Cow::Owned(t.into_owned());
        match self {
            AttributeValue::S(t) => AttributeValue::S(own(t)),
            AttributeValue::N(t) => AttributeValue::N(own(t)),
            AttributeValue::B(t) => AttributeValue::B(own(t)),
            AttributeValue::Bool(b) => AttributeValue::Bool(b),
            AttributeValue::Null => AttributeValue::Null,
            AttributeValue::L(values) => {
                AttributeValue::L(values.into_iter().map(Self::into_owned).collect())
            }
            AttributeValue::M(entries) => AttributeValue::M(
                entries
                    .into_iter()
                    .map(|(k, v)| (own(k), v.into_owned()))
                    .collect(),
            ),
            AttributeValue::Ss(values) => AttributeValue::Ss(values.into_iter().map(own).collect()),
            AttributeValue::Ns(values) => AttributeValue::Ns(values.into_iter().map(own).collect()),
            AttributeValue::Bs(values) => AttributeValue::Bs(values.into_iter().map(own).collect()),
        }
    }

    pub fn kind(&self) -> AttributeKind {
        match self {
            AttributeValue::S(_) => AttributeKind::S,
            AttributeValue::N(_) => AttributeKind::N,
            AttributeValue::B(_) => AttributeKind::B,
            AttributeValue::Bool(_) => AttributeKind::Bool,
            AttributeValue::Null => AttributeKind::Null,
            AttributeValue::L(_) => AttributeKind::L,
            AttributeValue::M(_) => AttributeKind::M,
            AttributeValue::Ss(_) => AttributeKind::Ss,
            AttributeValue::Ns(_) => AttributeKind::Ns,
            AttributeValue::Bs(_) => AttributeKind::Bs,
        }
    }

    /// Lists and the three set types: the values that flatten into one row per element.
    pub fn is_array(&self) -> bool {
        matches!(
            self,
            AttributeValue::L(_)
                | AttributeValue::Ss(_)
                | AttributeValue::Ns(_)
                | AttributeValue::Bs(_)
        )
    }

    pub fn element_count(&self) -> Option<usize> {
        match self {
            AttributeValue::L(v) => Some(v.len()),
            AttributeValue::Ss(v) | AttributeValue::Ns(v) | AttributeValue::Bs(v) => Some(v.len()),
            _ => None,
        }
    }

    /// Plain JSON, as an analyst expects to read it: numbers as JSON numbers where they are
    /// representable exactly, otherwise as strings; binary as base64 strings; sets as arrays.
    /// How many lists and maps are nested in this value (a scalar is 0, a list of strings 1).
    pub fn nesting(&self) -> usize {
        match self {
            AttributeValue::L(values) => 1 + values.iter().map(Self::nesting).max().unwrap_or(0),
            AttributeValue::M(entries) => {
                1 + entries.iter().map(|(_, v)| v.nesting()).max().unwrap_or(0)
            }
            _ => 0,
        }
    }

    pub fn to_plain_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            AttributeValue::S(s) | AttributeValue::B(s) => Value::String(s.to_string()),
            AttributeValue::N(n) => plain_number(n),
            AttributeValue::Bool(b) => Value::Bool(*b),
            AttributeValue::Null => Value::Null,
            AttributeValue::L(values) => {
                Value::Array(values.iter().map(Self::to_plain_json).collect())
            }
            AttributeValue::M(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_plain_json()))
                    .collect(),
            ),
            AttributeValue::Ss(values) | AttributeValue::Bs(values) => Value::Array(
                values
                    .iter()
                    .map(|v| Value::String(v.to_string()))
                    .collect(),
            ),
            AttributeValue::Ns(values) => {
                Value::Array(values.iter().map(|n| plain_number(n)).collect())
            }
        }
    }

    /// DynamoDB JSON again, for quarantine records that must show the item as it came.
    pub fn to_dynamodb_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            AttributeValue::S(s) => json!({ "S": s }),
            AttributeValue::N(n) => json!({ "N": n }),
            AttributeValue::B(b) => json!({ "B": b }),
            AttributeValue::Bool(b) => json!({ "BOOL": b }),
            AttributeValue::Null => json!({ "NULL": true }),
            AttributeValue::L(values) => {
                json!({ "L": values.iter().map(Self::to_dynamodb_json).collect::<Vec<_>>() })
            }
            AttributeValue::M(entries) => json!({
                "M": entries.iter().map(|(k, v)| (k.to_string(), v.to_dynamodb_json())).collect::<serde_json::Map<_, _>>()
            }),
            AttributeValue::Ss(v) => json!({ "SS": v }),
            AttributeValue::Ns(v) => json!({ "NS": v }),
            AttributeValue::Bs(v) => json!({ "BS": v }),
        }
    }

    /// Decodes a `B` value. DynamoDB JSON carries binary as standard base64.
    pub fn decode_binary(encoded: &str) -> Result<Vec<u8>, String> {
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| format!("binary value is not valid base64 ({e})"))
    }
}

pub(super) fn plain_number(n: &str) -> serde_json::Value {
    if let Ok(i) = n.parse::<i64>() {
        return serde_json::Value::from(i);
    }
    match n.parse::<f64>() {
        Ok(f) if f.is_finite() && f.to_string() == n => serde_json::Value::from(f),
        _ => serde_json::Value::String(n.to_string()),
    }
}

impl<'de> Deserialize<'de> for AttributeValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(AttributeValueVisitor)
    }
}

/// A string that borrows from the input when it can (no escapes), as serde's `Cow<str>` does not.
pub(crate) struct BorrowedText<'de>(pub(crate) Text<'de>);

impl<'de> Deserialize<'de> for BorrowedText<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = BorrowedText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(BorrowedText(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(BorrowedText(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(BorrowedText(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// A list of strings (SS, NS, BS), each borrowed where it can be.
struct TextList<'de>(Vec<Text<'de>>);

impl<'de> Deserialize<'de> for TextList<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = TextList<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(4));
                while let Some(BorrowedText(text)) = seq.next_element()? {
                    values.push(text);
                }
                Ok(TextList(values))
            }
        }
        deserializer.deserialize_seq(ListVisitor)
    }
}

struct AttributeValueVisitor;

impl<'de> Visitor<'de> for AttributeValueVisitor {
    type Value = AttributeValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a DynamoDB attribute value such as {\"S\": \"text\"} or {\"N\": \"1\"}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AttributeValue<'de>, A::Error> {
        let tag: AttributeKind = map.next_key()?.ok_or_else(|| {
            de::Error::custom("empty attribute value: expected one type tag such as S or N")
        })?;
        let value = match tag {
            AttributeKind::S => AttributeValue::S(map.next_value::<BorrowedText>()?.0),
            AttributeKind::N => AttributeValue::N(map.next_value::<BorrowedText>()?.0),
            AttributeKind::B => AttributeValue::B(map.next_value::<BorrowedText>()?.0),
            AttributeKind::Bool => AttributeValue::Bool(map.next_value()?),
            AttributeKind::Null => {
                let _: bool = map.next_value()?;
                AttributeValue::Null
            }
            AttributeKind::L => AttributeValue::L(map.next_value()?),
            AttributeKind::M => AttributeValue::M(map.next_value::<AttributeMap>()?.0),
            AttributeKind::Ss => AttributeValue::Ss(map.next_value::<TextList>()?.0),
            AttributeKind::Ns => AttributeValue::Ns(map.next_value::<TextList>()?.0),
            AttributeKind::Bs => AttributeValue::Bs(map.next_value::<TextList>()?.0),
        };
        if let Some(extra) = map.next_key::<AttributeKind>()? {
            return Err(de::Error::custom(format!(
                "attribute value has two type tags ({} and {}); DynamoDB JSON allows one",
                tag.tag(),
                extra.tag()
            )));
        }
        Ok(value)
    }
}

/// Type tags are read without allocating: this runs once per value of every item.
impl<'de> Deserialize<'de> for AttributeKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TagVisitor;
        impl Visitor<'_> for TagVisitor {
            type Value = AttributeKind;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a DynamoDB type tag (S, N, B, BOOL, NULL, L, M, SS, NS, BS)")
            }
            fn visit_str<E: de::Error>(self, tag: &str) -> Result<AttributeKind, E> {
                Ok(match tag {
                    "S" => AttributeKind::S,
                    "N" => AttributeKind::N,
                    "B" => AttributeKind::B,
                    "BOOL" => AttributeKind::Bool,
                    "NULL" => AttributeKind::Null,
                    "L" => AttributeKind::L,
                    "M" => AttributeKind::M,
                    "SS" => AttributeKind::Ss,
                    "NS" => AttributeKind::Ns,
                    "BS" => AttributeKind::Bs,
                    other => {
                        return Err(E::custom(format!(
                            "unknown DynamoDB type tag {other:?}; expected one of S, N, B, BOOL, NULL, L, M, SS, NS, BS"
                        )));
                    }
                })
            }
        }
        deserializer.deserialize_identifier(TagVisitor)
    }
}

/// A map of attribute names to values in the order they were written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AttributeMap<'a>(pub Vec<(Text<'a>, AttributeValue<'a>)>);

impl<'de> Deserialize<'de> for AttributeMap<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = AttributeMap<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of attribute names to DynamoDB attribute values")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<AttributeMap<'de>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((BorrowedText(name), value)) =
                    map.next_entry::<BorrowedText, AttributeValue>()?
                {
                    entries.push((name, value));
                }
                Ok(AttributeMap(entries))
            }
        }
        deserializer.deserialize_map(MapVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> AttributeValue<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn text_borrows_from_the_line_unless_escaped() {
        let line = r#"{"S":"plain"}"#;
        assert!(matches!(
            parse(line),
            AttributeValue::S(Cow::Borrowed("plain"))
        ));
        let escaped = r#"{"S":"a\"b"}"#;
        assert!(matches!(parse(escaped), AttributeValue::S(Cow::Owned(s)) if s == "a\"b"));
    }

    #[test]
    fn parses_every_type_tag() {
        assert_eq!(parse(r#"{"S":"a"}"#), AttributeValue::S("a".into()));
        assert_eq!(parse(r#"{"N":"1.5"}"#), AttributeValue::N("1.5".into()));
        assert_eq!(parse(r#"{"B":"AAE="}"#), AttributeValue::B("AAE=".into()));
        assert_eq!(parse(r#"{"BOOL":true}"#), AttributeValue::Bool(true));
        assert_eq!(parse(r#"{"NULL":true}"#), AttributeValue::Null);
        assert_eq!(
            parse(r#"{"L":[{"S":"x"},{"N":"2"}]}"#).element_count(),
            Some(2)
        );
        assert_eq!(
            parse(r#"{"M":{"k":{"S":"v"}}}"#),
            AttributeValue::M(vec![("k".into(), AttributeValue::S("v".into()))])
        );
        assert_eq!(
            parse(r#"{"SS":["a","b"]}"#),
            AttributeValue::Ss(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            parse(r#"{"NS":["1"]}"#),
            AttributeValue::Ns(vec!["1".into()])
        );
        assert_eq!(
            parse(r#"{"BS":["AA=="]}"#),
            AttributeValue::Bs(vec!["AA==".into()])
        );
    }

    #[test]
    fn rejects_unknown_and_double_tags_with_a_reason() {
        let err = serde_json::from_str::<AttributeValue>(r#"{"X":"a"}"#).unwrap_err();
        assert!(
            err.to_string().contains("unknown DynamoDB type tag"),
            "{err}"
        );
        let err = serde_json::from_str::<AttributeValue>(r#"{"S":"a","N":"1"}"#).unwrap_err();
        assert!(err.to_string().contains("two type tags"), "{err}");
    }

    #[test]
    fn plain_json_keeps_numbers_exact() {
        assert_eq!(
            AttributeValue::N("42".into()).to_plain_json(),
            serde_json::json!(42)
        );
        assert_eq!(
            AttributeValue::N("0.5".into()).to_plain_json(),
            serde_json::json!(0.5)
        );
        let big = "123456789012345678901234567890";
        assert_eq!(
            AttributeValue::N(big.into()).to_plain_json(),
            serde_json::json!(big)
        );
    }

    #[test]
    fn binary_decodes_from_base64() {
        assert_eq!(AttributeValue::decode_binary("AAE=").unwrap(), vec![0, 1]);
        assert!(AttributeValue::decode_binary("not base64!").is_err());
    }
}
