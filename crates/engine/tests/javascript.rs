//! JavaScript beside rhai: the seeds' own scripts, verbatim, run and give the seeds' results;
//! the limits hold; nothing reaches outside; errors name their line; each script is read in the
//! language the documented rule gives; the rhai templates stay rhai.
mod common;

use baton_engine::model::{Language, Source, Span};
use baton_engine::script::{
    language_note, languages_of, script_languages, Bus, BusGuard, ScriptError, ScriptErrorKind,
    ScriptHost, ScriptInput, ScriptLanguage, ScriptOutcome,
};
use baton_engine::{parse, validate, Engine};
use common::{model, H};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// Seed 002, Example 1 (ReceiveTask form mode), the ServerScript property's value as printed.
const SEED_002_EXAMPLE_1: &str = "
// Validate manager's decision
if (!formData.decision) {
throw new Error('Decision is required');
}
return {
approved: formData.decision === 'approve',
reviewedBy: currentUser,
reviewedAt: new Date(),
comments: formData.comments
};
";

/// Seed 002, Example 2 (UserTask), the ServerScript property's value as printed.
const SEED_002_EXAMPLE_2: &str = "
// Validate approval
if (formData.decision === 'approve' && !formData.approvedAmount) {
throw new Error('Approved amount is required');
}
return {
approved: formData.decision === 'approve',
approvedAmount: formData.approvedAmount,
approvedBy: currentUser
};
";

/// Seed 000, "3. Process Authorization", as printed.
const SEED_000_AUTHORIZATION: &str = "var initiator = execution.getVariable('InitiatedBy');
var userRole = doQuery('GetUserRoleQuery', { userId: initiator });
if (userRole !== 'MANAGER') {
throw new Error('Unauthorized: Manager approval required');
}";

fn now() -> jiff::Timestamp {
    "2026-01-01T09:30:00Z".parse().unwrap()
}

fn source(text: &str) -> Source {
    Source {
        text: text.to_string(),
        id: 0,
        span: Span::default(),
    }
}

/// Compiles `text` in `language` on a host with the given run time limit.
fn host_as(text: &str, language: Language, time: Duration) -> Result<ScriptHost, ScriptError> {
    host_with(text, language, baton_engine::script::MAX_OPERATIONS, time)
}

/// Compiles `text` in `language` on a host with the given operation budget and run time limit.
fn host_with(
    text: &str,
    language: Language,
    operations: u64,
    time: Duration,
) -> Result<ScriptHost, ScriptError> {
    let mut host = ScriptHost::with_limits(operations, time);
    match host
        .compile_with_languages(&[source(text)], &[language])
        .pop()
    {
        Some((_, e)) => Err(e),
        None => Ok(host),
    }
}

fn detect(text: &str) -> ScriptHost {
    host_as(text, Language::Detect, Duration::from_secs(2)).expect("compiles")
}

fn js(text: &str) -> ScriptHost {
    host_as(text, Language::JavaScript, Duration::from_secs(2)).expect("compiles")
}

/// Runs script 0 of `host` against `vars`, `formData` and `currentUser`, with doCmd allowed.
fn run(
    host: &ScriptHost,
    vars: Value,
    form: Option<&Value>,
    user: Option<&str>,
) -> Result<ScriptOutcome, ScriptError> {
    let m: Map<String, Value> = vars.as_object().cloned().unwrap_or_default();
    let lookup = |n: &str| m.get(n).cloned();
    let all = || m.clone();
    let input = ScriptInput {
        lookup: &lookup,
        all: &all,
        form_data: form,
        current_user: user,
        now: now(),
    };
    host.run_with_commands(0, &input)
}

fn eval(text: &str, vars: Value) -> Result<ScriptOutcome, ScriptError> {
    run(&js(text), vars, None, None)
}

fn writes(o: &ScriptOutcome) -> Value {
    Value::Object(o.writes.iter().cloned().collect())
}

#[test]
fn seed_002_example_1_server_script_runs_as_written() {
    let host = detect(SEED_002_EXAMPLE_1);
    assert_eq!(host.language(0), Some(ScriptLanguage::JavaScript));
    let form = json!({"decision": "approve", "comments": "paid in full"});
    let out = run(&host, json!({}), Some(&form), Some("manager.jane")).unwrap();
    assert_eq!(
        out.value,
        json!({
            "approved": true,
            "reviewedBy": "manager.jane",
            "reviewedAt": "2026-01-01T09:30:00.000Z",
            "comments": "paid in full"
        })
    );
    let rejected = json!({"decision": "reject"});
    let out = run(&host, json!({}), Some(&rejected), Some("manager.jane")).unwrap();
    assert_eq!(out.value["approved"], json!(false));

    let e = run(&host, json!({}), Some(&json!({})), Some("manager.jane")).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Thrown);
    assert_eq!(e.message, "Decision is required");
    assert_eq!(e.line, Some(4), "{e:?}");
}

#[test]
fn seed_002_example_2_server_script_runs_as_written() {
    let host = detect(SEED_002_EXAMPLE_2);
    assert_eq!(host.language(0), Some(ScriptLanguage::JavaScript));
    let e = run(
        &host,
        json!({}),
        Some(&json!({"decision": "approve"})),
        Some("bob"),
    )
    .unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Thrown);
    assert_eq!(e.message, "Approved amount is required");
    assert_eq!(e.line, Some(4));

    let form = json!({"decision": "approve", "approvedAmount": 25000});
    let out = run(&host, json!({}), Some(&form), Some("bob")).unwrap();
    assert_eq!(
        out.value,
        json!({"approved": true, "approvedAmount": 25000, "approvedBy": "bob"})
    );
    // A declined loan has no amount: the field is left out, as JSON.stringify leaves it.
    let out = run(
        &host,
        json!({}),
        Some(&json!({"decision": "decline"})),
        Some("bob"),
    )
    .unwrap();
    assert_eq!(out.value, json!({"approved": false, "approvedBy": "bob"}));
}

/// A bus that answers GetUserRoleQuery with `role` for user "u1" and records what it was asked.
fn role_bus(role: &'static str, asked: Arc<std::sync::Mutex<Vec<Value>>>) -> Bus {
    Arc::new(move |name: &str, data: &Value| {
        asked
            .lock()
            .unwrap()
            .push(json!({"name": name, "data": data}));
        match (name, data["userId"].as_str()) {
            ("GetUserRoleQuery", Some("u1")) => Ok(json!(role)),
            _ => Err(format!("no such user: {data}")),
        }
    })
}

#[test]
fn seed_000_process_authorization_runs_as_written() {
    let host = detect(SEED_000_AUTHORIZATION);
    assert_eq!(host.language(0), Some(ScriptLanguage::JavaScript));
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));

    let _bus = BusGuard::lend(Some(role_bus("MANAGER", asked.clone())));
    let out = run(&host, json!({"InitiatedBy": "u1"}), None, None).unwrap();
    assert_eq!(out.value, Value::Null);
    assert!(out.writes.is_empty(), "var stays local: {:?}", out.writes);
    assert_eq!(
        asked.lock().unwrap()[0],
        json!({"name": "GetUserRoleQuery", "data": {"userId": "u1"}})
    );
    drop(_bus);

    let _bus = BusGuard::lend(Some(role_bus("CLERK", asked.clone())));
    let e = run(&host, json!({"InitiatedBy": "u1"}), None, None).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Thrown);
    assert_eq!(e.message, "Unauthorized: Manager approval required");
    assert_eq!(e.line, Some(4));
    // A failing query is a rejection with the bus's reason, at the line that called it.
    let e = run(&host, json!({"InitiatedBy": "u2"}), None, None).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Thrown);
    assert!(e.message.contains("no such user"), "{e:?}");
    assert_eq!(e.line, Some(2));
}

#[test]
fn without_a_bus_do_query_says_where_it_works() {
    let e = run(
        &detect(SEED_000_AUTHORIZATION),
        json!({"InitiatedBy": "u1"}),
        None,
        None,
    )
    .unwrap_err();
    assert!(e.message.contains("doQuery is not available here"), "{e:?}");
}

#[test]
fn do_cmd_queues_commands_and_answers_a_receipt() {
    let host = js("var r = doCmd('SendEmailCommand', { to: 'a@b.c' }); return r;");
    let out = run(&host, json!({}), None, None).unwrap();
    assert_eq!(
        out.value,
        json!({"queued": true, "command": "SendEmailCommand"})
    );
    assert_eq!(out.commands.len(), 1);
    assert_eq!(out.commands[0].data, json!({"to": "a@b.c"}));
    // A condition may not change anything.
    let m = Map::new();
    let input = ScriptInput {
        lookup: &|_| None,
        all: &|| m.clone(),
        form_data: None,
        current_user: None,
        now: now(),
    };
    let e = host.run(0, &input).unwrap_err();
    assert!(e.message.contains("doCmd is not available here"), "{e:?}");
}

#[test]
fn camunda_style_execution_variables_and_conditions() {
    let out = eval(
        "var total = execution.getVariable('amount') * 2;\nexecution.setVariable('total', total);\nexecution.setVariable('when', new Date());\nexecution.getVariable('total') + 1",
        json!({"amount": 21}),
    )
    .unwrap();
    assert_eq!(out.value, json!(43));
    assert_eq!(
        writes(&out),
        json!({"total": 42, "when": "2026-01-01T09:30:00.000Z"})
    );

    // A condition is its last expression; instance variables are names.
    let host = js("amount > 1000 && customer.vip");
    let m = json!({"amount": 1500, "customer": {"vip": true}});
    let m = m.as_object().unwrap().clone();
    let input = ScriptInput {
        lookup: &|n| m.get(n).cloned(),
        all: &|| m.clone(),
        form_data: None,
        current_user: None,
        now: now(),
    };
    assert!(host.condition(0, &input).unwrap());
    let e = js("amount").condition(0, &input).unwrap_err();
    assert!(e.message.contains("true or false"), "{e:?}");
}

#[test]
fn assignments_to_undeclared_names_are_writes_and_declared_ones_are_not() {
    let out = eval(
        "counter = counter + 1; created = 'yes'; var local = 5; context.fromContext = local; order.items.push(3);",
        json!({"counter": 1, "order": {"items": [1, 2]}}),
    )
    .unwrap();
    assert_eq!(
        writes(&out),
        json!({"counter": 2, "created": "yes", "order": {"items": [1, 2, 3]}, "fromContext": 5})
    );
}

#[test]
fn an_unknown_variable_is_an_error_naming_it_and_its_line() {
    let e = eval("var a = 1;\nvar b = missing + a;", json!({})).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Runtime);
    assert!(e.message.contains("missing"), "{e:?}");
    assert_eq!(e.line, Some(2), "{e:?}");
    assert!(e.column.is_some());
    let e = eval("var o = {};\n\nreturn o.a.b;", json!({})).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Runtime);
    assert!(e.message.starts_with("TypeError"), "{e:?}");
    assert_eq!(e.line, Some(3), "{e:?}");
}

#[test]
fn compile_errors_carry_line_and_column() {
    let Err(e) = host_as(
        "var a = 1;\nvar b = ;",
        Language::JavaScript,
        Duration::from_secs(2),
    ) else {
        panic!("compiled")
    };
    assert_eq!(e.kind, ScriptErrorKind::Compile);
    assert_eq!(e.line, Some(2), "{e:?}");
    assert!(e.column.is_some(), "{e:?}");
    // Detected text that is neither: the JavaScript error for text that looks like JavaScript.
    let Err(e) = host_as(
        "var a = 1;\n\nif (a === ) {}",
        Language::Detect,
        Duration::from_secs(2),
    ) else {
        panic!("compiled")
    };
    assert_eq!(e.line, Some(3), "{e:?}");
    assert!(e.message.contains("rhai either"), "{e:?}");
}

#[test]
fn thrown_values_are_rejections_and_engine_errors_are_not() {
    let e = eval("throw 'plain text';", json!({})).unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ScriptErrorKind::Thrown, "plain text")
    );
    let e = eval("throw { message: 'as object' };", json!({})).unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ScriptErrorKind::Thrown, "as object")
    );
    let e = eval("null.x", json!({})).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Runtime);
}

#[test]
fn a_runaway_loop_stops_at_the_time_limit() {
    // No operation budget to speak of: the time limit is what stops it.
    let host = host_with(
        "while (true) {}",
        Language::JavaScript,
        u64::MAX,
        Duration::from_millis(200),
    )
    .unwrap();
    let e = run(&host, json!({}), None, None).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Limit, "{e:?}");
    assert!(e.message.contains("ran longer than 0.2 seconds"), "{e:?}");
    // try/catch cannot keep it running.
    let host = host_with(
        "for (;;) { try { while (true) {} } catch (e) {} }",
        Language::JavaScript,
        u64::MAX,
        Duration::from_millis(200),
    )
    .unwrap();
    let e = run(&host, json!({}), None, None).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Limit, "{e:?}");
    // The thread's runtime is still usable afterwards.
    assert_eq!(eval("1 + 1", json!({})).unwrap().value, json!(2));
}

/// A host for `text` in JavaScript with `operations` as its budget and time to spare (30 s: were
/// the budget not kept, the time limit would stop the run with another message).
fn budgeted(text: &str, operations: u64) -> ScriptHost {
    host_with(
        text,
        Language::JavaScript,
        operations,
        Duration::from_secs(30),
    )
    .expect("compiles")
}

#[test]
fn a_runaway_loop_stops_at_the_operation_budget_like_rhai() {
    for text in [
        "while (true) {}",
        "for (;;) { try { while (true) {} } catch (e) {} }",
        "function f() { return 1; } for (;;) { f(); }",
        "var a = [1, 2, 3]; for (;;) { a.map(function (x) { return x; }); }",
        "(async function () { for (;;) { await null; } })(); 1",
    ] {
        let e = run(&budgeted(text, 100_000), json!({}), None, None).unwrap_err();
        assert_eq!(e.kind, ScriptErrorKind::Limit, "{text}: {e:?}");
        assert_eq!(
            e.message, "script stopped: it ran more than 100000 operations (an endless loop?)",
            "{text}"
        );
    }
    // rhai's message for the same limit is the same.
    let rhai = host_with("loop {}", Language::Rhai, 100_000, Duration::from_secs(30)).unwrap();
    let e = run(&rhai, json!({}), None, None).unwrap_err();
    assert_eq!(
        e.message,
        "script stopped: it ran more than 100000 operations (an endless loop?)"
    );
    // The thread's runtime is still usable afterwards, under the default budget.
    assert_eq!(eval("1 + 1", json!({})).unwrap().value, json!(2));
}

#[test]
fn the_operation_budget_counts_loop_turns_and_calls_in_steps() {
    use baton_engine::script::JS_OPERATIONS_PER_CHECK as STEP;
    let budget = 20 * STEP;
    // Well under the budget (half of it, less than the one step QuickJS may carry over from
    // the thread's previous run): completes, every time.
    let half = format!("var i = 0; while (i < {}) {{ i++; }} i", budget / 2);
    for _ in 0..3 {
        let out = run(&budgeted(&half, budget), json!({}), None, None).unwrap();
        assert_eq!(out.value, json!(budget / 2));
    }
    // Twice the budget in loop turns, or in calls made by an array method: stopped.
    for text in [
        format!("var i = 0; while (i < {}) {{ i++; }} i", budget * 2),
        format!(
            "var n = 0; new Array({}).fill(0).forEach(function () {{ n++; }}); n",
            budget * 2
        ),
    ] {
        let e = run(&budgeted(&text, budget), json!({}), None, None).unwrap_err();
        assert_eq!(e.kind, ScriptErrorKind::Limit, "{text}: {e:?}");
        assert!(e.message.contains("operations"), "{e:?}");
    }
    // Each run has its own budget: many short runs on one host never add up to a stop.
    let short = budgeted(
        "var s = 0; for (var i = 0; i < 1000; i++) { s += i; } s",
        budget,
    );
    for _ in 0..(budget / 1000 * 3) {
        assert_eq!(
            run(&short, json!({}), None, None).unwrap().value,
            json!(499_500)
        );
    }
}

#[test]
fn endless_allocation_stops_at_the_memory_limit() {
    let e = eval(
        "var keep = []; while (true) { keep.push('x'.repeat(1 << 20) + keep.length); }",
        json!({}),
    )
    .unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Limit, "{e:?}");
    assert!(e.message.contains("memory"), "{e:?}");
    assert_eq!(
        eval("'still' + ' here'", json!({})).unwrap().value,
        json!("still here")
    );
}

#[test]
fn endless_recursion_stops_at_the_stack_limit() {
    let e = eval("function f(n) { return f(n + 1) + 1; } f(0)", json!({})).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Limit, "{e:?}");
}

#[test]
fn nothing_outside_the_language_is_reachable() {
    let out = eval(
        "[typeof require, typeof process, typeof fetch, typeof setTimeout, typeof setInterval, typeof std, typeof os, typeof XMLHttpRequest, typeof performance, typeof Deno, typeof WebAssembly, typeof print, typeof scriptArgs]",
        json!({}),
    )
    .unwrap();
    assert!(
        out.value
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t == "undefined"),
        "{}",
        out.value
    );
    // No module loader: a dynamic import is a promise that is rejected, never a module.
    assert_eq!(
        eval("var got = 'nothing'; import('os').then(m => { got = 'module'; }, e => { got = 'refused'; }); got", json!({})).unwrap().value,
        json!("nothing")
    );
    assert_eq!(
        eval("var r = []; import('os').then(m => { r.push('module'); }, e => { r.push('refused'); }); r", json!({})).unwrap().value,
        json!(["refused"])
    );
    assert!(js_compiles_not("import * as std from 'std';"));
}

fn js_compiles_not(text: &str) -> bool {
    host_as(text, Language::JavaScript, Duration::from_secs(2)).is_err()
}

#[test]
fn date_is_the_engine_clock() {
    let out = eval(
        "[new Date().toISOString(), Date.now(), new Date(2020, 0, 2).getFullYear(), new Date('2021-05-06T00:00:00Z').toISOString(), new Date() instanceof Date, now()]",
        json!({}),
    )
    .unwrap();
    assert_eq!(
        out.value,
        json!([
            "2026-01-01T09:30:00.000Z",
            now().as_millisecond(),
            2020,
            "2021-05-06T00:00:00.000Z",
            true,
            "2026-01-01T09:30:00Z"
        ])
    );
    assert_eq!(
        eval("return new Date();", json!({})).unwrap().value,
        json!("2026-01-01T09:30:00.000Z")
    );
}

#[test]
fn nothing_a_run_does_to_the_globals_reaches_the_next_run() {
    let host = js("var seen = [typeof leaked, typeof viaVar, ({}).polluted, typeof [].push, Date.now(), typeof JSON.parse];
globalThis.leaked = 1;
(0, eval)('var viaVar = 1');
Object.prototype.polluted = 1;
Array.prototype.push = null;
Date = function () {};
JSON.parse = null;
seen");
    let first = run(&host, json!({}), None, None).unwrap().value;
    let want = json!([
        "undefined",
        "undefined",
        null,
        "function",
        now().as_millisecond(),
        "function"
    ]);
    assert_eq!(first, want);
    assert_eq!(run(&host, json!({}), None, None).unwrap().value, want);
    // A global that cannot be removed makes the thread start a fresh context.
    let sticky = js("var was = typeof sticky; Object.defineProperty(globalThis, 'sticky', { value: 1, configurable: false }); was");
    assert_eq!(
        run(&sticky, json!({}), None, None).unwrap().value,
        json!("undefined")
    );
    assert_eq!(
        run(&sticky, json!({}), None, None).unwrap().value,
        json!("undefined")
    );
    // Instance variables of one run are not globals of the next.
    let reads = js("typeof amount");
    assert_eq!(
        run(&reads, json!({"amount": 1}), None, None).unwrap().value,
        json!("number")
    );
    assert_eq!(
        run(&reads, json!({}), None, None).unwrap().value,
        json!("undefined")
    );
}

#[test]
fn the_language_rule() {
    let rhai = ScriptLanguage::Rhai;
    let javascript = ScriptLanguage::JavaScript;
    for (text, want) in [
        // rhai templates' ServerScripts and rhai-valid text stay rhai.
        (
            r#"if formData.decision == () { throw "Decision is required"; }"#,
            rhai,
        ),
        ("let status = \"PAID\";", rhai),
        ("amount > 1000", rhai),
        // JavaScript-only syntax is JavaScript.
        (SEED_002_EXAMPLE_1, javascript),
        ("return { ok: true };", javascript),
        ("var x = 1;", javascript),
        ("x !== 1 ? typeof x : x", javascript),
        // A leading comment decides when a text is valid in both.
        ("// language: javascript\nlet status = 'PAID';", javascript),
        ("// language: rhai\nlet status = \"PAID\";", rhai),
    ] {
        assert_eq!(detect(text).language(0), Some(want), "{text}");
    }
    assert_eq!(
        host_as("var x = 1;", Language::Rhai, Duration::from_secs(1))
            .err()
            .map(|e| e.kind),
        Some(ScriptErrorKind::Compile)
    );
}

/// Seed 002's Example 1 and 2 elements as printed, wrapped in `<definitions>` with the start,
/// end and flows the seed leaves out, plus a JavaScript script task and condition.
fn seed_model() -> String {
    model(&format!(
        r#"<bpmn:startEvent id="Start"/>
<bpmn:receiveTask id="Task_ReviewPayment" name="Manager Review">
<bpmn:extensionElements>
<custom:properties>
<custom:property name="form" value="payment-review-form"/>
<custom:property name="ServerScript" value="{}"/>
</custom:properties>
</bpmn:extensionElements>
</bpmn:receiveTask>
<bpmn:exclusiveGateway id="Gw" default="No"/>
<bpmn:scriptTask id="Post" scriptFormat="javascript"><bpmn:script>execution.setVariable('posted', execution.getVariable('lastReceiveTaskResult').approved);</bpmn:script></bpmn:scriptTask>
<bpmn:scriptTask id="Note" scriptFormat="rhai"><bpmn:script>let noted = true;</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="End"/>
<bpmn:endEvent id="End_No"/>
<bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="Task_ReviewPayment"/>
<bpmn:sequenceFlow id="f2" sourceRef="Task_ReviewPayment" targetRef="Gw"/>
<bpmn:sequenceFlow id="Yes" sourceRef="Gw" targetRef="Post"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="javascript">lastReceiveTaskResult.approved === true</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="No" sourceRef="Gw" targetRef="End_No"/>
<bpmn:sequenceFlow id="f3" sourceRef="Post" targetRef="Note"/>
<bpmn:sequenceFlow id="f4" sourceRef="Note" targetRef="End"/>"#,
        SEED_002_EXAMPLE_1.replace('\'', "&apos;")
    ))
}

#[test]
fn a_deployment_reads_each_script_in_its_language_and_runs_the_seed_flow() {
    let xml = seed_model();
    let dep = parse(&[("seed.bpmn", &xml)]).unwrap();
    let (engine, _) = Engine::new(dep).expect("deploys");
    let read: Vec<(String, &str, ScriptLanguage)> =
        script_languages(&engine.deployment, &engine.scripts)
            .into_iter()
            .map(|r| (r.element, r.what, r.language))
            .collect();
    assert_eq!(
        read,
        vec![
            (
                "Task_ReviewPayment".into(),
                "ServerScript",
                ScriptLanguage::JavaScript
            ),
            ("Post".into(), "script", ScriptLanguage::JavaScript),
            ("Note".into(), "script", ScriptLanguage::Rhai),
            ("Yes".into(), "condition", ScriptLanguage::JavaScript),
        ]
    );

    // Without an engine, as lint prints it.
    let dep = parse(&[("seed.bpmn", &xml)]).unwrap();
    let notes: Vec<String> = languages_of(&dep).iter().map(language_note).collect();
    assert_eq!(notes.len(), 4);
    assert!(
        notes[0].starts_with("seed.bpmn:")
            && notes[0].ends_with(
                ": note: the ServerScript of 'Task_ReviewPayment' is read as JavaScript"
            ),
        "{notes:?}"
    );
    assert!(
        notes[2].ends_with("the script of 'Note' is read as rhai"),
        "{notes:?}"
    );

    let mut h = H::start(&xml, json!({}));
    assert_eq!(h.waiting(), vec!["Task_ReviewPayment"]);
    let e = h.complete("Task_ReviewPayment", json!({})).unwrap_err();
    assert!(e.contains("Decision is required"), "{e}");
    h.complete(
        "Task_ReviewPayment",
        json!({"decision": "approve", "comments": "ok"}),
    )
    .unwrap();
    assert_eq!(h.var("posted"), json!(true));
    assert_eq!(h.var("noted"), json!(true));
    assert!(h.path().contains(&"End".to_string()), "{:?}", h.path());
}

#[test]
fn a_compile_error_at_deploy_names_the_element_line_and_column() {
    let xml = model(
        r#"<bpmn:startEvent id="S"/><bpmn:sequenceFlow id="a" sourceRef="S" targetRef="T"/>
<bpmn:scriptTask id="T" scriptFormat="javascript"><bpmn:script>var a = 1;
var b = ;</bpmn:script></bpmn:scriptTask>
<bpmn:sequenceFlow id="b" sourceRef="T" targetRef="E"/><bpmn:endEvent id="E"/>"#,
    );
    let dep = parse(&[("bad.bpmn", &xml)]).unwrap();
    let problems = match Engine::new(dep) {
        Ok(_) => panic!("deployed"),
        Err(p) => p,
    };
    let p = problems
        .iter()
        .find(|p| p.element_id.as_deref() == Some("T"))
        .expect("a problem on T");
    assert!(p.message.contains("does not compile"), "{p:?}");
    assert_eq!(p.line, 3, "{p:?}");
    assert!(p.column > 1, "{p:?}");
}

#[test]
fn script_formats_and_condition_languages_as_camunda_and_flowable_write_them() {
    for format in [
        "javascript",
        "JavaScript",
        "js",
        "ecmascript",
        "text/javascript",
        "application/javascript",
    ] {
        let xml = model(&format!(
            r#"<bpmn:startEvent id="S"/><bpmn:sequenceFlow id="a" sourceRef="S" targetRef="T"/>
<bpmn:scriptTask id="T" scriptFormat="{format}"><bpmn:script>execution.setVariable('x', [1, 2].map(n => n * 2));</bpmn:script></bpmn:scriptTask>
<bpmn:sequenceFlow id="b" sourceRef="T" targetRef="E"/><bpmn:endEvent id="E"/>"#
        ));
        let h = H::start(&xml, json!({}));
        assert_eq!(h.var("x"), json!([2, 4]), "{format}");
    }
    let xml = model(
        r#"<bpmn:startEvent id="S"/><bpmn:sequenceFlow id="a" sourceRef="S" targetRef="T"/>
<bpmn:scriptTask id="T" scriptFormat="groovy"><bpmn:script>def x = 1</bpmn:script></bpmn:scriptTask>
<bpmn:sequenceFlow id="b" sourceRef="T" targetRef="E"/><bpmn:endEvent id="E"/>"#,
    );
    let dep = parse(&[("g.bpmn", &xml)]).unwrap();
    let problems = validate(&dep, &[]);
    assert!(problems
        .iter()
        .any(|p| p.message.contains("'groovy' is not supported")));
}

#[test]
fn every_template_still_compiles_as_rhai() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bpmn-templates");
    let mut seen = 0;
    for dir in std::fs::read_dir(&root).unwrap() {
        for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("bpmn") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.display().to_string();
            let dep = parse(&[(name.as_str(), text.as_str())]).unwrap();
            let (engine, _) = Engine::new(dep).unwrap_or_else(|p| panic!("{name}: {p:?}"));
            let read = script_languages(&engine.deployment, &engine.scripts);
            assert!(!read.is_empty(), "{name} has scripts");
            for r in read {
                assert_eq!(r.language, ScriptLanguage::Rhai, "{name}: {r:?}");
            }
            seen += 1;
        }
    }
    assert!(seen >= 4, "templates found: {seen}");
}

#[test]
fn promise_jobs_run_within_the_run_and_an_endless_chain_stops_at_the_time_limit() {
    let out = eval(
        "var r = []; (async function () { r.push(1); await null; execution.setVariable('late', 2); })(); Promise.resolve(3).then(v => r.push(v)); r",
        json!({}),
    )
    .unwrap();
    assert_eq!(out.value, json!([1, 3]));
    assert_eq!(writes(&out), json!({"late": 2}));
    let host = host_as(
        "function again() { Promise.resolve().then(again); } again(); 1",
        Language::JavaScript,
        Duration::from_millis(200),
    )
    .unwrap();
    let e = run(&host, json!({}), None, None).unwrap_err();
    assert_eq!(e.kind, ScriptErrorKind::Limit, "{e:?}");
    assert_eq!(eval("2 * 21", json!({})).unwrap().value, json!(42));
}

/// What a webhook's or a job's "Execute JavaScript expression" (execution type 2) needs from
/// the engine: the code compiled by the detection rule, `request` (or `job`) bound, run without
/// doCmd; rhai code keeps working through the same call.
#[test]
fn execution_code_is_detected_and_runs_with_its_binding() {
    let request = json!({"body": {"event": "charge.success", "data": {"reference": "REF123456", "amount": 50000}}});
    let m: Map<String, Value> = json!({ "request": request }).as_object().unwrap().clone();
    let input = ScriptInput {
        lookup: &|n| m.get(n).cloned(),
        all: &|| m.clone(),
        form_data: None,
        current_user: None,
        now: now(),
    };
    let js = ScriptHost::single_as(
        "var d = request.body.data;\nreturn { reference: d.reference, naira: d.amount / 100, at: new Date() };",
        &Language::Detect,
    )
    .unwrap();
    assert_eq!(js.language(0), Some(ScriptLanguage::JavaScript));
    assert_eq!(
        js.run(0, &input).unwrap().value,
        json!({"reference": "REF123456", "naira": 500, "at": "2026-01-01T09:30:00.000Z"})
    );
    let rhai = ScriptHost::single_as("request.body.data.amount / 100", &Language::Detect).unwrap();
    assert_eq!(rhai.language(0), Some(ScriptLanguage::Rhai));
    assert_eq!(rhai.run(0, &input).unwrap().value, json!(500));
    let e = ScriptHost::single_as("var x = ;", &Language::Detect)
        .err()
        .unwrap();
    assert_eq!((e.kind, e.line), (ScriptErrorKind::Compile, Some(1)));
}

/// Every way a script might try for files, network, processes or modules: each is a script
/// error that says a script has none (a run error, or refused at compile for a module statement).
#[test]
fn every_attempt_to_reach_outside_is_a_clear_script_error() {
    const WHY: &str = "a script has no file system, network, processes, timers or modules";
    for text in [
        "require('fs').readFileSync('/etc/passwd')",
        "var fs = require('fs'); 1",
        "fetch('http://127.0.0.1:1/')",
        "new XMLHttpRequest().open('GET', 'http://127.0.0.1:1/')",
        "new WebSocket('ws://127.0.0.1:1/')",
        "importScripts('http://127.0.0.1:1/x.js')",
        "std.loadFile('/etc/passwd')",
        "os.exec(['ls'])",
        "process.env.HOME",
        "Deno.readTextFileSync('/etc/passwd')",
        "setTimeout(function () {}, 1)",
        "new Function('return require')()('fs')",
        "(async function () { await import('os'); })(); 1",
        "import('fs').then(function (m) { return m.readFile; }); 1",
        "eval(\"import('std')\"); 1",
        "(0, eval)(\"import('./x.js')\"); 1",
    ] {
        let e = run(&js(text), json!({}), None, None).expect_err(text);
        assert_eq!(e.kind, ScriptErrorKind::Runtime, "{text}: {e:?}");
        assert!(e.message.contains(WHY), "{text}: {}", e.message);
    }
    for text in [
        "import fs from 'fs';",
        "import * as std from 'std';\nstd.open('/etc/passwd', 'r');",
        "import { exec } from 'os';",
        "export const x = 1;",
    ] {
        let e = host_as(text, Language::JavaScript, Duration::from_secs(2))
            .err()
            .unwrap_or_else(|| panic!("{text} compiled"));
        assert_eq!(e.kind, ScriptErrorKind::Compile, "{text}: {e:?}");
        assert!(e.message.contains(WHY), "{text}: {}", e.message);
    }
    // A script that handles the refusal itself sees the same reason, and carries on.
    let out = eval(
        "var seen = []; import('fs').then(null, function (e) { seen.push(String(e)); }); seen",
        json!({}),
    )
    .unwrap();
    assert!(
        out.value[0]
            .as_str()
            .unwrap_or_default()
            .contains("could not load module 'fs'"),
        "{}",
        out.value
    );
}

/// A script task of one expression statement (`counter = counter + 1;`) is compiled once as an
/// expression; its value and writes are what the statement's are, and texts whose meaning
/// would change that way keep running as statements.
#[test]
fn one_expression_statement_means_the_same_as_before() {
    for (text, vars, value, written) in [
        (
            "counter = counter + 1;",
            json!({"counter": 1}),
            json!(2),
            json!({"counter": 2}),
        ),
        ("b3 = 1;", json!({}), json!(1), json!({"b3": 1})),
        (
            "// bump\ncounter += 2 ;\n",
            json!({"counter": 1}),
            json!(3),
            json!({"counter": 3}),
        ),
        (
            "execution.setVariable('x', n * 2);",
            json!({"n": 4}),
            Value::Null,
            json!({"x": 8}),
        ),
        ("{ a: 1 };", json!({}), json!(1), json!({})),
        (
            "function f() { return 1; };",
            json!({}),
            Value::Null,
            json!({}),
        ),
        (
            "x = 'http://example.org/a;b';",
            json!({}),
            json!("http://example.org/a;b"),
            json!({"x": "http://example.org/a;b"}),
        ),
        (
            "a = 1; b = 2;",
            json!({}),
            json!(2),
            json!({"a": 1, "b": 2}),
        ),
    ] {
        let out = eval(text, vars).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        assert_eq!(out.value, value, "{text}");
        assert_eq!(writes(&out), written, "{text}");
    }
    // Errors still name the script's own line.
    let e = eval("// first\nmissing + 1;", json!({})).unwrap_err();
    assert_eq!(e.line, Some(2), "{e:?}");
}

/// The smallest budget (1,000) and run time (10 ms) an administrator may set still run a small
/// script, also as the first run on a thread (whose JavaScript context is prepared inside that
/// run, at neither limit's cost).
#[test]
fn the_smallest_limits_run_a_small_script_on_a_fresh_thread() {
    let quick = Arc::new(
        host_with(
            "6 * 7",
            Language::JavaScript,
            1_000,
            Duration::from_millis(10),
        )
        .unwrap(),
    );
    let first = std::thread::spawn(move || run(&quick, json!({}), None, None))
        .join()
        .unwrap();
    assert_eq!(first.unwrap().value, json!(42));
    let host = Arc::new(budgeted(
        "var s = 0; for (var i = 0; i < 10; i++) { s += i; } s",
        1_000,
    ));
    let on_fresh_thread = {
        let host = host.clone();
        std::thread::spawn(move || run(&host, json!({}), None, None))
            .join()
            .unwrap()
    };
    assert_eq!(on_fresh_thread.unwrap().value, json!(45));
    assert_eq!(run(&host, json!({}), None, None).unwrap().value, json!(45));
}
