//! Every command the bus dispatches, through the axum router (`oneshot`, no socket), as tables
//! of cases: (who, command, data, what must come back). A case says the HTTP status and the
//! envelope it expects: success (with the data fields it checks), a field error (naming the
//! field, and the message when it matters), a business failure, or a 403. The driver asserts
//! the shape of each envelope once, so the tables read as the specification of each command:
//!
//! - success: 200, `isSuccessful: true`, no `errors`;
//! - a field error: 200, `isSuccessful: false`, `message: "Validation failed"`, exactly one
//!   field error;
//! - a business failure: 200, `isSuccessful: false`, no `errors`, no `data`;
//! - forbidden: 403, `isSuccessful: false`, `code: "FORBIDDEN"`;
//! - every failure carries a `code` (never `INTERNAL` for a refusal), a success none.
//!
//! Around the tables, each test checks what a refused command must leave alone (the instance
//! and its history, the lists) and what a successful one changed. One file a concept: doors
//! and envelopes, definitions, instances, tasks, correlation, users and tokens, jobs.

mod correlation;
mod definitions;
mod doors;
mod instances;
mod jobs;
mod tasks;
mod tokens;
mod users;

use axum::http::StatusCode;
use baton_testkit::{template, Door};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

pub use baton_testkit::ADMIN;

// ----- models ---------------------------------------------------------------------------------

/// The shared models, under the names these tests use.
pub use baton_testkit::models::{
    alarm_flow as signal_wait, calc as failing_script, callback_flow as callback_wait, chores,
    order_flow as message_wait,
};

pub fn loan() -> String {
    template("loan-approval/LoanApprovalProcess.bpmn")
}

pub fn loan_form() -> Value {
    serde_json::from_str(&template("loan-approval/forms/loan-review-form.form.json")).unwrap()
}

pub fn payment() -> String {
    template("payment-approval/PaymentApprovalProcess.bpmn")
}

// ----- the server -----------------------------------------------------------------------------

/// A server with the administrator's token `ADMIN`, bob (team TELLERS) and mary (team
/// MANAGERS), both non-administrators with a token each, on a virtual clock the test moves.
pub struct Server {
    pub door: Door,
    pub bob: String,
    pub bob_token_id: i64,
    pub mary: String,
}

pub fn server() -> Server {
    let door = Door::new();
    let bob = door.user("bob", &["TELLERS"]);
    let mary = door.user("mary", &["MANAGERS"]);
    Server {
        door,
        bob: bob.token,
        bob_token_id: bob.token_id,
        mary: mary.token,
    }
}

/// What a case expects of a message.
#[derive(Debug, Clone)]
pub enum Msg {
    Any,
    Is(String),
    Has(Vec<String>),
    Starts(String),
}

pub const ANY: Msg = Msg::Any;

pub fn is(m: impl Into<String>) -> Msg {
    Msg::Is(m.into())
}

pub fn has(parts: &[&str]) -> Msg {
    Msg::Has(parts.iter().map(|p| p.to_string()).collect())
}

pub fn starts(m: &str) -> Msg {
    Msg::Starts(m.into())
}

impl Msg {
    fn check(&self, m: &str, context: &str) {
        match self {
            Msg::Any => {}
            Msg::Is(want) => assert_eq!(m, want, "{context}"),
            Msg::Has(parts) => assert!(
                parts.iter().all(|p| m.contains(p.as_str())),
                "{context}: {m:?} should contain {parts:?}"
            ),
            Msg::Starts(p) => assert!(
                m.starts_with(p.as_str()),
                "{context}: {m:?} should start with {p:?}"
            ),
        }
    }
}

/// What a case expects back.
#[derive(Debug, Clone)]
pub enum Expect {
    /// Success; each (JSON pointer into `data`, value) must hold.
    Ok(Vec<(&'static str, Value)>),
    /// A validation error naming this field, its message as `Msg` says.
    Field(&'static str, Msg),
    /// A business failure whose message is as `Msg` says.
    Refused(Msg),
    /// 403 whose message is as `Msg` says.
    Forbidden(Msg),
}

pub fn ok() -> Expect {
    Expect::Ok(Vec::new())
}

pub fn ok_with(checks: &[(&'static str, Value)]) -> Expect {
    Expect::Ok(checks.to_vec())
}

pub fn field(name: &'static str) -> Expect {
    Expect::Field(name, Msg::Any)
}

pub fn field_msg(name: &'static str, m: Msg) -> Expect {
    Expect::Field(name, m)
}

pub fn refused(m: Msg) -> Expect {
    Expect::Refused(m)
}

pub fn forbidden(m: Msg) -> Expect {
    Expect::Forbidden(m)
}

/// One row of a table: who runs which command with which data, and what must come back.
pub struct Case {
    pub who: String,
    pub cmd: &'static str,
    pub data: Value,
    pub expect: Expect,
}

pub fn case(who: &str, cmd: &'static str, data: Value, expect: Expect) -> Case {
    Case {
        who: who.to_string(),
        cmd,
        data,
        expect,
    }
}

impl Server {
    pub async fn post(&self, path: &str, auth: Option<&str>, body: String) -> (StatusCode, Value) {
        self.door.post(path, auth, body).await
    }

    /// `POST /api/v1/execute` with a bearer token.
    pub async fn exec(&self, token: &str, cmd: &str, data: Value) -> (StatusCode, Value) {
        self.door.exec(token, cmd, data).await
    }

    /// `POST /api/bpm/cmd` with a bearer token; `body` carries `$type`.
    pub async fn bpm(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.door.bpm(token, body).await
    }

    /// Runs a table of cases in order; answers each case's `data` (Null for failures).
    pub async fn table(&self, cases: Vec<Case>) -> Vec<Value> {
        let mut out = Vec::new();
        for (n, c) in cases.into_iter().enumerate() {
            out.push(self.check(n, c).await);
        }
        out
    }

    /// Runs one case and asserts it; answers its `data`.
    pub async fn case(&self, c: Case) -> Value {
        self.check(0, c).await
    }

    async fn check(&self, n: usize, c: Case) -> Value {
        let (code, v) = self.exec(&c.who, c.cmd, c.data.clone()).await;
        let context = format!("case {n}: {} {}: {v}", c.cmd, c.data);
        let message = v["message"].as_str().unwrap_or_default().to_string();
        // Every failure names its kind in `code`; a success has none.
        let code_of = v["code"].as_str().unwrap_or_default().to_string();
        match &c.expect {
            Expect::Ok(_) => assert!(v.get("code").is_none(), "{context}"),
            Expect::Forbidden(_) => assert_eq!(code_of, "FORBIDDEN", "{context}"),
            Expect::Field(..) | Expect::Refused(_) => assert!(
                !code_of.is_empty() && code_of != "INTERNAL",
                "a refusal names its code: {context}"
            ),
        }
        match &c.expect {
            Expect::Ok(checks) => {
                assert_eq!(code, StatusCode::OK, "{context}");
                assert_eq!(v["isSuccessful"], true, "{context}");
                assert!(v.get("errors").is_none(), "{context}");
                for (pointer, want) in checks {
                    let got = v["data"].pointer(pointer).unwrap_or(&Value::Null);
                    assert_eq!(got, want, "{context}: data{pointer}");
                }
            }
            Expect::Field(name, m) => {
                assert_eq!(code, StatusCode::OK, "{context}");
                assert_eq!(v["isSuccessful"], false, "{context}");
                assert_eq!(v["message"], "Validation failed", "{context}");
                assert_eq!(v["errors"].as_array().map(Vec::len), Some(1), "{context}");
                assert_eq!(v["errors"][0]["field"], *name, "{context}");
                let fm = v["errors"][0]["message"].as_str().unwrap_or_default();
                m.check(fm, &context);
            }
            Expect::Refused(m) => {
                assert_eq!(code, StatusCode::OK, "{context}");
                assert_eq!(v["isSuccessful"], false, "{context}");
                assert_eq!(
                    v.get("errors"),
                    Some(&json!([])),
                    "a business failure names no field: {context}"
                );
                if c.cmd == "GetTaskFormQuery" {
                    // Seed 002's frontend reads data.status first: a failed form says it there.
                    assert_eq!(v["data"]["status"], code_of, "{context}");
                } else {
                    assert!(v.get("data").is_none(), "{context}");
                }
                m.check(&message, &context);
            }
            Expect::Forbidden(m) => {
                assert_eq!(code, StatusCode::FORBIDDEN, "{context}");
                assert_eq!(v["isSuccessful"], false, "{context}");
                m.check(&message, &context);
            }
        }
        v["data"].clone()
    }

    /// A command that succeeds; answers `data`.
    pub async fn ok(&self, token: &str, cmd: &'static str, data: Value) -> Value {
        self.case(case(token, cmd, data, ok())).await
    }

    pub async fn deploy(&self, xml: &str) -> Value {
        self.ok(
            ADMIN,
            "DeployProcessDefinitionCommand",
            json!({"bpmnXml": xml}),
        )
        .await["processDefinitionId"]
            .clone()
    }

    pub async fn start(&self, token: &str, data: Value) -> (String, Value) {
        let d = self.ok(token, "StartProcessInstanceCommand", data).await;
        (d["instanceGuid"].as_str().unwrap().to_string(), d)
    }

    pub async fn instance(&self, guid: &str) -> Value {
        self.ok(
            ADMIN,
            "GetProcessInstanceByIdQuery",
            json!({"instanceGuid": guid}),
        )
        .await
    }

    pub async fn history(&self, guid: &str) -> Vec<String> {
        let h = self
            .ok(
                ADMIN,
                "GetInstanceHistoryQuery",
                json!({"instanceGuid": guid}),
            )
            .await;
        baton_testkit::kinds_of(&h)
    }

    /// What a refused command must leave alone: the instance as the query shows it, and its history.
    pub async fn snapshot(&self, guid: &str) -> (Value, Vec<String>) {
        (self.instance(guid).await, self.history(guid).await)
    }

    pub async fn count(&self, cmd: &'static str, data: Value) -> i64 {
        self.ok(ADMIN, cmd, data).await["totalCount"]
            .as_i64()
            .unwrap()
    }

    /// Moves the virtual clock forward.
    pub fn advance(&self, secs: i64) {
        self.door.t.advance(secs);
    }

    pub fn state(&self) -> Arc<baton_runtime::http::AppState> {
        self.door.st.clone()
    }
}

pub fn count_of(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

pub fn guids(items: &Value) -> BTreeSet<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["instanceGuid"].as_str().unwrap().to_string())
        .collect()
}

/// A set of strings, for comparing lists whose order is not specified.
pub fn set<S: AsRef<str>>(items: &[S]) -> BTreeSet<String> {
    items.iter().map(|s| s.as_ref().to_string()).collect()
}
