//! `baton bench --engine-only`: the engine alone, no store and no command bus. One instance
//! starts on a virtual clock and the scenario's steps are applied as engine events; nothing
//! is written anywhere and nothing reaches another instance. This is the figure the engine
//! comparisons with other engines use (BENCHMARKS.md, "Engine throughput"); `simulate`, `test`
//! and the default `bench` run on the runtime instead.

use baton_engine::sim::{Action, Scenario, Step};
use baton_engine::{Clock, CommandError, Ctx, Engine, Event, Instance, User, VirtualClock};
use serde_json::{Map, Value};

/// Runs one instance; answers its end state and, when `keep`, its variables.
pub(super) fn run(
    engine: &Engine,
    sc: &Scenario,
    variables: Map<String, Value>,
    keep: bool,
) -> Result<(String, Option<Map<String, Value>>), String> {
    let clock = VirtualClock::new(sc.clock.unwrap_or_else(VirtualClock::default_start));
    let ctx = Ctx {
        clock: &clock,
        user: None,
        enforce_access: false,
        bus: None,
    };
    let (mut inst, _) = engine
        .start(sc.process.as_deref(), variables, &ctx)
        .map_err(|e| e.to_string())?;
    for s in &sc.steps {
        let r = step(engine, &clock, sc, &mut inst, s);
        match (&s.expect_error, r) {
            (None, Ok(())) => {}
            (None, Err(e)) => return Err(format!("step {}: {e}", s.index)),
            (Some(want), Ok(())) => {
                return Err(format!(
                    "step {} expected an error containing '{want}', but it succeeded",
                    s.index
                ))
            }
            (Some(want), Err(e)) if !e.contains(want.as_str()) => {
                return Err(format!(
                    "step {} expected an error containing '{want}', but the error was '{e}'",
                    s.index
                ))
            }
            (Some(_), Err(_)) => {}
        }
    }
    let vars = keep.then(|| engine.variables(&inst));
    Ok((inst.status.as_str().to_string(), vars))
}

fn step(
    engine: &Engine,
    clock: &VirtualClock,
    sc: &Scenario,
    inst: &mut Instance,
    s: &Step,
) -> Result<(), String> {
    let user = s.user.as_ref().map(|n| User {
        name: n.clone(),
        teams: sc
            .users
            .as_ref()
            .and_then(|u| u.get(n).cloned())
            .unwrap_or_default(),
    });
    let ctx = Ctx {
        clock,
        user: user.as_ref(),
        enforce_access: sc.users.is_some(),
        bus: None,
    };
    let event = match &s.action {
        Action::Complete { task, data } => Event::CompleteTask {
            task_id: Some(task.clone()),
            data: data.clone(),
        },
        Action::Callback { key, data } => Event::Callback {
            correlation_key: key.clone(),
            data: data.clone(),
        },
        Action::Message { name, key, data } => Event::Message {
            name: name.clone(),
            correlation_key: key.clone(),
            variables: data.clone(),
        },
        Action::Signal { name, data } => Event::Signal {
            name: name.clone(),
            variables: data.clone(),
        },
        Action::Cancel => Event::Cancel { reason: None },
        Action::SetVariables(vars) => Event::SetVariables {
            variables: vars.clone(),
        },
        Action::Advance(span) => return advance(engine, clock, inst, *span),
    };
    engine
        .apply(inst, event, &ctx)
        .map(drop)
        .map_err(|e| match e {
            CommandError::Ended(status) => format!("the instance is {status}"),
            other => other.to_string(),
        })
}

/// Moves the clock by `span`, firing the instance's timers at their own times, in order.
fn advance(
    engine: &Engine,
    clock: &VirtualClock,
    inst: &mut Instance,
    span: jiff::Span,
) -> Result<(), String> {
    let target = clock
        .now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .checked_add(span)
        .map(|z| z.timestamp())
        .map_err(|e| format!("cannot advance the clock by {span}: {e}"))?;
    while let Some(due) = engine.next_timer(inst).filter(|d| *d <= target) {
        clock.set(due);
        let ctx = Ctx {
            clock,
            user: None,
            enforce_access: false,
            bus: None,
        };
        engine
            .apply(inst, Event::TimersDue, &ctx)
            .map_err(|e| format!("timer at {due} could not fire: {e}"))?;
    }
    clock.set(target);
    Ok(())
}
