//! The model builder's XML is a valid model that runs as written: every element it makes
//! parses and validates without errors, conditions route, properties reach the engine, and
//! text is escaped.

use baton_testkit::{definitions, escape, flow, Model, TestRuntime};
use serde_json::json;

/// Every kind of element the builder makes, in one process.
fn everything() -> Model {
    Model::process("All")
        .process_name("Every element")
        .message("M", "Paid")
        .signal("S", "Alarm")
        .start("s")
        .exclusive("x")
        .attr("default", "f3")
        .user_task("U")
        .named("Review <fast> & \"well\"")
        .props(&[("ResponsibleTeam", "TELLERS"), ("FormKey", "u-form")])
        .receive_task("R")
        .props(&[("correlationKey", "ref")])
        .receive_message("RM", "M")
        .props(&[("correlationKey", "ref")])
        .script_task("Calc", "if n > 1 && n < 10 { big = true; }")
        .service_task("Svc")
        .parallel("fork")
        .parallel("join")
        .inclusive("inc")
        .catch_message("CM", "M")
        .props(&[("correlationKey", "ref")])
        .catch_signal("CS", "S")
        .catch_timer("CT", "timeDuration", "PT5M")
        .throw_signal("TS", "S")
        .boundary_timer("BT", "U", "timeDuration", "PT1H")
        .attr("cancelActivity", "false")
        .boundary_signal("BS", "R", "S")
        .end("e")
        .end("e2")
        .end("e3")
        .end("e4")
        .flow("s", "x")
        .flow_if("x", "U", "n > 5")
        .flow("x", "Calc")
        .chain(&["U", "R", "RM", "e"])
        .chain(&["Calc", "Svc", "fork"])
        .flow("fork", "CM")
        .flow("fork", "CS")
        .flow("CM", "join")
        .flow("CS", "join")
        .chain(&["join", "CT", "TS", "inc", "e2"])
        .flow("BT", "e3")
        .flow("BS", "e4")
}

#[test]
fn every_element_parses_and_validates_without_errors() {
    let xml = everything().xml();
    let t = TestRuntime::new();
    let report = t.run("ValidateProcessDefinitionQuery", json!({"bpmnXml": xml}));
    let errors: Vec<_> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["severity"] == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{xml}");
    assert_eq!(report["processes"][0]["id"], "All");
    assert_eq!(report["processes"][0]["flowNodes"], 20, "{report}");
    assert_eq!(report["processes"][0]["sequenceFlows"], 18, "{report}");
    assert!(xml.contains(r#"<bpmn:process id="All" name="Every element" isExecutable="true">"#));
    assert!(
        xml.contains("Review &lt;fast&gt; &amp; &quot;well&quot;"),
        "{xml}"
    );
    assert!(xml.contains("n &gt; 1 &amp;&amp; n &lt; 10"), "{xml}");
}

#[test]
fn a_deployed_model_runs_as_built() {
    let t = TestRuntime::new();
    let gate = Model::process("Gate")
        .start("s")
        .exclusive("x")
        .user_task("Big")
        .props(&[("ResponsibleTeam", "TELLERS")])
        .script_task("Small", "label = \"small\";")
        .end("e1")
        .end("e2")
        .flow("s", "x")
        .flow_if("x", "Big", "amount > 100")
        .flow_if("x", "Small", "amount <= 100")
        .flow("Big", "e1")
        .flow("Small", "e2")
        .xml();
    t.deploy(&gate);
    let big = t.start("Gate", json!({"amount": 500}));
    let i = t.instance(&big);
    assert_eq!(i["status"], "WAITING", "{i}");
    assert_eq!(i["waiting"][0]["taskId"], "Big");
    assert_eq!(i["waiting"][0]["responsibleTeam"], "TELLERS");
    let small = t.start("Gate", json!({"amount": 5}));
    let i = t.instance(&small);
    assert_eq!(i["status"], "COMPLETED", "{i}");
    assert_eq!(i["variables"]["label"], "small");
    assert!(t.history_kinds(&small).iter().any(|k| k == "ended"));
    // The same runtime after a reopen still has both.
    let t = t.reopen();
    assert_eq!(t.instance(&big)["status"], "WAITING");
}

#[test]
fn raw_helpers_make_the_same_xml_as_the_builder() {
    let by_hand = definitions(
        "P",
        "",
        &format!(
            r#"<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>{}"#,
            flow("f1", "s", "e")
        ),
    );
    let built = Model::process("P").start("s").end("e").flow("s", "e").xml();
    assert_eq!(by_hand, built);
    assert_eq!(escape(r#"a<b>&"c""#), "a&lt;b&gt;&amp;&quot;c&quot;");
}
