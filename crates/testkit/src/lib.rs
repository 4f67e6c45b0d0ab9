//! Shared helpers for Baton's tests (dev-only, never published): BPMN models built in code
//! (`Model`), a runtime on a real SQLite file with a virtual clock (`TestRuntime`), and its HTTP
//! doors through the router (`Door`) or on 127.0.0.1 (`Served`).

pub mod harness;
pub mod http;
pub mod model;

pub use harness::{
    advance, deploy, field_of, history_kinds, kinds_of, ok, open_in, open_runtime, virtual_clock,
    TestRuntime,
};
pub use http::{agent, answer, Door, Served, TestUser, ADMIN};
pub use model::{definitions, escape, flow, process, template, timer, Model, NS};
