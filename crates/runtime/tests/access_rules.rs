//! Who sees and acts on which instance (docs/runtime.md "Who sees what"), over the real bus and
//! over real HTTP on 127.0.0.1.
//!
//! The cast: alice and ann in team RED, bob in team BLUE, carol in team GREEN, and the
//! administrator. Alice starts a `Review` whose user task is for team BLUE: alice reads and acts
//! on it (she started it), ann too (a teammate started it), bob reads it and submits its task
//! (a task he may work on) but may not cancel it, carol sees nothing of it: to her it is
//! answered exactly as an instance that does not exist.

use baton_runtime::{Caller, Reply};
use baton_testkit::models::calc;
use baton_testkit::{Door, Model, Served, ADMIN};
use serde_json::{json, Value};

/// `Review`: one user task for team BLUE, then the end.
fn review() -> String {
    Model::process("Review")
        .start("s")
        .user_task("Check")
        .props(&[("ResponsibleTeam", "BLUE")])
        .end("e")
        .chain(&["s", "Check", "e"])
        .xml()
}

/// `Pay`: a webhook-mode receive task keyed by `ref`.
fn pay() -> String {
    Model::process("Pay")
        .start("s")
        .receive_task("Wait")
        .props(&[("correlationKey", "context.ref")])
        .end("e")
        .chain(&["s", "Wait", "e"])
        .xml()
}

/// `Later`: an intermediate timer an hour away.
fn later() -> String {
    Model::process("Later")
        .start("s")
        .catch_timer("Wait", "timeDuration", "PT1H")
        .end("e")
        .chain(&["s", "Wait", "e"])
        .xml()
}

/// `Hello`: started by message `Hello`, then waits for message `Bye`.
fn hello() -> String {
    Model::process("Hello")
        .message("MH", "Hello")
        .message("MB", "Bye")
        .start_message("s", "MH")
        .catch_message("WaitBye", "MB")
        .end("e")
        .chain(&["s", "WaitBye", "e"])
        .xml()
}

struct Cast {
    door: Door,
    alice: Caller,
    ann: Caller,
    bob: Caller,
    carol: Caller,
    tokens: Tokens,
}

struct Tokens {
    alice: String,
    bob: String,
    carol: String,
}

fn cast() -> Cast {
    let door = Door::new();
    let alice = door.user("alice", &["RED"]);
    door.user("ann", &["RED"]);
    let bob = door.user("bob", &["BLUE"]);
    let carol = door.user("carol", &["GREEN"]);
    for model in [review(), pay(), calc(), later(), hello()] {
        door.t.deploy(&model);
    }
    let rt = &door.t.rt;
    let who = |name: &str| rt.acting_as(&Caller::owner(), name).unwrap();
    Cast {
        alice: who("alice"),
        ann: who("ann"),
        bob: who("bob"),
        carol: who("carol"),
        tokens: Tokens {
            alice: alice.token,
            bob: bob.token,
            carol: carol.token,
        },
        door,
    }
}

impl Cast {
    fn exec(&self, caller: &Caller, cmd: &str, data: Value) -> Reply {
        self.door.t.rt.execute_as(cmd, &data, caller)
    }

    fn ok(&self, caller: &Caller, cmd: &str, data: Value) -> Value {
        let r = self.exec(caller, cmd, data.clone());
        assert!(r.is_successful, "{cmd} {data} as {caller:?}: {r:?}");
        r.data
    }

    fn start(&self, caller: &Caller, key: &str, vars: Value, correlation: Option<&str>) -> String {
        let d = self.ok(
            caller,
            "StartProcessInstanceCommand",
            json!({"processKey": key, "variables": vars, "correlationId": correlation}),
        );
        d["instanceGuid"].as_str().unwrap().to_string()
    }

    /// The guids a list answer holds, by the field each item names its instance with.
    fn guids(&self, caller: &Caller, cmd: &str, data: Value, field: &str) -> Vec<String> {
        let d = self.ok(caller, cmd, data);
        let items = d.get("items").unwrap_or(&d).as_array().unwrap().clone();
        items
            .iter()
            .filter_map(|i| i[field].as_str().map(str::to_string))
            .collect()
    }
}

/// The refusal of an instance the caller may not read: word for word the answer for an
/// instance that does not exist.
fn assert_hidden(r: &Reply, guid: &str) {
    assert!(!r.is_successful, "{r:?}");
    assert_eq!(r.code, Some(baton_runtime::Code::NotFound), "{r:?}");
    let errors = serde_json::to_value(&r.errors).unwrap();
    assert_eq!(
        errors,
        json!([{"field": "instanceGuid", "message": format!("no process instance '{guid}'")}]),
        "{r:?}"
    );
}

fn assert_forbidden(r: &Reply) {
    assert!(!r.is_successful, "{r:?}");
    assert_eq!(r.code, Some(baton_runtime::Code::Forbidden), "{r:?}");
}

#[test]
fn an_instance_is_read_by_its_starter_their_team_the_task_workers_and_administrators() {
    let c = cast();
    let guid = c.start(
        &c.alice,
        "Review",
        json!({"ssn": "123-45-6789"}),
        Some("REV-1"),
    );
    let by_id = json!({"instanceGuid": guid});
    for (who, caller) in [
        ("alice", &c.alice),
        ("ann", &c.ann),
        ("bob", &c.bob),
        ("admin", &Caller::owner()),
    ] {
        let d = c.ok(caller, "GetProcessInstanceByIdQuery", by_id.clone());
        assert_eq!(d["variables"]["ssn"], "123-45-6789", "{who}");
        let h = c.ok(caller, "GetInstanceHistoryQuery", by_id.clone());
        assert!(!h.as_array().unwrap().is_empty(), "{who}");
        // The form itself is for team BLUE (seed 002: ResponsibleTeam holds when loading too):
        // alice and ann read the instance but may not load its form.
        if who == "alice" || who == "ann" {
            for data in [by_id.clone(), json!({"correlationId": "REV-1"})] {
                let r = c.exec(caller, "GetTaskFormQuery", data);
                assert_forbidden(&r);
                assert_eq!(r.data["status"], "FORBIDDEN", "{who}");
            }
            continue;
        }
        let f = c.ok(caller, "GetTaskFormQuery", by_id.clone());
        assert_eq!(f["context"]["ssn"], "123-45-6789", "{who}");
        let f = c.ok(
            caller,
            "GetTaskFormQuery",
            json!({"correlationId": "REV-1"}),
        );
        assert_eq!(f["metadata"]["instanceGuid"], guid.as_str(), "{who}");
    }
    // Carol: exactly what a guid nobody ever started gets.
    let missing = "00000000-0000-7000-8000-000000000000";
    for g in [guid.as_str(), missing] {
        let id = json!({"instanceGuid": g});
        assert_hidden(
            &c.exec(&c.carol, "GetProcessInstanceByIdQuery", id.clone()),
            g,
        );
        assert_hidden(&c.exec(&c.carol, "GetInstanceHistoryQuery", id.clone()), g);
        assert_hidden(&c.exec(&c.carol, "GetTaskFormQuery", id.clone()), g);
    }
    // The form context by correlation id: the same answer as an unknown id, no variables.
    let hidden = c.exec(
        &c.carol,
        "GetTaskFormQuery",
        json!({"correlationId": "REV-1"}),
    );
    let unknown = c.exec(
        &c.carol,
        "GetTaskFormQuery",
        json!({"correlationId": "REV-9"}),
    );
    assert_eq!(
        hidden.code,
        Some(baton_runtime::Code::NotFound),
        "{hidden:?}"
    );
    assert_eq!(
        hidden.errors[0].message.replace("REV-1", "REV-9"),
        unknown.errors[0].message
    );
    assert!(!format!("{hidden:?}").contains("123-45-6789"));
}

#[test]
fn only_the_starter_their_team_and_administrators_cancel_or_retry() {
    let c = cast();
    let review = c.start(&c.alice, "Review", json!({}), None);
    let id = json!({"instanceGuid": review});
    // Carol cannot see it; bob sees it through his task but may not cancel it.
    assert_hidden(
        &c.exec(&c.carol, "CancelProcessInstanceCommand", id.clone()),
        &review,
    );
    assert_forbidden(&c.exec(&c.bob, "CancelProcessInstanceCommand", id.clone()));
    assert_eq!(
        c.ok(&c.alice, "GetProcessInstanceByIdQuery", id.clone())["status"],
        "WAITING"
    );
    // Ann, alice's teammate, may.
    let d = c.ok(&c.ann, "CancelProcessInstanceCommand", id.clone());
    assert_eq!(d["status"], "CANCELLED");

    // Retry: an incident in alice's instance.
    let calc = c.start(&c.alice, "Calc", json!({"amount": 500}), None);
    let retry = json!({"instanceGuid": calc, "variables": {"amount": 5}});
    assert_hidden(
        &c.exec(&c.carol, "RetryIncidentCommand", retry.clone()),
        &calc,
    );
    assert_hidden(
        &c.exec(&c.bob, "RetryIncidentCommand", retry.clone()),
        &calc,
    );
    let d = c.ok(&c.alice, "RetryIncidentCommand", retry);
    assert_eq!(d["status"], "COMPLETED");

    // An administrator cancels anyone's instance.
    let other = c.start(&c.bob, "Review", json!({}), None);
    let d = c.ok(
        &Caller::owner(),
        "CancelProcessInstanceCommand",
        json!({"instanceGuid": other}),
    );
    assert_eq!(d["status"], "CANCELLED");
}

#[test]
fn a_task_is_submitted_by_who_may_work_on_it_and_never_through_a_hidden_instance() {
    let c = cast();
    let guid = c.start(&c.alice, "Review", json!({}), None);
    let submit = json!({"instanceGuid": guid, "callbackData": {"ok": true}});
    assert_hidden(
        &c.exec(&c.carol, "SignalProcessInstanceCommand", submit.clone()),
        &guid,
    );
    // Alice started it but the task is BLUE's: the task's own rule refuses her.
    assert_forbidden(&c.exec(&c.alice, "SignalProcessInstanceCommand", submit.clone()));
    let d = c.ok(&c.bob, "SignalProcessInstanceCommand", submit);
    assert_eq!(d["status"], "COMPLETED");
    // With the task done, bob has no more business with it.
    assert_hidden(
        &c.exec(
            &c.bob,
            "GetProcessInstanceByIdQuery",
            json!({"instanceGuid": guid}),
        ),
        &guid,
    );
    assert_eq!(
        c.ok(
            &c.alice,
            "GetProcessInstanceByIdQuery",
            json!({"instanceGuid": guid})
        )["status"],
        "COMPLETED"
    );
}

#[test]
fn lists_hold_only_what_the_caller_may_read() {
    let c = cast();
    let alices = c.start(&c.alice, "Review", json!({}), None);
    let anns = c.start(&c.ann, "Calc", json!({"amount": 500}), None);
    let carols = c.start(&c.carol, "Pay", json!({"ref": "P-1"}), None);
    let carol_timer = c.start(&c.carol, "Later", json!({}), None);
    let owners = c.start(&Caller::owner(), "Pay", json!({"ref": "P-2"}), None);
    let list = |caller: &Caller| {
        let mut g = c.guids(
            caller,
            "GetProcessInstanceListQuery",
            json!({}),
            "instanceGuid",
        );
        g.sort();
        g
    };
    let sorted = |mut v: Vec<&String>| {
        v.sort();
        v.into_iter().cloned().collect::<Vec<_>>()
    };
    assert_eq!(list(&c.alice), sorted(vec![&alices, &anns]));
    assert_eq!(list(&c.ann), sorted(vec![&alices, &anns]));
    assert_eq!(
        list(&c.bob),
        vec![alices.clone()],
        "bob: his BLUE task only"
    );
    assert_eq!(list(&c.carol), sorted(vec![&carols, &carol_timer]));
    assert_eq!(
        list(&Caller::owner()),
        sorted(vec![&alices, &anns, &carols, &carol_timer, &owners])
    );
    // totalCount counts what the caller may read, and filters still apply.
    let d = c.ok(
        &c.alice,
        "GetProcessInstanceListQuery",
        json!({"pageSize": 1}),
    );
    assert_eq!(d["totalCount"], 2);
    assert_eq!(d["items"].as_array().unwrap().len(), 1);
    let d = c.ok(
        &c.carol,
        "GetProcessInstanceListQuery",
        json!({"processKey": "Review"}),
    );
    assert_eq!(d["totalCount"], 0);

    // Incidents: ann's, seen by RED, not by carol.
    let inc = |caller: &Caller| c.guids(caller, "GetIncidentListQuery", json!({}), "instanceGuid");
    assert_eq!(inc(&c.alice), vec![anns.clone()]);
    assert!(inc(&c.carol).is_empty());
    assert_eq!(inc(&Caller::owner()), vec![anns.clone()]);

    // Callback rows: carol's and the owner's instances.
    let cb = |caller: &Caller, data: Value| {
        c.guids(
            caller,
            "GetCallbackRegistryListQuery",
            data,
            "ParentInstanceId",
        )
    };
    assert_eq!(cb(&c.carol, json!({})), vec![carols.clone()]);
    assert!(cb(&c.alice, json!({})).is_empty());
    assert!(
        cb(&c.alice, json!({"instanceGuid": carols})).is_empty(),
        "filters, never fails"
    );
    assert_eq!(
        cb(&Caller::owner(), json!({})),
        vec![carols.clone(), owners.clone()]
    );

    // Timers: carol's instance timer is hers alone.
    let timers =
        |caller: &Caller, data: Value| c.guids(caller, "GetTimerListQuery", data, "instanceGuid");
    assert_eq!(
        timers(&c.carol, json!({"kind": "instance"})),
        vec![carol_timer.clone()]
    );
    assert!(timers(&c.alice, json!({"kind": "instance"})).is_empty());
    assert!(timers(&c.alice, json!({"instanceGuid": carol_timer})).is_empty());
    assert_eq!(
        timers(&Caller::owner(), json!({"kind": "instance"})),
        vec![carol_timer.clone()]
    );

    // The inbox stays what each may work on.
    let inbox = |caller: &Caller| c.guids(caller, "GetTaskListQuery", json!({}), "instanceGuid");
    assert_eq!(inbox(&c.bob), vec![alices.clone()]);
    assert!(inbox(&c.alice).is_empty());
    assert!(inbox(&c.carol).is_empty());
    assert!(
        c.guids(
            &Caller::anonymous(),
            "GetTaskListQuery",
            json!({}),
            "instanceGuid"
        )
        .is_empty(),
        "nobody signed in: only tasks open to everyone"
    );
}

#[test]
fn the_message_buffer_shows_a_user_only_what_reached_their_instances() {
    let c = cast();
    // Carol's message starts her instance; a buffered one waits for nobody yet.
    let d = c.ok(
        &c.carol,
        "CorrelateMessageCommand",
        json!({"messageName": "Hello", "correlationKey": "K1"}),
    );
    let hers = d["instanceGuid"]
        .as_str()
        .expect("a started instance")
        .to_string();
    assert_eq!(
        c.ok(
            &c.carol,
            "GetProcessInstanceByIdQuery",
            json!({"instanceGuid": hers})
        )["status"],
        "WAITING",
        "who sent the starting message started the instance"
    );
    c.ok(
        &c.alice,
        "CorrelateMessageCommand",
        json!({"messageName": "Nobody", "correlationKey": "K2", "ttlSeconds": 600, "variables": {"secret": 1}}),
    );
    c.ok(
        &c.alice,
        "CorrelateMessageCommand",
        json!({"messageName": "Bye", "correlationKey": "K1", "ttlSeconds": 600}),
    );
    let buffer = |caller: &Caller| {
        c.ok(caller, "GetMessageBufferListQuery", json!({}))["items"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(
        buffer(&Caller::owner()),
        1,
        "only the unclaimed message is buffered"
    );
    assert_eq!(
        buffer(&c.alice),
        0,
        "a buffered message is no user's to read"
    );
    assert_eq!(buffer(&c.carol), 0);
}

#[test]
fn registry_rows_carry_a_snapshot_not_the_engine_state() {
    let c = cast();
    let guid = c.start(&c.carol, "Pay", json!({"ref": "P-7", "note": "x"}), None);
    let d = c.ok(
        &c.carol,
        "GetCallbackRegistryListQuery",
        json!({"instanceGuid": guid}),
    );
    let rows = d.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{d}");
    let state = rows[0]["ParentProcessState"]
        .as_str()
        .expect("a string, as seed 002 says");
    let state: Value = serde_json::from_str(state).unwrap();
    assert_eq!(
        state,
        json!({"status": "WAITING", "variables": {"ref": "P-7", "note": "x", "InitiatedBy": "carol"}})
    );
    for internal in ["tokens", "scopes", "model", "subs"] {
        assert!(state.get(internal).is_none(), "{internal} in {state}");
    }
    // The administrator gets the same reduced snapshot.
    let d = c.ok(
        &Caller::owner(),
        "GetCallbackRegistryListQuery",
        json!({"instanceGuid": guid}),
    );
    assert_eq!(d[0]["ParentProcessState"], rows[0]["ParentProcessState"]);
}

#[test]
fn an_administrator_acting_as_a_user_has_only_their_sight() {
    let c = cast();
    let guid = c.start(&c.alice, "Review", json!({}), None);
    let as_carol = c.door.t.rt.acting_as(&Caller::owner(), "carol").unwrap();
    assert_hidden(
        &c.exec(
            &as_carol,
            "GetProcessInstanceByIdQuery",
            json!({"instanceGuid": guid}),
        ),
        &guid,
    );
    let as_ann = c.door.t.rt.acting_as(&Caller::owner(), "ann").unwrap();
    c.ok(
        &as_ann,
        "GetProcessInstanceByIdQuery",
        json!({"instanceGuid": guid}),
    );
}

#[test]
fn a_team_grant_follows_current_membership() {
    let c = cast();
    let guid = c.start(&c.alice, "Calc", json!({"amount": 500}), None);
    let id = json!({"instanceGuid": guid});
    assert_hidden(
        &c.exec(&c.carol, "GetProcessInstanceByIdQuery", id.clone()),
        &guid,
    );
    c.door.t.run(
        "AddUserToTeamCommand",
        json!({"userName": "carol", "team": "RED"}),
    );
    let carol = c.door.t.rt.acting_as(&Caller::owner(), "carol").unwrap();
    c.ok(&carol, "GetProcessInstanceByIdQuery", id.clone());
    c.door.t.run(
        "RemoveUserFromTeamCommand",
        json!({"userName": "alice", "team": "RED"}),
    );
    let carol = c.door.t.rt.acting_as(&Caller::owner(), "carol").unwrap();
    assert_hidden(&c.exec(&carol, "GetProcessInstanceByIdQuery", id), &guid);
}

// ----- paging ---------------------------------------------------------------------------------

/// Every paged listing, and whether it is for administrators.
const LISTINGS: &[&str] = &[
    "GetProcessDefinitionListQuery",
    "GetProcessInstanceListQuery",
    "GetTaskListQuery",
    "GetTimerListQuery",
    "GetWebHookConfigListQuery",
    "GetWebhookRequestListQuery",
    "GetDeliveryListQuery",
];

fn field_error(r: &Reply) -> (String, String) {
    assert!(!r.is_successful, "{r:?}");
    assert_eq!(r.code, Some(baton_runtime::Code::Invalid), "{r:?}");
    let e = r.errors.first().expect("a field error");
    (e.field.clone(), e.message.clone())
}

#[test]
fn huge_page_numbers_and_sizes_are_field_errors_in_every_listing() {
    let c = cast();
    let admin = Caller::owner();
    for cmd in LISTINGS {
        for huge in [
            json!(i64::MAX),
            json!(u64::MAX),
            json!(1e300),
            json!(9_223_372_036_854_775_807_i64 / 20 + 1),
            json!(1_000_001),
        ] {
            let r = c.exec(&admin, cmd, json!({"pageNumber": huge, "pageSize": 20}));
            assert_eq!(
                field_error(&r),
                (
                    "pageNumber".into(),
                    "pageNumber must be at most 1000000".into()
                ),
                "{cmd} pageNumber {huge}"
            );
        }
        let r = c.exec(&admin, cmd, json!({"pageSize": 1001}));
        assert_eq!(
            field_error(&r),
            ("pageSize".into(), "pageSize must be at most 1000".into()),
            "{cmd}"
        );
        for bad in [json!(0), json!(-1), json!("x"), json!(1.5)] {
            let r = c.exec(&admin, cmd, json!({"pageNumber": bad}));
            assert_eq!(
                field_error(&r),
                (
                    "pageNumber".into(),
                    "pageNumber must be a whole number, 1 or more".into()
                ),
                "{cmd} {bad}"
            );
        }
        // The largest page of the largest size is an empty page, not an error or a wrap.
        let r = c.exec(
            &admin,
            cmd,
            json!({"pageNumber": 1_000_000, "pageSize": 1000}),
        );
        assert!(r.is_successful, "{cmd}: {r:?}");
    }
}

// ----- over HTTP --------------------------------------------------------------------------------

#[test]
fn over_http_a_hidden_instance_is_not_found_and_a_forbidden_act_is_403() {
    let c = cast();
    let guid = c.start(&c.alice, "Review", json!({"ssn": "123-45-6789"}), None);
    let served = Served::start(c.door.st.clone());
    let id = json!({"instanceGuid": guid});
    let t = &c.tokens;

    let (status, body) = served.exec(&t.carol, "GetProcessInstanceByIdQuery", id.clone());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["isSuccessful"], false);
    assert_eq!(body["code"], "NOT_FOUND");
    assert!(!body.to_string().contains("123-45-6789"));
    let (status, body) = served.exec(&t.carol, "GetTaskFormQuery", id.clone());
    assert_eq!(
        (status, body["code"].clone()),
        (200, json!("NOT_FOUND")),
        "{body}"
    );
    let (status, body) = served.exec(&t.carol, "CancelProcessInstanceCommand", id.clone());
    assert_eq!(
        (status, body["code"].clone()),
        (200, json!("NOT_FOUND")),
        "{body}"
    );

    // Bob may read it (his task) but not cancel it: 403 on both command doors.
    let (status, body) = served.exec(&t.bob, "GetProcessInstanceByIdQuery", id.clone());
    assert_eq!(status, 200);
    assert_eq!(body["data"]["variables"]["ssn"], "123-45-6789");
    let (status, body) = served.exec(&t.bob, "CancelProcessInstanceCommand", id.clone());
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "FORBIDDEN");
    let (status, body) = served.post(
        "/api/bpm/cmd",
        Some(&t.bob),
        &json!({"$type": "CancelProcessInstanceCommand", "instanceGuid": guid}),
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["success"], false);

    // Lists over HTTP: carol's is empty, alice's holds hers, the administrator's too.
    let count = |token: &str| {
        let (status, body) = served.exec(token, "GetProcessInstanceListQuery", json!({}));
        assert_eq!(status, 200, "{body}");
        body["data"]["totalCount"].as_i64().unwrap()
    };
    assert_eq!(count(&t.carol), 0);
    assert_eq!(count(&t.alice), 1);
    assert_eq!(count(ADMIN), 1);

    // The instance is untouched by the refusals, and its starter cancels it.
    let (_, body) = served.exec(&t.alice, "CancelProcessInstanceCommand", id);
    assert_eq!(body["data"]["status"], "CANCELLED", "{body}");

    // A huge page number over HTTP: 200 with the field named, never a wrap or a 500.
    let (status, body) = served.exec(
        &t.alice,
        "GetProcessInstanceListQuery",
        json!({"pageNumber": i64::MAX}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["errors"][0]["field"], "pageNumber");
}

/// Reads Server-Sent Events until an `instance` event arrives; answers its data.
fn next_instance_event(lines: &mut impl std::io::BufRead) -> Value {
    let mut named = false;
    loop {
        let mut line = String::new();
        let n = lines.read_line(&mut line).expect("the stream is readable");
        assert!(n > 0, "the event stream ended before an instance event");
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(event) = line.strip_prefix("event: ") {
            named = event == "instance";
        } else if let Some(data) = line.strip_prefix("data: ") {
            if named {
                return serde_json::from_str(data).expect("the data is JSON");
            }
        }
    }
}

#[test]
fn the_change_feed_carries_only_the_instances_the_caller_may_read() {
    let c = cast();
    let served = Served::start(c.door.st.clone());
    let stream = baton_testkit::agent()
        .get(&served.url("/api/v1/events"))
        .set("Authorization", &format!("Bearer {}", c.tokens.carol))
        .call()
        .expect("carol may open the feed");
    let mut lines = std::io::BufReader::new(stream.into_reader());
    // Alice's instance is committed (and published) first; carol may not read it, so the
    // first change carol's feed carries is her own.
    let hidden = c.start(&c.alice, "Calc", json!({"amount": 1}), None);
    let own = c.start(&c.carol, "Calc", json!({"amount": 2}), None);
    let event = next_instance_event(&mut lines);
    assert_eq!(event["instanceGuid"], own.as_str(), "{event}");
    assert_ne!(event["instanceGuid"], hidden.as_str());
}
