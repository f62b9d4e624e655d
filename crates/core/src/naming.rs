//! Names of tables and columns made from names a source holds (attributes, properties, events).
//!
//! Glue, Hive and Redshift Spectrum fold names to lower case and accept letters, digits and `_`;
//! S3 keys and folders take a name as one path segment. A source's names are anything: empty,
//! `..`, `注文完了`, 300 characters, `A` beside `a`. The mapping here is injective within one
//! namespace (a table's columns, a source's tables) and stable from day to day:
//!
//! - a name already plain (`order_id`) is kept;
//! - an ASCII name is brought to lower snake case (`orderId` → `order_id`);
//! - a name with other letters is transliterated and always carries a suffix made from its hash
//!   (`注文完了` → `zhu_wen_wan_liao_5c1f09a2`), so two names that read alike stay apart;
//! - so does a name with nothing left (`""`, `..`) or one cut to [`MAX_NAME_CHARS`];
//! - names that would meet one another or a reserved name (`dt`, `pos`, our `_extra`) are told
//!   apart by that suffix too, except a name that is already exactly what it maps to.
//!
//! Every rename is described in a note, which the run's manifest keeps.

use std::collections::{BTreeMap, BTreeSet};

/// Longest name written (Glue allows 255, Redshift 127 bytes; this leaves room for a suffix).
pub const MAX_NAME_CHARS: usize = 100;

/// Partition columns every lake table has; no source name may take them.
pub const PARTITION_COLUMNS: [&str; 2] = ["dt", "run"];

/// A name the user writes (a source, a lake table, a report) is used as it is: as a folder, a
/// catalog name and a SQL identifier. It must already be plain: a lower-case letter, then
/// lower-case letters, digits and `_`, at most 64 characters.
pub fn check_plain(name: &str, what: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let plain = matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 64;
    if plain {
        return Ok(());
    }
    let suggestion = match candidate(name) {
        (plain, false) if plain.starts_with(|c: char| c.is_ascii_lowercase()) => {
            format!(" (for example {plain:?})")
        }
        _ => String::new(),
    };
    Err(format!(
        "{what} {name:?} is not a plain name: it becomes a folder, a catalog table and a SQL name as written, so use a lower-case letter, then lower-case letters, digits and _, at most 64 characters{suggestion}"
    ))
}

/// A name that is only a folder and part of file names (a report's, an analysis'): lower-case
/// letters and digits first, then those, `-` and `_`, at most 64 characters.
pub fn check_folder(name: &str, what: &str) -> Result<(), String> {
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if plain {
        Ok(())
    } else {
        Err(format!(
            "{what} {name:?} is a folder and file name: use lower-case letters, digits, - and _, at most 64 characters"
        ))
    }
}

/// The plain form of a name before any collision is looked at, and whether it must carry the
/// hash suffix on its own (transliterated, empty or cut).
fn candidate(raw: &str) -> (String, bool) {
    let ascii = raw.is_ascii();
    let text = if ascii {
        std::borrow::Cow::Borrowed(raw)
    } else {
        std::borrow::Cow::Owned(deunicode::deunicode(raw))
    };
    let mut name = snake(&text);
    // Letters of other scripts read differently once transliterated: mark them. Other symbols
    // (a dash, a space) are separators like ASCII punctuation.
    let foreign = raw.chars().any(|c| !c.is_ascii() && c.is_alphanumeric());
    let mut marked = foreign || name.is_empty();
    if name.chars().count() > MAX_NAME_CHARS {
        name = name.chars().take(MAX_NAME_CHARS).collect();
        name.truncate(name.trim_end_matches('_').len());
        marked = true;
    }
    if name.is_empty() {
        name.push('x');
    }
    (name, marked)
}

/// Lower snake case of ASCII text: `orderId` → `order_id`, `Checkout Step 2!` →
/// `checkout_step_2`, `3ds` → `_3ds`; empty when nothing is left.
pub fn snake(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 4);
    let mut previous_lower = false;
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && previous_lower {
                out.push('_');
            }
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        } else {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            previous_lower = false;
        }
    }
    let trimmed = out.trim_end_matches('_');
    match trimmed.chars().next() {
        None => String::new(),
        Some(c) if c.is_ascii_digit() => format!("_{trimmed}"),
        Some(_) => trimmed.to_string(),
    }
}

/// Eight hex digits of the name's xxh3 hash: the same name gets the same suffix on every run.
fn suffix(raw: &str) -> String {
    format!("{:08x}", xxhash_rust::xxh3::xxh3_64(raw.as_bytes()) as u32)
}

/// A set of names in one place (a table's columns, a source's tables) and the notes on renames.
#[derive(Debug, Clone, Default)]
pub struct Namespace {
    /// Name → who holds it (`None`: reserved), as the notes describe them.
    taken: BTreeMap<String, Option<String>>,
    notes: Vec<String>,
}

impl Namespace {
    /// A namespace where `reserved` names are ours already.
    pub fn reserving<'a>(reserved: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            taken: reserved
                .into_iter()
                .map(|name| (name.to_string(), None))
                .collect(),
            notes: Vec::new(),
        }
    }

    /// Takes `name` as it is (a name of ours, such as a key column already named elsewhere).
    pub fn reserve(&mut self, name: &str) {
        self.taken.entry(name.to_string()).or_insert(None);
    }

    /// Names for `raws`, in their order, told apart from every name taken before and from one
    /// another. The result does not depend on the order of `raws`; `what` says what they are
    /// (`property`, `attribute`, `event`) in the notes.
    pub fn assign(&mut self, raws: &[&str], what: &str) -> Vec<String> {
        let candidates: Vec<(String, bool)> = raws.iter().map(|raw| candidate(raw)).collect();
        let mut wanted: BTreeMap<&str, usize> = BTreeMap::new();
        for (name, _) in &candidates {
            *wanted.entry(name.as_str()).or_default() += 1;
        }
        let mut names: Vec<Option<String>> = vec![None; raws.len()];
        // A name already exactly plain keeps it whoever else wants it; so does a lone name.
        for (i, (raw, (name, marked))) in raws.iter().zip(&candidates).enumerate() {
            let exact = *raw == name;
            let alone = wanted[name.as_str()] == 1 && !marked;
            if (exact || alone) && !self.taken.contains_key(name) {
                self.taken
                    .insert(name.clone(), Some(format!("{what} {raw:?}")));
                names[i] = Some(name.clone());
            }
        }
        for (i, (raw, (name, _))) in raws.iter().zip(&candidates).enumerate() {
            if names[i].is_some() {
                continue;
            }
            let mut chosen = format!("{name}_{}", suffix(raw));
            let mut extra = 2;
            while self.taken.contains_key(&chosen) {
                chosen = format!("{name}_{}_{extra}", suffix(raw));
                extra += 1;
            }
            let why = match self.taken.get(name) {
                Some(None) => format!("{name} is reserved"),
                Some(Some(holder)) => format!("{name} is {holder}"),
                None if candidates[i].1 => format!("{raw:?} is not a plain name"),
                None => format!("other {what} names also become {name}"),
            };
            self.notes
                .push(format!("{what} {raw:?} is named {chosen} ({why})"));
            self.taken
                .insert(chosen.clone(), Some(format!("{what} {raw:?}")));
            names[i] = Some(chosen);
        }
        names.into_iter().map(|n| n.expect("named above")).collect()
    }

    /// What was renamed and why, one line each, for the manifest.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    pub fn into_notes(self) -> Vec<String> {
        self.notes
    }

    /// The names taken so far, reserved ones included.
    pub fn names(&self) -> BTreeSet<&str> {
        self.taken.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assign(reserved: &[&str], raws: &[&str]) -> Vec<String> {
        Namespace::reserving(reserved.iter().copied()).assign(raws, "property")
    }

    #[test]
    fn names_the_user_writes_must_be_plain_already() {
        assert!(check_plain("search_queries", "source").is_ok());
        for bad in [
            "",
            "../x",
            "/abs/path",
            "Orders",
            "orders; DROP TABLE customers; --",
            "1st",
        ] {
            let error = check_plain(bad, "table").unwrap_err();
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
        assert!(
            check_plain("Search-Queries", "source")
                .unwrap_err()
                .contains("\"search_queries\""),
        );
    }

    #[test]
    fn plain_and_ascii_names_read_as_before() {
        assert_eq!(
            assign(&[], &["order_id", "Product Viewed", "orderTotal", "3ds"]),
            ["order_id", "product_viewed", "order_total", "_3ds"]
        );
    }

    #[test]
    fn names_that_meet_are_told_apart_whatever_their_order() {
        let one = assign(&[], &["A", "a"]);
        let other = assign(&[], &["a", "A"]);
        assert_eq!(one[1], "a", "the exact name keeps it");
        assert_eq!(one[0], other[1]);
        assert!(one[0].starts_with("a_") && one[0].len() == 10, "{one:?}");
        let nested = assign(&[], &["a_b", "a.b"]);
        assert_eq!(nested[0], "a_b");
        assert_ne!(nested[1], "a_b");
    }

    #[test]
    fn other_scripts_are_transliterated_with_a_stable_suffix() {
        let names = assign(&[], &["注文完了", "カート追加", "Заказ оформлен", "注文"]);
        let unique: BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), 4, "{names:?}");
        for name in &names {
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name}"
            );
        }
        assert!(names[2].starts_with("zakaz_oformlen_"), "{names:?}");
        assert_eq!(
            names,
            assign(&[], &["注文完了", "カート追加", "Заказ оформлен", "注文"])
        );
    }

    #[test]
    fn empty_dot_and_long_names_become_one_plain_segment() {
        let long = "x".repeat(300);
        let names = assign(&[], &["", "..", "/", &long]);
        let unique: BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), 4, "{names:?}");
        for name in &names {
            assert!(!name.is_empty() && !name.contains(['.', '/']), "{name:?}");
            assert!(name.len() <= MAX_NAME_CHARS + 12, "{name}");
        }
    }

    #[test]
    fn reserved_names_are_never_shadowed_and_renames_are_noted() {
        let mut names = Namespace::reserving(PARTITION_COLUMNS);
        let assigned = names.assign(&["dt", "user"], "attribute");
        assert_ne!(assigned[0], "dt");
        assert_eq!(assigned[1], "user");
        assert_eq!(names.notes().len(), 1);
        assert!(names.notes()[0].contains("\"dt\""), "{:?}", names.notes());
        assert!(names.notes()[0].contains("reserved"), "{:?}", names.notes());
    }
}
