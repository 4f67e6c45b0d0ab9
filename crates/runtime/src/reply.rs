//! The answer of every command, the envelope every door shows (each in its own shape).

use crate::{Code, Door, Error, FieldError};
use serde::Serialize;
use serde_json::Value;

/// The answer of every command (the `/api/v1/execute` envelope). A failure carries its
/// [`Code`] (`"code"`, after the other fields); a success never does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reply {
    pub is_successful: bool,
    pub message: String,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub data: Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
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
