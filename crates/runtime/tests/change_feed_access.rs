//! The change feed (`GET /api/v1/events`) of a non-administrator, over real HTTP on 127.0.0.1:
//! it carries exactly the changes of the instances its caller may read (started by them or a
//! current teammate, or with an open form task for them), follows a task as it is assigned
//! and closed and a team as it gains and loses members, and asks the store once per instance
//! it meets rather than once per change.
//!
//! Each "not shown" is checked by a change the caller may see made right after it: the next
//! event the feed carries must be that one.

use baton_runtime::Caller;
use baton_testkit::{Door, Model, Served};
use serde_json::{json, Value};
use std::io::BufRead;

/// Three user tasks in a row, each for the user named.
fn steps(key: &str, who: [&str; 3]) -> String {
    Model::process(key)
        .start("s")
        .user_task("T1")
        .props(&[("ResponsibleUser", who[0])])
        .user_task("T2")
        .props(&[("ResponsibleUser", who[1])])
        .user_task("T3")
        .props(&[("ResponsibleUser", who[2])])
        .end("e")
        .chain(&["s", "T1", "T2", "T3", "e"])
        .xml()
}

struct Feed {
    lines: Box<dyn BufRead>,
}

impl Feed {
    /// The next `instance` event: (guid, status).
    fn next(&mut self) -> (String, String) {
        let mut named = false;
        loop {
            let mut line = String::new();
            let n = self
                .lines
                .read_line(&mut line)
                .expect("the stream is readable");
            assert!(n > 0, "the event stream ended");
            let line = line.trim_end_matches(['\r', '\n']);
            if let Some(event) = line.strip_prefix("event: ") {
                named = event == "instance";
            } else if let Some(data) = line.strip_prefix("data: ") {
                if named {
                    let v: Value = serde_json::from_str(data).expect("JSON");
                    return (
                        v["instanceGuid"].as_str().unwrap().into(),
                        v["status"].as_str().unwrap().into(),
                    );
                }
            }
        }
    }

    fn expect(&mut self, guid: &str, what: &str) {
        let (got, status) = self.next();
        assert_eq!(got, guid, "{what} (status {status})");
    }
}

struct World {
    door: Door,
    bob: Caller,
    carol: Caller,
    admin: Caller,
}

impl World {
    fn start(&self, who: &Caller, key: &str) -> String {
        let r = self.door.t.rt.execute_as(
            "StartProcessInstanceCommand",
            &json!({"processKey": key}),
            who,
        );
        assert!(r.is_successful, "{r:?}");
        r.data["instanceGuid"].as_str().unwrap().into()
    }

    /// Submits the instance's open task as the administrator.
    fn submit(&self, guid: &str) {
        let r = self.door.t.rt.execute_as(
            "SignalProcessInstanceCommand",
            &json!({"instanceGuid": guid, "callbackData": {}}),
            &self.admin,
        );
        assert!(r.is_successful, "{r:?}");
    }

    fn team(&self, cmd: &str, user: &str) {
        let r =
            self.door
                .t
                .rt
                .execute_as(cmd, &json!({"userName": user, "team": "BLUE"}), &self.admin);
        assert!(r.is_successful, "{r:?}");
    }

    fn reads(&self) -> u64 {
        self.door.t.rt.change_feed_reads()
    }
}

#[test]
fn a_feed_carries_exactly_what_its_caller_may_read() {
    let door = Door::new();
    let bob_user = door.user("bob", &["BLUE"]);
    door.user("carol", &["BLUE"]);
    door.user("zed", &["RED"]);
    door.t.deploy(&steps("Others", ["zed", "zed", "zed"]));
    door.t.deploy(&steps("Handoff", ["zed", "bob", "zed"]));
    let rt = &door.t.rt;
    let who = |name: &str| rt.acting_as(&Caller::owner(), name).unwrap();
    let w = World {
        bob: who("bob"),
        carol: who("carol"),
        admin: Caller::owner(),
        door,
    };
    let served = Served::start(w.door.st.clone());
    let stream = baton_testkit::agent()
        .get(&served.url("/api/v1/events"))
        .set("Authorization", &format!("Bearer {}", bob_user.token))
        .call()
        .expect("bob may open the feed");
    let mut feed = Feed {
        lines: Box::new(std::io::BufReader::new(stream.into_reader())),
    };

    // Started by someone outside the team: not shown. His own and a teammate's: shown.
    let hidden = w.start(&w.admin, "Others");
    let own = w.start(&w.bob, "Others");
    feed.expect(
        &own,
        "bob's own start comes first: the administrator's was left out",
    );
    let mate = w.start(&w.carol, "Others");
    feed.expect(&mate, "a teammate's start");
    let met = w.reads();
    assert_eq!(met, 3, "one read per instance met");

    // Further changes of instances already met: decided without the store.
    w.submit(&hidden);
    w.submit(&mate);
    feed.expect(
        &mate,
        "a teammate's instance moved on; the hidden one stays hidden",
    );
    w.submit(&own);
    feed.expect(&own, "bob's own instance moved on");
    assert_eq!(w.reads(), met, "no read for instances already met");

    // A task assigned to bob opens an instance to him; closing it closes the instance again.
    let reads = w.reads();
    let handoff = w.start(&w.admin, "Handoff");
    w.submit(&handoff); // T2 is bob's now
    feed.expect(&handoff, "a task for bob shows the instance");
    w.submit(&handoff); // T3 is zed's
    w.submit(&own);
    feed.expect(
        &own,
        "once bob's task is done, the instance is hidden again",
    );
    assert_eq!(
        w.reads(),
        reads + 1,
        "the handoff was read once, at its start"
    );

    // Carol leaves the team: her instances are hidden at once, though the feed had met them.
    w.team("RemoveUserFromTeamCommand", "carol");
    let before = w.reads();
    let late = w.start(&w.carol, "Others");
    w.submit(&mate); // T3 of carol's first instance
    w.submit(&own); // bob's own: the marker
    feed.expect(&own, "carol's instances are no longer shown once she left");
    assert_eq!(
        w.reads(),
        before + 3,
        "after a membership change each instance is read again, once"
    );

    // She comes back: her instances, old and new, are shown again.
    w.team("AddUserToTeamCommand", "carol");
    w.submit(&late);
    feed.expect(&late, "carol is a teammate again");
    w.submit(&mate);
    let (guid, status) = feed.next();
    assert_eq!(
        (guid.as_str(), status.as_str()),
        (mate.as_str(), "COMPLETED")
    );
    // The feed is closed before the server (declared after it): the server's stop waits for
    // open streams.
}
