//! What Redshift documents it does not run, found in SQL before a test's PostgreSQL or DataFusion
//! runs it gladly: the Redshift developer guide's "Unsupported PostgreSQL functions" (aggregates
//! such as STRING_AGG and ARRAY_AGG, array functions and operators, GENERATE_SERIES, IS DISTINCT
//! FROM, …) and "Unsupported PostgreSQL features" (array constructors and subscripts, VALUES
//! lists used as tables), with the aggregate FILTER clause and SELECT DISTINCT ON, which
//! Redshift's SELECT and aggregate syntax does not have. The check is lexical, on the SQL with its
//! comments, strings and quoted names blanked, so that a keyword in a comment or a title passes.

/// Functions the unsupported-functions page lists (PostgreSQL's CONVERT is left out: Redshift
/// has a CONVERT of its own), with the array functions its "Array functions and operators"
/// line means.
const FUNCTIONS: &[&str] = &[
    "string_agg",
    "array_agg",
    "every",
    "xml_agg",
    "xmlagg",
    "corr",
    "covar_pop",
    "covar_samp",
    "regr_avgx",
    "regr_avgy",
    "regr_count",
    "regr_intercept",
    "regr_r2",
    "regr_slope",
    "regr_sxx",
    "regr_sxy",
    "regr_syy",
    "clock_timestamp",
    "justify_days",
    "justify_hours",
    "justify_interval",
    "pg_sleep",
    "transaction_timestamp",
    "div",
    "setseed",
    "width_bucket",
    "generate_series",
    "generate_subscripts",
    "bit_length",
    "overlay",
    "convert_from",
    "convert_to",
    "encode",
    "format",
    "array_append",
    "array_cat",
    "array_dims",
    "array_fill",
    "array_length",
    "array_lower",
    "array_ndims",
    "array_position",
    "array_positions",
    "array_prepend",
    "array_remove",
    "array_replace",
    "array_to_string",
    "array_upper",
    "cardinality",
    "string_to_array",
    "unnest",
];

/// The SQL with comments, string literals and quoted identifiers replaced by spaces or a
/// placeholder, lower-cased.
fn blanked(sql: &str) -> String {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            out.push(' ');
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else if c == '\'' || c == '"' {
            i += 1;
            while i < chars.len() {
                if chars[i] == c && chars.get(i + 1) == Some(&c) {
                    i += 2;
                } else if chars[i] == c {
                    break;
                } else {
                    i += 1;
                }
            }
            i += 1;
            out.push_str(if c == '\'' { " 'x' " } else { " x " });
        } else {
            out.extend(c.to_lowercase());
            i += 1;
        }
    }
    out
}

fn words(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut start = None;
    for (at, c) in text.char_indices().chain([(text.len(), ' ')]) {
        let part = c.is_ascii_alphanumeric() || c == '_';
        match (part, start) {
            (true, None) => start = Some(at),
            (false, Some(from)) => {
                found.push((from, text[from..at].to_string()));
                start = None;
            }
            _ => {}
        }
    }
    found
}

/// The first construct of `sql` that Redshift does not run, said as Redshift's error would.
pub fn unsupported(sql: &str) -> Option<String> {
    let text = blanked(sql);
    let words = words(&text);
    let after = |at: usize, word: &str| text[at + word.len()..].trim_start().to_string();
    for (i, (at, word)) in words.iter().enumerate() {
        let rest = after(*at, word);
        if FUNCTIONS.contains(&word.as_str()) && rest.starts_with('(') {
            return Some(format!(
                "function {word}() is not supported by Amazon Redshift (Unsupported PostgreSQL functions)"
            ));
        }
        let next = words.get(i + 1).map(|(_, w)| w.as_str());
        let third = words.get(i + 2).map(|(_, w)| w.as_str());
        match (word.as_str(), next, third) {
            ("is", Some("distinct"), Some("from")) | ("is", Some("not"), Some("distinct")) => {
                return Some(
                    "IS [NOT] DISTINCT FROM is not supported by Amazon Redshift (Unsupported PostgreSQL functions)"
                        .into(),
                );
            }
            ("distinct", Some("on"), _) if after(words[i + 1].0, "on").starts_with('(') => {
                return Some("SELECT DISTINCT ON is not supported by Amazon Redshift".into());
            }
            ("filter", _, _)
                if rest.starts_with('(') && rest[1..].trim_start().starts_with("where") =>
            {
                return Some(
                    "an aggregate's FILTER (WHERE …) clause is not supported by Amazon Redshift"
                        .into(),
                );
            }
            ("array", _, _) if rest.starts_with('[') => {
                return Some(
                    "array constructors are not supported by Amazon Redshift (Unsupported PostgreSQL features)"
                        .into(),
                );
            }
            ("values", _, _) => {
                let before = text[..*at].trim_end();
                if before.ends_with('(') {
                    return Some(
                        "a VALUES list used as a table is not supported by Amazon Redshift (Unsupported PostgreSQL features)"
                            .into(),
                    );
                }
            }
            _ => {}
        }
    }
    if text.contains("[]") || text.contains("][") || subscripted(&text) {
        return Some(
            "arrays (types, subscripts) are not supported by Amazon Redshift (Unsupported PostgreSQL features)"
                .into(),
        );
    }
    None
}

/// `name[1]` or `)[1]`: a subscript after an expression.
fn subscripted(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, b)| {
        *b == b'['
            && i > 0
            && (bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b')')
    })
}

#[cfg(test)]
mod tests {
    use super::unsupported;

    #[test]
    fn each_documented_construct_is_found() {
        for sql in [
            "SELECT string_agg(name, ',') FROM t",
            "SELECT ARRAY_AGG(x) FROM t",
            "SELECT * FROM generate_series(1, 3)",
            "SELECT a FROM t WHERE a IS DISTINCT FROM b",
            "SELECT a FROM t WHERE a IS NOT DISTINCT FROM b",
            "SELECT DISTINCT ON (a) a, b FROM t",
            "SELECT count(*) FILTER (WHERE a > 1) FROM t",
            "SELECT ARRAY[1, 2]",
            "SELECT tags[1] FROM t",
            "SELECT CAST(x AS int[]) FROM t",
            "SELECT * FROM (VALUES (1), (2)) AS v(n)",
            "SELECT unnest(tags) FROM t",
            "SELECT width_bucket(a, 0, 10, 5) FROM t",
        ] {
            assert!(unsupported(sql).is_some(), "{sql}");
        }
    }

    #[test]
    fn words_in_comments_strings_and_names_are_not_constructs() {
        for sql in [
            "-- string_agg(x) is not used\nSELECT a FROM t",
            "SELECT 'is distinct from' AS label, \"array\" FROM t /* ARRAY[1] */",
            "INSERT INTO t (a) VALUES (1)",
            "SELECT count(DISTINCT a), sum(b) FROM t WHERE c IS NOT NULL",
            "SELECT every_day FROM t",
        ] {
            assert_eq!(unsupported(sql), None, "{sql}");
        }
    }
}
