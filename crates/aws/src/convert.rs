//! SDK attribute values to daybook's DynamoDB model, the same one exports parse into.

use aws_sdk_dynamodb::types::AttributeValue as Sdk;
use base64::Engine;
use daybook_core::dynamo::{AttributeValue, Item, Text};
use std::collections::HashMap;

pub fn item(attributes: HashMap<String, Sdk>) -> Item<'static> {
    let mut attributes: Vec<(Text<'static>, AttributeValue<'static>)> = attributes
        .into_iter()
        .map(|(k, v)| (Text::Owned(k), value(v)))
        .collect();
    // HashMap order is random; sorted names make output files reproducible.
    attributes.sort_by(|a, b| a.0.cmp(&b.0));
    Item::new(attributes)
}

pub fn value(v: Sdk) -> AttributeValue<'static> {
    let b64 = |blob: aws_sdk_dynamodb::primitives::Blob| {
        Text::Owned(base64::engine::general_purpose::STANDARD.encode(blob.into_inner()))
    };
    let texts = |values: Vec<String>| values.into_iter().map(Text::Owned).collect();
    match v {
        Sdk::S(s) => AttributeValue::S(Text::Owned(s)),
        Sdk::N(n) => AttributeValue::N(Text::Owned(n)),
        Sdk::B(b) => AttributeValue::B(b64(b)),
        Sdk::Bool(b) => AttributeValue::Bool(b),
        Sdk::Null(_) => AttributeValue::Null,
        Sdk::L(values) => AttributeValue::L(values.into_iter().map(value).collect()),
        Sdk::M(map) => AttributeValue::M(item(map).attributes),
        Sdk::Ss(values) => AttributeValue::Ss(texts(values)),
        Sdk::Ns(values) => AttributeValue::Ns(texts(values)),
        Sdk::Bs(values) => AttributeValue::Bs(values.into_iter().map(b64).collect()),
        // A type added to DynamoDB after this SDK: kept visible rather than dropped.
        _ => AttributeValue::S(Text::Owned(format!("{v:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;

    #[test]
    fn converts_every_type() {
        let sdk = HashMap::from([
            ("s".to_string(), Sdk::S("x".into())),
            ("b".to_string(), Sdk::B(Blob::new(vec![0, 1]))),
            (
                "m".to_string(),
                Sdk::M(HashMap::from([("n".to_string(), Sdk::N("1".into()))])),
            ),
            ("bs".to_string(), Sdk::Bs(vec![Blob::new(vec![0])])),
            ("z".to_string(), Sdk::Null(true)),
        ]);
        let item = item(sdk);
        let names: Vec<&str> = item.attributes.iter().map(|(n, _)| n.as_ref()).collect();
        assert_eq!(names, ["b", "bs", "m", "s", "z"]);
        assert_eq!(item.get("b"), Some(&AttributeValue::B("AAE=".into())));
        assert_eq!(
            item.get("bs"),
            Some(&AttributeValue::Bs(vec!["AA==".into()]))
        );
        assert_eq!(
            item.get("m"),
            Some(&AttributeValue::M(vec![(
                "n".into(),
                AttributeValue::N("1".into())
            )]))
        );
        assert_eq!(item.get("z"), Some(&AttributeValue::Null));
    }
}
