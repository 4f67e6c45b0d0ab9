//! Bad input in JavaScript, through the runtime on a real SQLite file: a script task that loops
//! forever or allocates without end is stopped within the configured limits (`scriptOperations`,
//! `scriptTimeMillis`, the memory bound `scriptMemoryMiB`, 64 MiB by default) and becomes an incident on its instance, naming
//! the element; a script or condition that reaches for the file system, the network or modules
//! is an incident that says scripts have none. After each, the same runtime still runs a
//! JavaScript instance to the end.

use baton_testkit::model::escape;
use baton_testkit::{Model, TestRuntime};
use serde_json::{json, Value};

/// Start -> a JavaScript script task `t` running `script` -> end, as process `key`.
fn js_task(key: &str, script: &str) -> String {
    Model::process(key)
        .start("s")
        .raw(
            "t",
            &format!(
                r#"<bpmn:scriptTask id="t" scriptFormat="javascript"><bpmn:script>{}</bpmn:script></bpmn:scriptTask>"#,
                escape(script)
            ),
        )
        .end("e")
        .chain(&["s", "t", "e"])
        .xml()
}

/// Starts `key` and answers its status and its incidents.
fn started(t: &TestRuntime, key: &str) -> (String, Value) {
    let guid = t.start(key, json!({"n": 2}));
    let i = t.instance(&guid);
    (
        i["status"].as_str().unwrap().to_string(),
        i["incidents"].clone(),
    )
}

/// The instance failed with one incident on `element` whose message contains `part`.
fn assert_incident(t: &TestRuntime, key: &str, element: &str, part: &str) {
    let (status, incidents) = started(t, key);
    assert_eq!(status, "FAILED", "{key}: {incidents}");
    assert_eq!(incidents.as_array().map(Vec::len), Some(1), "{incidents}");
    assert_eq!(incidents[0]["elementId"], element, "{incidents}");
    let message = incidents[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(part), "{key}: {message}");
}

/// A JavaScript instance that must complete: proves the runtime (and the thread's JavaScript
/// context) is still fine after a stopped run.
fn assert_still_runs(t: &TestRuntime) {
    let guid = t.start("Fine", json!({"n": 2}));
    let i = t.instance(&guid);
    assert_eq!(i["status"], "COMPLETED", "{i}");
    assert_eq!(i["variables"]["doubled"], 4, "{i}");
}

fn runtime() -> TestRuntime {
    let t = TestRuntime::new();
    t.deploy(&js_task("Fine", "doubled = n * 2;"));
    t
}

#[test]
fn an_endless_loop_is_stopped_by_the_operation_budget_and_becomes_an_incident() {
    let t = runtime();
    t.deploy(&js_task("Spin", "while (true) {}"));
    t.deploy(&js_task(
        "Caught",
        "for (;;) { try { while (true) {} } catch (e) {} }",
    ));
    t.deploy(&js_task(
        "Busy",
        "var i = 0; while (i < 300000) { i++; } done = i;",
    ));
    // The default budget (1,000,000) stops both; try/catch cannot keep a loop running.
    assert_incident(&t, "Spin", "t", "more than 1000000 operations");
    assert_incident(&t, "Caught", "t", "more than 1000000 operations");
    assert_still_runs(&t);
    // 300,000 loop turns pass the default and not a budget of 100,000 set by the administrator.
    let busy = t.start("Busy", json!({}));
    assert_eq!(t.instance(&busy)["status"], "COMPLETED");
    let set = t.run(
        "SetEngineLimitsCommand",
        json!({"scriptOperations": 100_000}),
    );
    assert_eq!(set["scriptOperations"], 100_000);
    assert_incident(&t, "Busy", "t", "more than 100000 operations");
    assert_still_runs(&t);
}

#[test]
fn an_endless_loop_under_a_large_budget_is_stopped_by_the_run_time() {
    let t = runtime();
    t.deploy(&js_task("Spin", "while (true) {}"));
    t.run(
        "SetEngineLimitsCommand",
        json!({"scriptOperations": 1_000_000_000, "scriptTimeMillis": 100}),
    );
    assert_incident(&t, "Spin", "t", "ran longer than 0.1 seconds");
    assert_still_runs(&t);
}

#[test]
fn endless_allocation_is_stopped_at_the_memory_bound_and_becomes_an_incident() {
    let t = runtime();
    t.deploy(&js_task(
        "Hoard",
        "var keep = []; while (true) { keep.push('x'.repeat(1 << 20) + keep.length); }",
    ));
    t.deploy(&js_task(
        "Nest",
        "var o = {}; for (;;) { o = { inner: o, pad: new Array(1000).fill(o) }; }",
    ));
    assert_incident(&t, "Hoard", "t", "more than 64 MiB of memory");
    assert_still_runs(&t);
    // Allocation in small pieces inside a loop: whichever bound comes first, it stops.
    let (status, incidents) = started(&t, "Nest");
    assert_eq!(status, "FAILED", "{incidents}");
    assert!(
        incidents[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("script stopped:"),
        "{incidents}"
    );
    assert_still_runs(&t);
}

/// The memory bound is an engine limit (`scriptMemoryMiB`): a script that holds 24 MiB runs
/// under the default 64 and stops under 16, with the limit in the incident's words.
#[test]
fn the_memory_bound_is_the_engine_limit_set() {
    let t = runtime();
    t.deploy(&js_task("Big", "var s = 'x'.repeat(24 << 20); s.length;"));
    let (status, incidents) = started(&t, "Big");
    assert_eq!(status, "COMPLETED", "{incidents}");
    let set = t.run("SetEngineLimitsCommand", json!({"scriptMemoryMiB": 16}));
    assert_eq!(set["scriptMemoryMiB"], 16);
    assert_incident(&t, "Big", "t", "more than 16 MiB of memory");
    assert_still_runs(&t);
    let set = t.run("SetEngineLimitsCommand", json!({"scriptMemoryMiB": 64}));
    assert_eq!(set["scriptMemoryMiB"], 64);
    let (status, incidents) = started(&t, "Big");
    assert_eq!(status, "COMPLETED", "{incidents}");
}

#[test]
fn reaching_for_files_network_or_modules_is_an_incident_that_says_there_are_none() {
    let t = runtime();
    let tries = [
        (
            "Require",
            "var fs = require('fs'); data = fs.readFileSync('/etc/passwd', 'utf8');",
        ),
        (
            "Fetch",
            "fetch('http://127.0.0.1:9/').then(function (r) { got = r.status; });",
        ),
        (
            "Xhr",
            "var x = new XMLHttpRequest(); x.open('GET', 'http://127.0.0.1:9/'); x.send();",
        ),
        ("Std", "data = std.loadFile('/etc/passwd');"),
        ("Os", "os.exec(['sh', '-c', 'echo hi']);"),
        (
            "DynImport",
            "(async function () { var m = await import('os'); got = typeof m; })();",
        ),
        ("EvalImport", "eval(\"import('std')\");"),
    ];
    for (key, script) in tries {
        t.deploy(&js_task(key, script));
        assert_incident(
            &t,
            key,
            "t",
            "a script has no file system, network, processes, timers or modules",
        );
    }
    // A module statement is refused at deploy, naming the element.
    let refused = t.refused(
        "DeployProcessDefinitionCommand",
        json!({"bpmnXml": js_task("Static", "import * as std from 'std';\nstd.loadFile('/etc/passwd');")}),
    );
    let message = &refused.errors[0].message;
    assert!(
        message.contains("'t'") && message.contains("no file system, network"),
        "{refused:?}"
    );
    // A condition that tries the network is an incident on its gateway's flow, too.
    let xml = Model::process("Cond")
        .start("s")
        .exclusive("gw")
        .end("e")
        .flow("s", "gw")
        .raw(
            "f_js",
            r#"<bpmn:sequenceFlow id="f_js" sourceRef="gw" targetRef="e"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="javascript">fetch('http://127.0.0.1:9/') !== null</bpmn:conditionExpression></bpmn:sequenceFlow>"#,
        )
        .xml();
    t.deploy(&xml);
    let (status, incidents) = started(&t, "Cond");
    assert_eq!(status, "FAILED", "{incidents}");
    assert!(
        incidents[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no file system, network"),
        "{incidents}"
    );
    assert_still_runs(&t);
}
