//! The answer of every command, the envelope every door shows (each in its own shape).

use crate::{Code, Door, Error, FieldError};
use serde::Serialize;
use serde_json::Value;

/// The answer of every command (the `/api/v1/execute` envelope). A failure carries its
/// [`Code`] (`"code"`, after the other fields) and always `errors` (an empty list when no
/// field was wrong); a success carries neither.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub is_successful: bool,
    pub message: String,
    pub data: Value,
    pub errors: Vec<FieldError>,
    pub code: Option<Code>,
}

impl Serialize for Reply {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let failed = !self.is_successful;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("isSuccessful", &self.is_successful)?;
        m.serialize_entry("message", &self.message)?;
        if !self.data.is_null() {
            m.serialize_entry("data", &self.data)?;
        }
        if failed || !self.errors.is_empty() {
            m.serialize_entry("errors", &self.errors)?;
        }
        if let Some(code) = &self.code {
            m.serialize_entry("code", code)?;
        }
        m.end()
    }
}

impl Reply {
    /// The command's `data` on success, else one line with its message and field errors (for
    /// commands run by scripts and jobs, whose failures become messages).
    pub fn into_result(self) -> Result<Value, String> {
        self.into_error().map_err(|e| e.message)
    }

    /// As [`Reply::into_result`], keeping the failure's code.
    pub fn into_error(self) -> Result<Value, Error> {
        if self.is_successful {
            return Ok(self.data);
        }
        let fields: Vec<String> = self
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        let message = if fields.is_empty() {
            self.message
        } else {
            format!("{} ({})", self.message, fields.join("; "))
        };
        Err(Error::answered(
            self.code.unwrap_or(Code::Rejected),
            message,
        ))
    }

    /// As [`Reply::into_error`], and the failure keeps the field errors too (`Error::fields`),
    /// for a door that shows them (the webhook door's `errors`).
    pub(crate) fn into_error_with_fields(self) -> Result<Value, Error> {
        let fields = self.errors.clone();
        self.into_error().map_err(|mut e| {
            e.fields = fields;
            e
        })
    }

    /// The HTTP status of this answer at the command doors (see [`Code::http_status`]).
    pub fn status(&self) -> u16 {
        self.code.map_or(200, |c| c.http_status(Door::Command))
    }

    pub(crate) fn ok(message: &str, data: Value) -> Reply {
        Reply {
            is_successful: true,
            message: message.into(),
            data,
            errors: Vec::new(),
            code: None,
        }
    }

    /// A failure as the caller sees it (an internal detail is logged and replaced by a
    /// reference, see [`Error::public`]).
    pub fn failed(e: Error) -> Reply {
        let e = e.public();
        Reply {
            is_successful: false,
            message: e.message,
            data: *e.data,
            errors: e.fields,
            code: Some(e.code),
        }
    }
}
