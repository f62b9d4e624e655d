//! A fast path for export lines as DynamoDB writes them: compact JSON, no escapes, one type tag
//! per value. It builds the same `Item` as the serde parser in a single pass over the bytes,
//! without serde's per-token dispatch, which was most of the flattener's parse time.
//!
//! It never decides that a line is wrong: anything it does not expect (an escape, a control
//! character, a second type tag, an unknown tag, trailing text) makes it give up, and the caller
//! parses the line with serde_json, which then gives the answer and the error message.

use super::item::Item;
use super::value::{AttributeValue, Text};
use std::borrow::Cow;

/// The item in `line`, or `None` when the line needs the full parser.
pub(crate) fn scan_export_line(line: &str) -> Option<Item<'_>> {
    let mut scanner = Scanner {
        text: line,
        bytes: line.as_bytes(),
        at: 0,
        depth: 0,
    };
    scanner.expect(b'{')?;
    if scanner.string()? != "Item" {
        return None;
    }
    scanner.expect(b':')?;
    let attributes = scanner.attribute_map()?;
    scanner.expect(b'}')?;
    scanner.skip_whitespace();
    (scanner.at == scanner.bytes.len()).then(|| Item::new(attributes))
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    /// Lists and maps open around the current value: past DynamoDB's limit the scanner gives
    /// the line to serde_json, which bounds its own recursion, so no line can exhaust the stack.
    depth: usize,
}

use super::value::MAX_NESTING;

/// Lists of this many elements or fewer take one allocation.
const LIST_CAPACITY: usize = 8;

type Entries<'a> = Vec<(Text<'a>, AttributeValue<'a>)>;

impl<'a> Scanner<'a> {
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after whitespace, consumed.
    fn next(&mut self) -> Option<u8> {
        self.skip_whitespace();
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    /// A string without escapes or control characters, borrowed from the line.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        loop {
            match *self.bytes.get(self.at)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
        let text = self.text.get(start..self.at)?;
        self.at += 1;
        Some(text)
    }

    /// `true` or `false`.
    fn boolean(&mut self) -> Option<bool> {
        self.skip_whitespace();
        let rest = &self.bytes[self.at..];
        let (value, length) = if rest.starts_with(b"true") {
            (true, 4)
        } else if rest.starts_with(b"false") {
            (false, 5)
        } else {
            return None;
        };
        self.at += length;
        Some(value)
    }

    /// Calls `element` for each element of a JSON array, which it must consume.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.expect(b'[')?;
        self.skip_whitespace();
        if self.bytes.get(self.at) == Some(&b']') {
            self.at += 1;
            return Some(());
        }
        loop {
            element(self)?;
            match self.next()? {
                b',' => {}
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    fn attribute_map(&mut self) -> Option<Entries<'a>> {
        self.expect(b'{')?;
        let mut entries = Vec::with_capacity(16);
        self.skip_whitespace();
        if self.bytes.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Some(entries);
        }
        loop {
            let name = self.string()?;
            self.expect(b':')?;
            entries.push((Cow::Borrowed(name), self.value()?));
            match self.next()? {
                b',' => {}
                b'}' => return Some(entries),
                _ => return None,
            }
        }
    }

    fn text_list(&mut self) -> Option<Vec<Text<'a>>> {
        let mut values = Vec::with_capacity(LIST_CAPACITY);
        self.array(|s| {
            values.push(Cow::Borrowed(s.string()?));
            Some(())
        })?;
        Some(values)
    }

    /// `{"<tag>": <payload>}` with exactly one tag.
    fn value(&mut self) -> Option<AttributeValue<'a>> {
        self.expect(b'{')?;
        let tag = self.string()?;
        self.expect(b':')?;
        let value = match tag {
            "S" => AttributeValue::S(Cow::Borrowed(self.string()?)),
            "N" => AttributeValue::N(Cow::Borrowed(self.string()?)),
            "B" => AttributeValue::B(Cow::Borrowed(self.string()?)),
            "BOOL" => AttributeValue::Bool(self.boolean()?),
            "NULL" => {
                self.boolean()?;
                AttributeValue::Null
            }
            "L" | "M" if self.depth >= MAX_NESTING => return None,
            "L" => {
                self.depth += 1;
                let mut values = Vec::with_capacity(LIST_CAPACITY);
                self.array(|s| {
                    values.push(s.value()?);
                    Some(())
                })?;
                self.depth -= 1;
                AttributeValue::L(values)
            }
            "M" => {
                self.depth += 1;
                let map = self.attribute_map()?;
                self.depth -= 1;
                AttributeValue::M(map)
            }
            "SS" => AttributeValue::Ss(self.text_list()?),
            "NS" => AttributeValue::Ns(self.text_list()?),
            "BS" => AttributeValue::Bs(self.text_list()?),
            _ => return None,
        };
        self.expect(b'}')?;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::item::parse_with_serde;

    /// The fast path either gives up or agrees with serde_json, which must then succeed.
    fn agrees(line: &str) -> bool {
        match scan_export_line(line) {
            None => false,
            Some(item) => {
                let reference = parse_with_serde(line)
                    .unwrap_or_else(|e| panic!("fast path accepted {line:?}, serde refused: {e}"));
                assert_eq!(item, reference, "{line}");
                true
            }
        }
    }

    #[test]
    fn takes_every_type_in_the_export_shape() {
        assert!(agrees(
            r#"{"Item":{"id":{"S":"q1"},"n":{"N":"-1.5e3"},"b":{"B":"AAE="},"t":{"BOOL":true},"f":{"BOOL":false},"z":{"NULL":true},"l":{"L":[{"S":"a"},{"N":"2"},{"L":[]},{"M":{"k":{"S":"v"}}}]},"m":{"M":{}},"ss":{"SS":["x","y"]},"ns":{"NS":["1"]},"bs":{"BS":[]},"e":{"L":[]}}}"#
        ));
        assert!(agrees("{\"Item\":{}}"));
        assert!(agrees(
            " { \"Item\" : { \"a\" : { \"L\" : [ { \"S\" : \"x\" } , { \"S\" : \"\" } ] } } } \r"
        ));
        assert!(agrees(r#"{"Item":{"k":{"S":"한글 ✓"},"k":{"S":"twice"}}}"#));
    }

    #[test]
    fn leaves_everything_unusual_to_serde() {
        for line in [
            r#"{"Item":{"a":{"S":"with \"escape\""}}}"#,
            r#"{"Item":{"a\u0041":{"S":"x"}}}"#,
            "{\"Item\":{\"a\":{\"S\":\"tab\there\"}}}",
            r#"{"Item":{"a":{"S":"x","N":"1"}}}"#,
            r#"{"Item":{"a":{"X":"x"}}}"#,
            r#"{"Item":{"a":{}}}"#,
            r#"{"Item":{"a":{"S":"x"}}} trailing"#,
            r#"{"Item":{"a":{"S":"x"}},"Other":1}"#,
            r#"{"Other":1,"Item":{}}"#,
            r#"{"Item":{"a":{"S":"x"},}}"#,
            r#"{"Item":{"a":{"L":[{"S":"x"},]}}}"#,
            r#"{"Item":{"a":{"BOOL":"true"}}}"#,
            r#"{"Item":{"a":{"N":1}}}"#,
            r#"{"Item":{"a":{"S":"x"}}"#,
            r#"{"Item":{"a":{"S":"unterminated}}}"#,
            "",
            "[]",
        ] {
            assert!(scan_export_line(line).is_none(), "{line}");
        }
    }

    #[test]
    fn never_accepts_what_serde_refuses() {
        let line = r#"{"Item":{"id":{"S":"q1"},"l":{"L":[{"S":"a"},{"N":"2"}]},"m":{"M":{"k":{"BOOL":true}}},"ss":{"SS":["x","y"]},"z":{"NULL":true}}}"#;
        assert!(agrees(line));
        let bytes = line.as_bytes();
        // Every single-byte deletion and every replacement by a JSON-significant byte.
        for at in 0..bytes.len() {
            let mut deleted = bytes.to_vec();
            deleted.remove(at);
            if let Ok(text) = std::str::from_utf8(&deleted) {
                agrees(text);
            }
            for replacement in *b"{}[]:,\" \\tfn0" {
                let mut changed = bytes.to_vec();
                changed[at] = replacement;
                if let Ok(text) = std::str::from_utf8(&changed) {
                    agrees(text);
                }
            }
        }
    }
}
