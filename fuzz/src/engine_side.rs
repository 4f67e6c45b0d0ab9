//! The engine's readers under fuzzing: the BPMN reader and validator, and the rhai script host.
//!
//! Each function takes the fuzzer's bytes and panics only when Baton misbehaves (a panic in
//! Baton itself, or an answer that breaks a stated rule). The same functions replay
//! `fuzz/regressions/` as ordinary tests on stable (crates/runtime/tests/fuzz_regressions.rs
//! includes this file), so they use nothing but the crates that test can see.

use baton_engine::script::{ScriptHost, ScriptInput};
use baton_engine::{parse, Ctx, Engine, VirtualClock};
use serde_json::{json, Map, Value};

/// Bytes as text: BPMN and scripts are text, so invalid UTF-8 is read lossily (the CLI and the
/// HTTP doors only ever hand the engine a `&str`).
fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// The BPMN reader, the validator and the script compiler (`Engine::new`), then a start of the
/// model when it builds: whatever the file holds, each step answers a value or an error.
///
/// A file may hold several models separated by a line `--- next file ---`, read as one
/// deployment (a call activity into another file, messages declared in another file).
pub fn bpmn(data: &[u8]) {
    let all = text(data);
    let names = ["a.bpmn", "b.bpmn", "c.bpmn", "d.bpmn"];
    let files: Vec<(&str, &str)> = all
        .split("\n--- next file ---\n")
        .take(names.len())
        .enumerate()
        .map(|(i, t)| (names[i], t))
        .collect();
    let deployment = match parse(&files) {
        Ok(d) => d,
        Err(e) => {
            assert!(
                e.line >= 1 && e.column >= 1,
                "a parse error names a position: {e}"
            );
            assert!(!e.message.is_empty(), "a parse error says what is wrong");
            return;
        }
    };
    let engine = match Engine::new(deployment) {
        Ok((engine, _warnings)) => engine,
        Err(problems) => {
            assert!(!problems.is_empty(), "a refused model names a problem");
            return;
        }
    };
    let clock = VirtualClock::new(VirtualClock::default_start());
    let ctx = Ctx {
        clock: &clock,
        user: None,
        enforce_access: false,
        bus: None,
    };
    // Starting runs the model up to its first wait state (or the end, or an incident); every
    // outcome is an answer, none a panic.
    let _ = engine.start(None, variables(), &ctx);
}

/// The variables a fuzzed model or script starts with: a few of each JSON type, named as the
/// templates name theirs.
fn variables() -> Map<String, Value> {
    let v = json!({
        "amount": 1500,
        "rate": 2.5,
        "applicant": "Ada",
        "approved": true,
        "items": [1, 2, 3],
        "customer": {"name": "Ada", "tier": "gold", "limits": {"daily": 100}},
        "nothing": null
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The rhai host: the text compiled as a script (JUEL words translated first), then run as a
/// script task would, as one that may queue commands, and as a condition. Every outcome is a
/// value or a `ScriptError` (limits included); the values that leave are JSON.
pub fn script(data: &[u8]) {
    let source = text(data);
    let host = match ScriptHost::single(&source) {
        Ok(h) => h,
        Err(e) => {
            assert!(!e.message.is_empty(), "a compile error says what is wrong");
            return;
        }
    };
    let vars = variables();
    let lookup = |name: &str| vars.get(name).cloned();
    let all = || vars.clone();
    let form = json!({"decision": "approve", "amount": 10});
    let input = ScriptInput {
        lookup: &lookup,
        all: &all,
        form_data: Some(&form),
        current_user: Some("ada"),
        now: VirtualClock::default_start(),
    };
    if let Ok(out) = host.run(0, &input) {
        assert!(out.commands.is_empty(), "run() never queues a command");
        // What a script writes back is stored as JSON: it must serialise.
        let _ = serde_json::to_string(&out.value).expect("a script's value is JSON");
        for (name, value) in &out.writes {
            assert!(!name.is_empty(), "a written variable has a name");
            let _ = serde_json::to_string(value).expect("a written variable is JSON");
        }
    }
    let _ = host.run_with_commands(0, &input);
    let _ = host.condition(0, &input);
}
