//! Random walks through real models: start every valid Camunda 7 test model and apply a seeded
//! random sequence of events (complete a waiting task, fire timers, send its messages and
//! signals, retry, cancel). Nothing may panic, a refused command must leave the instance exactly
//! as it was, and the reported status must agree with what the instance waits on.

use baton_engine::{parse, Ctx, Engine, Event, Status, VirtualClock};
use serde_json::{json, Map};
use std::path::PathBuf;

/// A small deterministic generator (xorshift), so a failure replays with the same seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn models() -> Vec<PathBuf> {
    let root =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/camunda7/bpmn");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn random_event_sequences_never_panic_and_refusals_change_nothing() {
    let files = models();
    if files.is_empty() {
        println!("skipped: ../shared/corpora/camunda7 not found");
        return;
    }
    let (mut walked, mut steps, mut refused) = (0, 0, 0);
    for (fi, path) in files.iter().enumerate() {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        let Ok(dep) = parse(&[("m.bpmn", &text)]) else {
            continue;
        };
        let messages: Vec<String> = dep.messages.values().cloned().collect();
        let signals: Vec<String> = dep.signals.values().cloned().collect();
        let Ok((engine, _)) = Engine::new(dep) else {
            continue;
        };
        let clock = VirtualClock::new(VirtualClock::default_start());
        let ctx = Ctx {
            clock: &clock,
            user: None,
            enforce_access: false,
            bus: None,
        };
        let vars = json!({"input": 1, "approved": true, "count": 2, "items": [1, 2]});
        let Ok((mut inst, _)) = engine.start(None, vars.as_object().unwrap().clone(), &ctx) else {
            continue;
        };
        walked += 1;
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (fi as u64 + 1));
        for _ in 0..40 {
            if inst.status.is_ended() {
                assert!(
                    engine.waiting(&inst).is_empty(),
                    "{}: ended but still waiting",
                    path.display()
                );
                break;
            }
            let waiting = engine.waiting(&inst);
            let event = match rng.below(7) {
                0 | 1 if !waiting.is_empty() => {
                    let w = &waiting[rng.below(waiting.len())];
                    Event::CompleteTask {
                        task_id: Some(w.task_id.clone()),
                        data: json!({"input": rng.below(4)}),
                    }
                }
                2 => {
                    if let Some(due) = engine.next_timer(&inst) {
                        clock.set(due);
                    }
                    Event::TimersDue
                }
                3 if !messages.is_empty() => Event::Message {
                    name: messages[rng.below(messages.len())].clone(),
                    correlation_key: None,
                    variables: Map::new(),
                },
                4 if !signals.is_empty() => Event::Signal {
                    name: signals[rng.below(signals.len())].clone(),
                    variables: Map::new(),
                },
                5 => Event::Retry {
                    variables: json!({"input": 2}).as_object().unwrap().clone(),
                },
                6 if rng.below(10) == 0 => Event::Cancel { reason: None },
                _ => Event::SetVariables {
                    variables: json!({"input": rng.below(4)}).as_object().unwrap().clone(),
                },
            };
            let before = serde_json::to_string(&inst).unwrap();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                engine.apply(&mut inst, event.clone(), &ctx)
            }));
            let Ok(result) = result else {
                panic!("{}: panicked on {event:?}", path.display())
            };
            steps += 1;
            if result.is_err() {
                refused += 1;
                assert_eq!(
                    serde_json::to_string(&inst).unwrap(),
                    before,
                    "{}: a refused {event:?} changed the instance",
                    path.display()
                );
            }
            match inst.status {
                Status::Failed => assert!(
                    !engine.incidents(&inst).is_empty(),
                    "{}: FAILED without an incident",
                    path.display()
                ),
                Status::Completed | Status::Cancelled => assert!(engine.waiting(&inst).is_empty()),
                _ => {}
            }
        }
    }
    println!("random walks: {walked} models, {steps} events applied, {refused} refused");
    assert!(
        walked > 300,
        "expected hundreds of runnable Camunda models, walked {walked}"
    );
}
