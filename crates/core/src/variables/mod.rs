//! Run variables: typed values a run is started with (`--var top_n=5`), declared with their
//! defaults in the config, checked at start, kept in the job's snapshot, and bound into mart and
//! section SQL as `{var.name}` through the engine's own parameters, never as SQL text.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The longest text value and the most items of a list: values travel in every step's input,
/// which Step Functions caps at 256 KB.
const MAX_TEXT_CHARS: usize = 1_000;
const MAX_LIST_ITEMS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VariableType {
    /// `2026-11-01`.
    Date,
    /// Any finite number, compared as DOUBLE PRECISION.
    Number,
    Text,
    /// Texts, for `column IN {var.name}`; given as a JSON array or `a,b,c`.
    List,
}

impl std::fmt::Display for VariableType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VariableType::Date => "date",
            VariableType::Number => "number",
            VariableType::Text => "text",
            VariableType::List => "list",
        })
    }
}

/// A variable as the config declares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableSpec {
    #[serde(rename = "type")]
    pub kind: VariableType,
    /// The value a run gets when it is not given one; none makes the variable required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// What the variable changes, shown beside its value in the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A checked value, with its type, as every step receives it in the job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum VariableValue {
    Date(NaiveDate),
    Number(f64),
    Text(String),
    List(Vec<String>),
}

impl std::fmt::Display for VariableValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VariableValue::Date(d) => write!(f, "{d}"),
            VariableValue::Number(n) => write!(f, "{n}"),
            VariableValue::Text(t) => f.write_str(t),
            VariableValue::List(items) => f.write_str(&items.join(", ")),
        }
    }
}

/// The variables a run has, by name.
pub type Variables = BTreeMap<String, VariableValue>;

/// Each variable as `name = value`, for the report and the approval email.
pub fn shown(variables: &Variables) -> Vec<String> {
    variables
        .iter()
        .map(|(name, value)| format!("{name} = {value}"))
        .collect()
}

/// `name` is one lower-case identifier: it becomes a parameter name in every engine.
pub fn check_variable_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 40;
    if plain {
        Ok(())
    } else {
        Err(format!(
            "variable name {name:?} is not one lower-case identifier: use a-z, 0-9 and _, starting with a letter, at most 40 characters"
        ))
    }
}

/// Reads `value` as a `kind`. Strings are accepted for every type, as `--var` gives them.
pub fn parse_value(kind: VariableType, value: &Value) -> Result<VariableValue, String> {
    match (kind, value) {
        (VariableType::Date, Value::String(s)) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map(VariableValue::Date)
            .map_err(|_| format!("{s:?} is not a date: write it as 2026-11-01")),
        (VariableType::Number, Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(VariableValue::Number)
            .ok_or_else(|| format!("{n} is not a finite number")),
        (VariableType::Number, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(VariableValue::Number)
            .ok_or_else(|| format!("{s:?} is not a number: write it as 12 or 0.5")),
        (VariableType::Text, Value::String(s)) => {
            check_text(s)?;
            Ok(VariableValue::Text(s.clone()))
        }
        (VariableType::List, Value::String(s)) => {
            let items = s
                .split(',')
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .map(String::from)
                .collect();
            list(items)
        }
        (VariableType::List, Value::Array(values)) => {
            let items = values
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(format!("a list holds texts; {other} is not one")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            list(items)
        }
        (kind, other) => Err(format!("{other} is not a {kind}")),
    }
}

fn check_text(text: &str) -> Result<(), String> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(format!(
            "the text is longer than {MAX_TEXT_CHARS} characters"
        ));
    }
    Ok(())
}

fn list(items: Vec<String>) -> Result<VariableValue, String> {
    if items.len() > MAX_LIST_ITEMS {
        return Err(format!(
            "the list has {} items; at most {MAX_LIST_ITEMS}",
            items.len()
        ));
    }
    for item in &items {
        check_text(item)?;
    }
    Ok(VariableValue::List(items))
}

/// Every declared variable's name is plain and its default is of its type.
pub fn check_declarations(declared: &BTreeMap<String, VariableSpec>) -> Result<(), String> {
    for (name, spec) in declared {
        check_variable_name(name)?;
        if let Some(default) = &spec.default {
            parse_value(spec.kind, default)
                .map_err(|e| format!("the default of variable {name} ({}): {e}", spec.kind))?;
        }
    }
    Ok(())
}

/// The run's variables: each given one checked against its declaration, the others from their
/// defaults. An unknown name, a value of the wrong type or a required variable left out is
/// refused in one line that says what to write instead.
pub fn resolve(
    declared: &BTreeMap<String, VariableSpec>,
    given: &BTreeMap<String, Value>,
) -> Result<Variables, String> {
    for name in given.keys() {
        if !declared.contains_key(name) {
            return Err(unknown(name, declared));
        }
    }
    let mut variables = Variables::new();
    for (name, spec) in declared {
        let value = match (given.get(name), &spec.default) {
            (Some(value), _) => parse_value(spec.kind, value)
                .map_err(|e| format!("variable {name} is a {}: {e}", spec.kind))?,
            (None, Some(default)) => parse_value(spec.kind, default)
                .map_err(|e| format!("the default of variable {name} ({}): {e}", spec.kind))?,
            (None, None) => {
                return Err(format!(
                    "variable {name} ({}) has no default: give it, as --var {name}=… or \"variables\": {{\"{name}\": …}} in the run's input",
                    spec.kind
                ));
            }
        };
        variables.insert(name.clone(), value);
    }
    Ok(variables)
}

fn unknown(name: &str, declared: &BTreeMap<String, VariableSpec>) -> String {
    if declared.is_empty() {
        return format!(
            "unknown variable {name:?}: the config declares no variables (add them under \"variables\")"
        );
    }
    let closest = declared
        .keys()
        .map(|known| (strsim::levenshtein(name, known), known))
        .filter(|(distance, _)| *distance <= 2)
        .min();
    let list: Vec<String> = declared
        .iter()
        .map(|(n, s)| format!("{n} ({})", s.kind))
        .collect();
    match closest {
        Some((_, known)) => format!(
            "unknown variable {name:?}: did you mean {known}? The config declares {}",
            list.join(", ")
        ),
        None => format!(
            "unknown variable {name:?}: the config declares {}",
            list.join(", ")
        ),
    }
}

/// `name=value` pairs from the command line, as the run's input takes them.
pub fn parse_assignments(pairs: &[String]) -> Result<BTreeMap<String, Value>, String> {
    let mut given = BTreeMap::new();
    for pair in pairs {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(format!(
                "--var {pair:?} has no value: write it as name=value, such as --var top_n=5"
            ));
        };
        let name = name.trim();
        check_variable_name(name)?;
        if given
            .insert(name.to_string(), Value::String(value.to_string()))
            .is_some()
        {
            return Err(format!("--var {name} is given twice: give it once"));
        }
    }
    Ok(given)
}

/// Each `{var.name}` of `sql`: where it starts, where it ends, and the name.
fn uses(sql: &str) -> impl Iterator<Item = (usize, usize, &str)> {
    let mut from = 0;
    std::iter::from_fn(move || {
        let start = from + sql[from..].find("{var.")?;
        let end = start + sql[start..].find('}')? + 1;
        from = end;
        Some((start, end, &sql[start + 5..end - 1]))
    })
}

/// The names `sql` uses as `{var.name}`, in order of first use.
pub fn referenced(sql: &str) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for (_, _, name) in uses(sql) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// `names` joined, or `none` when there are none.
pub fn listed(names: impl IntoIterator<Item = impl AsRef<str>>, none: &str) -> String {
    let names: Vec<String> = names.into_iter().map(|n| n.as_ref().to_string()).collect();
    if names.is_empty() {
        none.to_string()
    } else {
        names.join(", ")
    }
}

/// One value bound to a statement, always passed to the engine as text: the SQL around its
/// placeholder casts it to its type, which every engine (Redshift's Data API takes only text)
/// reads the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Sql(String),
    /// A placeholder for parameter `index`, cast to `cast` when set.
    Placeholder {
        index: usize,
        cast: Option<&'static str>,
    },
    /// A parenthesised list of placeholders (`IN (…)`); `(NULL)` when empty, which matches
    /// nothing.
    List(Vec<usize>),
}

/// SQL with its variables as placeholders and their values beside it. Each engine writes the
/// placeholders its own way: `$name` (DataFusion), `:name` (Redshift's Data API), `$1`
/// (PostgreSQL).
#[derive(Debug, Clone, PartialEq)]
pub struct BoundSql {
    pieces: Vec<Piece>,
    parameters: Vec<Parameter>,
}

/// How an engine writes a placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholders {
    /// `$name` (DataFusion)
    Dollar,
    /// `:name` (Redshift Data API)
    Colon,
    /// `$1`, `$2`, … in the order of [`BoundSql::parameters`] (PostgreSQL)
    Numbered,
}

impl BoundSql {
    /// SQL without variables.
    pub fn plain(sql: impl Into<String>) -> Self {
        Self {
            pieces: vec![Piece::Sql(sql.into())],
            parameters: Vec::new(),
        }
    }

    pub fn parameters(&self) -> &[Parameter] {
        &self.parameters
    }

    pub fn has_parameters(&self) -> bool {
        !self.parameters.is_empty()
    }

    /// The statement text with `style` placeholders.
    pub fn render(&self, style: Placeholders) -> String {
        let placeholder = |index: usize| match style {
            Placeholders::Dollar => format!("${}", self.parameters[index].name),
            Placeholders::Colon => format!(":{}", self.parameters[index].name),
            Placeholders::Numbered => format!("${}", index + 1),
        };
        let mut text = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Sql(sql) => text.push_str(sql),
                Piece::Placeholder { index, cast: None } => text.push_str(&placeholder(*index)),
                Piece::Placeholder {
                    index,
                    cast: Some(cast),
                } => text.push_str(&format!("CAST({} AS {cast})", placeholder(*index))),
                Piece::List(indexes) if indexes.is_empty() => text.push_str("(NULL)"),
                Piece::List(indexes) => {
                    let items: Vec<String> = indexes.iter().map(|i| placeholder(*i)).collect();
                    text.push_str(&format!("({})", items.join(", ")));
                }
            }
        }
        text
    }

    /// The same statement with every empty value written into the text as `''` instead of
    /// bound: the Redshift Data API refuses a parameter whose value is empty (SqlParameter's
    /// value has a minimum length of 1). A constant empty literal carries nothing of the input.
    pub fn with_empty_values_inlined(&self) -> Self {
        let mut parameters = Vec::new();
        let kept: Vec<Option<usize>> = (self.parameters.iter())
            .map(|p| {
                (!p.value.is_empty()).then(|| {
                    parameters.push(p.clone());
                    parameters.len() - 1
                })
            })
            .collect();
        let one = |index: usize, cast: Option<&'static str>| match (kept[index], cast) {
            (Some(index), cast) => Piece::Placeholder { index, cast },
            (None, Some(cast)) => Piece::Sql(format!("CAST('' AS {cast})")),
            (None, None) => Piece::Sql("''".into()),
        };
        let mut pieces = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Placeholder { index, cast } => pieces.push(one(*index, *cast)),
                Piece::List(list) if list.iter().all(|i| kept[*i].is_some()) => {
                    pieces.push(Piece::List(list.iter().filter_map(|i| kept[*i]).collect()))
                }
                Piece::List(list) => {
                    pieces.push(Piece::Sql("(".into()));
                    for (n, index) in list.iter().enumerate() {
                        if n > 0 {
                            pieces.push(Piece::Sql(", ".into()));
                        }
                        pieces.push(one(*index, None));
                    }
                    pieces.push(Piece::Sql(")".into()));
                }
                sql => pieces.push(sql.clone()),
            }
        }
        Self { pieces, parameters }
    }

    /// The statement wrapped as `before <statement> after`, the parameters unchanged.
    pub fn wrapped(&self, before: &str, after: &str) -> Self {
        let mut pieces = vec![Piece::Sql(before.to_string())];
        pieces.extend(self.pieces.iter().cloned());
        pieces.push(Piece::Sql(after.to_string()));
        Self {
            pieces,
            parameters: self.parameters.clone(),
        }
    }

    fn push_parameter(&mut self, name: String, value: String) -> usize {
        self.parameters.push(Parameter { name, value });
        self.parameters.len() - 1
    }
}

impl std::fmt::Display for BoundSql {
    /// The text with `:name` placeholders and the values after it, for error messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(Placeholders::Colon))?;
        for parameter in &self.parameters {
            write!(f, "\n  :{} = {:?}", parameter.name, parameter.value)?;
        }
        Ok(())
    }
}

/// Replaces each `{var.name}` of `sql` with a placeholder bound to the variable's value. A
/// name the run does not have is refused, naming the ones it has.
pub fn bind_variables(sql: &str, variables: &Variables) -> Result<BoundSql, String> {
    let mut bound = BoundSql {
        pieces: Vec::new(),
        parameters: Vec::new(),
    };
    let mut copied = 0;
    for (start, end, name) in uses(sql) {
        let Some(value) = variables.get(name) else {
            return Err(format!(
                "the SQL uses {{var.{name}}}, which is not a variable of the run (it has {}): declare it under \"variables\" in the config",
                listed(variables.keys(), "none")
            ));
        };
        bound
            .pieces
            .push(Piece::Sql(sql[copied..start].to_string()));
        let parameter = format!("var_{name}");
        let piece = match value {
            VariableValue::Date(d) => Piece::Placeholder {
                index: bound.push_parameter(parameter, d.to_string()),
                cast: Some("DATE"),
            },
            VariableValue::Number(n) => Piece::Placeholder {
                index: bound.push_parameter(parameter, n.to_string()),
                cast: Some("DOUBLE PRECISION"),
            },
            VariableValue::Text(t) => Piece::Placeholder {
                index: bound.push_parameter(parameter, t.clone()),
                cast: None,
            },
            VariableValue::List(items) => Piece::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| bound.push_parameter(format!("{parameter}_{i}"), item.clone()))
                    .collect(),
            ),
        };
        bound.pieces.push(piece);
        copied = end;
    }
    bound.pieces.push(Piece::Sql(sql[copied..].to_string()));
    // A variable used twice is bound twice; engines want each name once.
    bound.dedupe();
    Ok(bound)
}

impl BoundSql {
    /// Points every placeholder of a repeated parameter name at its first binding.
    fn dedupe(&mut self) {
        let mut first: BTreeMap<String, usize> = BTreeMap::new();
        let mut kept: Vec<Parameter> = Vec::new();
        let mut moved: Vec<usize> = Vec::with_capacity(self.parameters.len());
        for parameter in &self.parameters {
            let index = *first.entry(parameter.name.clone()).or_insert_with(|| {
                kept.push(parameter.clone());
                kept.len() - 1
            });
            moved.push(index);
        }
        for piece in &mut self.pieces {
            match piece {
                Piece::Placeholder { index, .. } => *index = moved[*index],
                Piece::List(indexes) => indexes.iter_mut().for_each(|i| *i = moved[*i]),
                Piece::Sql(_) => {}
            }
        }
        self.parameters = kept;
    }
}

#[cfg(test)]
mod tests;
