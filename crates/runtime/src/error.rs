//! The runtime's one error type, its stable codes, and the one table that says what each code
//! answers at each door (docs/commands.md "Error codes" says it for users).
//!
//! Every failure of a command is an [`Error`] with a [`Code`]. Business failures (a wrong field,
//! an unknown instance, a task that does not wait, a script that refused) keep the words they
//! always had and answer HTTP 200 with `isSuccessful: false`; the envelope carries the code
//! beside them. An [`Code::Internal`] failure (the disk is full, the database is read-only or
//! corrupt, stored state cannot be read, a bug) never shows its detail: the caller gets
//! "internal error; reference XXXXXXXX" and HTTP 500, and the detail is logged with that
//! reference inside the command's span.

use crate::commands::FieldError;
use baton_engine::CommandError;
use baton_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// Why a command failed, as a stable code (`"NOT_FOUND"`, ...) that clients may branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[ts(rename = "ErrorCode")]
pub enum Code {
    /// A field is missing or wrong (`errors` names it), or the data cannot be used as given.
    Invalid,
    /// What the command names does not exist (instance, definition, task, user, configuration).
    NotFound,
    /// Something else changed or holds what the command needs (another command changed the
    /// instance, a name is taken, a run is under way): read again and retry, or choose another.
    Conflict,
    /// The caller may not do this.
    Forbidden,
    /// A business rule, a script or the instance's state refused it (the task does not wait,
    /// the instance has ended, a ServerScript threw, nothing waits for the key).
    Rejected,
    /// The same delivery was already handled (a `messageId` or a callback seen before).
    Duplicate,
    /// Baton could not do its part: the disk is full, the database is read-only or corrupt,
    /// stored state is unreadable, or a bug. The answer holds only a reference to the log.
    Internal,
    /// No command has that name.
    UnknownCommand,
    /// The request is not a command at all: malformed JSON, no `cmd` / `$type`, a bad header.
    BadRequest,
    /// No live bearer token.
    Unauthorized,
    /// Too many of these at once (a process definition started more instances a second than
    /// its limit allows): try again a little later.
    RateLimited,
}

/// The doors that answer failures with their own statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// `/api/v1/execute`, `/api/core/cmd`, `/api/bpm/cmd` (and the desktop's `execute`, which
    /// has no status but the same envelope).
    Command,
    /// `/webhook/...`: an accepted request whose configured command, code or process failed.
    Webhook,
    /// `/hooks/{token}`: an incoming webhook application's operation.
    HookApp,
}

impl Code {
    /// Every code, in the order docs/commands.md lists them.
    pub const ALL: [Code; 11] = [
        Code::Invalid,
        Code::NotFound,
        Code::Conflict,
        Code::Forbidden,
        Code::Rejected,
        Code::Duplicate,
        Code::Internal,
        Code::UnknownCommand,
        Code::BadRequest,
        Code::Unauthorized,
        Code::RateLimited,
    ];

    /// The code as the envelope's `"code"` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Invalid => "INVALID",
            Code::NotFound => "NOT_FOUND",
            Code::Conflict => "CONFLICT",
            Code::Forbidden => "FORBIDDEN",
            Code::Rejected => "REJECTED",
            Code::Duplicate => "DUPLICATE",
            Code::Internal => "INTERNAL",
            Code::UnknownCommand => "UNKNOWN_COMMAND",
            Code::BadRequest => "BAD_REQUEST",
            Code::Unauthorized => "UNAUTHORIZED",
            Code::RateLimited => "RATE_LIMITED",
        }
    }

    /// THE table: the HTTP status a failure with this code answers at a door. Business
    /// failures are 200 at the command doors (API.md), 422 at a webhook door (the gateway
    /// should see that its request was not applied) and 200 at a webhook application (its
    /// `errors` list says why); internal failures are 500 everywhere.
    pub fn http_status(self, door: Door) -> u16 {
        match (self, door) {
            (Code::Internal, _) => 500,
            (Code::Unauthorized, _) => 401,
            (Code::RateLimited, _) => 429,
            (Code::UnknownCommand | Code::BadRequest, Door::Command) => 400,
            (Code::Forbidden, Door::Command) => 403,
            (_, Door::Command) => 200,
            (_, Door::Webhook) => 422,
            (_, Door::HookApp) => 200,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed command: its code, the message the caller reads, the fields that were wrong and
/// `data` that says more (e.g. a deploy's problems).
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub code: Code,
    /// For an internal error: the detail, for the log only (see [`Error::public`]).
    pub message: String,
    pub fields: Vec<FieldError>,
    /// Boxed: a failure stays small on the error path of every `Result`.
    pub data: Box<Value>,
    /// Whether `message` may be shown as it is (false for an internal detail not yet logged).
    shown: bool,
}

/// The message of a failure that names fields (the words API.md shows).
pub const VALIDATION_FAILED: &str = "Validation failed";

impl Error {
    /// A failure with a message and nothing else.
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
            fields: Vec::new(),
            data: Box::new(Value::Null),
            shown: code != Code::Internal,
        }
    }

    /// "Validation failed" with one field error.
    pub fn field(field: &str, message: String) -> Error {
        Error::fields(
            vec![FieldError {
                field: field.into(),
                message,
            }],
            Value::Null,
        )
    }

    /// "Validation failed" with field errors and `data` that says more.
    pub fn fields(fields: Vec<FieldError>, data: Value) -> Error {
        Error {
            fields,
            data: Box::new(data),
            ..Error::new(Code::Invalid, VALIDATION_FAILED)
        }
    }

    /// A field names something that does not exist ("Validation failed", the field's error,
    /// code NOT_FOUND).
    pub fn no_such(field: &str, message: String) -> Error {
        Error::field(field, message).with_code(Code::NotFound)
    }

    /// A store lookup that failed: a missing row is `field`'s NOT_FOUND error saying `message`,
    /// anything else (the disk, the file) is what it is.
    pub(crate) fn lookup(e: StoreError, field: &str, message: String) -> Error {
        match e {
            StoreError::NotFound(_) => Error::no_such(field, message),
            other => other.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(Code::Invalid, message)
    }
    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(Code::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Error {
        Error::new(Code::Conflict, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Error {
        Error::new(Code::Forbidden, message)
    }
    pub fn rejected(message: impl Into<String>) -> Error {
        Error::new(Code::Rejected, message)
    }
    pub fn duplicate(message: impl Into<String>) -> Error {
        Error::new(Code::Duplicate, message)
    }
    pub fn rate_limited(message: impl Into<String>) -> Error {
        Error::new(Code::RateLimited, message)
    }
    /// Baton's own failure: `detail` goes to the log, never to the caller.
    pub fn internal(detail: impl Into<String>) -> Error {
        Error::new(Code::Internal, detail)
    }

    /// An internal error nobody is shown and nothing logs: it only unwinds work that will be
    /// run again (`inline`).
    pub(crate) fn unwinding(detail: impl Into<String>) -> Error {
        Error {
            shown: true,
            ..Error::new(Code::Internal, detail)
        }
    }

    /// The same failure under another code (messages and fields unchanged).
    pub fn with_code(mut self, code: Code) -> Error {
        self.code = code;
        self.shown = code != Code::Internal;
        self
    }

    /// A failure another command already answered (its message is already fit to show).
    pub(crate) fn answered(code: Code, message: impl Into<String>) -> Error {
        Error {
            shown: true,
            ..Error::new(code, message)
        }
    }

    pub fn is(&self, code: Code) -> bool {
        self.code == code
    }

    /// The failure in one line: the field errors' messages, else the message (for failures
    /// that become a message of another thing: a job run, a delivery, a log line). An
    /// internal error's line is its detail: use it for logs, or [`Error::public`] first.
    pub fn line(&self) -> String {
        if self.fields.is_empty() {
            self.message.clone()
        } else {
            crate::commands::describe(&self.fields)
        }
    }

    /// The failure as a caller may see it: an internal error's detail is logged (in the
    /// current span, so with the command's name and user) under a fresh reference, and
    /// replaced by "internal error; reference XXXXXXXX". Anything else is unchanged.
    pub fn public(mut self) -> Error {
        if !self.shown {
            let reference = reference();
            tracing::error!(reference = %reference, detail = %self.message, "internal error");
            self.message = format!("internal error; reference {reference}");
            self.fields.clear();
            self.data = Box::new(Value::Null);
            self.shown = true;
        }
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.line())
    }
}

impl std::error::Error for Error {}

/// An opaque reference to find a failure in the log: 8 hex digits, random.
fn reference() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    id[..8].to_string()
}

impl From<StoreError> for Error {
    /// Rows that do not exist and taken names keep their words; anything SQLite refused (I/O,
    /// a full disk, a read-only or corrupt file, a locked database, a constraint the code
    /// should have checked first) is internal.
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::NotFound(m) => Error::not_found(m),
            StoreError::Conflict(m) => Error::conflict(m),
            StoreError::Sqlite(e) => Error::internal(sqlite_detail(&e)),
            other @ StoreError::TooNew { .. } => Error::internal(other.to_string()),
        }
    }
}

/// What the log says about an SQLite failure: its kind first, so a full disk or a read-only
/// file is plain in the log.
fn sqlite_detail(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode as C;
    let kind = match e.sqlite_error_code() {
        Some(C::DiskFull) => "the disk is full",
        Some(C::ReadOnly) => "the database is read-only",
        Some(C::DatabaseCorrupt | C::NotADatabase) => "the database file is corrupt",
        Some(C::SystemIoFailure) => "the disk failed (I/O error)",
        Some(C::CannotOpen) => "the database file cannot be opened",
        Some(C::DatabaseBusy | C::DatabaseLocked) => "the database is locked",
        Some(C::ConstraintViolation) => "a database constraint failed",
        Some(C::PermissionDenied) => "permission denied",
        _ => "the database refused",
    };
    format!("{kind}: {e}")
}

impl From<CommandError> for Error {
    fn from(e: CommandError) -> Error {
        let message = e.to_string();
        #[allow(unreachable_patterns)]
        let code = match e {
            CommandError::NoProcess(_) => Code::NotFound,
            CommandError::Ended(_) | CommandError::NotWaiting(_) | CommandError::NoMatch(_) => {
                Code::Rejected
            }
            CommandError::Rejected { .. } => Code::Rejected,
            CommandError::Forbidden(_) => Code::Forbidden,
            CommandError::Invalid(_) => Code::Invalid,
            // A state that does not fit its model, and whatever the engine adds later: not
            // the caller's doing.
            _ => Code::Internal,
        };
        Error::new(code, message)
    }
}

impl From<crate::ActAsError> for Error {
    /// An `actAs` (header or desktop field) that cannot be honoured.
    fn from(e: crate::ActAsError) -> Error {
        use crate::ActAsError as A;
        match &e {
            A::NotAllowed => Error::forbidden(e.to_string()),
            A::NoSuchUser(_) => Error::new(Code::BadRequest, e.to_string()),
            A::Store(detail) => Error::internal(format!("actAs: {detail}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_documented() {
        let names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        for (c, n) in Code::ALL.iter().zip(&names) {
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                Value::String(n.to_string())
            );
        }
        assert_eq!(Code::NotFound.http_status(Door::Command), 200);
        assert_eq!(Code::Forbidden.http_status(Door::Command), 403);
        assert_eq!(Code::UnknownCommand.http_status(Door::Command), 400);
        assert_eq!(Code::Internal.http_status(Door::Command), 500);
        assert_eq!(Code::Rejected.http_status(Door::Webhook), 422);
        assert_eq!(Code::Internal.http_status(Door::Webhook), 500);
        assert_eq!(Code::Invalid.http_status(Door::HookApp), 200);
        assert_eq!(Code::RateLimited.http_status(Door::Command), 429);
    }

    #[test]
    fn an_internal_detail_is_replaced_by_a_reference() {
        let e = Error::internal("database error: disk I/O error: INSERT INTO instances").public();
        assert_eq!(e.code, Code::Internal);
        assert!(
            e.message.starts_with("internal error; reference "),
            "{}",
            e.message
        );
        assert!(!e.message.contains("INSERT"));
        assert_eq!(e.message.len(), "internal error; reference ".len() + 8);
        // Public twice: the same reference.
        assert_eq!(e.clone().public(), e);
        let shown = Error::rejected("instance is COMPLETED, not waiting").public();
        assert_eq!(shown.message, "instance is COMPLETED, not waiting");
    }

    #[test]
    fn store_errors_are_classified() {
        assert!(Error::from(StoreError::NotFound("no x".into())).is(Code::NotFound));
        assert!(Error::from(StoreError::Conflict("taken".into())).is(Code::Conflict));
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        let e = Error::from(StoreError::Sqlite(full));
        assert!(e.is(Code::Internal));
        assert!(e.message.starts_with("the disk is full"), "{}", e.message);
    }
}
