//! `baton bench --durable FILE`: the same instances as `bench`, but each one goes through the
//! command bus onto SQLite, so every acknowledged step is a committed transaction. This is the
//! figure to hold against SQLite's own commit rate on the machine.

use super::{load_scenario, parse_vars, read, Invalid};
use baton_engine::sim::Action;
use baton_runtime::{Caller, Runtime, SystemClock};
use baton_store::Durability;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub fn bench(model: &Path, scenario: Option<&Path>, vars: Option<&str>, instances: usize, compact: bool, db: &Path, sync: &str) -> u8 {
    let run = || -> Result<Value, String> {
        let xml = read(model).map_err(|Invalid(m)| m)?;
        let sc = load_scenario(scenario).map_err(|Invalid(m)| m)?;
        let mut variables = sc.variables.clone();
        variables.extend(parse_vars(vars).map_err(|Invalid(m)| m)?);
        let durability = match sync {
            "full" => Durability::Full,
            "normal" => Durability::Normal,
            other => return Err(format!("--sync must be full or normal, not '{other}'")),
        };
        let rt = Runtime::open(db, durability, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
        let admin = Caller::owner();
        let dep = rt.execute_as("DeployProcessDefinitionCommand", &json!({"bpmnXml": xml}), &admin);
        if !dep.is_successful {
            return Err(format!("deploy failed: {} {:?}", dep.message, dep.errors));
        }
        let def = dep.data["processDefinitionId"].clone();
        let one = || -> Result<String, String> {
            let r = rt.execute_as("StartProcessInstanceCommand", &json!({"processDefinitionId": def, "variables": variables}), &admin);
            if !r.is_successful {
                return Err(r.message);
            }
            let guid = r.data["instanceGuid"].clone();
            let mut status = r.data["status"].as_str().unwrap_or_default().to_string();
            for step in &sc.steps {
                let r = match &step.action {
                    Action::Complete { task, data } => rt.execute_as(
                        "SignalProcessInstanceCommand",
                        &json!({"instanceGuid": guid, "taskId": task, "callbackData": data}),
                        &admin,
                    ),
                    Action::Callback { key, data } => {
                        rt.execute_as("ReturnCallbackCommand", &json!({"correlationKey": key, "result": data}), &admin)
                    }
                    _ => return Err(format!("step {}: only complete and callback steps run durably", step.index)),
                };
                if !r.is_successful {
                    return Err(format!("step {}: {}", step.index, r.message));
                }
                status = r.data["status"].as_str().unwrap_or_default().to_string();
            }
            Ok(status)
        };
        let started = Instant::now();
        let mut state = None;
        for i in 0..instances {
            let s = one().map_err(|e| format!("instance {}: {e}", i + 1))?;
            match &state {
                None => state = Some(s),
                Some(first) if *first != s => return Err(format!("instance {} ended {s}, the first ended {first}", i + 1)),
                _ => {}
            }
        }
        let secs = started.elapsed().as_secs_f64();
        Ok(json!({"instances": instances, "seconds": secs, "instancesPerSecond": instances as f64 / secs,
                  "state": state, "durable": true, "sync": sync}))
    };
    match run() {
        Ok(v) => {
            if compact {
                println!("{v}");
            } else {
                println!("{}: {} durable instances/s ({} sync), all {}", model.display(), v["instancesPerSecond"], sync, v["state"]);
            }
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}
