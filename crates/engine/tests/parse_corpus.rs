//! Every file of the shared BPMN corpora (MIWG reference models and vendor exports, Camunda 7
//! engine test models) must read as a model or a clear error, never a panic. The corpora are
//! read from ../shared at run time and are not part of this repository.

use baton_engine::{parse, Engine};
use std::path::{Path, PathBuf};

fn corpora() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    p.is_dir().then_some(p)
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "bpmn" || e == "xml") {
            out.push(p);
        }
    }
}

#[test]
fn every_corpus_file_reads_without_panicking() {
    let Some(root) = corpora() else {
        println!("skipped: ../shared/corpora not found");
        return;
    };
    let mut all = Vec::new();
    files(&root, &mut all);
    assert!(
        all.len() > 100,
        "expected the corpora to hold hundreds of models, found {}",
        all.len()
    );
    let (mut ok, mut errors, mut valid) = (0, 0, 0);
    let mut panics = Vec::new();
    let mut reference_failures = Vec::new();
    for f in &all {
        let bytes = std::fs::read(f).unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let name = f.display().to_string();
        let res = std::panic::catch_unwind(|| {
            let parsed = parse(&[(name.as_str(), text.as_str())]);
            let runnable = parsed.as_ref().ok().map(|d| Engine::new(d.clone()).is_ok());
            (parsed, runnable)
        });
        match res {
            Err(_) => panics.push(name.clone()),
            Ok((Ok(_), runnable)) => {
                ok += 1;
                if runnable == Some(true) {
                    valid += 1;
                }
            }
            Ok((Err(e), _)) => {
                errors += 1;
                assert!(
                    e.line >= 1 && e.column >= 1,
                    "{name}: error without a position: {e}"
                );
                assert!(!e.message.is_empty());
                if name.contains("miwg/reference") && name.ends_with(".bpmn") {
                    reference_failures.push(e.to_string());
                }
            }
        }
    }
    println!("corpus: {} files, {ok} parsed ({valid} valid and runnable), {errors} clear errors, {} panics", all.len(), panics.len());
    assert!(
        panics.is_empty(),
        "parser or validation panicked on: {panics:#?}"
    );
    assert!(
        reference_failures.is_empty(),
        "MIWG reference models must parse: {reference_failures:#?}"
    );
}

#[test]
fn miwg_a_1_0_has_its_elements_and_flows() {
    let Some(root) = corpora() else {
        println!("skipped: ../shared/corpora not found");
        return;
    };
    let text = std::fs::read_to_string(root.join("miwg/reference/A.1.0.bpmn")).unwrap();
    let d = parse(&[("A.1.0.bpmn", &text)]).unwrap();
    assert_eq!(d.processes.len(), 1);
    let p = &d.processes[0];
    // A.1.0: start, three abstract tasks in sequence, end.
    let kinds: Vec<&str> = p
        .all_nodes
        .iter()
        .map(|&n| d.node(n).kind.type_name())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "task").count(),
        3,
        "{kinds:?}"
    );
    assert_eq!(kinds.iter().filter(|k| **k == "startEvent").count(), 1);
    assert_eq!(kinds.iter().filter(|k| **k == "endEvent").count(), 1);
    assert_eq!(p.all_flows.len(), 4);
    // Every span points inside the file.
    let lines = text.lines().count() as u32;
    for &n in &p.all_nodes {
        let s = d.node(n).span;
        assert!(s.line >= 1 && s.line <= lines, "{:?}", s);
        let line = text.lines().nth(s.line as usize - 1).unwrap();
        let rest: String = line.chars().skip(s.column as usize - 1).collect();
        assert!(
            rest.starts_with('<'),
            "span of {} points at {rest:?}",
            d.node(n).id
        );
        assert!(
            rest.contains(&d.node(n).id) || line.contains("id="),
            "{rest}"
        );
    }
}

#[test]
fn camunda_exclusive_gateway_default_flow_is_resolved() {
    let Some(root) = corpora() else {
        println!("skipped: ../shared/corpora not found");
        return;
    };
    let path =
        root.join("camunda7/bpmn/gateway/ExclusiveGatewayTest.testDefaultSequenceFlow.bpmn20.xml");
    let text = std::fs::read_to_string(path).unwrap();
    let d = parse(&[("x", &text)]).unwrap();
    let gw = d
        .nodes
        .iter()
        .find(|n| n.kind.type_name() == "exclusiveGateway")
        .unwrap();
    let def = gw.default_flow.expect("default flow resolved");
    assert!(
        d.flow(def).condition.is_none(),
        "the default flow carries no condition"
    );
    assert!(gw.outgoing.len() >= 3);
}

#[test]
fn camunda_failed_job_retry_cycle_is_read_on_the_timer_start_event() {
    let Some(root) = corpora() else {
        println!("skipped: ../shared/corpora not found");
        return;
    };
    // Camunda's own parse-listener test model: the cycle under the old `fox:` prefix, on a
    // boundary timer, a timer start event and more.
    let path = root.join("camunda7/bpmn/parse/FoxFailedJobParseListenerTest.testTimer.bpmn20.xml");
    let text = std::fs::read_to_string(path).unwrap();
    let d = parse(&[("x", &text)]).unwrap();
    let start = d
        .node(d.node_by_id("startEventFailedJobRetryTimeCycle").unwrap())
        .clone();
    assert_eq!(start.property("failedJobRetryTimeCycle"), Some("R5/PT5M"));
    let (engine, _) = Engine::new(d).unwrap();
    let cycle = engine.start_retry("startEventFailedJobRetryTimeCycle");
    assert_eq!(cycle.attempts(), 5);
    assert_eq!(cycle.wait_after(1), jiff::SignedDuration::from_mins(5));
    // Elsewhere it is carried but does not count: no element there starts instances.
    assert_eq!(engine.start_retry("theStart"), Default::default());

    // On a task (Camunda's test of the `camunda:` prefix on an async user task): the task's
    // failed runs get 5 attempts, 5 minutes apart, and the model deploys.
    let path =
        root.join("camunda7/bpmn/parse/CamundaFailedJobParseListenerTest.testUserTask.bpmn20.xml");
    let text = std::fs::read_to_string(path).unwrap();
    let d = parse(&[("x", &text)]).unwrap();
    let cycle = d
        .node(d.node_by_id("task").unwrap())
        .spec
        .retry_cycle
        .clone();
    let cycle = cycle.expect("the task's cycle is read");
    assert_eq!(cycle.attempts(), 5);
    assert_eq!(cycle.wait_after(4), jiff::SignedDuration::from_mins(5));
    assert!(Engine::new(d).is_ok());
}

// ----- hand-written fixtures (always run; they do not need ../shared) ------------------------

use baton_engine::model::{
    Deployment, GatewayKind, Looping, NodeKind, TaskKind, TimerDef, Trigger,
};

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/parse")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn node<'a>(d: &'a Deployment, id: &str) -> &'a baton_engine::model::FlowNode {
    d.node(d.node_by_id(id).unwrap_or_else(|| panic!("no node '{id}'")))
}

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> u32 {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in fixture")) as u32
        + 1
}

#[test]
fn camunda_fixture_reads_properties_loops_boundaries_and_sources() {
    let text = fixture("camunda_features.bpmn");
    let d = parse(&[("camunda_features.bpmn", &text)]).unwrap();
    assert_eq!(d.processes.len(), 1);
    let p = &d.processes[0];
    assert_eq!(
        (p.id.as_str(), p.name.as_deref(), p.is_executable),
        ("Order", Some("Order handling"), true)
    );
    assert_eq!(
        p.lanes,
        vec![(
            "Sales".to_string(),
            vec!["Start".to_string(), "Review".to_string()]
        )]
    );
    // Every depth: 11 at process level, 3 + 2 inside the sub-processes.
    assert_eq!(p.all_nodes.len(), 16);
    assert_eq!(p.children.len(), 11);
    assert_eq!(p.all_flows.len(), 12);

    let review = node(&d, "Review");
    assert!(matches!(review.kind, NodeKind::Task(TaskKind::User)));
    assert_eq!(review.property("FormKey"), Some("review-form"));
    assert_eq!(review.property("ResponsibleUser"), Some("mary"));
    // The explicit custom property wins over camunda:candidateGroups.
    assert_eq!(review.property("ResponsibleTeam"), Some("MANAGERS"));
    let ss = review.server_script.as_ref().expect("ServerScript source");
    assert_eq!(
        ss.text,
        "let ok = formData.amount > 0;\nif !ok { throw \"amount must be positive\" }"
    );
    assert_eq!(
        d.sources[ss.id as usize].text, ss.text,
        "the source is registered under its id"
    );
    assert_eq!(ss.span.line, line_of(&text, "name=\"ServerScript\""));

    let gw = node(&d, "Gw");
    assert!(matches!(gw.kind, NodeKind::Gateway(GatewayKind::Exclusive)));
    let def = gw.default_flow.expect("default resolved");
    assert_eq!(d.flow(def).id, "f_small");
    assert!(
        d.flow(def).condition.is_none(),
        "a whitespace-only condition is no condition"
    );
    let big = d.flows.iter().find(|f| f.id == "f_big").unwrap();
    assert_eq!(big.name.as_deref(), Some("big"));
    assert_eq!(
        big.condition.as_ref().unwrap().text,
        "amount > 1000",
        "the ${{}} wrapper is removed"
    );

    assert_eq!(
        node(&d, "Charge").property("camunda:implementation"),
        Some("class=com.example.Charge")
    );

    let wait = node(&d, "WaitPayment");
    assert_eq!(
        wait.property("message"),
        Some("PaymentReceived"),
        "messageRef resolved to the message name"
    );
    assert_eq!(wait.correlation_key.as_ref().unwrap().text, "orderId");
    assert_eq!(wait.incoming.len(), 2);
    let timeout = d.node_by_id("PaymentTimeout").unwrap();
    assert_eq!(wait.boundaries, vec![timeout]);
    match &d.node(timeout).kind {
        NodeKind::Boundary {
            attached_to,
            trigger: Trigger::Timer(TimerDef::Duration(s)),
            cancel_activity,
        } => {
            assert_eq!(*attached_to, d.node_by_id("WaitPayment").unwrap());
            assert_eq!(s.text, "PT30M");
            assert!(!cancel_activity);
        }
        k => panic!("{k:?}"),
    }
    match &node(&d, "Declined").kind {
        NodeKind::Boundary {
            trigger: Trigger::Error(code),
            cancel_activity,
            ..
        } => {
            assert_eq!(code.as_deref(), Some("CARD_DECLINED"));
            assert!(cancel_activity, "cancelActivity defaults to true");
        }
        k => panic!("{k:?}"),
    }

    let ship_id = d.node_by_id("Ship").unwrap();
    let ship = d.node(ship_id);
    match &ship.kind {
        NodeKind::SubProcess(sp) => {
            assert!(!sp.triggered_by_event);
            let ids: Vec<&str> = sp.children.iter().map(|&c| d.node(c).id.as_str()).collect();
            assert_eq!(ids, ["ShipStart", "Pack", "ShipEnd"]);
        }
        k => panic!("{k:?}"),
    }
    match &ship.looping {
        Some(Looping::Multi(mi)) => {
            assert!(mi.sequential);
            assert_eq!(mi.collection.as_ref().unwrap().text, "items");
            assert_eq!(mi.element_variable.as_deref(), Some("item"));
            assert_eq!(
                mi.completion_condition.as_ref().unwrap().text,
                "nrOfCompletedInstances >= 2"
            );
            assert!(mi.cardinality.is_none());
        }
        l => panic!("{l:?}"),
    }
    let pack = node(&d, "Pack");
    assert_eq!(pack.parent, Some(ship_id));
    match &pack.kind {
        NodeKind::Task(TaskKind::Script { format, script }) => {
            assert_eq!(format.as_deref(), Some("rhai"));
            assert_eq!(
                script.as_ref().unwrap().text,
                "let n = item.qty;\npacked = n * 2;"
            );
        }
        k => panic!("{k:?}"),
    }
    match &pack.looping {
        Some(Looping::Standard {
            condition,
            test_before,
            maximum,
            ..
        }) => {
            assert_eq!(
                condition.as_ref().unwrap().text,
                "tries < 3",
                "JUEL #{{}} is removed around expressions"
            );
            assert!(*test_before);
            assert_eq!(*maximum, Some(3));
        }
        l => panic!("{l:?}"),
    }
    match &node(&d, "StopStart").kind {
        NodeKind::StartEvent {
            trigger: Trigger::Signal(Some(s)),
            interrupting,
        } => {
            assert_eq!(s, "StopAll");
            assert!(!interrupting);
        }
        k => panic!("{k:?}"),
    }
    assert!(matches!(&node(&d, "OnStop").kind, NodeKind::SubProcess(sp) if sp.triggered_by_event));
    for n in &d.nodes {
        assert_eq!(n.process, 0);
        let line = text.lines().nth(n.span.line as usize - 1).unwrap();
        let at: String = line.chars().skip(n.span.column as usize - 1).collect();
        assert!(
            at.starts_with('<') && at.contains(&format!("id=\"{}\"", n.id)),
            "span of {} points at {at:?}",
            n.id
        );
    }
    // Sources are numbered in the order they were registered.
    for (i, s) in d.sources.iter().enumerate() {
        assert_eq!(s.id as usize, i);
    }
}

#[test]
fn default_namespace_fixture_reads_two_processes_and_skips_what_does_not_run() {
    let text = fixture("default_namespace.bpmn");
    let d = parse(&[("default_namespace.bpmn", &text)]).unwrap();
    let ids: Vec<(&str, bool)> = d
        .processes
        .iter()
        .map(|p| (p.id.as_str(), p.is_executable))
        .collect();
    assert_eq!(
        ids,
        [("Caller", true), ("Callee", false)],
        "isExecutable defaults to true"
    );
    assert_eq!(
        d.files,
        ["default_namespace.bpmn", "default_namespace.bpmn"]
    );
    // The same ids in two processes are fine; references resolve within their own process.
    assert_eq!(d.processes[1].all_nodes.len(), 2);
    let callee_flow = d.flow(d.processes[1].all_flows[0]);
    assert_eq!(d.node(callee_flow.source).process, 1);
    assert!(
        matches!(&d.node(d.processes[0].children[0]).kind, NodeKind::StartEvent { trigger: Trigger::Message(Some(m)), .. } if m == "UndeclaredMsg")
    );
    assert!(
        matches!(&d.node(d.processes[0].children[1]).kind, NodeKind::CallActivity { called_element } if called_element == "Callee")
    );
    assert!(
        matches!(&d.node(d.processes[0].children[2]).kind, NodeKind::IntermediateThrow { trigger: Trigger::Link(l) } if l == "L1")
    );
    assert!(matches!(
        &d.node(d.processes[0].children[4]).kind,
        NodeKind::EndEvent {
            trigger: Trigger::Terminate
        }
    ));
}

#[test]
fn miwg_a_4_0_nests_sub_processes_in_the_second_process() {
    let Some(root) = corpora() else {
        println!("skipped: ../shared/corpora not found");
        return;
    };
    let bytes = std::fs::read(root.join("miwg/reference/A.4.0.bpmn")).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let d = parse(&[("A.4.0.bpmn", &text)]).unwrap();
    let summary: Vec<(&str, bool, usize, usize, usize)> = d
        .processes
        .iter()
        .map(|p| {
            (
                p.id.as_str(),
                p.is_executable,
                p.children.len(),
                p.all_nodes.len(),
                p.all_flows.len(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [("WFP-6-1", false, 4, 4, 3), ("WFP-6-2", false, 7, 13, 10)]
    );
    let sp = d
        .node_by_id("_ee35fa2c-dfea-40cf-a469-845b765a7b50")
        .unwrap();
    let task4 = d.node(
        d.node_by_id("_09532ad3-e571-4214-b580-7bebf4bb68b1")
            .unwrap(),
    );
    assert_eq!(task4.parent, Some(sp));
    assert_eq!(task4.name.as_deref(), Some("Task 4"));
    assert_eq!(d.processes[1].lanes.len(), 2);
}

/// A census of what validation says about the corpora, for reviewing its messages by hand:
/// `cargo test -p baton-engine --test parse_corpus census -- --ignored --nocapture`.
#[test]
#[ignore]
fn census_of_parse_errors_and_problems() {
    let Some(root) = corpora() else {
        println!("skipped: ../shared/corpora not found");
        return;
    };
    let mut all = Vec::new();
    files(&root, &mut all);
    let mut kinds: std::collections::BTreeMap<String, (usize, String)> = Default::default();
    for f in &all {
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        let name = f.strip_prefix(&root).unwrap_or(f).display().to_string();
        match parse(&[(name.as_str(), text.as_str())]) {
            Err(e) => println!("parse error: {e}"),
            Ok(d) => {
                for p in baton_engine::validate(&d, &[]) {
                    // Group by the message with quoted names removed.
                    let key: String = p
                        .message
                        .split('\'')
                        .step_by(2)
                        .collect::<Vec<_>>()
                        .join("_");
                    let e = kinds
                        .entry(format!("{:?} {key}", p.severity))
                        .or_insert((0, String::new()));
                    e.0 += 1;
                    if std::env::var("CENSUS").is_ok_and(|k| p.message.contains(&k)) {
                        println!("{name}:{}:{} {}", p.line, p.column, p.message);
                    }
                    if e.1.is_empty() {
                        e.1 = format!("{name}:{}:{} {}", p.line, p.column, p.message);
                    }
                }
            }
        }
    }
    for (k, (n, example)) in kinds {
        println!("{n:5} {k}\n      e.g. {example}");
    }
}
