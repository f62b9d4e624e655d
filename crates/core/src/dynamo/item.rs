use super::value::{AttributeMap, AttributeValue};
use serde::Deserialize;

/// One DynamoDB item: attribute names and values in the order they were written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Item {
    pub attributes: Vec<(String, AttributeValue)>,
}

impl Item {
    pub fn new(attributes: Vec<(String, AttributeValue)>) -> Self {
        Self { attributes }
    }

    pub fn get(&self, name: &str) -> Option<&AttributeValue> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// Parses an item written as a bare DynamoDB JSON map (`{"attr": {"S": "..."}}`).
    pub fn from_dynamodb_json(json: &str) -> Result<Self, serde_json::Error> {
        let map: AttributeMap = serde_json::from_str(json)?;
        Ok(Self::new(map.0))
    }

    pub fn to_dynamodb_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.to_dynamodb_json()))
                .collect(),
        )
    }
}

/// One line of a DynamoDB export to S3 in DYNAMODB_JSON format: `{"Item": {...}}`.
#[derive(Debug, Deserialize)]
pub struct ExportLine {
    #[serde(rename = "Item")]
    item: AttributeMap,
}

impl ExportLine {
    pub fn parse(line: &str) -> Result<Item, serde_json::Error> {
        let parsed: ExportLine = serde_json::from_str(line)?;
        Ok(Item::new(parsed.item.0))
    }
}
