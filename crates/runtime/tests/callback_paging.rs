//! GetCallbackRegistryListQuery paged and filtered on the server (a real SQLite file): every page
//! of every filter is the slice of the whole filtered list it should be, newest first, with the
//! filtered count; without paging the answer is still the whole list, oldest first, as seed
//! 002's clients read it.

mod common;

use baton_testkit::{virtual_clock, Model};
use common::*;
use serde_json::{json, Value};

/// A process whose receive task waits on the callback key `context.ref`.
fn waits(key: &str) -> String {
    Model::process(key)
        .start("s")
        .receive_task("Pay")
        .props(&[("correlationKey", "context.ref")])
        .end("e")
        .chain(&["s", "Pay", "e"])
        .xml()
}

fn ids(rows: &Value) -> Vec<i64> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_i64().unwrap())
        .collect()
}

#[test]
fn pages_are_slices_of_the_filtered_list_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let t = open(&dir.path().join("t.db"), &virtual_clock());
    t.deploy(&waits("Orders"));
    t.deploy(&waits("Refunds"));
    // 24 orders and 8 refunds; every third order's callback is returned.
    let mut refs: Vec<(String, &str)> = Vec::new();
    for i in 0..32 {
        let (process, r) = if i % 4 == 3 {
            ("Refunds", format!("RF-{i:03}"))
        } else {
            ("Orders", format!("Pay-{i:03}"))
        };
        t.run(
            "StartProcessInstanceCommand",
            json!({"processKey": process, "variables": {"ref": r}}),
        );
        refs.push((r, process));
    }
    for (r, _) in refs.iter().filter(|(_, p)| *p == "Orders").step_by(3) {
        t.run(
            "ReturnCallbackCommand",
            json!({"correlationKey": r, "callbackData": {"ok": true}}),
        );
    }
    let all = t.run("GetCallbackRegistryListQuery", json!({}));
    let all_ids = ids(&all);
    assert_eq!(all_ids.len(), 32);
    assert!(all_ids.windows(2).all(|w| w[0] < w[1]), "oldest first");
    let process_of = |key: &str| refs.iter().find(|(r, _)| r == key).unwrap().1;

    // The oracle: the whole list filtered here, newest first.
    let expected = |f: &Value| -> Vec<i64> {
        let mut rows: Vec<&Value> = all
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| f.get("status").is_none_or(|s| r["Status"] == *s))
            .filter(|r| {
                f.get("processKey")
                    .is_none_or(|p| process_of(r["CorrelationKey"].as_str().unwrap()) == p)
            })
            .filter(|r| {
                f.get("correlationKey").is_none_or(|k| {
                    let key = r["CorrelationKey"].as_str().unwrap().to_lowercase();
                    key.contains(&k.as_str().unwrap().to_lowercase())
                })
            })
            .collect();
        rows.reverse();
        rows.iter().map(|r| r["Id"].as_i64().unwrap()).collect()
    };
    let filters = [
        json!({}),
        json!({"status": "Pending"}),
        json!({"status": "Completed"}),
        json!({"processKey": "Refunds"}),
        json!({"processKey": "Orders", "status": "Pending"}),
        json!({"correlationKey": "pay-01"}),
        json!({"correlationKey": "F-0"}),
        json!({"correlationKey": "%"}),
        json!({"correlationKey": "_"}),
        json!({"processKey": "Nobody"}),
    ];
    for f in filters {
        let want = expected(&f);
        for size in [1, 5, 20] {
            let pages = (want.len() as i64 + size - 1) / size;
            for number in 1..=pages.max(1) + 1 {
                let mut q = f.clone();
                q["pageNumber"] = json!(number);
                q["pageSize"] = json!(size);
                let page = t.run("GetCallbackRegistryListQuery", q.clone());
                assert_eq!(page["totalCount"], want.len(), "{q}");
                let from = ((number - 1) * size) as usize;
                let slice: Vec<i64> = want
                    .iter()
                    .copied()
                    .skip(from)
                    .take(size as usize)
                    .collect();
                assert_eq!(ids(&page["items"]), slice, "{q}");
            }
        }
    }
    // Either paging field alone asks for a page (the other takes its default: page 1 of 20).
    let p = t.run("GetCallbackRegistryListQuery", json!({"pageSize": 3}));
    assert_eq!(ids(&p["items"]), expected(&json!({}))[..3]);
    let p = t.run("GetCallbackRegistryListQuery", json!({"pageNumber": 2}));
    assert_eq!(ids(&p["items"]), expected(&json!({}))[20..]);
    // Bad paging names its field.
    for (q, field) in [
        (json!({"pageSize": 0}), "pageSize"),
        (json!({"pageNumber": -1}), "pageNumber"),
        (json!({"pageSize": "ten"}), "pageSize"),
    ] {
        t.field("GetCallbackRegistryListQuery", q, field);
    }
}
