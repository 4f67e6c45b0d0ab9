//! The engine's bounds (`Limits`, docs/limits.md): each test reaches one and checks that the
//! command stops with an incident naming the element, or that the model is refused at deploy
//! and by lint naming element, line and column; and that the bound is the configured one.
mod common;

use baton_engine::{
    parse, validate, Ctx, Effect, Engine, Event, Instance, Limits, Severity, Status, VirtualClock,
};
use common::{flow, model, vars, NS};
use jiff::SignedDuration;
use serde_json::{json, Value};

struct Run {
    engine: Engine,
    clock: VirtualClock,
    inst: Instance,
    effects: Vec<Effect>,
}

fn ctx(clock: &VirtualClock) -> Ctx<'_> {
    Ctx {
        clock,
        user: None,
        enforce_access: false,
        bus: None,
    }
}

fn engine(xml: &str, limits: Limits) -> Engine {
    let d = parse(&[("limits.bpmn", xml)]).expect("parses");
    Engine::with_limits(d, limits)
        .unwrap_or_else(|p| panic!("invalid model: {p:?}"))
        .0
}

fn start(xml: &str, limits: Limits, v: Value) -> Run {
    let engine = engine(xml, limits);
    let clock = VirtualClock::new(VirtualClock::default_start());
    let (inst, effects) = engine.start(None, vars(v), &ctx(&clock)).expect("starts");
    Run {
        engine,
        clock,
        inst,
        effects,
    }
}

impl Run {
    fn incident(&self) -> (String, String) {
        let i = self.engine.incidents(&self.inst);
        assert_eq!(self.inst.status, Status::Failed, "incidents: {i:?}");
        let first = i.first().expect("an incident");
        (first.element_id.clone(), first.message.clone())
    }
    fn entered(&self, id: &str) -> usize {
        self.effects
            .iter()
            .filter(|e| matches!(e, Effect::ElementEntered { element_id } if element_id == id))
            .count()
    }
}

/// Every problem of a model checked under `limits`, as (severity, element, line, column, text).
fn problems(xml: &str, limits: Limits) -> Vec<(Severity, String, u32, u32, String)> {
    let d = parse(&[("limits.bpmn", xml)]).expect("parses");
    let ps = match Engine::with_limits(d, limits) {
        Ok((_, warnings)) => warnings,
        Err(ps) => ps,
    };
    ps.into_iter()
        .map(|p| {
            (
                p.severity,
                p.element_id.unwrap_or_default(),
                p.line,
                p.column,
                p.message,
            )
        })
        .collect()
}

fn linear(activity: &str) -> String {
    model(&format!(
        r#"<bpmn:startEvent id="s"/>{activity}<bpmn:endEvent id="e"/>{}{}"#,
        flow("f1", "s", "a"),
        flow("f2", "a", "e")
    ))
}

fn small(f: impl FnOnce(&mut Limits)) -> Limits {
    let mut l = Limits::default();
    f(&mut l);
    l
}

// ----- work budget and call depth -------------------------------------------------------------

/// A process that calls itself with no wait state: stopped at the configured depth, on the call
/// activity, at once (it used to run for minutes and fill memory).
#[test]
fn a_process_calling_itself_stops_at_the_call_depth() {
    let xml = linear(r#"<bpmn:callActivity id="a" calledElement="p"/>"#);
    let r = start(&xml, small(|l| l.max_call_depth = 5), json!({}));
    let (element, message) = r.incident();
    assert_eq!(element, "a");
    assert!(
        message.contains("6 levels deep") && message.contains("limit of 5"),
        "{message}"
    );
    // The top-level call activity plus five called processes, each entering it once.
    assert_eq!(r.entered("a"), 6);

    // The default is 64.
    let r = start(&xml, Limits::default(), json!({}));
    assert!(r.incident().1.contains("limit of 64"), "{:?}", r.incident());
    assert_eq!(r.entered("a"), 65);
}

/// The work budget is one per command and counts inside called processes: a called process
/// that loops with no wait state stops the caller's command at the configured number.
#[test]
fn the_work_budget_counts_steps_inside_called_processes() {
    let callee = format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d2"><bpmn:process id="loop" isExecutable="true"><bpmn:startEvent id="ls"/><bpmn:exclusiveGateway id="g"/><bpmn:task id="t"/>{}{}{}</bpmn:process></bpmn:definitions>"#,
        flow("l1", "ls", "g"),
        flow("l2", "g", "t"),
        flow("l3", "t", "g")
    );
    let caller = linear(r#"<bpmn:callActivity id="a" calledElement="loop"/>"#);
    let d = parse(&[("caller.bpmn", caller.as_str()), ("callee.bpmn", &callee)]).expect("parses");
    let engine = Engine::with_limits(d, small(|l| l.max_steps = 500))
        .expect("valid")
        .0;
    let clock = VirtualClock::new(VirtualClock::default_start());
    let (inst, effects) = engine
        .start(Some("p"), vars(json!({})), &ctx(&clock))
        .expect("starts");
    assert_eq!(inst.status, Status::Failed);
    let incidents = engine.incidents(&inst);
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert!(
        incidents[0]
            .message
            .contains("after 500 steps in one command")
            && incidents[0]
                .message
                .contains(&format!("'{}'", incidents[0].element_id)),
        "{incidents:?}"
    );
    // At most the budget of elements ran.
    let entered = effects
        .iter()
        .filter(|e| matches!(e, Effect::ElementEntered { .. }))
        .count();
    assert!(entered <= 500, "{entered} elements entered");
}

/// Starting inner instances is work too: a parallel multi-instance activity that would pass the
/// budget is stopped before its instances start.
#[test]
fn the_work_budget_counts_multi_instance_inner_instances() {
    let xml = linear(
        r#"<bpmn:task id="a"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>600</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:task>"#,
    );
    let r = start(&xml, small(|l| l.max_steps = 500), json!({}));
    let (element, message) = r.incident();
    assert_eq!(element, "a");
    assert!(message.contains("after 500 steps"), "{message}");
    assert_eq!(r.entered("a"), 0);
    // Under the budget it runs.
    let r = start(&xml, small(|l| l.max_steps = 5_000), json!({}));
    assert_eq!(r.inst.status, Status::Completed);
}

// ----- multi-instance -------------------------------------------------------------------------

fn mi_task(card: &str) -> String {
    linear(&format!(
        r#"<bpmn:userTask id="a"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>{card}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"#
    ))
}

/// A loopCardinality over the limit is an incident on the activity, not a silent cap: 1e308
/// used to run 100,000 instances.
#[test]
fn a_cardinality_over_the_limit_is_an_incident() {
    let xml = mi_task("${n}");
    for n in [json!(1e308), json!(200_000), json!("100001")] {
        let r = start(&xml, Limits::default(), json!({ "n": n }));
        let (element, message) = r.incident();
        assert_eq!(element, "a");
        assert!(
            message.contains("more than the limit of 100000 instances"),
            "{message}"
        );
        assert!(r.engine.waiting(&r.inst).is_empty());
    }
    for n in [json!("NaN"), json!(-1), json!(2.5), json!("inf")] {
        let r = start(&xml, Limits::default(), json!({ "n": n }));
        assert!(
            r.incident().1.contains("whole number"),
            "{n}: {:?}",
            r.incident()
        );
    }
    // The limit is the configured one, and a collection counts its items.
    let r = start(&xml, small(|l| l.max_cardinality = 3), json!({"n": 4}));
    assert!(r.incident().1.contains("limit of 3 instances"));
    let coll = linear(
        r#"<bpmn:userTask id="a"><bpmn:multiInstanceLoopCharacteristics camunda:collection="${items}" camunda:elementVariable="item"/></bpmn:userTask>"#,
    );
    let r = start(
        &coll,
        small(|l| l.max_cardinality = 3),
        json!({"items": [1, 2, 3, 4]}),
    );
    assert!(
        r.incident().1.contains("4 items, more than the limit of 3"),
        "{:?}",
        r.incident()
    );
    let r = start(
        &coll,
        small(|l| l.max_cardinality = 3),
        json!({"items": [1, 2, 3]}),
    );
    assert_eq!(r.engine.waiting(&r.inst).len(), 3);
}

/// Nested multi-instance activities multiply: the total alive in one instance is bounded.
#[test]
fn nested_multi_instance_is_bounded_in_total() {
    let inner = r#"<bpmn:userTask id="u"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>10</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"#;
    let xml = linear(&format!(
        r#"<bpmn:subProcess id="a"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>10</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics><bpmn:startEvent id="is"/>{inner}{}</bpmn:subProcess>"#,
        flow("g1", "is", "u")
    ));
    // 10 outer + 10 x 10 inner = 110 alive.
    let r = start(&xml, small(|l| l.max_live_inner_instances = 110), json!({}));
    assert_eq!(r.inst.status, Status::Waiting);
    assert_eq!(r.engine.waiting(&r.inst).len(), 100);
    let r = start(&xml, small(|l| l.max_live_inner_instances = 60), json!({}));
    let (element, message) = r.incident();
    assert_eq!(element, "u");
    assert!(
        message.contains("would pass the limit of 60 instances at once"),
        "{message}"
    );
    // 10 outer + five inner bodies of 10 fit; the sixth and later inner bodies stop.
    assert_eq!(r.engine.waiting(&r.inst).len(), 50);
    assert_eq!(r.engine.incidents(&r.inst).len(), 5);
}

/// A constant loopCardinality is checked at deploy and by lint, naming element, line, column.
#[test]
fn a_constant_cardinality_over_the_limit_is_refused_at_deploy() {
    for card in ["1e308", "200000", "-3", "2.5"] {
        let xml = mi_task(card);
        let ps = problems(&xml, Limits::default());
        let p = ps
            .iter()
            .find(|p| p.4.contains("loopCardinality") && p.4.contains("from 0 to"))
            .unwrap_or_else(|| panic!("{card}: {ps:?}"));
        assert_eq!(p.0, Severity::Error);
        assert_eq!(p.1, "a");
        assert!(p.2 >= 1 && p.3 > 1, "{p:?}");
        assert!(p.4.contains("from 0 to 100000"), "{p:?}");
        // Lint (validate) says the same.
        let d = parse(&[("limits.bpmn", xml.as_str())]).unwrap();
        assert!(validate(&d, &[]).iter().any(|q| q.message == p.4));
    }
    assert!(problems(&mi_task("100000"), Limits::default())
        .iter()
        .all(|p| !p.4.contains("from 0 to")));
}

/// A loopMaximum that is not a whole number used to mean "no maximum" silently.
#[test]
fn a_loop_maximum_that_is_not_a_whole_number_is_refused() {
    let looped = |max: &str| {
        linear(&format!(
            r#"<bpmn:task id="a"><bpmn:standardLoopCharacteristics loopMaximum="{max}"><bpmn:loopCondition>false</bpmn:loopCondition></bpmn:standardLoopCharacteristics></bpmn:task>"#
        ))
    };
    for bad in ["1e9", "-1", "many"] {
        let ps = problems(&looped(bad), Limits::default());
        assert!(
            ps.iter().any(|p| p.0 == Severity::Error
                && p.1 == "a"
                && p.4
                    .contains(&format!("loopMaximum '{bad}' is not a whole number"))),
            "{bad}: {ps:?}"
        );
    }
    assert!(problems(&looped("10"), Limits::default()).is_empty());
}

// ----- timers ---------------------------------------------------------------------------------

fn timer_catch(def: &str) -> String {
    linear(&format!(
        r#"<bpmn:intermediateCatchEvent id="a"><bpmn:timerEventDefinition>{def}</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"#
    ))
}

fn boundary_cycle(cycle: &str) -> String {
    model(&format!(
        r#"<bpmn:startEvent id="s"/><bpmn:userTask id="u"/><bpmn:boundaryEvent id="b" attachedToRef="u" cancelActivity="false"><bpmn:timerEventDefinition><bpmn:timeCycle>{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:endEvent id="e"/><bpmn:endEvent id="be"/>{}{}{}"#,
        flow("f1", "s", "u"),
        flow("f2", "u", "e"),
        flow("f3", "b", "be")
    ))
}

/// `R/PT0.000001S` is refused at deploy and by lint, naming the element and the position of
/// the timeCycle; a stored definition only warns, and its timer start is not scheduled.
#[test]
fn a_timer_cycle_faster_than_the_minimum_is_refused() {
    for cycle in [
        "R/PT0.000001S",
        "R5/PT0.5S",
        "R/2026-01-01T00:00:00Z/PT0.1S",
    ] {
        let xml = boundary_cycle(cycle);
        let ps = problems(&xml, Limits::default());
        let p = ps
            .iter()
            .find(|p| p.1 == "b")
            .unwrap_or_else(|| panic!("{cycle}: {ps:?}"));
        assert_eq!(p.0, Severity::Error);
        assert!(
            p.4.contains("more often than the limit of once every 1 s"),
            "{p:?}"
        );
        assert!(p.4.contains(cycle), "{p:?}");
        let at = xml.find("<bpmn:timeCycle>").unwrap();
        assert_eq!(
            p.3 as usize,
            at + 1,
            "column of the timeCycle element: {p:?}"
        );
        let d = parse(&[("limits.bpmn", xml.as_str())]).unwrap();
        assert!(validate(&d, &[]).iter().any(|q| q.message == p.4));
    }
    assert!(problems(&boundary_cycle("R/PT1S"), Limits::default()).is_empty());
    // The minimum is the configured one.
    let slow = small(|l| l.min_timer_cycle = SignedDuration::from_secs(60));
    assert!(problems(&boundary_cycle("R/PT30S"), slow.clone())[0]
        .4
        .contains("once every 60 s"));
    assert!(problems(&boundary_cycle("0/10 * * * * *"), slow)[0]
        .4
        .contains("10 s apart"));

    // A timer start event deployed before the limit: a warning on reload, and not scheduled.
    let start = format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d"><bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="ts"><bpmn:timerEventDefinition><bpmn:timeCycle>R/PT0.000001S</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent><bpmn:endEvent id="e"/>{}</bpmn:process></bpmn:definitions>"#,
        flow("f1", "ts", "e")
    );
    let d = parse(&[("limits.bpmn", start.as_str())]).unwrap();
    assert!(Engine::new(d.clone()).is_err());
    let (engine, warnings) = Engine::reload(d).expect("a stored definition still loads");
    assert!(warnings.iter().any(|w| w.severity == Severity::Warning
        && w.element_id.as_deref() == Some("ts")
        && w.message.contains("once every 1 s")));
    let starts = engine.timer_starts();
    assert!(
        matches!(&starts[0].2, Err(m) if m.contains("not scheduled")),
        "{starts:?}"
    );
}

/// A cycle that an expression yields is checked when it is armed: an incident on the element.
#[test]
fn a_timer_cycle_from_an_expression_is_checked_when_armed() {
    let xml = boundary_cycle("${cycle}");
    let r = start(&xml, Limits::default(), json!({"cycle": "R/PT0.001S"}));
    let (element, message) = r.incident();
    assert_eq!(element, "u");
    assert!(
        message.contains("'b'") && message.contains("once every 1 s"),
        "{message}"
    );
    let r = start(&xml, Limits::default(), json!({"cycle": "R/PT1S"}));
    assert_eq!(r.inst.status, Status::Waiting);
}

/// Durations longer than the limit are refused at deploy; dates are checked when armed.
#[test]
fn timer_waits_longer_than_the_limit_are_refused() {
    for def in [
        "<bpmn:timeDuration>P20Y</bpmn:timeDuration>",
        "<bpmn:timeDuration>PT99999999H</bpmn:timeDuration>",
        "<bpmn:timeCycle>R/P11Y</bpmn:timeCycle>",
    ] {
        let ps = problems(&timer_catch(def), Limits::default());
        assert!(
            ps.iter().any(|p| p.0 == Severity::Error
                && p.1 == "a"
                && p.4.contains("longer than the limit of 3650 days")),
            "{def}: {ps:?}"
        );
    }
    assert!(problems(
        &timer_catch("<bpmn:timeDuration>P9Y</bpmn:timeDuration>"),
        Limits::default()
    )
    .is_empty());
    let day = small(|l| l.max_timer_wait = SignedDuration::from_hours(24));
    assert!(problems(
        &timer_catch("<bpmn:timeDuration>PT25H</bpmn:timeDuration>"),
        day.clone()
    )[0]
    .4
    .contains("limit of 1 day"));

    // A date far ahead: an incident when the timer is armed (a model has no "now" at deploy).
    let far = timer_catch("<bpmn:timeDate>9000-01-01T00:00:00Z</bpmn:timeDate>");
    let r = start(&far, Limits::default(), json!({}));
    let (element, message) = r.incident();
    assert_eq!(element, "a");
    assert!(message.contains("longer than the limit"), "{message}");
    let r = start(
        &timer_catch("<bpmn:timeDate>${due}</bpmn:timeDate>"),
        day,
        json!({"due": "2026-01-03T00:00:00Z"}),
    );
    assert!(r.incident().1.contains("limit of 1 day"));
    let r = start(
        &far.replace("9000-01-01", "2030-01-01"),
        Limits::default(),
        json!({}),
    );
    assert_eq!(r.inst.status, Status::Waiting);
}

/// TimeoutMinutes follows the configured longest wait.
#[test]
fn timeout_minutes_follows_the_configured_wait() {
    let xml = linear(
        r#"<bpmn:receiveTask id="a"><bpmn:extensionElements><custom:properties><custom:property name="TimeoutMinutes" value="2000"/></custom:properties></bpmn:extensionElements></bpmn:receiveTask>"#,
    );
    assert!(problems(&xml, Limits::default()).is_empty());
    let day = small(|l| l.max_timer_wait = SignedDuration::from_hours(24));
    let ps = problems(&xml, day);
    assert!(
        ps.iter()
            .any(|p| p.1 == "a" && p.4.contains("at most 1440")),
        "{ps:?}"
    );
}

/// A one-second cycle idle for ten years fires once and keeps its phase; the next due time is
/// computed, not stepped to one second at a time.
#[test]
fn a_short_cycle_idle_for_years_fires_once_and_keeps_its_phase() {
    let mut r = start(&boundary_cycle("R/PT1S"), Limits::default(), json!({}));
    let first = r.engine.next_timer(&r.inst).expect("armed");
    let later =
        first + SignedDuration::from_secs(10 * 365 * 86_400) + SignedDuration::from_millis(500);
    r.clock.set(later);
    let eff = r
        .engine
        .apply(&mut r.inst, Event::TimersDue, &ctx(&r.clock))
        .expect("fires");
    let fired = eff
        .iter()
        .filter(|e| matches!(e, Effect::ElementEntered { element_id } if element_id == "b"))
        .count();
    assert_eq!(fired, 1);
    let next = r.engine.next_timer(&r.inst).expect("re-armed");
    assert_eq!(next, later + SignedDuration::from_millis(500));
}

// ----- scripts --------------------------------------------------------------------------------

fn script(text: &str) -> String {
    linear(&format!(
        r#"<bpmn:scriptTask id="a" scriptFormat="rhai"><bpmn:script>{text}</bpmn:script></bpmn:scriptTask>"#
    ))
}

/// `sleep` is not available: it would hold the thread where no limit counts.
#[test]
fn sleep_is_refused() {
    for call in ["sleep(10)", "sleep(0.5)"] {
        let r = start(&script(call), Limits::default(), json!({}));
        let (element, message) = r.incident();
        assert_eq!(element, "a");
        assert!(message.contains("sleep is not available"), "{message}");
    }
}

/// The script limits are the configured ones.
#[test]
fn script_limits_are_configurable() {
    let busy = script("let n = 0; while n &lt; 5000 { n += 1; } n");
    let r = start(&busy, Limits::default(), json!({}));
    assert_eq!(r.inst.status, Status::Completed);
    let r = start(&busy, small(|l| l.script_operations = 1_000), json!({}));
    assert!(
        r.incident().1.contains("more than 1000 operations"),
        "{:?}",
        r.incident()
    );
    let r = start(
        &busy,
        small(|l| l.script_time = std::time::Duration::ZERO),
        json!({}),
    );
    assert!(
        r.incident().1.contains("ran longer than 0 seconds"),
        "{:?}",
        r.incident()
    );
}

/// The defaults docs/limits.md documents.
#[test]
fn the_documented_defaults() {
    let l = Limits::default();
    assert_eq!(l.max_steps, 1_000_000);
    assert_eq!(l.max_cardinality, 100_000);
    assert_eq!(l.max_live_inner_instances, 100_000);
    assert_eq!(l.max_call_depth, 64);
    assert_eq!(l.min_timer_cycle, SignedDuration::from_secs(1));
    assert_eq!(l.max_timer_wait, SignedDuration::from_secs(3650 * 86_400));
    assert_eq!(l.script_operations, 1_000_000);
    assert_eq!(l.script_time, std::time::Duration::from_secs(2));
    let xml = linear(r#"<bpmn:task id="a"/>"#);
    assert_eq!(engine(&xml, Limits::default()).limits(), &l);
}
