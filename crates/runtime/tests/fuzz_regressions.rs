//! The fuzz targets' inputs replayed as ordinary tests, on stable: every file under
//! `fuzz/regressions/<target>/` (an input a fuzz run once crashed or hung on, kept after the
//! fix) and `fuzz/seeds/<target>/` goes through the same function the fuzz target calls
//! (fuzz/src/*.rs, included here), which panics when Baton misbehaves.
//!
//! Inputs of crashes not fixed yet wait in `fuzz/regressions/open/<target>/`; `open_crashes`
//! replays them (`cargo test -p baton-runtime --test fuzz_regressions -- --ignored`), and
//! whoever fixes one moves its file up into `fuzz/regressions/<target>/`.

#[path = "../../../fuzz/src/engine_side.rs"]
mod engine_side;
#[path = "../../../fuzz/src/runtime_side.rs"]
mod runtime_side;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files under `dir`, sorted (none when it does not exist).
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Runs every input of `target` found under `dirs`; fails naming each input that panicked.
/// Answers how many inputs ran.
fn replay(target: &str, dirs: &[&str], run: fn(&[u8])) -> usize {
    let mut failed = Vec::new();
    let mut count = 0;
    for dir in dirs {
        for file in inputs(&fuzz_dir().join(dir).join(target)) {
            let data = std::fs::read(&file).expect("a readable input");
            count += 1;
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                failed.push(file.display().to_string());
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: these inputs make Baton misbehave (the panic is printed above each):\n{}",
        failed.join("\n")
    );
    count
}

const KEPT: &[&str] = &["regressions", "seeds"];

#[test]
fn bpmn() {
    assert!(replay("bpmn", KEPT, engine_side::bpmn) > 0);
}

#[test]
fn script() {
    assert!(replay("script", KEPT, engine_side::script) > 0);
}

#[test]
fn scenario() {
    assert!(replay("scenario", KEPT, runtime_side::scenario) > 0);
}

#[test]
fn doors() {
    assert!(replay("doors", KEPT, runtime_side::doors) > 0);
}

#[test]
fn webhook_signatures() {
    assert!(replay("webhook_signatures", KEPT, runtime_side::webhook_signatures) > 0);
}

/// The fuzz targets keep one runtime for many inputs: every kept input of the doors and
/// webhook targets replayed in turn on shared runtimes, as a fuzzing process runs them.
#[test]
fn doors_and_webhooks_on_reused_runtimes() {
    assert!(replay("doors", KEPT, runtime_side::doors_reusing) > 0);
    assert!(
        replay(
            "webhook_signatures",
            KEPT,
            runtime_side::webhook_signatures_reusing
        ) > 0
    );
}

/// Crashes found by fuzzing whose fix belongs to another part of Baton and has not landed yet.
#[test]
#[ignore = "crashes waiting for their fix: fuzz/regressions/open"]
fn open_crashes() {
    let open = &["regressions/open"];
    replay("bpmn", open, engine_side::bpmn);
    replay("script", open, engine_side::script);
    replay("scenario", open, runtime_side::scenario);
    replay("doors", open, runtime_side::doors);
    replay("webhook_signatures", open, runtime_side::webhook_signatures);
}
