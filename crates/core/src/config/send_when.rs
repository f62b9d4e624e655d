//! When a report is sent: `always`, `problems`, or a condition on its headline numbers and
//! their moves, such as `revenue.vs_week < -20% or orders < 100`.
//!
//! The grammar, loosest first: `a or b`, `a and b`, `not a`, `x < y` (also `<=`, `>`, `>=`,
//! `==`, `!=`), then a number (`100`, `-0.2`, `-20%`), a metric, or `( … )`. A metric is a
//! headline column (`revenue`), its move against the day before (`revenue.vs_day`) or the same
//! weekday a week before (`revenue.vs_week`) as a fraction (-0.2 is 20% down), or `problems`
//! and `unusual` (how many the report has). A number where a condition is wanted is true
//! when it is not zero, so `problems or unusual` reads as it sounds.

use serde::{Deserialize, Serialize};

/// When the report goes out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SendWhen {
    #[default]
    Always,
    /// When a check or a section has a problem.
    Problems,
    Condition(Condition),
}

impl SendWhen {
    pub fn is_always(&self) -> bool {
        *self == SendWhen::Always
    }
}

impl TryFrom<String> for SendWhen {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        match text.trim() {
            "always" => Ok(SendWhen::Always),
            "problems" => Ok(SendWhen::Problems),
            _ => Condition::parse(&text).map(SendWhen::Condition),
        }
    }
}

impl From<SendWhen> for String {
    fn from(when: SendWhen) -> String {
        match when {
            SendWhen::Always => "always".into(),
            SendWhen::Problems => "problems".into(),
            SendWhen::Condition(c) => c.text,
        }
    }
}

/// Which number of a metric a condition reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Value,
    /// (today − the day before) / the day before.
    VsDay,
    /// (today − the same weekday a week before) / that day.
    VsWeek,
}

/// A parsed condition, kept with the text it was written as.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    text: String,
    expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Number(f64),
    Metric(String, Measure),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare(Box<Expr>, Op, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// The counts every report has, besides its headline columns.
pub const REPORT_COUNTS: [&str; 2] = ["problems", "unusual"];

/// What a condition came to, and why, in words for the run record.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub holds: bool,
    /// Each metric read, with its value: `revenue.vs_week = -23.1%`, or `… has no value`.
    pub read: Vec<String>,
}

impl Condition {
    pub fn parse(text: &str) -> Result<Self, String> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            tokens: &tokens,
            at: 0,
        };
        let expr = parser.or()?;
        if let Some(extra) = tokens.get(parser.at) {
            return Err(format!(
                "report send_when {text:?}: {extra:?} is not expected where it is; write a condition such as \"revenue.vs_week < -20% or orders < 100\""
            ));
        }
        Ok(Self {
            text: text.trim().to_string(),
            expr,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The metric names the condition reads, each once, in order.
    pub fn metrics(&self) -> Vec<String> {
        let mut names = Vec::new();
        collect(&self.expr, &mut names);
        names
    }

    /// Evaluates the condition; `value` gives a metric's number, none when it has none (a
    /// failed section, no day a week before). A comparison with a side that has no value is
    /// false.
    pub fn evaluate(&self, value: &dyn Fn(&str, Measure) -> Option<f64>) -> Verdict {
        let mut read = Vec::new();
        let holds = truth(&self.expr, value, &mut read);
        read.dedup();
        Verdict { holds, read }
    }
}

fn collect(expr: &Expr, names: &mut Vec<String>) {
    match expr {
        Expr::Number(_) => {}
        Expr::Metric(name, _) => {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        Expr::Not(e) => collect(e, names),
        Expr::And(a, b) | Expr::Or(a, b) | Expr::Compare(a, _, b) => {
            collect(a, names);
            collect(b, names);
        }
    }
}

fn number(
    expr: &Expr,
    value: &dyn Fn(&str, Measure) -> Option<f64>,
    read: &mut Vec<String>,
) -> Option<f64> {
    match expr {
        Expr::Number(n) => Some(*n),
        Expr::Metric(name, measure) => {
            let found = value(name, *measure);
            let shown = match measure {
                Measure::Value => name.clone(),
                Measure::VsDay => format!("{name}.vs_day"),
                Measure::VsWeek => format!("{name}.vs_week"),
            };
            read.push(match (found, measure) {
                (None, _) => format!("{shown} has no value"),
                (Some(v), Measure::Value) => format!("{shown} = {v}"),
                (Some(v), _) => format!("{shown} = {:+.1}%", v * 100.0),
            });
            found
        }
        other => Some(if truth(other, value, read) { 1.0 } else { 0.0 }),
    }
}

fn truth(
    expr: &Expr,
    value: &dyn Fn(&str, Measure) -> Option<f64>,
    read: &mut Vec<String>,
) -> bool {
    match expr {
        Expr::Not(e) => !truth(e, value, read),
        // Both sides are read (no short cut), so the record names every number involved.
        Expr::And(a, b) => {
            let (a, b) = (truth(a, value, read), truth(b, value, read));
            a && b
        }
        Expr::Or(a, b) => {
            let (a, b) = (truth(a, value, read), truth(b, value, read));
            a || b
        }
        Expr::Compare(a, op, b) => {
            let (Some(a), Some(b)) = (number(a, value, read), number(b, value, read)) else {
                return false;
            };
            match op {
                Op::Lt => a < b,
                Op::Le => a <= b,
                Op::Gt => a > b,
                Op::Ge => a >= b,
                Op::Eq => a == b,
                Op::Ne => a != b,
            }
        }
        number_like => number(number_like, value, read).is_some_and(|n| n != 0.0),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Word(String),
    Op(Op),
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    let bad = |what: String| {
        Err(format!(
            "report send_when {text:?}: {what}; write a condition such as \"revenue.vs_week < -20% or orders < 100\""
        ))
    };
    while at < chars.len() {
        let c = chars[at];
        if c.is_whitespace() {
            at += 1;
        } else if c == '(' || c == ')' {
            tokens.push(if c == '(' { Token::Open } else { Token::Close });
            at += 1;
        } else if "<>=!".contains(c) {
            let two = chars.get(at + 1) == Some(&'=');
            let op = match (c, two) {
                ('<', true) => Op::Le,
                ('<', false) => Op::Lt,
                ('>', true) => Op::Ge,
                ('>', false) => Op::Gt,
                ('=', true) => Op::Eq,
                ('!', true) => Op::Ne,
                _ => {
                    return bad(format!(
                        "{c:?} alone is no comparison (use ==, !=, <, <=, >, >=)"
                    ));
                }
            };
            tokens.push(Token::Op(op));
            at += if two { 2 } else { 1 };
        } else if c.is_ascii_digit()
            || (c == '-'
                && chars
                    .get(at + 1)
                    .is_some_and(|d| d.is_ascii_digit() || *d == '.'))
            || c == '.'
        {
            let start = at;
            at += 1;
            while at < chars.len() && (chars[at].is_ascii_digit() || chars[at] == '.') {
                at += 1;
            }
            let written: String = chars[start..at].iter().collect();
            let Ok(mut n) = written.parse::<f64>() else {
                return bad(format!("{written:?} is not a number"));
            };
            if chars.get(at) == Some(&'%') {
                n /= 100.0;
                at += 1;
            }
            tokens.push(Token::Number(n));
        } else if c.is_alphabetic() || c == '_' {
            let start = at;
            while at < chars.len()
                && (chars[at].is_alphanumeric() || chars[at] == '_' || chars[at] == '.')
            {
                at += 1;
            }
            tokens.push(Token::Word(chars[start..at].iter().collect()));
        } else {
            return bad(format!("{c:?} has no meaning here"));
        }
    }
    if tokens.is_empty() {
        return bad("it is empty".into());
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
}

impl Parser<'_> {
    fn word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.word("or") {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.not()?;
        while self.word("and") {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.word("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        let left = self.term()?;
        if let Some(Token::Op(op)) = self.tokens.get(self.at) {
            self.at += 1;
            let right = self.term()?;
            return Ok(Expr::Compare(Box::new(left), *op, Box::new(right)));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, String> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        match token {
            Some(Token::Number(n)) => Ok(Expr::Number(n)),
            Some(Token::Open) => {
                let inner = self.or()?;
                if self.tokens.get(self.at) != Some(&Token::Close) {
                    return Err("report send_when: a \"(\" is not closed".into());
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Word(word)) if !["and", "or", "not"].contains(&word.as_str()) => {
                metric(&word)
            }
            Some(other) => Err(format!(
                "report send_when: {other:?} stands where a number or a metric is wanted"
            )),
            None => Err("report send_when ends where a number or a metric is wanted".into()),
        }
    }
}

fn metric(word: &str) -> Result<Expr, String> {
    let (name, measure) = match word.split_once('.') {
        None => (word, Measure::Value),
        Some((name, "vs_day")) => (name, Measure::VsDay),
        Some((name, "vs_week")) => (name, Measure::VsWeek),
        Some((_, other)) => {
            return Err(format!(
                "report send_when reads {word:?}: .{other} is no measure; a metric is a headline column, or its move as .vs_day or .vs_week"
            ));
        }
    };
    if name.is_empty() || name.contains('.') {
        return Err(format!("report send_when: {word:?} is not a metric name"));
    }
    Ok(Expr::Metric(name.to_ascii_lowercase(), measure))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(text: &str, values: &[(&str, Measure, f64)]) -> Verdict {
        let condition = Condition::parse(text).unwrap();
        condition.evaluate(&|name, measure| {
            values
                .iter()
                .find(|(n, m, _)| *n == name && *m == measure)
                .map(|(_, _, v)| *v)
        })
    }

    #[test]
    fn conditions_read_as_written() {
        let numbers = [
            ("revenue", Measure::VsWeek, -0.25),
            ("orders", Measure::Value, 140.0),
            ("problems", Measure::Value, 0.0),
        ];
        assert!(verdict("revenue.vs_week < -20% or orders < 100", &numbers).holds);
        assert!(!verdict("revenue.vs_week < -30% or orders < 100", &numbers).holds);
        assert!(!verdict("revenue.vs_week < -20% and orders < 100", &numbers).holds);
        assert!(verdict("not (orders < 100)", &numbers).holds);
        assert!(!verdict("problems", &numbers).holds);
        assert!(verdict("problems or orders >= 140", &numbers).holds);
        // The day before is missing: the comparison does not hold, and the record says why.
        let missing = verdict("revenue.vs_day < -0.2", &numbers);
        assert!(!missing.holds);
        assert_eq!(missing.read, vec!["revenue.vs_day has no value"]);
        assert_eq!(
            verdict("revenue.vs_week < -20%", &numbers).read,
            vec!["revenue.vs_week = -25.0%"]
        );
    }

    #[test]
    fn precedence_is_or_then_and_then_not() {
        let numbers = [("a", Measure::Value, 1.0), ("b", Measure::Value, 0.0)];
        // a or (b and b): true; (a or b) and b would be false.
        assert!(verdict("a or b and b", &numbers).holds);
        assert!(!verdict("not a or b", &numbers).holds);
    }

    #[test]
    fn a_bad_condition_says_what_is_wrong() {
        for (text, words) in [
            ("revenue.vs_month < 0", ".vs_month is no measure"),
            ("revenue <", "ends where"),
            ("revenue = 3", "alone is no comparison"),
            ("(revenue < 3", "not closed"),
            ("revenue < 3 orders", "not expected"),
            ("", "empty"),
        ] {
            let error = Condition::parse(text).unwrap_err();
            assert!(error.contains(words), "{text}: {error}");
        }
        let parsed: SendWhen = serde_json::from_str("\"revenue.vs_week < -20%\"").unwrap();
        let SendWhen::Condition(condition) = &parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(condition.metrics(), vec!["revenue"]);
        assert_eq!(
            serde_json::to_string(&parsed).unwrap(),
            "\"revenue.vs_week < -20%\""
        );
    }
}
