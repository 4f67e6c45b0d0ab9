//! Bad input: every problem names the element, the line and column, and says what is wrong.

use baton_engine::{parse, Engine, Problem, Severity};

const NS: &str = r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#;

fn model(body: &str) -> String {
    format!("<?xml version=\"1.0\"?>\n<bpmn:definitions {NS} id=\"d\">\n<bpmn:process id=\"p\" isExecutable=\"true\">\n{body}\n</bpmn:process>\n</bpmn:definitions>")
}

fn problems(xml: &str) -> Vec<Problem> {
    let d = parse(&[("m.bpmn", xml)]).expect("parses");
    match Engine::new(d) {
        Ok((_, warnings)) => warnings,
        Err(p) => p,
    }
}

fn find<'a>(ps: &'a [Problem], id: &str, needle: &str) -> &'a Problem {
    ps.iter()
        .find(|p| p.element_id.as_deref() == Some(id) && p.message.contains(needle))
        .unwrap_or_else(|| panic!("no problem on '{id}' containing '{needle}' in {ps:#?}"))
}

#[test]
fn malformed_xml_names_line_and_column() {
    let xml = "<?xml version=\"1.0\"?>\n<bpmn:definitions xmlns:bpmn=\"x\">\n  <bpmn:process id=\"p\">\n  </bpmn:task>\n</bpmn:definitions>";
    let e = parse(&[("bad.bpmn", xml)]).unwrap_err();
    assert_eq!(e.file, "bad.bpmn");
    assert_eq!(e.line, 4, "{e}");
    assert!(e.message.contains("malformed XML"), "{e}");
}

#[test]
fn unclosed_element_is_reported_where_it_opens() {
    let xml = "<definitions>\n  <process id=\"p\">\n";
    let e = parse(&[("t.bpmn", xml)]).unwrap_err();
    assert!(
        e.line >= 1 && e.message.contains("never closed") || e.message.contains("malformed"),
        "{e}"
    );
}

#[test]
fn non_bpmn_file_is_rejected_with_its_root_element() {
    let e = parse(&[(
        "pom.xml",
        "<project><modelVersion>4</modelVersion></project>",
    )])
    .unwrap_err();
    assert!(
        e.message.contains("not a BPMN file") && e.message.contains("<project>"),
        "{e}"
    );
    let e = parse(&[("empty.bpmn", "   ")]).unwrap_err();
    assert!(e.message.contains("empty"), "{e}");
}

#[test]
fn a_file_with_no_executable_process_cannot_run() {
    let xml = format!("<bpmn:definitions {NS}><bpmn:process id=\"p\" isExecutable=\"false\"><bpmn:startEvent id=\"s\"/></bpmn:process></bpmn:definitions>");
    let ps = problems(&xml);
    assert!(
        ps.iter()
            .any(|p| p.severity == Severity::Error && p.message.contains("executable")),
        "{ps:#?}"
    );
    let xml = format!("<bpmn:definitions {NS}><bpmn:collaboration id=\"c\"/></bpmn:definitions>");
    let ps = problems(&xml);
    assert!(
        ps.iter().any(|p| p.message.contains("no process")),
        "{ps:#?}"
    );
}

#[test]
fn dangling_sequence_flow_reference_is_a_parse_error_naming_the_flow() {
    let xml = model(
        r#"<bpmn:startEvent id="s"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Nowhere"/>"#,
    );
    let e = parse(&[("m.bpmn", &xml)]).unwrap_err();
    assert_eq!(e.line, 5);
    assert!(
        e.message.contains("f1")
            && e.message.contains("targetRef")
            && e.message.contains("Nowhere"),
        "{e}"
    );
}

#[test]
fn duplicate_ids_are_rejected() {
    let xml = model(r#"<bpmn:startEvent id="s"/><bpmn:task id="s"/>"#);
    let e = parse(&[("m.bpmn", &xml)]).unwrap_err();
    assert!(
        e.message.contains("'s'") && e.message.contains("two elements"),
        "{e}"
    );
}

#[test]
fn gateway_flow_without_condition_and_not_default_is_an_error() {
    let xml = model(
        r#"<bpmn:startEvent id="s"/>
<bpmn:exclusiveGateway id="Gw"/>
<bpmn:endEvent id="a"/><bpmn:endEvent id="b"/>
<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="Gw"/>
<bpmn:sequenceFlow id="fa" sourceRef="Gw" targetRef="a"><bpmn:conditionExpression>x == 1</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="fb" sourceRef="Gw" targetRef="b"/>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "fb", "no condition and is not the default");
    assert_eq!(p.severity, Severity::Error);
    assert_eq!(p.line, 9);
}

#[test]
fn exclusive_gateway_all_conditional_without_default_warns_about_incident() {
    let xml = model(
        r#"<bpmn:startEvent id="s"/>
<bpmn:exclusiveGateway id="Gw"/>
<bpmn:endEvent id="a"/><bpmn:endEvent id="b"/>
<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="Gw"/>
<bpmn:sequenceFlow id="fa" sourceRef="Gw" targetRef="a"><bpmn:conditionExpression>x == 1</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="fb" sourceRef="Gw" targetRef="b"><bpmn:conditionExpression>x == 2</bpmn:conditionExpression></bpmn:sequenceFlow>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "Gw", "no default flow");
    assert_eq!(p.severity, Severity::Warning);
    assert_eq!((p.line, p.column), (5, 1));
}

#[test]
fn unreachable_node_is_reported() {
    let xml = model(
        r#"<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>
<bpmn:task id="Orphan"/>
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "Orphan", "can never be reached");
    assert_eq!(p.line, 5);
}

#[test]
fn script_that_does_not_compile_names_the_task_and_line() {
    let xml = model(
        r#"<bpmn:startEvent id="s"/>
<bpmn:scriptTask id="Calc" scriptFormat="rhai"><bpmn:script>let x = 1;
let y = (x + ;</bpmn:script></bpmn:scriptTask>
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="Calc"/>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "Calc", "does not compile");
    assert_eq!(p.severity, Severity::Error);
    assert_eq!(
        p.line, 6,
        "line of the bad statement inside the script: {p:?}"
    );
}

#[test]
fn script_in_another_language_is_unsupported() {
    let xml = model(
        r#"<bpmn:startEvent id="s"/><bpmn:scriptTask id="G" scriptFormat="groovy"><bpmn:script>def x = 1</bpmn:script></bpmn:scriptTask><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="G"/>"#,
    );
    let ps = problems(&xml);
    find(&ps, "G", "groovy");
    assert_eq!(
        ps.iter()
            .filter(|p| p.element_id.as_deref() == Some("G") && p.severity == Severity::Error)
            .count(),
        1
    );
}

#[test]
fn bad_timer_expression_is_reported_on_its_line() {
    let xml = model(
        r#"<bpmn:startEvent id="s"/>
<bpmn:intermediateCatchEvent id="Wait"><bpmn:timerEventDefinition>
<bpmn:timeDuration>PT3XM</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="Wait"/>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "Wait", "PT3XM");
    assert_eq!(p.line, 6);
    let xml = model(
        r#"<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="Empty"><bpmn:timerEventDefinition/></bpmn:intermediateCatchEvent><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="Empty"/>"#,
    );
    find(&problems(&xml), "Empty", "never fire");
}

#[test]
fn link_throw_without_catch_and_missing_called_process() {
    let xml = model(
        r#"<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="Jump"><bpmn:linkEventDefinition name="L"/></bpmn:intermediateThrowEvent><bpmn:callActivity id="Call" calledElement="Elsewhere"/>
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="Jump"/>"#,
    );
    let ps = problems(&xml);
    find(&ps, "Jump", "no link catch event");
    find(&ps, "Call", "'Elsewhere', which is not in the files given");
}

#[test]
fn process_without_start_event_and_mi_without_count() {
    let xml =
        model(r#"<bpmn:task id="Lonely"><bpmn:multiInstanceLoopCharacteristics/></bpmn:task>"#);
    let ps = problems(&xml);
    find(&ps, "p", "no start event");
    find(&ps, "Lonely", "neither loopCardinality nor a collection");
}

#[test]
fn truncated_and_garbled_input_never_panics() {
    let xml = model(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="u"/><bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="u"/><bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="e"/>"#,
    );
    for cut in 0..xml.len() {
        if !xml.is_char_boundary(cut) {
            continue;
        }
        let part = &xml[..cut];
        let r = std::panic::catch_unwind(|| {
            if let Ok(d) = parse(&[("t.bpmn", part)]) {
                let _ = Engine::new(d);
            }
        });
        assert!(r.is_ok(), "panicked on a file cut at byte {cut}");
    }
    for junk in [
        "<",
        "<<>>",
        "<a b=>",
        "&amp;",
        "<definitions><process id='p'><task id='t'>&bogus;</task></process></definitions>",
        "\u{feff}<definitions/>",
    ] {
        let r =
            std::panic::catch_unwind(|| parse(&[("j.bpmn", junk)]).map(|d| Engine::new(d).is_ok()));
        assert!(r.is_ok(), "panicked on {junk:?}");
    }
}

// ----- one test per problem kind -------------------------------------------------------------

/// A start event, `body`, and a flow from the start to `first`: most problems need a reachable
/// element to be reported alone. Lines: the body begins on line 4.
fn started(first: &str, body: &str) -> String {
    model(&format!("{body}\n<bpmn:startEvent id=\"s\"/><bpmn:sequenceFlow id=\"f_s\" sourceRef=\"s\" targetRef=\"{first}\"/>"))
}

fn none_on(ps: &[Problem], id: &str) {
    let on: Vec<&Problem> = ps
        .iter()
        .filter(|p| p.element_id.as_deref() == Some(id))
        .collect();
    assert!(on.is_empty(), "expected no problem on '{id}', got {on:#?}");
}

#[test]
fn malformed_xml_position_is_exact() {
    // The mismatched closing tag starts at line 3, column 3.
    let xml = "<definitions>\n<process id=\"p\">\n  </task>\n</definitions>";
    let e = parse(&[("bad.bpmn", xml)]).unwrap_err();
    assert_eq!((e.line, e.column), (3, 3), "{e}");
    // An attribute without quotes.
    let e = parse(&[(
        "bad.bpmn",
        "<definitions>\n  <process id=p/>\n</definitions>",
    )])
    .unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("malformed"), "{e}");
}

#[test]
fn non_bpmn_root_is_reported_where_the_root_starts() {
    let e = parse(&[(
        "x.xml",
        "<?xml version=\"1.0\"?>\n\n  <beans><bean/></beans>",
    )])
    .unwrap_err();
    assert_eq!((e.line, e.column), (3, 3), "{e}");
    assert!(
        e.message
            .contains("not a BPMN file: the root element is <beans>"),
        "{e}"
    );
    assert_eq!(e.to_string(), format!("x.xml:3:3: {}", e.message));
}

#[test]
fn dangling_source_ref_names_flow_attribute_and_missing_id() {
    let xml = model(
        r#"<bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f9" sourceRef="Ghost" targetRef="e"/>"#,
    );
    let e = parse(&[("m.bpmn", &xml)]).unwrap_err();
    assert_eq!((e.line, e.column), (5, 1));
    assert!(
        e.message.contains("'f9'") && e.message.contains("sourceRef 'Ghost'"),
        "{e}"
    );
}

#[test]
fn a_flow_may_not_reuse_a_node_id() {
    let xml = model(
        r#"<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="e" sourceRef="s" targetRef="e"/>"#,
    );
    let e = parse(&[("m.bpmn", &xml)]).unwrap_err();
    assert_eq!(e.line, 5);
    assert!(
        e.message.contains("'e'") && e.message.contains("line 4"),
        "{e}"
    );
}

#[test]
fn boundary_attached_to_nothing_is_a_parse_error() {
    let xml = model(r#"<bpmn:boundaryEvent id="b" attachedToRef="Missing"/>"#);
    let e = parse(&[("m.bpmn", &xml)]).unwrap_err();
    assert_eq!((e.line, e.column), (4, 1));
    assert!(
        e.message.contains("'b'") && e.message.contains("'Missing'"),
        "{e}"
    );
    let e = parse(&[("m.bpmn", &model(r#"<bpmn:boundaryEvent id="b"/>"#))]).unwrap_err();
    assert!(e.message.contains("no attachedToRef"), "{e}");
}

#[test]
fn messages_declared_in_another_file_resolve() {
    let a = format!("<bpmn:definitions {NS}><bpmn:process id=\"p\"><bpmn:receiveTask id=\"r\" messageRef=\"M\"/></bpmn:process></bpmn:definitions>");
    let b =
        format!("<bpmn:definitions {NS}><bpmn:message id=\"M\" name=\"Paid\"/></bpmn:definitions>");
    let d = parse(&[("a.bpmn", &a), ("b.bpmn", &b)]).unwrap();
    assert_eq!(d.node(0).property("message"), Some("Paid"));
}

#[test]
fn hostile_nesting_is_refused_not_a_stack_overflow() {
    let depth = 100_000;
    let xml = format!(
        "<definitions>{}{}</definitions>",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    );
    let e = parse(&[("deep.bpmn", &xml)]).unwrap_err();
    assert!(e.message.contains("nested"), "{e}");
    // Deep but legitimate sub-process nesting still reads.
    let mut body = String::from("<bpmn:task id=\"t\"/>");
    for i in 0..40 {
        body = format!("<bpmn:subProcess id=\"sp{i}\">{body}</bpmn:subProcess>");
    }
    let d = parse(&[("m.bpmn", &model(&body))]).unwrap();
    assert_eq!(d.processes[0].all_nodes.len(), 41);
}

#[test]
fn default_that_is_not_an_outgoing_flow_is_an_error() {
    let xml = started(
        "Gw",
        r#"<bpmn:exclusiveGateway id="Gw" default="Nope"/><bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f" sourceRef="Gw" targetRef="e"/>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "Gw", "'Nope'");
    assert_eq!((p.severity, p.line), (Severity::Error, 4));
    assert!(p.message.contains("not one of its outgoing flows"), "{p:?}");
}

#[test]
fn default_on_an_activity_is_resolved() {
    let xml = started(
        "t",
        r#"<bpmn:task id="t" default="f2"/><bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>
<bpmn:sequenceFlow id="f1" sourceRef="t" targetRef="e1"><bpmn:conditionExpression>x</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e2"/>"#,
    );
    let d = parse(&[("m.bpmn", &xml)]).unwrap();
    let t = d.node(d.node_by_id("t").unwrap());
    assert_eq!(t.default_flow.map(|f| d.flow(f).id.as_str()), Some("f2"));
    none_on(&problems(&xml), "t");
}

#[test]
fn condition_after_a_parallel_gateway_is_ignored_with_a_warning() {
    let xml = started(
        "Fork",
        r#"<bpmn:parallelGateway id="Fork"/><bpmn:endEvent id="a"/><bpmn:endEvent id="b"/>
<bpmn:sequenceFlow id="fa" sourceRef="Fork" targetRef="a"><bpmn:conditionExpression>x == 1</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="fb" sourceRef="Fork" targetRef="b"/>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "fa", "condition is ignored");
    assert_eq!((p.severity, p.line), (Severity::Warning, 5));
    none_on(&ps, "fb");
}

#[test]
fn inclusive_gateway_flow_without_condition_is_an_error() {
    let xml = started(
        "Or",
        r#"<bpmn:inclusiveGateway id="Or" default="fa"/><bpmn:endEvent id="a"/><bpmn:endEvent id="b"/><bpmn:endEvent id="c"/>
<bpmn:sequenceFlow id="fa" sourceRef="Or" targetRef="a"/>
<bpmn:sequenceFlow id="fb" sourceRef="Or" targetRef="b"><bpmn:conditionExpression>x</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="fc" sourceRef="Or" targetRef="c"/>"#,
    );
    let ps = problems(&xml);
    find(
        &ps,
        "fc",
        "flow 'fc' has no condition and is not the default",
    );
    none_on(&ps, "fa");
    none_on(&ps, "fb");
}

#[test]
fn script_task_without_script_is_an_error() {
    let xml = started(
        "Calc",
        r#"<bpmn:scriptTask id="Calc" scriptFormat="rhai"><bpmn:script>   </bpmn:script></bpmn:scriptTask><bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f" sourceRef="Calc" targetRef="e"/>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "Calc", "has no script");
    assert_eq!((p.severity, p.line, p.column), (Severity::Error, 4, 1));
}

#[test]
fn groovy_message_says_baton_runs_rhai() {
    let xml = started(
        "G",
        r#"<bpmn:scriptTask id="G" scriptFormat="groovy"><bpmn:script>def x = 1</bpmn:script></bpmn:scriptTask>"#,
    );
    let ps = problems(&xml);
    let p = find(
        &ps,
        "G",
        "Baton runs rhai and JavaScript scripts; 'groovy' is not supported",
    );
    assert_eq!(p.line, 4);
}

#[test]
fn condition_that_does_not_compile_is_reported_on_the_flow() {
    let xml = started(
        "Gw",
        r#"<bpmn:exclusiveGateway id="Gw" default="fb"/><bpmn:endEvent id="a"/><bpmn:endEvent id="b"/>
<bpmn:sequenceFlow id="fa" sourceRef="Gw" targetRef="a">
  <bpmn:conditionExpression>${amount &gt; }</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="fb" sourceRef="Gw" targetRef="b"/>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "fa", "condition of 'fa' does not compile");
    assert_eq!(p.severity, Severity::Error);
    assert_eq!(p.line, 6, "the line of the conditionExpression: {p:?}");
}

#[test]
fn server_script_error_points_into_a_multi_line_attribute() {
    // bpmn-js writes newlines in attribute values as &#10;: the script's line 2 is on the same
    // file line, further right.
    let xml = started(
        "U",
        r#"<bpmn:userTask id="U"><bpmn:extensionElements><custom:properties xmlns:custom="c">
<custom:property name="ServerScript" value="let a = 1;&#10;let b = (a + ;" />
</custom:properties></bpmn:extensionElements></bpmn:userTask>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "U", "ServerScript of 'U' does not compile");
    assert_eq!(p.line, 5, "{p:?}");
    let prop_line = xml.lines().nth(4).unwrap();
    let second_line_col = prop_line.find("let b").unwrap() as u32 + 1;
    assert!(
        p.column >= second_line_col,
        "column {} should fall on the script's second line (from {second_line_col})",
        p.column
    );
}

#[test]
fn message_start_without_message_is_an_error_but_a_nameless_receive_task_is_fine() {
    let xml = model(
        r#"<bpmn:startEvent id="MsgStart"><bpmn:messageEventDefinition/></bpmn:startEvent>
<bpmn:receiveTask id="Wait"/><bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f1" sourceRef="MsgStart" targetRef="Wait"/><bpmn:sequenceFlow id="f2" sourceRef="Wait" targetRef="e"/>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "MsgStart", "does not name its message");
    assert_eq!((p.severity, p.line), (Severity::Error, 4));
    none_on(&ps, "Wait");
}

#[test]
fn signal_event_without_signal_is_an_error() {
    let xml = started(
        "Sig",
        r#"<bpmn:intermediateCatchEvent id="Sig"><bpmn:signalEventDefinition/></bpmn:intermediateCatchEvent>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "Sig", "does not name its signal");
    assert_eq!((p.severity, p.line), (Severity::Error, 4));
}

#[test]
fn two_link_catches_with_one_name_is_an_error_and_a_link_target_is_reachable() {
    let xml = started(
        "Throw",
        r#"<bpmn:intermediateThrowEvent id="Throw"><bpmn:linkEventDefinition name="Go"/></bpmn:intermediateThrowEvent>
<bpmn:intermediateCatchEvent id="C1"><bpmn:linkEventDefinition name="Go"/></bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="C2"><bpmn:linkEventDefinition name="Go"/></bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="Other"><bpmn:linkEventDefinition name="Elsewhere"/></bpmn:intermediateCatchEvent>
<bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f" sourceRef="C1" targetRef="e"/>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "C2", "two link catch events are named 'Go'");
    assert_eq!((p.severity, p.line), (Severity::Error, 6));
    none_on(&ps, "C1");
    none_on(&ps, "e");
    none_on(&ps, "Throw");
    find(&ps, "Other", "can never be reached");
}

#[test]
fn boundary_on_a_gateway_is_an_error() {
    let xml = started(
        "Gw",
        r#"<bpmn:exclusiveGateway id="Gw"/><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f" sourceRef="Gw" targetRef="e"/>
<bpmn:boundaryEvent id="B" attachedToRef="Gw"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "B", "not attached to a task or sub-process");
    assert_eq!((p.severity, p.line), (Severity::Error, 5));
}

#[test]
fn called_process_in_another_file_is_found() {
    let caller = started(
        "Call",
        r#"<bpmn:callActivity id="Call" calledElement="child"/><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f" sourceRef="Call" targetRef="e"/>"#,
    );
    let child = format!("<bpmn:definitions {NS}><bpmn:process id=\"child\"><bpmn:startEvent id=\"cs\"/><bpmn:endEvent id=\"ce\"/><bpmn:sequenceFlow id=\"cf\" sourceRef=\"cs\" targetRef=\"ce\"/></bpmn:process></bpmn:definitions>");
    let d = parse(&[("caller.bpmn", &caller), ("child.bpmn", &child)]).unwrap();
    let ps = baton_engine::validate(&d, &[]);
    none_on(&ps, "Call");
    let d = parse(&[("caller.bpmn", &caller)]).unwrap();
    let ps = baton_engine::validate(&d, &[]);
    let p = find(
        &ps,
        "Call",
        "calls process 'child', which is not in the files given",
    );
    assert_eq!((p.severity, p.line), (Severity::Error, 4));
}

#[test]
fn event_sub_process_start_without_trigger_is_an_error() {
    let xml = started(
        "e",
        r#"<bpmn:endEvent id="e"/>
<bpmn:subProcess id="Esp" triggeredByEvent="true">
  <bpmn:startEvent id="EspStart"/><bpmn:endEvent id="EspEnd"/>
  <bpmn:sequenceFlow id="ef" sourceRef="EspStart" targetRef="EspEnd"/>
</bpmn:subProcess>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "EspStart", "says nothing about which event starts it");
    assert_eq!((p.severity, p.line, p.column), (Severity::Error, 6, 3));
    // Its nodes are entry points of their own, not unreachable.
    none_on(&ps, "EspEnd");
    none_on(&ps, "Esp");
}

#[test]
fn multiple_events_warn_that_they_do_not_run_yet_and_a_cancel_end_outside_a_transaction_is_refused()
{
    let xml = started(
        "Multi",
        r#"<bpmn:intermediateCatchEvent id="Multi"><bpmn:messageEventDefinition messageRef="m"/><bpmn:signalEventDefinition signalRef="s"/></bpmn:intermediateCatchEvent>
<bpmn:intermediateThrowEvent id="Comp"><bpmn:compensateEventDefinition/></bpmn:intermediateThrowEvent>
<bpmn:endEvent id="CancelEnd"><bpmn:cancelEventDefinition/></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="Multi" targetRef="Comp"/><bpmn:sequenceFlow id="f2" sourceRef="Comp" targetRef="CancelEnd"/>"#,
    );
    let ps = problems(&xml);
    // A multiple catch event runs (tests/multiple.rs): nothing is said about it.
    none_on(&ps, "Multi");
    // Cancel events run now (tests/transaction.rs), inside a transaction only.
    let p = find(&ps, "CancelEnd", "not directly inside a transaction");
    assert_eq!((p.severity, p.line), (Severity::Error, 6), "{p:?}");
    // Compensation is executed now: a compensation throw is not reported.
    none_on(&ps, "Comp");
}

#[test]
fn java_implementation_on_a_service_task_is_ignored_with_a_warning() {
    let xml = started(
        "Svc",
        r#"<bpmn:serviceTask id="Svc" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" camunda:delegateExpression="${charger}"/><bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f" sourceRef="Svc" targetRef="e"/>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "Svc", "Java/expression implementation");
    assert_eq!((p.severity, p.line), (Severity::Warning, 4));
    assert!(p.message.contains("passes straight through"), "{p:?}");
}

#[test]
fn dead_end_activity_warns_but_compensation_handler_does_not() {
    let xml = started(
        "T",
        r#"<bpmn:task id="T"/>
<bpmn:task id="Undo" isForCompensation="true"/>
<bpmn:boundaryEvent id="Comp" attachedToRef="T"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
<bpmn:association id="a" sourceRef="Comp" targetRef="Undo"/>"#,
    );
    let ps = problems(&xml);
    let p = find(&ps, "T", "has no outgoing flow");
    assert_eq!((p.severity, p.line), (Severity::Warning, 4));
    none_on(&ps, "Undo");
}

#[test]
fn error_start_event_cannot_start_a_process() {
    let xml = model(
        r#"<bpmn:startEvent id="ErrStart"><bpmn:errorEventDefinition/></bpmn:startEvent><bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f" sourceRef="ErrStart" targetRef="e"/>"#,
    );
    let ps = problems(&xml);
    find(&ps, "ErrStart", "only start an event sub-process");
    find(&ps, "p", "no start event");
}

#[test]
fn timer_expressions_are_not_checked_as_iso_text() {
    let xml = started(
        "W",
        r#"<bpmn:intermediateCatchEvent id="W"><bpmn:timerEventDefinition><bpmn:timeDate>${dueDate}</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="C"><bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT10S</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="Bad"><bpmn:timerEventDefinition><bpmn:timeCycle>every day</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="BadDate"><bpmn:timerEventDefinition><bpmn:timeDate>2026-13-45</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f1" sourceRef="W" targetRef="C"/><bpmn:sequenceFlow id="f2" sourceRef="C" targetRef="Bad"/>
<bpmn:sequenceFlow id="f3" sourceRef="Bad" targetRef="BadDate"/><bpmn:sequenceFlow id="f4" sourceRef="BadDate" targetRef="e"/>"#,
    );
    let ps = problems(&xml);
    none_on(&ps, "W");
    none_on(&ps, "C");
    // "every day" reads like a name, so it is treated as an expression evaluated when armed.
    none_on(&ps, "Bad");
    let p = find(&ps, "BadDate", "timeDate");
    assert_eq!((p.severity, p.line), (Severity::Error, 7));
}

#[test]
fn sub_process_nodes_are_reachable_from_their_start_and_orphans_inside_are_not() {
    let xml = started(
        "Sp",
        r#"<bpmn:subProcess id="Sp">
  <bpmn:startEvent id="in"/><bpmn:endEvent id="out"/><bpmn:task id="Stray"/>
  <bpmn:sequenceFlow id="i1" sourceRef="in" targetRef="out"/>
</bpmn:subProcess><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f" sourceRef="Sp" targetRef="e"/>"#,
    );
    let ps = problems(&xml);
    none_on(&ps, "out");
    let p = find(&ps, "Stray", "can never be reached");
    assert_eq!((p.line, p.column), (5, 54));
}

#[test]
fn problems_are_sorted_by_line_and_column() {
    let xml = model(
        r#"<bpmn:task id="A"/>
<bpmn:task id="B"/><bpmn:task id="C"/>
<bpmn:scriptTask id="D"/>"#,
    );
    let ps = problems(&xml);
    assert!(ps.len() >= 5, "{ps:#?}");
    assert!(
        ps.windows(2)
            .all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column)),
        "{ps:#?}"
    );
    // Serialised for `lint --json` with camelCase keys.
    let v = serde_json::to_value(&ps[0]).unwrap();
    assert!(
        v.get("elementId").is_some() && v.get("severity").is_some(),
        "{v}"
    );
}

#[test]
fn compensation_handler_sub_process_contents_are_reachable() {
    let xml = started(
        "T",
        r#"<bpmn:task id="T"/><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f" sourceRef="T" targetRef="e"/>
<bpmn:boundaryEvent id="Comp" attachedToRef="T"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
<bpmn:subProcess id="Undo" isForCompensation="true">
  <bpmn:startEvent id="us"/><bpmn:task id="ut"/><bpmn:sequenceFlow id="uf" sourceRef="us" targetRef="ut"/>
</bpmn:subProcess><bpmn:association id="a" sourceRef="Comp" targetRef="Undo"/>"#,
    );
    let ps = problems(&xml);
    for id in ["Undo", "us", "ut"] {
        assert!(
            !ps.iter()
                .any(|p| p.element_id.as_deref() == Some(id)
                    && p.message.contains("never be reached")),
            "{ps:#?}"
        );
    }
}

#[test]
fn every_truncation_and_one_character_deletion_of_a_rich_model_reads_or_fails_with_a_position() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/parse/camunda_features.bpmn");
    let xml = std::fs::read_to_string(path).unwrap();
    let lines = xml.lines().count() as u32;
    let check = |variant: &str, what: &str| {
        let r = std::panic::catch_unwind(|| match parse(&[("v.bpmn", variant)]) {
            Ok(d) => {
                let _ = baton_engine::validate(&d, &[]);
                None
            }
            Err(e) => Some(e),
        });
        match r {
            Err(_) => panic!("panicked on {what}"),
            Ok(Some(e)) => assert!(
                e.line >= 1 && e.line <= lines + 1 && e.column >= 1,
                "{what}: {e}"
            ),
            Ok(None) => {}
        }
    };
    for cut in (0..xml.len()).filter(|&i| xml.is_char_boundary(i)) {
        check(&xml[..cut], &format!("the file cut at byte {cut}"));
        let next = xml[cut..].chars().next().map_or(0, char::len_utf8);
        let deleted = format!("{}{}", &xml[..cut], &xml[cut + next..]);
        check(
            &deleted,
            &format!("the file without the character at byte {cut}"),
        );
    }
}

/// A receive task whose `TimeoutMinutes` is `value`, the property alone on line 5 at column 3.
fn timeout_model(value: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<bpmn:definitions {NS} xmlns:custom=\"http://baton.dev/schema/custom\" id=\"d\">\n<bpmn:process id=\"p\" isExecutable=\"true\">\n<bpmn:startEvent id=\"s\"/><bpmn:receiveTask id=\"Wait\"><bpmn:extensionElements><custom:properties>\n  <custom:property name=\"TimeoutMinutes\" value=\"{value}\"/>\n</custom:properties></bpmn:extensionElements></bpmn:receiveTask><bpmn:endEvent id=\"e\"/>\n<bpmn:sequenceFlow id=\"f1\" sourceRef=\"s\" targetRef=\"Wait\"/><bpmn:sequenceFlow id=\"f2\" sourceRef=\"Wait\" targetRef=\"e\"/>\n</bpmn:process>\n</bpmn:definitions>"
    )
}

#[test]
fn timeout_minutes_that_cannot_give_a_due_time_is_refused_where_it_is_written() {
    for (value, why) in [
        ("inf", "is not a finite number"),
        ("-inf", "is not a finite number"),
        ("NaN", "is not a finite number"),
        ("1e10", "is too long"),
        ("5e9", "is too long"),
        ("1e15", "is too long"),
        ("1e300", "is too long"),
        ("9223372036854775807", "is too long"),
        ("5256000.5", "is too long"),
        ("-5", "is not above 0"),
        ("0", "is not above 0"),
        ("abc", "is not a number"),
    ] {
        let ps = problems(&timeout_model(value));
        let p = find(&ps, "Wait", "TimeoutMinutes");
        assert_eq!(p.severity, Severity::Error, "{value}: {p:?}");
        assert_eq!((p.line, p.column), (5, 3), "{value}: {p:?}");
        assert!(
            p.message
                .contains(&format!("TimeoutMinutes '{value}' {why}"))
                && p.message.contains("at most 5256000 (10 years)"),
            "{value}: {}",
            p.message
        );
    }
}

#[test]
fn timeout_minutes_up_to_ten_years_or_empty_is_accepted() {
    for value in ["30", "1.5", " 90 ", "5256000", ""] {
        let ps = problems(&timeout_model(value));
        assert!(
            !ps.iter().any(|p| p.message.contains("TimeoutMinutes")),
            "{value}: {ps:#?}"
        );
    }
}
