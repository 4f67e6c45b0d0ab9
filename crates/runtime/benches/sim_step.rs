//! How long the designer waits for a simulation session: StartSimulationCommand, each
//! SimulationStepCommand of the templates' scenarios, SimulationBackCommand to the start, and
//! RunScenarioQuery of the whole scenario, each timed through the command bus on a runtime over
//! an in-memory database (as the desktop app runs them). Issue 12 asks a step to answer within
//! 50 ms for the templates.
//!
//! ```text
//! cargo bench -p baton-runtime --bench sim_step            # 200 rounds per template
//! cargo bench -p baton-runtime --bench sim_step -- 50      # fewer rounds
//! ```
//!
//! Prints, per template and command, the median, 95th percentile and slowest answer in
//! milliseconds. A command that is refused stops the bench (the figures would be of failures).

use baton_engine::VirtualClock;
use baton_runtime::{Caller, Runtime};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The templates and their main scenario.
const TEMPLATES: &[&str] = &[
    "loan-approval/LoanApprovalProcess",
    "payment-approval/PaymentApprovalProcess",
    "invoice-reminders/InvoiceReminderProcess",
    "webhook-payment/WebhookPaymentFlow",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bpmn-templates")
}

fn timed(rt: &Runtime, cmd: &str, data: &Value, into: &mut Vec<Duration>) -> Value {
    let started = Instant::now();
    let reply = rt.execute_as(cmd, data, &Caller::owner());
    into.push(started.elapsed());
    assert!(reply.is_successful, "{cmd}: {}", reply.message);
    reply.data
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn line(template: &str, cmd: &str, mut times: Vec<Duration>) {
    if times.is_empty() {
        return;
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{template:<24} {cmd:<24} n={:<5} median {:>7.3} ms  p95 {:>7.3} ms  max {:>7.3} ms",
        times.len(),
        ms(at(0.5)),
        ms(at(0.95)),
        ms(*times.last().unwrap()),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a number sets the rounds.
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let rt = Runtime::open_in_memory(Arc::new(VirtualClock::new(VirtualClock::default_start())))
        .expect("an in-memory runtime");
    println!("{rounds} rounds per template (release build)");
    for t in TEMPLATES {
        let xml = std::fs::read_to_string(root().join(format!("{t}.bpmn"))).unwrap();
        let sc: Value = serde_json::from_str(
            &std::fs::read_to_string(root().join(format!("{t}.scenario.json"))).unwrap(),
        )
        .unwrap();
        // Steps a session takes: the scenario's, but not those it expects to be refused.
        let steps: Vec<Value> = sc["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s.get("expectError").is_none())
            .cloned()
            .collect();
        let (mut start, mut step, mut back, mut get, mut run) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let v = timed(
                &rt,
                "StartSimulationCommand",
                &json!({"bpmnXml": xml, "variables": sc["variables"]}),
                &mut start,
            );
            let id = v["sessionId"].clone();
            for s in &steps {
                timed(
                    &rt,
                    "SimulationStepCommand",
                    &json!({"sessionId": id, "step": s}),
                    &mut step,
                );
            }
            timed(
                &rt,
                "GetSimulationQuery",
                &json!({ "sessionId": id }),
                &mut get,
            );
            timed(
                &rt,
                "SimulationBackCommand",
                &json!({"sessionId": id, "toStep": 0}),
                &mut back,
            );
            timed(
                &rt,
                "EndSimulationCommand",
                &json!({ "sessionId": id }),
                &mut Vec::new(),
            );
            let mut scenario = sc.clone();
            if let Some(o) = scenario.as_object_mut() {
                o.remove("users");
                o.remove("model");
                o.insert("steps".into(), Value::Array(steps.clone()));
                o.remove("expect");
            }
            timed(
                &rt,
                "RunScenarioQuery",
                &json!({"bpmnXml": xml, "scenario": scenario}),
                &mut run,
            );
        }
        let name = t.rsplit('/').next().unwrap_or(t);
        line(name, "StartSimulationCommand", start);
        line(name, "SimulationStepCommand", step);
        line(name, "GetSimulationQuery", get);
        line(name, "SimulationBackCommand", back);
        line(name, "RunScenarioQuery", run);
    }
}
