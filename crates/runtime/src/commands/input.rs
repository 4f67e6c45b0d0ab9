//! Reading `data` into the typed inputs, and answers from the typed outputs.

use super::*;

/// Reads a command's `data` into its typed input. A field of the wrong type, or a required one
/// missing, becomes a field error that names the field.
pub(crate) fn input<T: DeserializeOwned>(data: &Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(data).map_err(|e| {
        let path = e.path().clone();
        let inner = e.into_inner().to_string();
        let field = path.iter().find_map(|s| match s {
            serde_path_to_error::Segment::Map { key } => Some(key.clone()),
            _ => None,
        });
        let (field, message) = if let Some(rule) = inner.strip_prefix(de::RULE) {
            let field = field.unwrap_or_else(|| "data".into());
            let message = format!("{field} {rule}");
            (field, message)
        } else if let Some(name) = inner
            .strip_prefix("missing field `")
            .and_then(|s| s.strip_suffix('`'))
        {
            let name = match &field {
                Some(parent) => format!("{parent}.{name}"),
                None => name.to_string(),
            };
            let message = format!("{name} is required");
            (field.unwrap_or_else(|| name.clone()), message)
        } else {
            match field {
                Some(field) => {
                    let message = format!("{path}: {inner}");
                    (field, message)
                }
                None => ("data".to_string(), inner),
            }
        };
        Error::fields(vec![FieldError { field, message }], Value::Null)
    })
}

/// A page number or size as given, within 1 ..= `max`: what is wrong with it otherwise, in
/// words that follow the field's name.
fn page_value(v: &Value, max: i64) -> Result<i64, String> {
    match v.as_i64() {
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) if n > max => Err(format!("must be at most {max}")),
        // A whole number too large for an i64 is still "too large", not "not a number".
        None if v.as_u64().is_some() => Err(format!("must be at most {max}")),
        None if v
            .as_f64()
            .is_some_and(|f| f.fract() == 0.0 && f > max as f64) =>
        {
            Err(format!("must be at most {max}"))
        }
        _ => Err("must be a whole number, 1 or more".into()),
    }
}

/// `pageNumber` (1 to `MAX_PAGE_NUMBER`) or `pageSize` (1 to `MAX_PAGE_SIZE`) of the listings
/// that read `data` by hand, with the field error the typed inputs give.
pub(crate) fn page_bound(field: &'static str, v: &Value) -> Result<i64, Error> {
    let max = if field == "pageSize" {
        baton_store::MAX_PAGE_SIZE
    } else {
        baton_store::MAX_PAGE_NUMBER
    };
    page_value(v, max).map_err(|rule| Error::field(field, format!("{field} {rule}")))
}

/// Field errors in one line (for failures that become a message).
pub(crate) fn describe(errors: &[FieldError]) -> String {
    let list: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    list.join("; ")
}

/// A typed answer as the bus carries it.
pub(crate) fn output<T: Serialize>(message: impl Into<String>, value: &T) -> crate::Answer {
    let data = serde_json::to_value(value)
        .map_err(|e| Error::internal(format!("answer could not be written: {e}")))?;
    Ok((message.into(), data))
}

/// The field readers: each checks one kind of value and says what is wrong in words that
/// follow the field's name ([`input`] puts the name in front).
pub(super) mod de {
    use super::*;

    /// Marks a message that follows the field's name.
    pub(super) const RULE: &str = "\u{1}";

    fn rule<E: serde::de::Error>(message: impl std::fmt::Display) -> E {
        E::custom(format_args!("{RULE}{message}"))
    }

    /// A required, non-blank string.
    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) if !s.trim().is_empty() => Ok(s),
            Value::String(_) | Value::Null => Err(rule("is required")),
            _ => Err(rule("must be a string")),
        }
    }

    /// An optional string (null: absent).
    pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            _ => Err(rule("must be a string")),
        }
    }

    /// An optional JSON object (null: absent).
    pub fn opt_object<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Map<String, Value>>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::Object(m) => Ok(Some(m)),
            _ => Err(rule("must be a JSON object")),
        }
    }

    /// A deploy's forms: an object of form keys to form JSON.
    pub fn forms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Map<String, Value>>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::Object(m) => Ok(Some(m)),
            _ => Err(rule("must map form keys to form JSON")),
        }
    }

    /// Any JSON value, null included (absent: None).
    pub fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        Value::deserialize(d).map(Some)
    }

    /// An optional integer that satisfies `ok`; anything else is refused with `rule_text`.
    fn opt_int_where<'de, D: Deserializer<'de>>(
        d: D,
        ok: impl Fn(i64) -> bool,
        rule_text: impl std::fmt::Display,
    ) -> Result<Option<i64>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            v => v
                .as_i64()
                .filter(|n| ok(*n))
                .map(Some)
                .ok_or_else(|| rule(rule_text)),
        }
    }

    /// An optional integer.
    pub fn opt_integer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        opt_int_where(d, |_| true, "must be an integer")
    }

    /// A page number: a whole number from 1 to `MAX_PAGE_NUMBER`.
    pub fn page_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        page_within(d, baton_store::MAX_PAGE_NUMBER)
    }

    /// A page size: a whole number from 1 to `MAX_PAGE_SIZE`.
    pub fn page_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        page_within(d, baton_store::MAX_PAGE_SIZE)
    }

    fn page_within<'de, D: Deserializer<'de>>(d: D, max: i64) -> Result<Option<i64>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            v => page_value(&v, max).map(Some).map_err(rule),
        }
    }

    /// A number of seconds, 0 or more.
    pub fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        opt_int_where(
            d,
            |n| n >= 0,
            "must be a whole number of seconds, 0 or more",
        )
    }

    /// How many cron run times to preview.
    pub fn preview_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        opt_int_where(
            d,
            |n| (1..=MAX_PREVIEW).contains(&n),
            format_args!("must be a whole number from 1 to {MAX_PREVIEW}"),
        )
    }
}
