//! What a multi-instance activity costs per inner instance: the time to start one instance of a
//! process whose only activity runs N times. Linear cost shows as the same time per inner
//! instance at every N (compare the `per inner instance` figures across sizes).
//!
//! Shapes: a parallel task (the inner instances complete at once), a parallel user task (they
//! all wait), a parallel sub-process whose inner instances each run a script and wait at a
//! message catch (subscriptions pile up while later instances start), and a parallel task whose
//! completion condition ends it after the first instance (the rest are cancelled).
//!
//! `timers due at once`: one instance whose parallel sub-process waits at a timer in each of N
//! inner instances, all due at the same moment; measured is the one command that fires them
//! all (`Event::TimersDue`), from the waiting state.
use baton_engine::{parse, Ctx, Engine, Event, VirtualClock};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use serde_json::Map;
use std::time::Duration;

const NS: &str = r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL""#;

fn model(activity: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d"><bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/>{activity}<bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/><bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="e"/></bpmn:process></bpmn:definitions>"#
    )
}

fn mi(condition: &str) -> String {
    format!(
        r#"<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>${{n}}</bpmn:loopCardinality>{condition}</bpmn:multiInstanceLoopCharacteristics>"#
    )
}

fn shapes() -> Vec<(&'static str, String)> {
    let early =
        "<bpmn:completionCondition>nrOfCompletedInstances &gt;= 1</bpmn:completionCondition>";
    vec![
        (
            "task",
            model(&format!(r#"<bpmn:task id="a">{}</bpmn:task>"#, mi(""))),
        ),
        (
            "userTask",
            model(&format!(
                r#"<bpmn:userTask id="a">{}</bpmn:userTask>"#,
                mi("")
            )),
        ),
        (
            "script+catch",
            model(&format!(
                r#"<bpmn:subProcess id="a">{}<bpmn:startEvent id="is"/><bpmn:scriptTask id="st"><bpmn:script>x = loopCounter</bpmn:script></bpmn:scriptTask><bpmn:intermediateCatchEvent id="c"><bpmn:messageEventDefinition/></bpmn:intermediateCatchEvent><bpmn:sequenceFlow id="g1" sourceRef="is" targetRef="st"/><bpmn:sequenceFlow id="g2" sourceRef="st" targetRef="c"/></bpmn:subProcess>"#,
                mi("")
            )),
        ),
        (
            "early-completion",
            model(&format!(
                r#"<bpmn:subProcess id="a">{}<bpmn:startEvent id="is"/><bpmn:userTask id="ut"/><bpmn:sequenceFlow id="g1" sourceRef="is" targetRef="ut"/></bpmn:subProcess>"#,
                mi(early)
            )),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let clock = VirtualClock::new(VirtualClock::default_start());
    let ctx = Ctx {
        clock: &clock,
        user: None,
        enforce_access: false,
        bus: None,
    };
    for (name, xml) in shapes() {
        let (engine, _) = Engine::new(parse(&[("mi.bpmn", &xml)]).expect("parses")).expect("valid");
        let mut group = c.benchmark_group(format!("multi-instance {name}"));
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(3));
        for n in [10_000u64, 20_000, 40_000] {
            group.throughput(Throughput::Elements(n));
            group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
                b.iter(|| {
                    let mut vars = Map::new();
                    vars.insert("n".into(), n.into());
                    engine.start(None, vars, &ctx).expect("starts")
                })
            });
        }
        group.finish();
    }
}

fn timers_due(c: &mut Criterion) {
    let xml = model(&format!(
        r#"<bpmn:subProcess id="a">{}<bpmn:startEvent id="is"/><bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent><bpmn:endEvent id="ie"/><bpmn:sequenceFlow id="g1" sourceRef="is" targetRef="w"/><bpmn:sequenceFlow id="g2" sourceRef="w" targetRef="ie"/></bpmn:subProcess>"#,
        mi("")
    ));
    let (engine, _) = Engine::new(parse(&[("timers.bpmn", &xml)]).expect("parses")).expect("valid");
    let armed = VirtualClock::new(VirtualClock::default_start());
    let due =
        VirtualClock::new(VirtualClock::default_start() + jiff::SignedDuration::from_hours(2));
    let ctx = |clock| Ctx {
        clock,
        user: None,
        enforce_access: false,
        bus: None,
    };
    let mut group = c.benchmark_group("timers due at once");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    for n in [10_000u64, 20_000, 40_000] {
        let mut vars = Map::new();
        vars.insert("n".into(), n.into());
        let (waiting, _) = engine.start(None, vars, &ctx(&armed)).expect("starts");
        group.throughput(Throughput::Elements(n));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_batched(
                || waiting.clone(),
                |mut inst| {
                    engine
                        .apply(&mut inst, Event::TimersDue, &ctx(&due))
                        .expect("fires");
                    assert!(inst.status.is_ended(), "every timer fired");
                    inst
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench, timers_due);
criterion_main!(benches);
