use super::value::{AttributeMap, AttributeValue, BorrowedText, Text};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// One DynamoDB item: attribute names and values in the order they were written, borrowing
/// from the text it was parsed from (`Item<'static>` owns everything).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Item<'a> {
    pub attributes: Vec<(Text<'a>, AttributeValue<'a>)>,
}

impl<'a> Item<'a> {
    pub fn new(attributes: Vec<(Text<'a>, AttributeValue<'a>)>) -> Self {
        Self { attributes }
    }

    pub fn get(&self, name: &str) -> Option<&AttributeValue<'a>> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// The same item owning all its text.
    pub fn into_owned(self) -> Item<'static> {
        Item::new(
            self.attributes
                .into_iter()
                .map(|(name, value)| (Text::Owned(name.into_owned()), value.into_owned()))
                .collect(),
        )
    }

    pub fn to_dynamodb_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_dynamodb_json()))
                .collect(),
        )
    }
}

impl Item<'static> {
    /// Parses an item written as a bare DynamoDB JSON map (`{"attr": {"S": "..."}}`).
    pub fn from_dynamodb_json(json: &str) -> Result<Self, serde_json::Error> {
        Self::from_dynamodb_json_unchecked(json).and_then(within_dynamodb_nesting)
    }

    fn from_dynamodb_json_unchecked(json: &str) -> Result<Self, serde_json::Error> {
        let map: AttributeMap<'_> = serde_json::from_str(json)?;
        Ok(Item::new(map.0).into_owned())
    }
}

/// One line of a DynamoDB export to S3 in DYNAMODB_JSON format: `{"Item": {...}}`.
#[derive(Debug)]
pub struct ExportLine<'a> {
    item: AttributeMap<'a>,
}

impl<'de> Deserialize<'de> for ExportLine<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LineVisitor;
        impl<'de> Visitor<'de> for LineVisitor {
            type Value = ExportLine<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an export line {\"Item\": {...}}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut item = None;
                while let Some(key) = map.next_key::<BorrowedText<'de>>()? {
                    if key.0 == "Item" {
                        item = Some(map.next_value::<AttributeMap<'de>>()?);
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
                item.map(|item| ExportLine { item })
                    .ok_or_else(|| de::Error::missing_field("Item"))
            }
        }
        deserializer.deserialize_map(LineVisitor)
    }
}

/// Refuses an item nested deeper than DynamoDB allows (serde_json already refuses one nested
/// past its recursion limit, before the stack could run out).
pub(super) fn within_dynamodb_nesting(item: Item<'_>) -> Result<Item<'_>, serde_json::Error> {
    let deepest = item
        .attributes
        .iter()
        .map(|(_, v)| v.nesting())
        .max()
        .unwrap_or(0);
    if deepest > super::value::MAX_NESTING {
        return Err(serde::de::Error::custom(format!(
            "the item nests lists and maps {deepest} levels deep; DynamoDB allows {}",
            super::value::MAX_NESTING
        )));
    }
    Ok(item)
}

pub(crate) fn parse_with_serde(line: &str) -> Result<Item<'_>, serde_json::Error> {
    let parsed: ExportLine<'_> = serde_json::from_str(line)?;
    Ok(Item::new(parsed.item.0))
}
