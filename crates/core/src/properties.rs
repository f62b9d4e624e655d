//! Property tests of every parser and of the names and keys made from input: generated input,
//! a bounded number of cases per run (`PROPTEST_CASES` raises it), and the cases that once
//! failed kept in `proptest-regressions/` and replayed first on every run.

use crate::dynamo::parse_export_line;
use crate::naming::Namespace;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Text as sources hold it: any Unicode, quotes, backslashes, control characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_ ]{0,12}",
        any::<String>(),
        "[\"\\\\\u{0}-\u{1f}éß注文]{0,6}",
    ]
}

/// A DynamoDB JSON value, nested a few levels.
fn attribute() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text().prop_map(|s| json!({ "S": s })),
        (any::<i64>(), 0u32..4).prop_map(|(n, scale)| {
            let text = if scale == 0 {
                n.to_string()
            } else {
                format!("{n}.{}", "5".repeat(scale as usize))
            };
            json!({ "N": text })
        }),
        any::<bool>().prop_map(|b| json!({ "BOOL": b })),
        Just(json!({ "NULL": true })),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(|bytes| {
            use base64::Engine;
            json!({ "B": base64::engine::general_purpose::STANDARD.encode(bytes) })
        }),
        prop::collection::btree_set(text(), 1..4).prop_map(|set| json!({ "SS": set })),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|l| json!({ "L": l })),
            prop::collection::btree_map(text(), inner, 0..4).prop_map(|m| json!({ "M": m })),
        ]
    })
}

fn item() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(text(), attribute(), 0..6)
        .prop_map(|attributes| json!({ "Item": attributes }))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The fast scanner and serde read every line the same, and what they read writes back as
    /// the same DynamoDB JSON.
    #[test]
    fn export_lines_read_alike_on_both_paths(line in item()) {
        let text = line.to_string();
        let fast = parse_export_line(&text);
        let serde = crate::dynamo::parse_with_serde(&text);
        match (fast, serde) {
            (Ok(fast), Ok(serde)) => {
                prop_assert_eq!(&fast, &serde);
                prop_assert_eq!(fast.to_dynamodb_json(), line["Item"].clone());
            }
            (fast, serde) => prop_assert!(fast.is_err() && serde.is_err(), "{fast:?} / {serde:?}"),
        }
    }

    /// Any bytes at all: an item or a reason, never a panic.
    #[test]
    fn export_lines_of_any_bytes_parse_or_explain(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = parse_export_line(&text) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    /// Segment lines of any shape: an event or a reason, never a panic.
    #[test]
    fn segment_lines_parse_or_explain(
        fields in prop::collection::btree_map(
            prop_oneof![Just("type".to_string()), Just("messageId".to_string()),
                Just("timestamp".to_string()), Just("event".to_string()),
                Just("properties".to_string()), text()],
            prop_oneof![text().prop_map(Value::from), any::<i64>().prop_map(Value::from),
                Just(json!("track")), Just(json!("2026-11-21T10:00:00Z")), attribute()],
            0..6),
    ) {
        let line = Value::Object(fields.into_iter().collect()).to_string();
        if let Err(reason) = crate::segment::parse_event(&line, None) {
            prop_assert!(!reason.is_empty());
        }
    }

    /// Names made from any set of source names are plain and distinct, whatever the order,
    /// and never a reserved one.
    #[test]
    fn names_are_plain_distinct_and_order_free(raws in prop::collection::btree_set(text(), 0..12)) {
        let raws: Vec<&str> = raws.iter().map(String::as_str).collect();
        let names = Namespace::reserving(["dt", "run", "_extra"]).assign(&raws, "property");
        let mut reversed_raws = raws.clone();
        reversed_raws.reverse();
        let mut reversed = Namespace::reserving(["dt", "run", "_extra"]).assign(&reversed_raws, "property");
        reversed.reverse();
        prop_assert_eq!(&names, &reversed);
        let unique: std::collections::BTreeSet<&String> = names.iter().collect();
        prop_assert_eq!(unique.len(), names.len());
        for name in &names {
            prop_assert!(!["dt", "run", "_extra"].contains(&name.as_str()));
            prop_assert!(!name.is_empty());
            prop_assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{}", name);
        }
    }

    /// A key the stores accept never leaves the root, whatever it was built from.
    #[test]
    fn accepted_keys_stay_under_the_root(key in "[a-z./\\\\\u{0}]{0,20}") {
        if crate::store::check_key(&key, false).is_ok() {
            let path = std::path::Path::new("/root").join(&key);
            prop_assert!(path.starts_with("/root"));
            prop_assert!(path.components().all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::RootDir)));
        }
    }

    /// Lines read with a bound account for every byte: kept lines plus skipped lengths are the
    /// input, and no kept line is over the bound.
    #[test]
    fn bounded_lines_account_for_every_byte(
        bytes in prop::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>()], 0..400),
        max in 0usize..40,
    ) {
        let mut reader = std::io::BufReader::with_capacity(7, &bytes[..]);
        let mut buffer = Vec::new();
        let mut total = 0u64;
        loop {
            let (line, length) = crate::lines::read_line(&mut reader, &mut buffer, max).unwrap();
            match line {
                crate::lines::Line::End => break,
                crate::lines::Line::Kept => {
                    prop_assert_eq!(buffer.len() as u64, length);
                    let content = buffer.iter().rposition(|b| !matches!(b, b'\n' | b'\r')).map_or(0, |i| i + 1);
                    prop_assert!(content <= max);
                }
                crate::lines::Line::Oversized(n) => prop_assert_eq!(n, length),
            }
            total += length;
        }
        prop_assert_eq!(total, bytes.len() as u64);
    }
}
