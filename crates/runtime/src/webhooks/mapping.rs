//! A `commandData` mapping: `{field: JMESPath expression}` evaluated against the request.

use crate::Error;
use serde_json::{Map, Value};

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

/// Evaluates a `commandData` mapping against the request.
pub(super) fn apply_mapping(data: &Value, input: &Value) -> Result<Value, String> {
    match data {
        Value::String(expr) => {
            let compiled = jmespath::compile(expr).map_err(|e| format!("'{expr}': {e}"))?;
            let found = compiled
                .search(input)
                .map_err(|e| format!("'{expr}': {e}"))?;
            serde_json::to_value(&*found).map_err(|e| format!("'{expr}': {e}"))
        }
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| Ok((k.clone(), apply_mapping(v, input)?)))
            .collect::<Result<Map<String, Value>, String>>()
            .map(Value::Object),
        other => Ok(other.clone()),
    }
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
}
