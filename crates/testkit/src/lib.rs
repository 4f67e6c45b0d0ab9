//! Shared helpers for Baton's tests (dev-only, never published): BPMN models built in code
//! (`Model`), a runtime on a real SQLite file with a virtual clock (`TestRuntime`), and its HTTP
//! doors through the router (`Door`) or on 127.0.0.1 (`Served`).
//!
//! ```
//! use baton_testkit::{Door, Model, TestRuntime, ADMIN};
//! use serde_json::json;
//!
//! // A model: start -> a user task for team TELLERS -> end.
//! let xml = Model::process("Review")
//!     .start("s")
//!     .user_task("Check")
//!     .props(&[("ResponsibleTeam", "TELLERS")])
//!     .end("e")
//!     .chain(&["s", "Check", "e"])
//!     .xml();
//!
//! // The bus directly, as the owner, on a virtual clock.
//! let t = TestRuntime::new();
//! t.deploy(&xml);
//! let guid = t.start("Review", json!({"amount": 5}));
//! assert_eq!(t.instance(&guid)["status"], "WAITING");
//! t.advance(60); // the clock moves only when the test says so
//!
//! // The HTTP doors through the router, with the administrator's token and a user.
//! # async fn doors(xml: String) {
//! let door = Door::new();
//! let bob = door.user("bob", &["TELLERS"]);
//! let (status, body) = door
//!     .exec(ADMIN, "DeployProcessDefinitionCommand", json!({"bpmnXml": xml}))
//!     .await;
//! assert_eq!((status.as_u16(), &body["isSuccessful"]), (200, &json!(true)));
//! let (status, _) = door.exec(&bob.token, "GetTaskListQuery", json!({})).await;
//! assert_eq!(status.as_u16(), 200);
//! # }
//! ```

pub mod harness;
pub mod http;
pub mod model;
pub mod models;
pub mod receiver;
pub mod seeds;

pub use harness::{
    advance, deploy, field_of, history_kinds, kinds_of, ok, open_in, open_runtime, virtual_clock,
    TestRuntime,
};
pub use http::{agent, answer, post_to, Door, Served, TestUser, ADMIN};
pub use model::{definitions, escape, flow, process, template, timer, Model, NS};
pub use receiver::{Received, Receiver};
