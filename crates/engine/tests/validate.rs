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
    assert!(e.line >= 1 && e.message.contains("never closed") || e.message.contains("malformed"), "{e}");
}

#[test]
fn non_bpmn_file_is_rejected_with_its_root_element() {
    let e = parse(&[("pom.xml", "<project><modelVersion>4</modelVersion></project>")]).unwrap_err();
    assert!(e.message.contains("not a BPMN file") && e.message.contains("<project>"), "{e}");
    let e = parse(&[("empty.bpmn", "   ")]).unwrap_err();
    assert!(e.message.contains("empty"), "{e}");
}

#[test]
fn a_file_with_no_executable_process_cannot_run() {
    let xml = format!("<bpmn:definitions {NS}><bpmn:process id=\"p\" isExecutable=\"false\"><bpmn:startEvent id=\"s\"/></bpmn:process></bpmn:definitions>");
    let ps = problems(&xml);
    assert!(ps.iter().any(|p| p.severity == Severity::Error && p.message.contains("executable")), "{ps:#?}");
    let xml = format!("<bpmn:definitions {NS}><bpmn:collaboration id=\"c\"/></bpmn:definitions>");
    let ps = problems(&xml);
    assert!(ps.iter().any(|p| p.message.contains("no process")), "{ps:#?}");
}

#[test]
fn dangling_sequence_flow_reference_is_a_parse_error_naming_the_flow() {
    let xml = model(r#"<bpmn:startEvent id="s"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Nowhere"/>"#);
    let e = parse(&[("m.bpmn", &xml)]).unwrap_err();
    assert_eq!(e.line, 5);
    assert!(e.message.contains("f1") && e.message.contains("targetRef") && e.message.contains("Nowhere"), "{e}");
}

#[test]
fn duplicate_ids_are_rejected() {
    let xml = model(r#"<bpmn:startEvent id="s"/><bpmn:task id="s"/>"#);
    let e = parse(&[("m.bpmn", &xml)]).unwrap_err();
    assert!(e.message.contains("'s'") && e.message.contains("two elements"), "{e}");
}

#[test]
fn gateway_flow_without_condition_and_not_default_is_an_error() {
    let xml = model(r#"<bpmn:startEvent id="s"/>
<bpmn:exclusiveGateway id="Gw"/>
<bpmn:endEvent id="a"/><bpmn:endEvent id="b"/>
<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="Gw"/>
<bpmn:sequenceFlow id="fa" sourceRef="Gw" targetRef="a"><bpmn:conditionExpression>x == 1</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="fb" sourceRef="Gw" targetRef="b"/>"#);
    let ps = problems(&xml);
    let p = find(&ps, "fb", "no condition and is not the default");
    assert_eq!(p.severity, Severity::Error);
    assert_eq!(p.line, 9);
}

#[test]
fn exclusive_gateway_all_conditional_without_default_warns_about_incident() {
    let xml = model(r#"<bpmn:startEvent id="s"/>
<bpmn:exclusiveGateway id="Gw"/>
<bpmn:endEvent id="a"/><bpmn:endEvent id="b"/>
<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="Gw"/>
<bpmn:sequenceFlow id="fa" sourceRef="Gw" targetRef="a"><bpmn:conditionExpression>x == 1</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="fb" sourceRef="Gw" targetRef="b"><bpmn:conditionExpression>x == 2</bpmn:conditionExpression></bpmn:sequenceFlow>"#);
    let ps = problems(&xml);
    let p = find(&ps, "Gw", "no default flow");
    assert_eq!(p.severity, Severity::Warning);
    assert_eq!((p.line, p.column), (5, 1));
}

#[test]
fn unreachable_node_is_reported() {
    let xml = model(r#"<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>
<bpmn:task id="Orphan"/>
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/>"#);
    let ps = problems(&xml);
    let p = find(&ps, "Orphan", "can never be reached");
    assert_eq!(p.line, 5);
}

#[test]
fn script_that_does_not_compile_names_the_task_and_line() {
    let xml = model(r#"<bpmn:startEvent id="s"/>
<bpmn:scriptTask id="Calc" scriptFormat="rhai"><bpmn:script>let x = 1;
let y = (x + ;</bpmn:script></bpmn:scriptTask>
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="Calc"/>"#);
    let ps = problems(&xml);
    let p = find(&ps, "Calc", "does not compile");
    assert_eq!(p.severity, Severity::Error);
    assert_eq!(p.line, 6, "line of the bad statement inside the script: {p:?}");
}

#[test]
fn script_in_another_language_is_unsupported() {
    let xml = model(r#"<bpmn:startEvent id="s"/><bpmn:scriptTask id="G" scriptFormat="groovy"><bpmn:script>def x = 1</bpmn:script></bpmn:scriptTask><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="G"/>"#);
    let ps = problems(&xml);
    find(&ps, "G", "groovy");
    assert_eq!(ps.iter().filter(|p| p.element_id.as_deref() == Some("G") && p.severity == Severity::Error).count(), 1);
}

#[test]
fn bad_timer_expression_is_reported_on_its_line() {
    let xml = model(r#"<bpmn:startEvent id="s"/>
<bpmn:intermediateCatchEvent id="Wait"><bpmn:timerEventDefinition>
<bpmn:timeDuration>PT3XM</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="Wait"/>"#);
    let ps = problems(&xml);
    let p = find(&ps, "Wait", "PT3XM");
    assert_eq!(p.line, 6);
    let xml = model(r#"<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="Empty"><bpmn:timerEventDefinition/></bpmn:intermediateCatchEvent><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="Empty"/>"#);
    find(&problems(&xml), "Empty", "never fire");
}

#[test]
fn link_throw_without_catch_and_missing_called_process() {
    let xml = model(r#"<bpmn:startEvent id="s"/><bpmn:intermediateThrowEvent id="Jump"><bpmn:linkEventDefinition name="L"/></bpmn:intermediateThrowEvent><bpmn:callActivity id="Call" calledElement="Elsewhere"/>
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="Jump"/>"#);
    let ps = problems(&xml);
    find(&ps, "Jump", "no link catch event");
    find(&ps, "Call", "'Elsewhere', which is not in the files given");
}

#[test]
fn process_without_start_event_and_mi_without_count() {
    let xml = model(r#"<bpmn:task id="Lonely"><bpmn:multiInstanceLoopCharacteristics/></bpmn:task>"#);
    let ps = problems(&xml);
    find(&ps, "p", "no start event");
    find(&ps, "Lonely", "neither loopCardinality nor a collection");
}

#[test]
fn truncated_and_garbled_input_never_panics() {
    let xml = model(r#"<bpmn:startEvent id="s"/><bpmn:userTask id="u"/><bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="u"/><bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="e"/>"#);
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
    for junk in ["<", "<<>>", "<a b=>", "&amp;", "<definitions><process id='p'><task id='t'>&bogus;</task></process></definitions>", "\u{feff}<definitions/>"] {
        let r = std::panic::catch_unwind(|| parse(&[("j.bpmn", junk)]).map(|d| Engine::new(d).is_ok()));
        assert!(r.is_ok(), "panicked on {junk:?}");
    }
}
