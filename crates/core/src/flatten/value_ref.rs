use crate::dynamo::{AttributeKind, AttributeValue};

/// A borrowed view of one value, so set elements (bare strings) and list elements
/// (attribute values) go through the same column code without copying.
#[derive(Debug, Clone, Copy)]
pub enum ValueRef<'a> {
    Attribute(&'a AttributeValue<'a>),
    S(&'a str),
    N(&'a str),
    B(&'a str),
}

impl<'a> ValueRef<'a> {
    pub fn kind(self) -> AttributeKind {
        match self {
            ValueRef::Attribute(v) => v.kind(),
            ValueRef::S(_) => AttributeKind::S,
            ValueRef::N(_) => AttributeKind::N,
            ValueRef::B(_) => AttributeKind::B,
        }
    }

    pub fn is_null(self) -> bool {
        matches!(self, ValueRef::Attribute(AttributeValue::Null))
    }

    pub fn as_str(self) -> Option<&'a str> {
        match self {
            ValueRef::S(s) => Some(s),
            ValueRef::Attribute(AttributeValue::S(s)) => Some(s.as_ref()),
            _ => None,
        }
    }

    pub fn as_number(self) -> Option<&'a str> {
        match self {
            ValueRef::N(s) => Some(s),
            ValueRef::Attribute(AttributeValue::N(s)) => Some(s.as_ref()),
            _ => None,
        }
    }

    pub fn as_binary(self) -> Option<&'a str> {
        match self {
            ValueRef::B(s) => Some(s),
            ValueRef::Attribute(AttributeValue::B(s)) => Some(s.as_ref()),
            _ => None,
        }
    }

    pub fn write_plain_json(self, out: &mut impl std::fmt::Write) -> std::fmt::Result {
        match self {
            ValueRef::Attribute(v) => v.write_plain_json(out),
            ValueRef::S(s) | ValueRef::B(s) => crate::dynamo::write_json_string(s, out),
            ValueRef::N(n) => AttributeValue::N(n.into()).write_plain_json(out),
        }
    }

    /// Calls `f` with each element of a list or set, in order.
    pub fn for_each_element(value: &'a AttributeValue, mut f: impl FnMut(ValueRef<'a>)) -> bool {
        match value {
            AttributeValue::L(values) => values.iter().for_each(|v| f(ValueRef::Attribute(v))),
            AttributeValue::Ss(values) => values.iter().for_each(|v| f(ValueRef::S(v))),
            AttributeValue::Ns(values) => values.iter().for_each(|v| f(ValueRef::N(v))),
            AttributeValue::Bs(values) => values.iter().for_each(|v| f(ValueRef::B(v))),
            _ => return false,
        }
        true
    }
}
