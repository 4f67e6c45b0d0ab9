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
    let Ok(rd) = std::fs::read_dir(dir) else { return };
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
    assert!(all.len() > 100, "expected the corpora to hold hundreds of models, found {}", all.len());
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
                assert!(e.line >= 1 && e.column >= 1, "{name}: error without a position: {e}");
                assert!(!e.message.is_empty());
                if name.contains("miwg/reference") && name.ends_with(".bpmn") {
                    reference_failures.push(e.to_string());
                }
            }
        }
    }
    println!("corpus: {} files, {ok} parsed ({valid} valid and runnable), {errors} clear errors, {} panics", all.len(), panics.len());
    assert!(panics.is_empty(), "parser or validation panicked on: {panics:#?}");
    assert!(reference_failures.is_empty(), "MIWG reference models must parse: {reference_failures:#?}");
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
    let kinds: Vec<&str> = p.all_nodes.iter().map(|&n| d.node(n).kind.type_name()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "task").count(), 3, "{kinds:?}");
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
        assert!(rest.starts_with('<'), "span of {} points at {rest:?}", d.node(n).id);
        assert!(rest.contains(&d.node(n).id) || line.contains("id="), "{rest}");
    }
}

#[test]
fn camunda_exclusive_gateway_default_flow_is_resolved() {
    let Some(root) = corpora() else {
        println!("skipped: ../shared/corpora not found");
        return;
    };
    let path = root.join("camunda7/bpmn/gateway/ExclusiveGatewayTest.testDefaultSequenceFlow.bpmn20.xml");
    let text = std::fs::read_to_string(path).unwrap();
    let d = parse(&[("x", &text)]).unwrap();
    let gw = d.nodes.iter().find(|n| n.kind.type_name() == "exclusiveGateway").unwrap();
    let def = gw.default_flow.expect("default flow resolved");
    assert!(d.flow(def).condition.is_none(), "the default flow carries no condition");
    assert!(gw.outgoing.len() >= 3);
}
