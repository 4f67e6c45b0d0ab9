//! A `commandData` mapping: `{field: JMESPath expression}` evaluated against the request.

use crate::Error;
use jmespath::{Context, Expression, Rcvar, Variable, DEFAULT_RUNTIME};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Checks every JMESPath expression of a `commandData` mapping (strings are expressions;
/// objects nest; other values are literals).
pub(super) fn check_mapping(data: &Value, at: &str) -> Result<(), Error> {
    match data {
        Value::String(expr) => jmespath::compile(expr).map(|_| ()).map_err(|e| {
            Error::field(
                "commandData",
                format!("commandData.{at}: '{expr}' is not a JMESPath expression: {e}"),
            )
        }),
        Value::Object(m) => m.iter().try_for_each(|(k, v)| {
            let path = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            check_mapping(v, &path)
        }),
        _ => Ok(()),
    }
}

/// A `commandData` mapping as a tree: expressions (by their text), nested objects, literals.
#[derive(Debug, Clone)]
pub(super) enum Mapping {
    Expr(String),
    Object(Vec<(String, Mapping)>),
    Literal(Value),
}

thread_local! {
    /// Compiled expressions by their text. JMESPath's compiled form cannot leave its thread,
    /// so each thread of the blocking pool keeps its own (an expression compiles once per
    /// thread, not once per request).
    static COMPILED: RefCell<HashMap<String, Rc<Expression<'static>>>> = RefCell::new(HashMap::new());
}

/// The most compiled expressions one thread keeps before it starts over.
const MAX_COMPILED: usize = 4096;

fn compiled(expr: &str) -> Result<Rc<Expression<'static>>, String> {
    COMPILED.with(|c| {
        if let Some(e) = c.borrow().get(expr) {
            return Ok(e.clone());
        }
        let e = Rc::new(jmespath::compile(expr).map_err(|e| format!("'{expr}': {e}"))?);
        let mut c = c.borrow_mut();
        if c.len() >= MAX_COMPILED {
            c.clear();
        }
        c.insert(expr.to_string(), e.clone());
        Ok(e)
    })
}

impl Mapping {
    pub(super) fn of(data: &Value) -> Mapping {
        match data {
            Value::String(e) => Mapping::Expr(e.clone()),
            Value::Object(m) => {
                Mapping::Object(m.iter().map(|(k, v)| (k.clone(), Mapping::of(v))).collect())
            }
            other => Mapping::Literal(other.clone()),
        }
    }

    /// Whether an expression may read the request's `name` field (`headers`, `query`). Said
    /// yes unless plain: any expression that names it, reads the whole request (`@`, `*`), or
    /// escapes characters in a quoted name.
    pub(super) fn may_read(&self, name: &str) -> bool {
        match self {
            Mapping::Expr(e) => {
                e.contains(name) || e.contains('@') || e.contains('*') || e.contains('\\')
            }
            Mapping::Object(m) => m.iter().any(|(_, v)| v.may_read(name)),
            Mapping::Literal(_) => false,
        }
    }

    /// Evaluates the mapping against the request, converted once to JMESPath's values.
    pub(super) fn apply(&self, input: &Rcvar) -> Result<Value, String> {
        match self {
            Mapping::Expr(expr) => {
                let compiled = compiled(expr)?;
                let mut ctx = Context::new(compiled.as_str(), &DEFAULT_RUNTIME);
                let found = jmespath::interpret(input, compiled.as_ast(), &mut ctx)
                    .map_err(|e| format!("'{expr}': {e}"))?;
                serde_json::to_value(&*found).map_err(|e| format!("'{expr}': {e}"))
            }
            Mapping::Object(m) => m
                .iter()
                .map(|(k, v)| Ok((k.clone(), v.apply(input)?)))
                .collect::<Result<Map<String, Value>, String>>()
                .map(Value::Object),
            Mapping::Literal(v) => Ok(v.clone()),
        }
    }
}

/// The request as JMESPath reads it.
pub(super) fn searchable(request: &Value) -> Result<Rcvar, String> {
    Variable::try_from(request)
        .map(Rcvar::new)
        .map_err(|e| format!("the request cannot be searched: {e}"))
}

/// Evaluates a `commandData` mapping against the request.
#[cfg(test)]
fn apply_mapping(data: &Value, input: &Value) -> Result<Value, String> {
    Mapping::of(data).apply(&searchable(input)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mappings_evaluate_jmespath() {
        let input = json!({"body": {"data": {"reference": "R1", "amount": 5}}, "headers": {}});
        let mapping = json!({"correlationKey": "body.data.reference", "result": {"amount": "body.data.amount"}, "n": 3});
        assert_eq!(
            apply_mapping(&mapping, &input).unwrap(),
            json!({"correlationKey": "R1", "result": {"amount": 5}, "n": 3})
        );
        assert!(check_mapping(&json!({"x": "body.[["}), "").is_err());
    }

    #[test]
    fn a_mapping_says_which_request_fields_it_may_read() {
        let plain = Mapping::of(&json!({"k": "body.data.reference", "n": 3}));
        assert!(!plain.may_read("headers"));
        assert!(Mapping::of(&json!({"k": "headers.\"x-id\""})).may_read("headers"));
        assert!(Mapping::of(&json!({"all": "@"})).may_read("headers"));
        assert!(Mapping::of(&json!({"v": "values(*)"})).may_read("query"));
        assert!(Mapping::of(&json!({"q": {"deep": "query.page"}})).may_read("query"));
    }
}
