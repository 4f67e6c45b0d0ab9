//! `--limits FILE.json` on `baton lint`, `simulate`, `test` and `bench`: the model runs (and is
//! checked) under the limits the file gives, and a bad file is refused naming the field.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NS: &str = r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL""#;

/// A multi-instance task run 50 times (a fixed value lint checks) and a diagram loop that
/// counts `i` to `upto` (about 600 steps for 200).
fn models(dir: &Path) -> (PathBuf, PathBuf) {
    let many = format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d"><bpmn:process id="Many" isExecutable="true"><bpmn:startEvent id="s"/><bpmn:task id="each"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>50</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:task><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="each"/><bpmn:sequenceFlow id="f2" sourceRef="each" targetRef="e"/></bpmn:process></bpmn:definitions>"#
    );
    let count = format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d"><bpmn:process id="Count" isExecutable="true"><bpmn:startEvent id="s"/><bpmn:scriptTask id="inc" scriptFormat="rhai"><bpmn:script>i = i + 1;</bpmn:script></bpmn:scriptTask><bpmn:exclusiveGateway id="gw"/><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="inc"/><bpmn:sequenceFlow id="f2" sourceRef="inc" targetRef="gw"/><bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="inc"><bpmn:conditionExpression>${{i &lt; upto}}</bpmn:conditionExpression></bpmn:sequenceFlow><bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="e"><bpmn:conditionExpression>${{i &gt;= upto}}</bpmn:conditionExpression></bpmn:sequenceFlow></bpmn:process></bpmn:definitions>"#
    );
    let (a, b) = (dir.join("many.bpmn"), dir.join("count.bpmn"));
    std::fs::write(&a, many).unwrap();
    std::fs::write(&b, count).unwrap();
    (a, b)
}

fn baton(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .output()
        .expect("baton runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.display().to_string()
}

#[test]
fn lint_checks_against_the_limits_the_file_gives() {
    let dir = tempfile::tempdir().unwrap();
    let (many, _) = models(dir.path());
    let many = many.display().to_string();
    let out = baton(&["lint", &many]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let small = write(dir.path(), "small.json", r#"{"maxCardinality": 10}"#);
    let out = baton(&["lint", "--limits", &small, &many]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("each"), "{}", text(&out));
    assert!(text(&out).contains("10"), "{}", text(&out));
}

#[test]
fn simulate_test_and_bench_run_under_the_limits_the_file_gives() {
    let dir = tempfile::tempdir().unwrap();
    let (_, count) = models(dir.path());
    let count = count.display().to_string();
    let vars = r#"{"i": 0, "upto": 200}"#;
    let out = baton(&["simulate", &count, "--vars", vars, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["state"], "COMPLETED", "{v}");

    let tight = write(dir.path(), "tight.json", r#"{"maxSteps": 100}"#);
    let out = baton(&[
        "simulate", &count, "--vars", vars, "--json", "--limits", &tight,
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["state"], "FAILED", "{v}");
    assert!(v.to_string().contains("after 100 steps"), "{v}");

    // A scenario run by `baton test` under the same file.
    write(
        dir.path(),
        "count.scenario.json",
        r#"{"variables": {"i": 0, "upto": 200}, "expect": {"state": "COMPLETED"}}"#,
    );
    let scenario = dir.path().join("count.scenario.json");
    let scenario = scenario.display().to_string();
    let out = baton(&["test", &scenario]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = baton(&["test", "--limits", &tight, &scenario]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // bench: every instance ends FAILED under the tight budget, COMPLETED without it.
    let out = baton(&[
        "bench",
        &count,
        "--vars",
        vars,
        "--instances",
        "3",
        "--json",
        "--limits",
        &tight,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["state"], "FAILED", "{v}");
}

#[test]
fn a_bad_limits_file_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let (many, _) = models(dir.path());
    let many = many.display().to_string();
    for (body, needle) in [
        (r#"{"maxSteps": 0}"#, "maxSteps"),
        (r#"{"maxCardinality": "lots"}"#, "maxCardinality"),
        (r#"{"maxStep": 10}"#, "unknown limit 'maxStep'"),
        (r#"[1, 2]"#, "JSON object"),
        ("{not json", "not JSON"),
    ] {
        let f = write(dir.path(), "bad.json", body);
        for cmd in ["lint", "simulate"] {
            let out = baton(&[cmd, "--limits", &f, &many]);
            assert_eq!(out.status.code(), Some(2), "{cmd} {body}: {}", text(&out));
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(err.contains("bad.json"), "{cmd} {body}: {err}");
            assert!(err.contains(needle), "{cmd} {body}: {err}");
        }
    }
}
