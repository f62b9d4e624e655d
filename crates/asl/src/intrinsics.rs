//! The intrinsic functions of the States language the definitions use: `States.Format`,
//! `States.StringToJson`, `States.JsonToString`, `States.Array`, `States.ArrayLength`,
//! `States.MathAdd`, `States.StringSplit` and `States.UUID`.

use super::error::Failure;
use super::selection::select;
use serde_json::Value;

/// Evaluates an intrinsic function call against the state input and context.
pub fn call(expression: &str, input: &Value, context: &Value) -> Result<Value, Failure> {
    let mut parser = Parser {
        text: expression,
        at: 0,
    };
    let call = parser.call()?;
    parser.skip_spaces();
    if parser.at != expression.len() {
        return Err(parser.error("unexpected text after the closing parenthesis"));
    }
    evaluate(&call, input, context)
}

#[derive(Debug)]
enum Arg {
    Literal(Value),
    Path(String),
    Call(Call),
}

#[derive(Debug)]
struct Call {
    name: String,
    args: Vec<Arg>,
}

fn evaluate(call: &Call, input: &Value, context: &Value) -> Result<Value, Failure> {
    let args = call
        .args
        .iter()
        .map(|arg| match arg {
            Arg::Literal(v) => Ok(v.clone()),
            Arg::Path(p) => select(p, input, context),
            Arg::Call(c) => evaluate(c, input, context),
        })
        .collect::<Result<Vec<_>, _>>()?;
    match super::intrinsic_functions::apply(&call.name, args) {
        Some(result) => result.map_err(|why| {
            Failure::new("States.IntrinsicFailure", format!("{}: {why}", call.name))
        }),
        None => Err(Failure::new(
            "States.IntrinsicFailure",
            format!(
                "intrinsic function {} is not supported by the local runner; supported: {}",
                call.name,
                super::intrinsic_functions::KNOWN
            ),
        )),
    }
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn error(&self, why: &str) -> Failure {
        Failure::new(
            "States.IntrinsicFailure",
            format!("cannot parse {:?} at offset {}: {why}", self.text, self.at),
        )
    }

    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn skip_spaces(&mut self) {
        while self.rest().starts_with(' ') {
            self.at += 1;
        }
    }

    fn call(&mut self) -> Result<Call, Failure> {
        self.skip_spaces();
        let end = self
            .rest()
            .find('(')
            .ok_or_else(|| self.error("expected '(' after the function name"))?;
        let name = self.rest()[..end].trim().to_string();
        self.at += end + 1;
        let mut args = Vec::new();
        loop {
            self.skip_spaces();
            if self.rest().starts_with(')') {
                self.at += 1;
                return Ok(Call { name, args });
            }
            if !args.is_empty() {
                if !self.rest().starts_with(',') {
                    return Err(self.error("expected ',' or ')'"));
                }
                self.at += 1;
                self.skip_spaces();
            }
            args.push(self.arg()?);
        }
    }

    fn arg(&mut self) -> Result<Arg, Failure> {
        let rest = self.rest();
        if rest.starts_with('\'') {
            let mut out = String::new();
            let mut chars = rest.char_indices().skip(1);
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            out.push(escaped);
                        }
                    }
                    '\'' => {
                        self.at += i + 1;
                        return Ok(Arg::Literal(Value::String(out)));
                    }
                    _ => out.push(c),
                }
            }
            Err(self.error("unclosed string literal"))
        } else if rest.starts_with('$') {
            let end = path_end(rest);
            let path = rest[..end].trim().to_string();
            self.at += end;
            Ok(Arg::Path(path))
        } else if rest.starts_with("States.") {
            Ok(Arg::Call(self.call()?))
        } else {
            let end = rest.find([',', ')']).unwrap_or(rest.len());
            let literal = rest[..end].trim();
            let value = serde_json::from_str(literal)
                .map_err(|_| self.error("expected a string, number, path or call"))?;
            self.at += end;
            Ok(Arg::Literal(value))
        }
    }
}

/// Where a path argument ends: at a top-level ',' or ')', not inside brackets or quotes.
fn path_end(text: &str) -> usize {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (c, quote) {
            ('\'' | '"', None) => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            ('[', None) => depth += 1,
            (']', None) => depth -= 1,
            (',' | ')', None) if depth == 0 => return i,
            _ => {}
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn format_fills_placeholders_from_paths_and_literals() {
        let input = json!({"job": {"id": "j1"}, "n": 2});
        let value = call(
            "States.Format('jobs/{}/{}.json', $.job.id, 'flatten')",
            &input,
            &json!({}),
        )
        .unwrap();
        assert_eq!(value, json!("jobs/j1/flatten.json"));
        assert_eq!(
            call("States.Format('n={}', $.n)", &input, &json!({})).unwrap(),
            json!("n=2")
        );
    }

    #[test]
    fn nested_calls_and_json_round_trip() {
        let input = json!({"text": "{\"a\":[1,2]}"});
        assert_eq!(
            call(
                "States.ArrayLength(States.Array(1, 2, 3))",
                &input,
                &json!({})
            )
            .unwrap(),
            json!(3)
        );
        assert_eq!(
            call("States.StringToJson($.text)", &input, &json!({})).unwrap(),
            json!({"a": [1, 2]})
        );
        assert_eq!(
            call("States.Array(1, 'x', $.text)", &input, &json!({})).unwrap()[1],
            json!("x")
        );
        assert_eq!(
            call("States.MathAdd(1, -3)", &input, &json!({})).unwrap(),
            json!(-2)
        );
    }

    #[test]
    fn unknown_functions_are_named_in_the_error() {
        let err = call("States.Hush($.x)", &json!({"x": "a"}), &json!({})).unwrap_err();
        assert!(err.cause.contains("States.Hush"), "{err}");
    }
}
