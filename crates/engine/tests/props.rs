//! Properties of the executor over generated models and event sequences.
//!
//! A model is a structured process built from blocks: sequences, exclusive, parallel and
//! inclusive splits with their joins, embedded sub-processes, tasks, user tasks (some with an
//! interrupting timer boundary, some multi-instance), receive tasks (each with its own
//! correlation key and message), message catch events, timers and script tasks. Every join is
//! followed by a plain task (its *marker*), so how often a join fired is how often its marker
//! was entered. Then a random sequence of events is applied: completions and callbacks for
//! what waits and for what does not, messages, unknown signals, clock moves, variable changes,
//! retries and cancels. Finally whatever still waits is completed in turn.
//!
//! What must hold:
//! - `apply` never panics (a panic fails the case);
//! - the state reads back from its JSON as it was written, and names this model;
//! - a refused event (`Err`) leaves the instance byte for byte as it was;
//! - a parallel join fires exactly once per complete set of arrivals, and its marker follows
//!   each firing; an exclusive or inclusive join passes on exactly what its split sent in;
//! - an instance that waits has something to wait on (no token is stuck at a join);
//! - the instance completes once everything it waits for happened, and a completed instance
//!   holds no token, wait, subscription or timer.

mod common;

use baton_engine::{parse, Clock, Ctx, Effect, Engine, Event, Instance, Status, VirtualClock};
use common::NS;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

#[derive(Debug, Clone)]
enum Leaf {
    Task,
    User,
    Receive,
    Message,
    Timer(u8),
    Script,
    /// A user task with an interrupting timer boundary; both ways meet at an exclusive merge.
    UserOrTimeout(u8),
    /// A multi-instance user task: this many instances, one after the other or all at once.
    MultiUser {
        count: u8,
        sequential: bool,
    },
}

#[derive(Debug, Clone)]
enum Block {
    Leaf(Leaf),
    Seq(Vec<Block>),
    Xor(Vec<Block>),
    And(Vec<Block>),
    Or(Vec<Block>),
    /// An embedded sub-process around a block.
    Sub(Box<Block>),
}

fn block() -> impl Strategy<Value = Block> {
    let leaf = prop_oneof![
        Just(Leaf::Task),
        Just(Leaf::User),
        Just(Leaf::Receive),
        Just(Leaf::Message),
        (1u8..120).prop_map(Leaf::Timer),
        Just(Leaf::Script),
        (1u8..120).prop_map(Leaf::UserOrTimeout),
        (0u8..4, any::<bool>())
            .prop_map(|(count, sequential)| Leaf::MultiUser { count, sequential }),
    ]
    .prop_map(Block::Leaf);
    leaf.prop_recursive(3, 20, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Block::Seq),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Block::Xor),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Block::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Block::Or),
            inner.prop_map(|b| Block::Sub(Box::new(b))),
        ]
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum JoinKind {
    Exclusive,
    Parallel,
    Inclusive,
}

#[derive(Debug)]
struct Join {
    kind: JoinKind,
    split: String,
    join: String,
    marker: String,
    branches: usize,
}

/// The XML of a generated model and what the checks need to know about it.
#[derive(Default)]
struct Model {
    nodes: Vec<String>,
    flows: Vec<String>,
    decls: Vec<String>,
    joins: Vec<Join>,
    /// (correlation key, message name) of every receive task.
    receives: Vec<(String, String)>,
    /// Message names of the message catch events.
    catches: Vec<String>,
    n: usize,
}

impl Model {
    fn id(&mut self, prefix: &str) -> String {
        self.n += 1;
        format!("{prefix}{}", self.n)
    }

    fn flow(&mut self, from: &str, to: &str, cond: Option<&str>) -> String {
        let id = self.id("f");
        self.flows.push(match cond {
            None => format!(r#"<bpmn:sequenceFlow id="{id}" sourceRef="{from}" targetRef="{to}"/>"#),
            Some(c) => format!(
                r#"<bpmn:sequenceFlow id="{id}" sourceRef="{from}" targetRef="{to}"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{c}</bpmn:conditionExpression></bpmn:sequenceFlow>"#
            ),
        });
        id
    }

    /// Emits `b` after node `from` (the flow into it carries `cond`). Returns the id of that
    /// incoming flow and the block's last node.
    fn emit(&mut self, b: &Block, from: &str, cond: Option<&str>) -> (String, String) {
        match b {
            Block::Leaf(leaf) => {
                let (id, xml) = match leaf {
                    Leaf::Task => {
                        let id = self.id("t");
                        (id.clone(), format!(r#"<bpmn:task id="{id}"/>"#))
                    }
                    Leaf::User => {
                        let id = self.id("u");
                        (id.clone(), format!(r#"<bpmn:userTask id="{id}"/>"#))
                    }
                    Leaf::Receive => {
                        let id = self.id("r");
                        let (key, msg) = (format!("key_{id}"), format!("msg_{id}"));
                        self.receives.push((key.clone(), msg.clone()));
                        let xml = format!(
                            r#"<bpmn:receiveTask id="{id}"><bpmn:extensionElements><custom:properties><custom:property name="correlationKey" value="&quot;{key}&quot;"/><custom:property name="message" value="{msg}"/></custom:properties></bpmn:extensionElements></bpmn:receiveTask>"#
                        );
                        (id, xml)
                    }
                    Leaf::Message => {
                        let id = self.id("c");
                        let msg = format!("msg_{id}");
                        self.catches.push(msg.clone());
                        self.decls
                            .push(format!(r#"<bpmn:message id="M_{id}" name="{msg}"/>"#));
                        let xml = format!(
                            r#"<bpmn:intermediateCatchEvent id="{id}"><bpmn:messageEventDefinition messageRef="M_{id}"/></bpmn:intermediateCatchEvent>"#
                        );
                        (id, xml)
                    }
                    Leaf::Timer(minutes) => {
                        let id = self.id("w");
                        let xml = format!(
                            r#"<bpmn:intermediateCatchEvent id="{id}"><bpmn:timerEventDefinition><bpmn:timeDuration>PT{minutes}M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"#
                        );
                        (id, xml)
                    }
                    Leaf::Script => {
                        let id = self.id("s");
                        let xml = format!(
                            r#"<bpmn:scriptTask id="{id}" scriptFormat="rhai"><bpmn:script>x = x + 1;</bpmn:script></bpmn:scriptTask>"#
                        );
                        (id, xml)
                    }
                    Leaf::UserOrTimeout(minutes) => {
                        let user = self.id("u");
                        let late = self.id("b");
                        let merge = self.id("m");
                        self.nodes.push(format!(
                            r#"<bpmn:userTask id="{user}"/><bpmn:boundaryEvent id="{late}" attachedToRef="{user}"><bpmn:timerEventDefinition><bpmn:timeDuration>PT{minutes}M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:exclusiveGateway id="{merge}"/>"#
                        ));
                        let f = self.flow(from, &user, cond);
                        self.flow(&user, &merge, None);
                        self.flow(&late, &merge, None);
                        return (f, merge);
                    }
                    Leaf::MultiUser { count, sequential } => {
                        let id = self.id("u");
                        let xml = format!(
                            r#"<bpmn:userTask id="{id}"><bpmn:multiInstanceLoopCharacteristics isSequential="{sequential}"><bpmn:loopCardinality>{count}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"#
                        );
                        (id, xml)
                    }
                };
                self.nodes.push(xml);
                let f = self.flow(from, &id, cond);
                (f, id)
            }
            Block::Seq(items) => {
                let mut first = None;
                let mut at = from.to_string();
                for (i, item) in items.iter().enumerate() {
                    let (f, last) = self.emit(item, &at, if i == 0 { cond } else { None });
                    first.get_or_insert(f);
                    at = last;
                }
                (first.expect("a sequence has a block"), at)
            }
            Block::Sub(inner) => {
                let id = self.id("p");
                let start = self.id("ps");
                let end = self.id("pe");
                // The inside is written into the sub-process element.
                let outer = (
                    std::mem::take(&mut self.nodes),
                    std::mem::take(&mut self.flows),
                );
                self.nodes
                    .push(format!(r#"<bpmn:startEvent id="{start}"/>"#));
                let (_, last) = self.emit(inner, &start, None);
                self.nodes.push(format!(r#"<bpmn:endEvent id="{end}"/>"#));
                self.flow(&last, &end, None);
                let inside = format!("{}{}", self.nodes.concat(), self.flows.concat());
                (self.nodes, self.flows) = outer;
                self.nodes.push(format!(
                    r#"<bpmn:subProcess id="{id}">{inside}</bpmn:subProcess>"#
                ));
                let f = self.flow(from, &id, cond);
                (f, id)
            }
            Block::Xor(branches) | Block::And(branches) | Block::Or(branches) => {
                let (kind, element) = match b {
                    Block::Xor(_) => (JoinKind::Exclusive, "exclusiveGateway"),
                    Block::And(_) => (JoinKind::Parallel, "parallelGateway"),
                    _ => (JoinKind::Inclusive, "inclusiveGateway"),
                };
                let split = self.id("g");
                let into = self.flow(from, &split, cond);
                let mut default = None;
                let mut exits = Vec::new();
                for (i, branch) in branches.iter().enumerate() {
                    // Branch 0 is the default; the others are chosen by `x`.
                    let c = match kind {
                        JoinKind::Parallel => None,
                        _ if i == 0 => None,
                        JoinKind::Exclusive => Some(format!("x == {i}")),
                        JoinKind::Inclusive => Some(format!("x &gt;= {i}")),
                    };
                    let (f, exit) = self.emit(branch, &split, c.as_deref());
                    if i == 0 && kind != JoinKind::Parallel {
                        default = Some(f);
                    }
                    exits.push(exit);
                }
                let join = self.id("j");
                for exit in &exits {
                    self.flow(exit, &join, None);
                }
                let marker = self.id("a");
                self.flow(&join, &marker, None);
                let default = default
                    .map(|f| format!(r#" default="{f}""#))
                    .unwrap_or_default();
                self.nodes
                    .push(format!(r#"<bpmn:{element} id="{split}"{default}/>"#));
                self.nodes.push(format!(r#"<bpmn:{element} id="{join}"/>"#));
                self.nodes.push(format!(r#"<bpmn:task id="{marker}"/>"#));
                self.joins.push(Join {
                    kind,
                    split,
                    join,
                    marker: marker.clone(),
                    branches: branches.len(),
                });
                (into, marker)
            }
        }
    }

    fn build(b: &Block) -> (Model, String) {
        let mut m = Model::default();
        m.nodes.push(r#"<bpmn:startEvent id="start"/>"#.into());
        let (_, last) = m.emit(b, "start", None);
        m.nodes.push(r#"<bpmn:endEvent id="end"/>"#.into());
        m.flow(&last, "end", None);
        let xml = format!(
            r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d">{}<bpmn:process id="p" isExecutable="true">{}{}</bpmn:process></bpmn:definitions>"#,
            m.decls.concat(),
            m.nodes.concat(),
            m.flows.concat()
        );
        (m, xml)
    }
}

/// One event, chosen against what the instance waits for when it is applied.
#[derive(Debug, Clone)]
enum Ev {
    /// Complete the n-th waiting entry (refused unless it is a user or receive task).
    Complete(usize),
    /// Complete a task that does not exist.
    CompleteUnknown,
    /// Complete without naming the task (refused unless exactly one waits).
    CompleteAny,
    /// A callback for the n-th receive task's key, waiting or not.
    Callback(usize),
    CallbackUnknown,
    /// The n-th message of the model (a receive task's, with its key, or a catch event's).
    Message(usize),
    MessageUnknown,
    SignalUnknown,
    /// Move the clock this many minutes and fire what fell due.
    Advance(u16),
    SetX(i64),
    Retry,
    Cancel,
}

fn event() -> impl Strategy<Value = Ev> {
    prop_oneof![
        12 => (0usize..8).prop_map(Ev::Complete),
        2 => Just(Ev::CompleteUnknown),
        2 => Just(Ev::CompleteAny),
        6 => (0usize..8).prop_map(Ev::Callback),
        2 => Just(Ev::CallbackUnknown),
        6 => (0usize..8).prop_map(Ev::Message),
        2 => Just(Ev::MessageUnknown),
        2 => Just(Ev::SignalUnknown),
        6 => (0u16..200).prop_map(Ev::Advance),
        2 => (0i64..4).prop_map(Ev::SetX),
        2 => Just(Ev::Retry),
        1 => Just(Ev::Cancel),
    ]
}

struct Run {
    engine: Engine,
    model: Model,
    clock: VirtualClock,
    inst: Instance,
    /// Times each element was entered, from the effects.
    entered: HashMap<String, usize>,
}

impl Run {
    fn count(&mut self, effects: &[Effect]) {
        for e in effects {
            if let Effect::ElementEntered { element_id } = e {
                *self.entered.entry(element_id.clone()).or_default() += 1;
            }
        }
    }

    fn visits(&self, id: &str) -> usize {
        self.entered.get(id).copied().unwrap_or(0)
    }

    fn event(&mut self, ev: &Ev) -> Event {
        let waiting = self.engine.waiting(&self.inst);
        let messages: Vec<(String, Option<String>)> = self
            .model
            .receives
            .iter()
            .map(|(k, m)| (m.clone(), Some(k.clone())))
            .chain(self.model.catches.iter().map(|m| (m.clone(), None)))
            .collect();
        match ev {
            Ev::Complete(n) => Event::CompleteTask {
                task_id: Some(
                    waiting
                        .get(n % waiting.len().max(1))
                        .map(|w| w.task_id.clone())
                        .unwrap_or_else(|| "nothing".into()),
                ),
                data: json!({"done": n}),
            },
            Ev::CompleteUnknown => Event::CompleteTask {
                task_id: Some("no_such_task".into()),
                data: json!({}),
            },
            Ev::CompleteAny => Event::CompleteTask {
                task_id: None,
                data: json!({}),
            },
            Ev::Callback(n) => Event::Callback {
                correlation_key: self
                    .model
                    .receives
                    .get(n % self.model.receives.len().max(1))
                    .map(|(k, _)| k.clone())
                    .unwrap_or_else(|| "no_key".into()),
                data: json!({"paid": true}),
            },
            Ev::CallbackUnknown => Event::Callback {
                correlation_key: "no_key".into(),
                data: json!({}),
            },
            Ev::Message(n) => {
                let (name, key) = messages
                    .get(n % messages.len().max(1))
                    .cloned()
                    .unwrap_or_else(|| ("no_message".into(), None));
                Event::Message {
                    name,
                    correlation_key: key,
                    variables: Map::new(),
                }
            }
            Ev::MessageUnknown => Event::Message {
                name: "no_message".into(),
                correlation_key: Some("k".into()),
                variables: Map::new(),
            },
            Ev::SignalUnknown => Event::Signal {
                name: "no_signal".into(),
                variables: Map::new(),
            },
            Ev::Advance(minutes) => {
                let to = self.clock.now() + jiff::SignedDuration::from_mins(i64::from(*minutes));
                self.clock.set(to);
                Event::TimersDue
            }
            Ev::SetX(x) => Event::SetVariables {
                variables: json!({ "x": x }).as_object().cloned().unwrap_or_default(),
            },
            Ev::Retry => Event::Retry {
                variables: Map::new(),
            },
            Ev::Cancel => Event::Cancel { reason: None },
        }
    }

    /// Applies one event and checks what must hold after it.
    fn apply(&mut self, event: Event) -> Result<(), TestCaseError> {
        let before = serde_json::to_string(&self.inst).unwrap();
        let ctx = Ctx {
            clock: &self.clock,
            user: None,
            enforce_access: false,
            bus: None,
        };
        match self.engine.apply(&mut self.inst, event.clone(), &ctx) {
            Ok(effects) => self.count(&effects),
            Err(e) => {
                let after = serde_json::to_string(&self.inst).unwrap();
                prop_assert_eq!(
                    &after,
                    &before,
                    "refused {:?} ({}) but the instance changed",
                    event,
                    e
                );
            }
        }
        self.check()
    }

    /// What holds after every step.
    fn check(&self) -> Result<(), TestCaseError> {
        // What the runtime stores is what it reads back.
        let stored = serde_json::to_string(&self.inst).unwrap();
        let loaded: Instance = serde_json::from_str(&stored)
            .map_err(|e| TestCaseError::fail(format!("the state does not load back: {e}")))?;
        prop_assert_eq!(serde_json::to_string(&loaded).unwrap(), stored);
        prop_assert!(self.engine.check_state(&loaded).is_ok());
        prop_assert!(
            self.engine.incidents(&self.inst).is_empty(),
            "no generated model raises an incident: {:?}",
            self.engine.incidents(&self.inst)
        );
        for j in &self.model.joins {
            let (split, join, marker) = (
                self.visits(&j.split),
                self.visits(&j.join),
                self.visits(&j.marker),
            );
            // Every block is reached at most once: no cycles, one start.
            prop_assert!(split <= 1, "{} entered {split} times", j.split);
            match j.kind {
                JoinKind::Parallel => {
                    prop_assert!(join <= j.branches * split, "{j:?}: {join} arrivals");
                    // It fires exactly when the set is complete, once.
                    prop_assert_eq!(marker, join / j.branches, "{:?}: fired wrongly", j);
                }
                JoinKind::Exclusive => {
                    prop_assert!(join <= split, "{j:?}: {join} arrivals");
                    prop_assert_eq!(marker, join, "{:?}: passes every arrival", j);
                }
                JoinKind::Inclusive => {
                    prop_assert!(join <= j.branches * split, "{j:?}: {join} arrivals");
                    prop_assert!(marker <= split, "{j:?}: fired {marker} times");
                }
            }
        }
        let waiting = self.engine.waiting(&self.inst);
        let subs = self.engine.subscriptions(&self.inst);
        let timer = self.engine.next_timer(&self.inst);
        match self.inst.status {
            Status::Waiting => prop_assert!(
                !waiting.is_empty() || !subs.is_empty() || timer.is_some(),
                "waiting on nothing: a token is stuck"
            ),
            Status::Completed | Status::Cancelled => {
                prop_assert!(waiting.is_empty(), "ended but waits: {waiting:?}");
                prop_assert!(subs.is_empty(), "ended but subscribed: {subs:?}");
                prop_assert!(timer.is_none(), "ended but a timer is due {timer:?}");
                let state: Value = serde_json::to_value(&self.inst).unwrap();
                let live = state["tokens"]
                    .as_array()
                    .map(|t| t.iter().filter(|x| !x.is_null()).count())
                    .unwrap_or(0);
                prop_assert_eq!(live, 0, "ended with live tokens: {}", state);
            }
            other => prop_assert!(false, "unexpected status {other:?} after a command"),
        }
        Ok(())
    }

    /// Completes whatever waits, one thing at a time, until the instance ends.
    fn drain(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..200 {
            if self.inst.status.is_ended() {
                return Ok(());
            }
            let waiting = self.engine.waiting(&self.inst);
            let event = match waiting.first() {
                None => {
                    let due = self.engine.next_timer(&self.inst);
                    prop_assert!(due.is_some(), "nothing waits and no timer is due");
                    self.clock.set(due.unwrap());
                    Event::TimersDue
                }
                Some(w) => match w.task_type {
                    "userTask" => Event::CompleteTask {
                        task_id: Some(w.task_id.clone()),
                        data: json!({}),
                    },
                    "receiveTask" => Event::Callback {
                        correlation_key: w.correlation_key.clone().unwrap_or_default(),
                        data: json!({}),
                    },
                    "messageCatch" => Event::Message {
                        name: w.message.clone().unwrap_or_default(),
                        correlation_key: w.correlation_key.clone(),
                        variables: Map::new(),
                    },
                    "timer" => {
                        self.clock.set(w.due.unwrap());
                        Event::TimersDue
                    }
                    other => return Err(TestCaseError::fail(format!("unexpected wait {other}"))),
                },
            };
            let ctx = Ctx {
                clock: &self.clock,
                user: None,
                enforce_access: false,
                bus: None,
            };
            let effects = self
                .engine
                .apply(&mut self.inst, event.clone(), &ctx)
                .map_err(|e| {
                    TestCaseError::fail(format!("{event:?} refused while draining: {e}"))
                })?;
            self.count(&effects);
            self.check()?;
        }
        Err(TestCaseError::fail("still running after 200 steps"))
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated_models_keep_the_executor_invariants(
        b in block(),
        x in 0i64..4,
        events in prop::collection::vec(event(), 0..30),
    ) {
        let (model, xml) = Model::build(&b);
        let dep = parse(&[("generated.bpmn", &xml)]).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        let engine = match Engine::new(dep) {
            Ok((engine, _)) => engine,
            Err(problems) => return Err(TestCaseError::fail(format!("{problems:?}\n{xml}"))),
        };
        let clock = VirtualClock::new(VirtualClock::default_start());
        let vars = json!({ "x": x }).as_object().cloned().unwrap_or_default();
        let started = {
            let ctx = Ctx { clock: &clock, user: None, enforce_access: false, bus: None };
            engine.start(None, vars, &ctx)
        };
        let (inst, effects) = started.map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut run = Run { engine, model, clock, inst, entered: HashMap::new() };
        run.count(&effects);
        run.check()?;
        for ev in &events {
            // Once the instance ended, every event is refused and must change nothing.
            let event = run.event(ev);
            run.apply(event)?;
        }
        run.drain()?;
        if run.inst.status == Status::Completed {
            // Everything the splits sent in came out of the joins, once.
            for j in &run.model.joins {
                let (split, join, marker) = (run.visits(&j.split), run.visits(&j.join), run.visits(&j.marker));
                prop_assert_eq!(marker, split, "{:?}", j);
                match j.kind {
                    JoinKind::Parallel => prop_assert_eq!(join, j.branches * split, "{:?}", j),
                    JoinKind::Exclusive => prop_assert_eq!(join, split, "{:?}", j),
                    JoinKind::Inclusive => prop_assert!(join >= split, "{:?}", j),
                }
            }
            prop_assert_eq!(run.visits("end"), 1);
        }
    }
}
