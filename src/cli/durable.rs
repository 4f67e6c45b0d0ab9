//! `baton bench --durable FILE`: the same instances as `bench`, but each one goes through the
//! command bus onto SQLite, so every acknowledged step is a committed transaction. With
//! `--clients N` that many threads send commands at once and group commit shares disk syncs
//! between them. With `--probe-seconds S` SQLite's own one-row-per-commit rate is measured in
//! the same run beside the file, and the answer carries the ratio.

use super::{load_scenario, parse_vars, read, Invalid};
use baton_engine::sim::{Action, Step};
use baton_runtime::{Caller, Runtime, SystemClock};
use baton_store::Durability;
use serde_json::{json, Map, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub struct Options<'a> {
    pub db: &'a Path,
    pub sync: &'a str,
    pub clients: usize,
    /// Each client a thread calling the blocking API, instead of an async task.
    pub client_threads: bool,
    pub probe_seconds: f64,
}

/// One command through the bus, from a task or from a client's own thread.
async fn send(rt: &Arc<Runtime>, threads: bool, cmd: &str, data: &Value) -> baton_runtime::Reply {
    let owner = Caller::owner();
    if threads {
        rt.execute_as(cmd, data, &owner)
    } else {
        rt.execute_async(cmd, data, &owner).await
    }
}

/// One instance through the bus: start, then the scenario's steps. Answers its final status.
async fn one(
    threads: bool,
    rt: &Arc<Runtime>,
    def: &Value,
    variables: &Map<String, Value>,
    steps: &[Step],
) -> Result<String, String> {
    let r = send(
        rt,
        threads,
        "StartProcessInstanceCommand",
        &json!({"processDefinitionId": def, "variables": variables}),
    )
    .await;
    if !r.is_successful {
        return Err(r.message);
    }
    let guid = r.data["instanceGuid"].clone();
    let mut status = r.data["status"].as_str().unwrap_or_default().to_string();
    for step in steps {
        let r = match &step.action {
            Action::Complete { task, data } => {
                let data = json!({"instanceGuid": guid, "taskId": task, "callbackData": data});
                send(rt, threads, "SignalProcessInstanceCommand", &data).await
            }
            Action::Callback { key, data } => {
                let data = json!({"correlationKey": key, "result": data});
                send(rt, threads, "ReturnCallbackCommand", &data).await
            }
            _ => {
                return Err(format!(
                    "step {}: only complete and callback steps run durably",
                    step.index
                ))
            }
        };
        if !r.is_successful {
            return Err(format!("step {}: {}", step.index, r.message));
        }
        status = r.data["status"].as_str().unwrap_or_default().to_string();
    }
    Ok(status)
}

pub fn bench(
    model: &Path,
    scenario: Option<&Path>,
    vars: Option<&str>,
    instances: usize,
    compact: bool,
    o: &Options,
) -> u8 {
    let run = || -> Result<Value, String> {
        let xml = read(model).map_err(|Invalid(m)| m)?;
        let sc = load_scenario(scenario).map_err(|Invalid(m)| m)?;
        let mut variables = sc.variables.clone();
        variables.extend(parse_vars(vars).map_err(|Invalid(m)| m)?);
        let durability = match o.sync {
            "full" => Durability::Full,
            "normal" => Durability::Normal,
            other => return Err(format!("--sync must be full or normal, not '{other}'")),
        };
        if o.clients == 0 {
            return Err("--clients must be 1 or more".into());
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
        let rt = Arc::new(
            Runtime::open(o.db, durability, Arc::new(SystemClock)).map_err(|e| e.to_string())?,
        );
        let dep = rt.execute_as(
            "DeployProcessDefinitionCommand",
            &json!({"bpmnXml": xml}),
            &Caller::owner(),
        );
        if !dep.is_successful {
            return Err(format!("deploy failed: {} {:?}", dep.message, dep.errors));
        }
        let def = dep.data["processDefinitionId"].clone();
        let tasks = match o.client_threads {
            true => None,
            false => Some(
                tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("the async runtime did not start: {e}"))?,
            ),
        };
        let started = Instant::now();
        // Instance i goes to client i % clients; every client reports its statuses.
        let client = |c: usize| {
            let (rt, def, variables, steps) =
                (rt.clone(), def.clone(), variables.clone(), sc.steps.clone());
            let (clients, threads) = (o.clients, o.client_threads);
            async move {
                let mut statuses = Vec::new();
                for i in (c..instances).step_by(clients) {
                    let s = one(threads, &rt, &def, &variables, &steps)
                        .await
                        .map_err(|e| format!("instance {}: {e}", i + 1))?;
                    statuses.push(s);
                }
                Ok::<_, String>(statuses)
            }
        };
        let results: Vec<Result<Vec<String>, String>> = if let Some(tasks) = &tasks {
            tasks.block_on(async {
                let handles: Vec<_> = (0..o.clients).map(|c| tokio::spawn(client(c))).collect();
                let mut out = Vec::new();
                for h in handles {
                    out.push(
                        h.await
                            .unwrap_or_else(|_| Err("a client task panicked".into())),
                    );
                }
                out
            })
        } else {
            // A client's future never waits here (the blocking API answers in place).
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..o.clients)
                    .map(|c| {
                        let client = client(c);
                        s.spawn(move || {
                            tokio::runtime::Builder::new_current_thread()
                                .build()
                                .map_err(|e| e.to_string())?
                                .block_on(client)
                        })
                    })
                    .collect();
                super::joined(handles)
            })
        };
        let secs = started.elapsed().as_secs_f64();
        let mut state: Option<String> = None;
        for r in results {
            for s in r? {
                match &state {
                    None => state = Some(s),
                    Some(first) if *first != s => {
                        return Err(format!("an instance ended {s}, another ended {first}"))
                    }
                    _ => {}
                }
            }
        }
        let per_sec = instances as f64 / secs;
        let mut v = json!({"instances": instances, "seconds": secs, "instancesPerSecond": per_sec,
                           "state": state, "durable": true, "sync": o.sync, "clients": o.clients});
        if let Some(rate) = probe {
            v["sqliteCommitsPerSecond"] = json!(rate);
            v["ratioToSqliteCommits"] = json!(per_sec / rate);
        }
        Ok(v)
    };
    match run() {
        Ok(v) => {
            if compact {
                println!("{v}");
            } else {
                let probe = match v.get("ratioToSqliteCommits") {
                    Some(r) => format!(
                        "; SQLite alone {} commits/s, ratio {r}",
                        v["sqliteCommitsPerSecond"]
                    ),
                    None => String::new(),
                };
                println!(
                    "{}: {} durable instances/s ({} sync, {} clients), all {}{probe}",
                    model.display(),
                    v["instancesPerSecond"],
                    o.sync,
                    o.clients,
                    v["state"]
                );
            }
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}
