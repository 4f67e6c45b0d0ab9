//! `baton bench --timers N --durable FILE`: the durable scheduler under a burst and at rest.
//!
//! 1. N instances of a built-in model (start, an intermediate timer with `timeDate` `${due}`,
//!    end) are started through the command bus by C client threads, every one due at the same
//!    second T, an hour ahead. Each start is committed, so the timer table holds N rows.
//! 2. The clock (system time plus an offset this bench controls) jumps to T and the scheduler
//!    thread starts. The figure is the wall time until the timer table is empty: each firing is
//!    the instance's own committed step (timer row removed, instance COMPLETED, together).
//! 3. With `--idle-timers M --idle-seconds K`, M more instances wait on a timer a day ahead and
//!    the process's CPU time and the scheduler's wake-ups are measured over K idle seconds.
//!
//! With `--probe-seconds S` SQLite's own single-row commit rate is measured beside the file
//! first, and fired/s is reported as a ratio of it.

use baton_engine::Clock;
use baton_runtime::{spawn_scheduler, Runtime};
use baton_store::{Durability, Store};
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Options<'a> {
    pub db: &'a Path,
    pub sync: &'a str,
    pub clients: usize,
    pub probe_seconds: f64,
    pub timers: usize,
    pub idle_timers: usize,
    pub idle_seconds: f64,
}

const PROCESS_KEY: &str = "BatonTimerBench";

/// One timer between start and end; its due time comes from the `due` variable.
const MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="TimerBenchDefinitions">
  <bpmn:process id="BatonTimerBench" isExecutable="true">
    <bpmn:startEvent id="Start"/>
    <bpmn:sequenceFlow id="Flow_Wait" sourceRef="Start" targetRef="Wait"/>
    <bpmn:intermediateCatchEvent id="Wait">
      <bpmn:timerEventDefinition><bpmn:timeDate>${due}</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="Flow_End" sourceRef="Wait" targetRef="End"/>
    <bpmn:endEvent id="End"/>
  </bpmn:process>
</bpmn:definitions>
"#;

/// How often the burst's progress is looked at (an index lookup on a separate connection).
const POLL: Duration = Duration::from_millis(2);
/// The burst fails when the timer table has not shrunk for this long.
const STALL: Duration = Duration::from_secs(30);

/// The system clock moved by an offset the bench sets: the timers fall due when it jumps.
struct ShiftedClock {
    offset_ns: AtomicI64,
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        let real = Timestamp::now();
        real.checked_add(SignedDuration::from_nanos(
            self.offset_ns.load(Ordering::SeqCst),
        ))
        .unwrap_or(real)
    }
}

/// CPU time (user + system) of the whole process so far, all threads; None where unknown.
#[cfg(unix)]
fn cpu_seconds() -> Option<f64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage only writes a `rusage` through the pointer, which points at one.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: rc == 0 means getrusage filled the struct (and it was zeroed before anyway).
    let usage = unsafe { usage.assume_init() };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(secs(usage.ru_utime) + secs(usage.ru_stime))
}

#[cfg(not(unix))]
fn cpu_seconds() -> Option<f64> {
    None
}

/// A whole second, as the `due` variable carries it (RFC 3339, UTC).
fn whole_second(t: Timestamp) -> Result<Timestamp, String> {
    Timestamp::from_second(t.as_second()).map_err(|e| format!("cannot build a due time: {e}"))
}

/// Starts `count` instances due at `due` through the bus, from `clients` threads. Answers the
/// wall time it took; the first refusal names the instance and the bus's message.
fn create(
    rt: &Runtime,
    def: &Value,
    due: Timestamp,
    count: usize,
    clients: usize,
) -> Result<f64, String> {
    let data = json!({"processDefinitionId": def, "variables": {"due": due.to_string()}});
    let started = Instant::now();
    let results: Vec<Result<(), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let data = &data;
                s.spawn(move || {
                    for i in (c..count).step_by(clients) {
                        let r = rt.execute("StartProcessInstanceCommand", data, None);
                        if !r.is_successful {
                            return Err(format!("instance {}: {}", i + 1, r.message));
                        }
                        if r.data["status"] != "WAITING" {
                            return Err(format!(
                                "instance {} is {} instead of waiting on its timer",
                                i + 1,
                                r.data["status"]
                            ));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        super::joined(handles)
    });
    let secs = started.elapsed().as_secs_f64();
    results.into_iter().collect::<Result<(), String>>()?;
    Ok(secs)
}

/// Instances of the bench model with this status, through the bus.
fn count_status(rt: &Runtime, status: &str) -> Result<i64, String> {
    let r = rt.execute(
        "GetProcessInstanceListQuery",
        &json!({"status": status, "processKey": PROCESS_KEY, "pageSize": 1}),
        None,
    );
    if !r.is_successful {
        return Err(format!("GetProcessInstanceListQuery: {}", r.message));
    }
    r.data["totalCount"]
        .as_i64()
        .ok_or_else(|| "GetProcessInstanceListQuery answered no totalCount".to_string())
}

fn run(o: &Options) -> Result<Value, String> {
    let durability = match o.sync {
        "full" => Durability::Full,
        "normal" => Durability::Normal,
        other => return Err(format!("--sync must be full or normal, not '{other}'")),
    };
    if o.timers == 0 {
        return Err("--timers must be 1 or more".into());
    }
    if o.clients == 0 {
        return Err("--clients must be 1 or more".into());
    }
    if !o.idle_seconds.is_finite() || o.idle_seconds < 0.0 {
        return Err(format!(
            "--idle-seconds must be a number of seconds, 0 or more, not {}",
            o.idle_seconds
        ));
    }
    if o.idle_timers > 0 && o.idle_seconds == 0.0 {
        return Err(
            "--idle-timers needs --idle-seconds greater than 0 (the idle window to measure)".into(),
        );
    }
    if o.db.exists() {
        return Err(format!(
            "{}: the file exists; the timers bench counts instances and timers, so it needs a new database file",
            o.db.display()
        ));
    }
    let probe = if o.probe_seconds > 0.0 {
        let path = o.db.with_extension("probe.db");
        Some(
            baton_store::probe_commit_rate(&path, durability, o.probe_seconds)
                .map_err(|e| format!("probe: {e}"))?,
        )
    } else {
        None
    };
    let clock = Arc::new(ShiftedClock {
        offset_ns: AtomicI64::new(0),
    });
    let rt = Arc::new(
        Runtime::open(o.db, durability, clock.clone())
            .map_err(|e| format!("{}: {e}", o.db.display()))?,
    );
    // A second connection watches the burst, so the watching never holds the runtime's locks.
    let watch = Store::open(o.db, durability).map_err(|e| format!("{}: {e}", o.db.display()))?;
    let dep = rt.execute(
        "DeployProcessDefinitionCommand",
        &json!({"bpmnXml": MODEL}),
        None,
    );
    if !dep.is_successful {
        return Err(format!("deploy failed: {} {:?}", dep.message, dep.errors));
    }
    let def = dep.data["processDefinitionId"].clone();

    // 1. N instances, all due at the same second an hour from now.
    let due = whole_second(clock.now() + SignedDuration::from_hours(1))?;
    let create_secs = create(&rt, &def, due, o.timers, o.clients)?;
    let pending = watch.timer_count().map_err(|e| e.to_string())?;
    if pending != o.timers as i64 {
        return Err(format!(
            "{} instances were started but the timer table holds {pending} rows",
            o.timers
        ));
    }

    // 2. The clock jumps to the due second; the scheduler starts and must fire them all.
    let jump = Timestamp::now().duration_until(due).as_nanos();
    clock
        .offset_ns
        .store(i64::try_from(jump).unwrap_or(i64::MAX), Ordering::SeqCst);
    let started = Instant::now();
    let scheduler = spawn_scheduler(rt.clone());
    let mut last = (pending, Instant::now());
    loop {
        let next = watch.next_due().map_err(|e| e.to_string())?;
        if next.is_none() {
            break;
        }
        if last.1.elapsed() >= Duration::from_secs(1) {
            let left = watch.timer_count().map_err(|e| e.to_string())?;
            if left < last.0 {
                last = (left, Instant::now());
            } else if last.1.elapsed() >= STALL {
                return Err(format!(
                    "{left} of {} timers still pending after {:.1} s, none fired in the last {} s (a firing failed? BATON_LOG=warn shows why)",
                    o.timers,
                    started.elapsed().as_secs_f64(),
                    STALL.as_secs()
                ));
            }
        }
        std::thread::sleep(POLL);
    }
    let fire_secs = started.elapsed().as_secs_f64();
    let fire_wakeups = rt.scheduler_wakeups();
    let completed = count_status(&rt, "COMPLETED")?;
    let timers_left = watch.timer_count().map_err(|e| e.to_string())?;
    if completed != o.timers as i64 || timers_left != 0 {
        return Err(format!(
            "the timer table emptied but {completed} of {} instances are COMPLETED and {timers_left} timers are left",
            o.timers
        ));
    }
    let fired_per_sec = o.timers as f64 / fire_secs;
    let mut v = json!({
        "timers": o.timers, "durable": true, "sync": o.sync, "clients": o.clients,
        "createSeconds": create_secs, "createdPerSecond": o.timers as f64 / create_secs,
        "fireSeconds": fire_secs, "firedPerSecond": fired_per_sec,
        "completed": completed, "timersLeft": timers_left, "fireWakeups": fire_wakeups,
    });
    if let Some(rate) = probe {
        v["sqliteCommitsPerSecond"] = json!(rate);
        v["ratioToSqliteCommits"] = json!(fired_per_sec / rate);
    }

    // 3. The idle cost: M timers a day ahead, the scheduler running, nothing due.
    if o.idle_seconds > 0.0 {
        let later = whole_second(clock.now() + SignedDuration::from_hours(24))?;
        let idle_create = create(&rt, &def, later, o.idle_timers, o.clients)?;
        // Let the scheduler take in the new earliest row before the window opens.
        std::thread::sleep(Duration::from_millis(200));
        let (w0, c0) = (rt.scheduler_wakeups(), cpu_seconds());
        let window = Instant::now();
        std::thread::sleep(Duration::from_secs_f64(o.idle_seconds));
        let (c1, w1) = (cpu_seconds(), rt.scheduler_wakeups());
        let wall = window.elapsed().as_secs_f64();
        let idle_left = watch.timer_count().map_err(|e| e.to_string())?;
        if idle_left != o.idle_timers as i64 {
            return Err(format!(
                "{} idle timers were written but the table holds {idle_left} rows after the idle window",
                o.idle_timers
            ));
        }
        // What one scheduler pass asks SQLite for the earliest due time, with M rows.
        let mut lookups: Vec<f64> = (0..101)
            .map(|_| {
                let t = Instant::now();
                let _ = watch.next_due();
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        lookups.sort_by(f64::total_cmp);
        let cpu = c0.zip(c1).map(|(a, b)| b - a);
        v["idleTimers"] = json!(o.idle_timers);
        v["idleCreateSeconds"] = json!(idle_create);
        v["idleSeconds"] = json!(wall);
        v["idleCpuSeconds"] = json!(cpu);
        v["idleCpuPercent"] = json!(cpu.map(|c| c / wall * 100.0));
        v["idleWakeups"] = json!(w1 - w0);
        v["idleTimersLeft"] = json!(idle_left);
        v["nextDueMicros"] = json!(lookups[lookups.len() / 2]);
    }
    scheduler.stop();
    Ok(v)
}

fn summary(v: &Value) -> String {
    let num = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let mut out = format!(
        "{} timers due at the same second fired in {:.2} s: {:.0} fired/s, each a committed step \
         (sync {}); all {} instances COMPLETED, {} timers left, {} scheduler passes\n\
         created at {:.0} instances/s by {} clients",
        v["timers"],
        num("fireSeconds"),
        num("firedPerSecond"),
        v["sync"].as_str().unwrap_or("?"),
        v["completed"],
        v["timersLeft"],
        v["fireWakeups"],
        num("createdPerSecond"),
        v["clients"],
    );
    if v.get("ratioToSqliteCommits").is_some() {
        out += &format!(
            "\nSQLite alone: {:.0} single-row commits/s; fired/s ÷ commits/s = {:.2}",
            num("sqliteCommitsPerSecond"),
            num("ratioToSqliteCommits")
        );
    }
    if v.get("idleSeconds").is_some() {
        let cpu = match v["idleCpuSeconds"].as_f64() {
            Some(c) => format!("{c:.4} s CPU ({:.3}% of one core)", num("idleCpuPercent")),
            None => "CPU time n/a on this platform".into(),
        };
        out += &format!(
            "\nidle: {} future timers, {:.1} s: {cpu}, {} scheduler wake-ups; the earliest-due lookup takes {:.0} µs",
            v["idleTimers"],
            num("idleSeconds"),
            v["idleWakeups"],
            num("nextDueMicros"),
        );
    }
    out
}

pub fn bench(compact: bool, o: &Options) -> u8 {
    // Warnings (a timer that could not fire) go to stderr; BATON_LOG or RUST_LOG say more.
    let filter = std::env::var("BATON_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
    match run(o) {
        Ok(v) => {
            if compact {
                println!("{v}");
            } else {
                println!("{}", summary(&v));
            }
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}
