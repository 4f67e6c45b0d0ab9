//! The writer's own thread (`baton-writer`), which leads the group commit for async tasks,
//! starts with the first async commands that need it and ends soon after its runtime is
//! dropped: an embedding that opens and drops runtimes does not collect threads. Alone in its
//! file, so that no other test's runtime starts such a thread meanwhile.

use baton_runtime::Caller;
use baton_testkit::{Model, TestRuntime};
use serde_json::json;
use std::time::{Duration, Instant};

/// How many threads of this process are named `baton-writer`.
fn writers() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(Result::ok)
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|name| name.trim() == "baton-writer")
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn the_writer_thread_starts_for_concurrent_tasks_and_ends_with_its_runtime() {
    if !std::path::Path::new("/proc/self/task").exists() {
        eprintln!("skipped: this system has no /proc/self/task to count threads in");
        return;
    }
    assert_eq!(writers(), 0);
    let tr = TestRuntime::new();
    tr.deploy(
        &Model::process("P")
            .start("s")
            .user_task("t")
            .end("e")
            .chain(&["s", "t", "e"])
            .xml(),
    );
    let tasks = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let rt = tr.rt.clone();
    tasks.block_on(async {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let rt = rt.clone();
                tokio::spawn(async move {
                    let start = json!({"processKey": "P"});
                    for _ in 0..10 {
                        let r = rt
                            .execute_async("StartProcessInstanceCommand", &start, &Caller::owner())
                            .await;
                        assert!(r.is_successful, "{r:?}");
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
    });
    assert_eq!(writers(), 1, "16 tasks at once share the writer's thread");
    let listed = tr.run("GetProcessInstanceListQuery", json!({"processKey": "P"}));
    assert_eq!(listed["totalCount"], 160, "{listed}");
    drop(rt);
    drop(tr);
    let since = Instant::now();
    while writers() > 0 && since.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(writers(), 0, "the thread outlived its runtime");
}
