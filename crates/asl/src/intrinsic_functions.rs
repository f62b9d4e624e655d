//! The intrinsic functions themselves, on arguments already evaluated, as the Step Functions
//! developer guide ("Intrinsic functions for JSONPath states") defines them, limits included.

use base64::Engine;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

/// The functions this runner knows, for the error that names one it does not.
pub const KNOWN: &str = "States.Format, StringToJson, JsonToString, Array, ArrayPartition, \
     ArrayContains, ArrayRange, ArrayGetItem, ArrayLength, ArrayUnique, Base64Encode, \
     Base64Decode, Hash, JsonMerge, MathRandom, MathAdd, StringSplit, UUID";

/// AWS refuses a States.ArrayRange of more items, and Base64 and Hash input of more characters.
const MAX_RANGE_ITEMS: usize = 1000;
const MAX_ENCODED_CHARACTERS: usize = 10_000;

/// Runs `name` on `args`; `None` when no such function exists.
pub fn apply(name: &str, args: Vec<Value>) -> Option<Result<Value, String>> {
    Some(match name {
        "States.Format" => format(&args),
        "States.StringToJson" => match args.first() {
            Some(Value::String(s)) => {
                serde_json::from_str(s).map_err(|e| format!("not JSON ({e})"))
            }
            _ => Err("expects a string".into()),
        },
        "States.JsonToString" => Ok(Value::String(
            args.first().cloned().unwrap_or(Value::Null).to_string(),
        )),
        "States.Array" => Ok(Value::Array(args)),
        "States.ArrayPartition" => match (args.first(), integer(args.get(1))) {
            (Some(Value::Array(items)), Some(size)) if size > 0 => Ok(Value::Array(
                items
                    .chunks(size as usize)
                    .map(|chunk| Value::Array(chunk.to_vec()))
                    .collect(),
            )),
            _ => Err("expects an array and a chunk size above 0".into()),
        },
        "States.ArrayContains" => match (args.first(), args.get(1)) {
            (Some(Value::Array(items)), Some(wanted)) => Ok(Value::Bool(items.contains(wanted))),
            _ => Err("expects an array and a value".into()),
        },
        "States.ArrayRange" => range(&args),
        "States.ArrayGetItem" => match (args.first(), integer(args.get(1))) {
            (Some(Value::Array(items)), Some(index)) => usize::try_from(index)
                .ok()
                .and_then(|i| items.get(i).cloned())
                .ok_or_else(|| format!("index {index} is outside an array of {}", items.len())),
            _ => Err("expects an array and an index".into()),
        },
        "States.ArrayLength" => match args.first() {
            Some(Value::Array(a)) => Ok(Value::from(a.len())),
            _ => Err("expects an array".into()),
        },
        "States.ArrayUnique" => match args.first() {
            Some(Value::Array(items)) => {
                let mut unique: Vec<Value> = Vec::new();
                for item in items {
                    if !unique.contains(item) {
                        unique.push(item.clone());
                    }
                }
                Ok(Value::Array(unique))
            }
            _ => Err("expects an array".into()),
        },
        "States.Base64Encode" => short_text(args.first())
            .map(|text| Value::String(base64::engine::general_purpose::STANDARD.encode(text))),
        "States.Base64Decode" => short_text(args.first()).and_then(|text| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| format!("not Base64 ({e})"))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| "decodes to bytes that are not UTF-8".into())
        }),
        "States.Hash" => hash(&args),
        "States.JsonMerge" => match (args.first(), args.get(1), args.get(2)) {
            (Some(Value::Object(left)), Some(Value::Object(right)), Some(Value::Bool(false))) => {
                let mut merged: Map<String, Value> = left.clone();
                merged.extend(right.clone());
                Ok(Value::Object(merged))
            }
            (_, _, Some(Value::Bool(true))) => {
                Err("deep merging is not offered: Step Functions merges shallowly only".into())
            }
            _ => Err("expects two objects and false".into()),
        },
        "States.MathRandom" => match (integer(args.first()), integer(args.get(1))) {
            (Some(start), Some(end)) if start < end => {
                let n = match integer(args.get(2)) {
                    Some(seed) => {
                        rand::rngs::SmallRng::seed_from_u64(seed as u64).random_range(start..end)
                    }
                    None => rand::rng().random_range(start..end),
                };
                Ok(Value::from(n))
            }
            _ => Err("expects a start below an end, and an optional seed".into()),
        },
        "States.MathAdd" => match (integer(args.first()), integer(args.get(1))) {
            (Some(a), Some(b)) => Ok(Value::from(a + b)),
            _ => Err("expects two integers".into()),
        },
        "States.StringSplit" => match (
            args.first().and_then(Value::as_str),
            args.get(1).and_then(Value::as_str),
        ) {
            (Some(text), Some(separators)) => Ok(Value::Array(
                text.split(|c| separators.contains(c))
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            )),
            _ => Err("expects a string and separator characters".into()),
        },
        "States.UUID" => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
        _ => return None,
    })
}

fn integer(value: Option<&Value>) -> Option<i64> {
    value.and_then(Value::as_i64)
}

fn short_text(value: Option<&Value>) -> Result<&str, String> {
    match value {
        Some(Value::String(s)) if s.chars().count() <= MAX_ENCODED_CHARACTERS => Ok(s),
        Some(Value::String(_)) => Err(format!("takes at most {MAX_ENCODED_CHARACTERS} characters")),
        _ => Err("expects a string".into()),
    }
}

fn format(args: &[Value]) -> Result<Value, String> {
    let Some(Value::String(template)) = args.first() else {
        return Err("expects a template string".into());
    };
    let mut values = args[1..].iter();
    let mut out = String::new();
    let mut pieces = template.split("{}");
    out.push_str(pieces.next().unwrap_or_default());
    for piece in pieces {
        match values.next() {
            Some(Value::String(s)) => out.push_str(s),
            Some(other) => out.push_str(&other.to_string()),
            None => return Err("has more {} than arguments".into()),
        }
        out.push_str(piece);
    }
    if values.next().is_some() {
        return Err("has more arguments than {}".into());
    }
    Ok(Value::String(out))
}

fn range(args: &[Value]) -> Result<Value, String> {
    let (Some(start), Some(end), Some(step)) = (
        integer(args.first()),
        integer(args.get(1)),
        integer(args.get(2)),
    ) else {
        return Err("expects a start, an end and a step, all integers".into());
    };
    if step == 0 {
        return Err("a step of 0 never ends".into());
    }
    let mut items = Vec::new();
    let mut n = start;
    while (step > 0 && n <= end) || (step < 0 && n >= end) {
        if items.len() == MAX_RANGE_ITEMS {
            return Err(format!("makes more than {MAX_RANGE_ITEMS} items"));
        }
        items.push(Value::from(n));
        n += step;
    }
    Ok(Value::Array(items))
}

fn hash(args: &[Value]) -> Result<Value, String> {
    use sha2::Digest;
    let data = short_text(args.first())?;
    let digest = match args.get(1).and_then(Value::as_str) {
        Some("MD5") => md5::Md5::digest(data).to_vec(),
        Some("SHA-1") => sha1::Sha1::digest(data).to_vec(),
        Some("SHA-256") => sha2::Sha256::digest(data).to_vec(),
        Some("SHA-384") => sha2::Sha384::digest(data).to_vec(),
        Some("SHA-512") => sha2::Sha512::digest(data).to_vec(),
        _ => return Err("expects MD5, SHA-1, SHA-256, SHA-384 or SHA-512".into()),
    };
    Ok(Value::String(
        digest.iter().map(|b| format!("{b:02x}")).collect(),
    ))
}
