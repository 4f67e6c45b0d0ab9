//! The rhai script host through its public interface: compile_all, run, condition.
use baton_engine::model::{Source, Span};
use baton_engine::script::{ScriptError, ScriptErrorKind, ScriptHost, ScriptInput, ScriptOutcome};
use serde_json::{json, Map, Value};

fn sources(texts: &[&str]) -> Vec<Source> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| Source {
            text: t.to_string(),
            id: i as u32,
            span: Span::default(),
        })
        .collect()
}

fn vars(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("vars must be an object"),
    }
}

fn now() -> jiff::Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

/// Compiles one script (asserting it compiles) and runs it against `vars`.
fn run_with(
    text: &str,
    vars_: Value,
    form: Option<&Value>,
    user: Option<&str>,
) -> Result<ScriptOutcome, ScriptError> {
    let mut host = ScriptHost::new();
    let errs = host.compile_all(&sources(&[text]));
    assert!(errs.is_empty(), "{text}: {errs:?}");
    let m = vars(vars_);
    let lookup = |n: &str| m.get(n).cloned();
    let all = || m.clone();
    let input = ScriptInput {
        lookup: &lookup,
        all: &all,
        form_data: form,
        current_user: user,
        now: now(),
    };
    host.run(0, &input)
}

fn run(text: &str, v: Value) -> Result<ScriptOutcome, ScriptError> {
    run_with(text, v, None, None)
}

fn cond(text: &str, v: Value) -> Result<bool, ScriptError> {
    let mut host = ScriptHost::new();
    let errs = host.compile_all(&sources(&[text]));
    assert!(errs.is_empty(), "{text}: {errs:?}");
    let m = vars(v);
    let lookup = |n: &str| m.get(n).cloned();
    let all = || m.clone();
    let input = ScriptInput {
        lookup: &lookup,
        all: &all,
        form_data: None,
        current_user: None,
        now: now(),
    };
    host.condition(0, &input)
}

fn writes(o: &ScriptOutcome) -> Value {
    Value::Object(o.writes.iter().cloned().collect())
}

#[test]
fn arithmetic_assignment_and_let_are_writes() {
    let o = run(
        "counter = counter + 1; let doubled = counter * 2; ratio = 1.5 * 2.0; doubled",
        json!({"counter": 4, "ratio": 0}),
    )
    .unwrap();
    assert_eq!(o.value, json!(10));
    assert_eq!(
        o.writes,
        vec![
            ("counter".into(), json!(5)),
            ("ratio".into(), json!(3.0)),
            ("doubled".into(), json!(10))
        ]
    );
}

#[test]
fn unchanged_and_block_local_variables_are_not_writes() {
    let o = run(
        "let t = amount; if true { let inner = 1; } amount = amount; t",
        json!({"amount": 7}),
    )
    .unwrap();
    assert_eq!(o.value, json!(7));
    assert_eq!(writes(&o), json!({"t": 7}));
}

#[test]
fn assignment_to_a_new_variable_creates_it() {
    let o = run("total = 3; label = \"x\" + total;", json!({})).unwrap();
    assert_eq!(writes(&o), json!({"total": 3, "label": "x3"}));
}

#[test]
fn values_convert_both_ways() {
    let o = run(
        "order.items.push(#{sku: 'b', qty: 2}); order.note = (); let c = 'z'; let f = 1.0 / 0.0; order",
        json!({"order": {"items": [{"sku": "a", "qty": 1}], "total": 9.5, "note": "x"}}),
    )
    .unwrap();
    let order = json!({"items": [{"qty": 1, "sku": "a"}, {"qty": 2, "sku": "b"}], "note": null, "total": 9.5});
    assert_eq!(o.value, order);
    assert_eq!(writes(&o), json!({"order": order, "c": "z", "f": null}));
}

#[test]
fn top_level_return_yields_its_value() {
    assert_eq!(
        run("if x > 1 { return \"big\"; } \"small\"", json!({"x": 5}))
            .unwrap()
            .value,
        json!("big")
    );
}

#[test]
fn context_reads_and_writes() {
    let o = run(
        "context.seen = context.amount + 1; context.amount",
        json!({"amount": 2, "other": [1]}),
    )
    .unwrap();
    assert_eq!(o.value, json!(2));
    assert_eq!(writes(&o), json!({"seen": 3}));
    // Reading context alone writes nothing, and context itself is never written back.
    let o = run("let n = context.len(); n", json!({"a": 1, "b": 2})).unwrap();
    assert_eq!(writes(&o), json!({"n": 2}));
}

#[test]
fn execution_get_and_set_variable() {
    let o = run(
        "let before = execution.getVariable(\"amount\"); execution.setVariable(\"amount\", before * 10); \
         execution.setVariable(\"flag\", true); execution.setVariable(\"amount\", execution.getVariable(\"amount\") + 1); \
         [execution.getVariable(\"missing\"), execution.hasVariable(\"amount\")]",
        json!({"amount": 3}),
    )
    .unwrap();
    assert_eq!(o.value, json!([null, true]));
    assert_eq!(writes(&o), json!({"before": 3, "amount": 31, "flag": true}));
}

#[test]
fn form_data_and_current_user() {
    let form = json!({"decision": "approve"});
    let script = "if formData.decision == () { throw \"Decision is required\"; } #{ approved: formData.decision == \"approve\", by: currentUser }";
    let o = run_with(script, json!({}), Some(&form), Some("mary")).unwrap();
    assert_eq!(o.value, json!({"approved": true, "by": "mary"}));
    assert!(o.writes.is_empty());
    let e = run_with(script, json!({}), Some(&json!({})), None).unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ScriptErrorKind::Thrown, "Decision is required")
    );
    // Neither given: both are ().
    assert_eq!(
        run("[formData, currentUser]", json!({})).unwrap().value,
        json!([null, null])
    );
}

#[test]
fn throw_any_value() {
    let e = run("throw \"nope\";", json!({})).unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ScriptErrorKind::Thrown, "nope")
    );
    let e = run("throw #{message: \"bad input\", code: 4};", json!({})).unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ScriptErrorKind::Thrown, "bad input")
    );
    let e = run("throw 42;", json!({})).unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ScriptErrorKind::Thrown, "42")
    );
    // Thrown from inside a function keeps its message.
    let e = run(
        "fn check(x) { if x < 0 { throw \"negative\"; } x } check(-1)",
        json!({}),
    )
    .unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ScriptErrorKind::Thrown, "negative")
    );
}

#[test]
fn runaway_loop_hits_the_operation_limit() {
    let e = run("let i = 0; loop { i += 1; }", json!({})).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Limit, "{e:?}");
    // Normally the operation limit; on a very slow machine the run-time safety net may come first.
    assert!(
        e.message.starts_with("script stopped: it ran"),
        "{}",
        e.message
    );
}

#[test]
fn huge_string_hits_the_size_limit() {
    let e = run("let s = \"x\"; loop { s += s; }", json!({})).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Limit, "{e:?}");
    let e = run("let a = []; loop { a.push(1); }", json!({})).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Limit, "{e:?}");
}

#[test]
fn deep_recursion_hits_the_call_limit() {
    let e = run("fn down(n) { down(n + 1) } down(0)", json!({})).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Limit, "{e:?}");
    assert!(e.message.contains("levels"), "{}", e.message);
}

#[test]
fn deeply_nested_expression_is_refused() {
    let text = format!("{}1{}", "(".repeat(200), ")".repeat(200));
    let mut host = ScriptHost::new();
    let errs = host.compile_all(&sources(&[&text]));
    assert_eq!(errs.len(), 1);
    assert!(
        matches!(
            errs[0].1.kind,
            ScriptErrorKind::Limit | ScriptErrorKind::Compile
        ),
        "{errs:?}"
    );
}

#[test]
fn unknown_variable_is_a_runtime_error_naming_it() {
    let e = run("let y = 1;\nlet z = missing + y;", json!({})).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Runtime);
    assert!(e.message.contains("'missing'"), "{}", e.message);
    assert_eq!((e.line, e.column), (Some(2), Some(9)));
    let e = run("nosuch(1)", json!({})).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Runtime);
    assert!(e.message.contains("nosuch"), "{}", e.message);
}

#[test]
fn compile_errors_carry_line_and_column() {
    let mut host = ScriptHost::new();
    let errs = host.compile_all(&sources(&["1 + 1", "let a = 1;\nlet = 2;", "x +"]));
    assert_eq!(errs.len(), 2, "{errs:?}");
    let (id, e) = &errs[0];
    assert_eq!(*id, 1);
    assert_eq!(e.kind, ScriptErrorKind::Compile);
    assert_eq!(e.line, Some(2));
    assert!(e.column.is_some());
    assert_eq!(errs[1].0, 2);
    // Running a script that failed to compile answers its compile error; the good one runs.
    let m = Map::new();
    let lookup = |n: &str| m.get(n).cloned();
    let all = || m.clone();
    let input = ScriptInput {
        lookup: &lookup,
        all: &all,
        form_data: None,
        current_user: None,
        now: now(),
    };
    assert_eq!(
        host.run(1, &input).unwrap_err().kind,
        ScriptErrorKind::Compile
    );
    assert_eq!(host.run(0, &input).unwrap().value, json!(2));
    assert_eq!(
        host.run(99, &input).unwrap_err().kind,
        ScriptErrorKind::Runtime
    );
}

#[test]
fn eval_and_import_are_not_available() {
    let mut host = ScriptHost::new();
    let errs = host.compile_all(&sources(&["eval(\"1\")", "import \"x\" as y;"]));
    assert_eq!(errs.len(), 2, "{errs:?}");
}

#[test]
fn juel_operators_and_single_quoted_strings() {
    let v = json!({"status": "ok", "amount": 20, "x": null});
    assert!(cond("${status eq 'ok' and amount gt 10}", v.clone()).unwrap());
    assert!(!cond("${status ne 'ok' or amount le 10}", v.clone()).unwrap());
    assert!(cond("not (amount lt 10) && amount ge 20 && x == null", v.clone()).unwrap());
    assert!(cond("status == 'ok' && 'a' == \"a\"", v.clone()).unwrap());
    // Inside strings the words stay words.
    assert_eq!(
        run("\"this and that\" + ' or not'", v).unwrap().value,
        json!("this and that or not")
    );
    // Positions still point into the text as written.
    let e = run("a and\n  nosuch", json!({"a": true})).unwrap_err();
    assert_eq!((e.line, e.column), (Some(2), Some(3)));
}

#[test]
fn conditions_require_a_boolean() {
    assert!(cond("counter < 100", json!({"counter": 5})).unwrap());
    let e = cond("counter + 1", json!({"counter": 5})).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Runtime);
    assert_eq!(
        e.message,
        "condition must be true or false, got a number (6)"
    );
    let e = cond("\"yes\"", json!({})).unwrap_err();
    assert_eq!(
        e.message,
        "condition must be true or false, got a string (\"yes\")"
    );
}

#[test]
fn now_answers_the_input_clock() {
    assert_eq!(
        run("now()", json!({})).unwrap().value,
        json!("2026-01-01T00:00:00Z")
    );
    // The wall clock is not reachable.
    assert!(run("timestamp()", json!({})).is_err());
}

#[test]
fn print_and_debug_are_silent_and_harmless() {
    assert_eq!(
        run("print(\"hi\"); debug(1); 3", json!({})).unwrap().value,
        json!(3)
    );
}

#[test]
fn a_compiled_host_runs_many_inputs() {
    let mut host = ScriptHost::new();
    assert!(host
        .compile_all(&sources(&["n = n + 1;", "n < 3"]))
        .is_empty());
    let mut n = json!(0);
    let mut rounds = 0;
    loop {
        let m = vars(json!({ "n": n }));
        let lookup = |k: &str| m.get(k).cloned();
        let all = || m.clone();
        let input = ScriptInput {
            lookup: &lookup,
            all: &all,
            form_data: None,
            current_user: None,
            now: now(),
        };
        if !host.condition(1, &input).unwrap() {
            break;
        }
        n = host.run(0, &input).unwrap().writes[0].1.clone();
        rounds += 1;
    }
    assert_eq!(rounds, 3);
}

#[test]
fn shadowing_constants_and_closures() {
    let o = run("let counter = counter + 1; const LIMIT = 3; let n = 0; let f = || n += 1; f.call(); f.call(); n", json!({"counter": 1})).unwrap();
    assert_eq!(o.value, json!(2));
    assert_eq!(writes(&o), json!({"counter": 2, "LIMIT": 3, "n": 2}));
    // `f`, a closure, is a script-local helper and not written.
}
