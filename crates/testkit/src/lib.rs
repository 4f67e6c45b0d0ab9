//! Shared helpers for Baton's tests (dev-only, never published): BPMN models built in code
//! (`Model`), a runtime on a real SQLite file with a virtual clock (`TestRuntime`), and its HTTP
//! doors through the router (`Door`) or on 127.0.0.1 (`Served`).

pub mod harness;
pub mod http;
pub mod model;

pub use harness::{advance, field_of, history_kinds, ok, open_runtime, virtual_clock, TestRuntime};
pub use http::{agent, Door, Served, TestUser, ADMIN};
pub use model::{definitions, escape, template, timer, Model, NS};
