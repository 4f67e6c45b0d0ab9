//! `cargo xtask bench-webhook`: the webhook path end to end under wrk, next to a bare axum echo
//! server loaded the same way in the same run (issue 9).
//!
//! Each request is a Paystack-style `charge.success` POST to `/webhook/bench/paystack`, signed
//! with `x-paystack-signature` (hex HMAC-SHA512 of the body). The configuration maps it with
//! JMESPath to `ReturnCallbackCommand` on `body.data.reference`, which resumes the one instance
//! waiting on that key in a receiveTask; the 200 is sent after that step committed. Every
//! request carries its own reference, so every request resumes a different instance: the
//! instances are started (over the HTTP API) before wrk runs, and the signed requests are made
//! here and handed to wrk in a file its Lua script walks through.
//!
//! A third server runs the same requests: `webhook_floor` (an example of baton-runtime), the
//! least a durable receiver does (the signature checked, one pending row completed and the
//! request logged in a group commit under `synchronous=FULL`, then the 200). It says how much
//! of the gap to the echo any durable receiver pays on this machine.

use crate::bench::{median_range, peers_dir};
use crate::http_client::{json_string, Client};
use crate::sign::paystack_signature;
use crate::{apt_install, baton, can_apt, cargo, have_program, run, target_dir};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: cargo xtask bench-webhook [--reps N] [--threads T] [--connections C] [--seconds S] [--instances N]";

/// The process every request resumes: start, a webhook-mode receiveTask keyed by the
/// `reference` variable, end.
const MODEL: &str = include_str!("../bench/WebhookBench.bpmn");
const HOOK_PATH: &str = "/webhook/bench/paystack";
const SECRET: &str = "sk_test_bench_webhook_0123456789abcdef";

struct Options {
    reps: usize,
    threads: usize,
    connections: usize,
    seconds: u64,
    instances: Option<usize>,
    /// Whether requests resume the instances in a shuffled order instead of the order they
    /// started in (`--order random`).
    shuffled: bool,
}

fn options(args: &[String]) -> Result<Options> {
    let mut o = Options {
        reps: 3,
        threads: 2,
        connections: 16,
        seconds: 10,
        instances: None,
        shuffled: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it
            .next()
            .with_context(|| format!("{a} needs a value\n{USAGE}"))?;
        if a == "--order" {
            o.shuffled = match v.as_str() {
                "started" => false,
                "random" => true,
                _ => bail!("--order {v}: started or random\n{USAGE}"),
            };
            continue;
        }
        let n: usize = v
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .with_context(|| format!("{a} {v}: not a whole number above 0\n{USAGE}"))?;
        match a.as_str() {
            "--reps" => o.reps = n,
            "--threads" => o.threads = n,
            "--connections" => o.connections = n,
            "--seconds" => o.seconds = n as u64,
            "--instances" => o.instances = Some(n),
            _ => bail!("unknown argument {a}\n{USAGE}"),
        }
    }
    if o.connections < o.threads {
        bail!("--connections must be at least --threads (wrk gives each thread its own)");
    }
    Ok(o)
}

/// What one wrk run printed.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct WrkRun {
    pub(crate) rps: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) requests: u64,
    pub(crate) non2xx: u64,
    pub(crate) socket_errors: String,
    pub(crate) exhausted: u64,
    /// The server's CPU time (user + system, all threads) during the run, per request, in µs.
    pub(crate) cpu_us: Option<f64>,
}

fn to_ms(v: &str) -> Option<f64> {
    let num = |n: &str| n.parse::<f64>().ok();
    if let Some(n) = v.strip_suffix("us") {
        num(n).map(|n| n / 1000.0)
    } else if let Some(n) = v.strip_suffix("ms") {
        num(n)
    } else if let Some(n) = v.strip_suffix('m') {
        num(n).map(|n| n * 60_000.0)
    } else if let Some(n) = v.strip_suffix('s') {
        num(n).map(|n| n * 1000.0)
    } else {
        None
    }
}

/// Reads wrk's `--latency` report (and the `exhausted:` line our Lua script adds).
pub(crate) fn parse_wrk(out: &str) -> Result<WrkRun> {
    let mut r = WrkRun {
        socket_errors: "none".into(),
        ..WrkRun::default()
    };
    let (mut rps, mut p50, mut p99, mut reqs) = (None, None, None, None);
    for line in out.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", v] => rps = v.parse().ok(),
            ["50%", v] => p50 = to_ms(v),
            ["99%", v] => p99 = to_ms(v),
            [n, "requests", "in", ..] => reqs = n.parse().ok(),
            ["Non-2xx", "or", "3xx", "responses:", n] => r.non2xx = n.parse().unwrap_or(u64::MAX),
            ["exhausted:", n] => r.exhausted = n.parse().unwrap_or(u64::MAX),
            _ if line.starts_with("Socket errors:") => r.socket_errors = line[14..].trim().into(),
            _ => {}
        }
    }
    match (rps, p50, p99, reqs) {
        (Some(rps), Some(p50), Some(p99), Some(reqs)) => {
            r.rps = rps;
            r.p50_ms = p50;
            r.p99_ms = p99;
            r.requests = reqs;
            Ok(r)
        }
        _ => bail!("could not read wrk's report:\n{out}"),
    }
}

/// The CPU time a process used so far (user + system, all its threads), in seconds; Linux
/// only (/proc), in the kernel's USER_HZ ticks, which are 1/100 s on Linux.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start with field 3, the state.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

/// Runs wrk against `url` with the server `pid` under load, and reads its report.
fn wrk(o: &Options, script: &Path, url: &str, log: &Path, pid: u32) -> Result<WrkRun> {
    let cpu_before = cpu_seconds(pid);
    let mut c = Command::new("wrk");
    c.arg(format!("-t{}", o.threads))
        .arg(format!("-c{}", o.connections))
        .arg(format!("-d{}s", o.seconds))
        .args(["--latency", "--timeout", "2s", "-s"])
        .arg(script)
        .arg(url);
    let out = c.output().context("could not start wrk")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    std::fs::write(log, &text)?;
    if !out.status.success() {
        bail!(
            "wrk failed ({}):\n{text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let cpu_after = cpu_seconds(pid);
    let mut r = parse_wrk(&text)?;
    if let (Some(a), Some(b)) = (cpu_before, cpu_after) {
        r.cpu_us = Some((b - a) * 1e6 / r.requests.max(1) as f64);
    }
    Ok(r)
}

/// A free port on 127.0.0.1 (the OS picks it; it is released before the server binds it).
fn free_addr() -> Result<String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.to_string())
}

/// A child process that is stopped (SIGTERM, then SIGKILL) when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_listening(addr: &str) -> Result<()> {
    let until = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        if Instant::now() > until {
            bail!("nothing listens on {addr} after 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// The peer echo server, built from ../shared/bench-peers/rust/http-echo in a copy under
/// target/ (made its own workspace there), so nothing is written next to the shared sources.
fn build_echo(peers: &Path) -> Result<PathBuf> {
    let src = peers.join("rust/http-echo");
    let dir = target_dir().join("bench-peers/http-echo");
    std::fs::create_dir_all(dir.join("src"))?;
    let manifest = std::fs::read_to_string(src.join("Cargo.toml"))?;
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "{manifest}\n# copied by cargo xtask bench-webhook: its own workspace\n[workspace]\n"
        ),
    )?;
    std::fs::copy(src.join("Cargo.lock"), dir.join("Cargo.lock"))?;
    std::fs::copy(src.join("src/main.rs"), dir.join("src/main.rs"))?;
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(&dir)
        .args(["build", "--release", "--locked", "-q"])
        .env("CARGO_TARGET_DIR", dir.join("target"));
    run(&mut c, "cargo build --release (the peer axum echo server)")?;
    Ok(dir.join("target/release/http-echo"))
}

fn run_echo(o: &Options, echo: &Path, peers: &Path, work: &Path, rep: usize) -> Result<WrkRun> {
    let addr = free_addr()?;
    let server = Server(
        Command::new(echo)
            .arg(&addr)
            .stderr(Stdio::null())
            .spawn()
            .context("could not start the echo server")?,
    );
    wait_listening(&addr)?;
    eprintln!("==> echo, rep {rep}");
    wrk(
        o,
        &peers.join("wrk/post_hook.lua"),
        &format!("http://{addr}/hook"),
        &work.join(format!("wrk-echo-{rep}.txt")),
        server.0.id(),
    )
}

/// Builds the durable floor (`crates/runtime/examples/webhook_floor.rs`).
fn build_floor() -> Result<PathBuf> {
    run(
        cargo().args([
            "build",
            "--release",
            "-q",
            "-p",
            "baton-runtime",
            "--example",
            "webhook_floor",
        ]),
        "cargo build --release --example webhook_floor",
    )?;
    Ok(target_dir().join("release/examples/webhook_floor"))
}

/// Writes one signed request a line for the references `{prefix}0` .. `{prefix}{count - 1}`
/// (in that order, or shuffled when `o.shuffled`), and the Lua script that walks them.
fn signed_requests(o: &Options, dir: &Path, prefix: &str, count: usize) -> Result<PathBuf> {
    let requests = dir.join("requests.tsv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&requests)?);
    let order = if o.shuffled {
        shuffled(count)
    } else {
        (0..count).collect()
    };
    for i in order {
        let b = body(&format!("{prefix}{i}"));
        writeln!(f, "{}\t{b}", paystack_signature(SECRET, &b))?;
    }
    f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    let script = dir.join("webhook.lua");
    std::fs::write(&script, lua_script(&requests, o.threads))?;
    Ok(script)
}

/// `0..count` in an order that looks random and is the same on every run (Fisher-Yates driven
/// by xorshift64 from a fixed seed), so that reps and builds see the same sequence.
fn shuffled(count: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..count).collect();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..count).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

/// The floor, on a new database in which one reference a request of the run is pending
/// (45,000 a second of wrk: more than it answers on a 2-core machine; a shortfall shows as
/// `exhausted` in the check).
fn run_floor(o: &Options, floor: &Path, work: &Path, rep: usize) -> Result<WrkRun> {
    let dir = work.join(format!("floor-{rep}"));
    std::fs::create_dir_all(&dir)?;
    let count = o.seconds as usize * 45_000;
    let prefix = format!("F{rep}-");
    eprintln!("==> floor, rep {rep}: signing {count} requests");
    let script = signed_requests(o, &dir, &prefix, count)?;
    let addr = free_addr()?;
    let server = Server(
        Command::new(floor)
            .arg(&addr)
            .arg(dir.join("floor.db"))
            .args([SECRET, &prefix, &count.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("floor.log"))?)
            .spawn()
            .context("could not start webhook_floor")?,
    );
    wait_listening(&addr)?;
    eprintln!("==> floor, rep {rep}: wrk on {HOOK_PATH}");
    let w = wrk(
        o,
        &script,
        &format!("http://{addr}{HOOK_PATH}"),
        &work.join(format!("wrk-floor-{rep}.txt")),
        server.0.id(),
    )?;
    drop(server);
    for name in ["floor.db", "floor.db-wal", "floor.db-shm", "requests.tsv"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    Ok(w)
}

/// A token long enough for serve (16 characters at least), different on every run.
fn token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut parts = String::from("bench-");
    for i in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(i ^ u64::from(std::process::id()));
        parts.push_str(&format!("{:016x}", h.finish()));
    }
    parts
}

fn body(reference: &str) -> String {
    format!(
        r#"{{"event":"charge.success","data":{{"reference":"{reference}","amount":50000,"currency":"NGN","status":"success","customer":{{"email":"payer@example.com"}}}}}}"#
    )
}

/// The Lua script for wrk: each thread takes every T-th line of `requests` (signature, tab,
/// body), sends each once, and once its share is used up sends an unsigned body (answered 401,
/// so it shows as non-2xx) and counts it as `exhausted`.
fn lua_script(requests: &Path, threads: usize) -> String {
    format!(
        r#"-- written by cargo xtask bench-webhook
local file = {file}
local path = "{HOOK_PATH}"
local all = {{}}
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(all, thread)
end
local reqs, n, i = {{}}, 0, 0
function init(args)
  exhausted = 0
  local k = 0
  for line in io.lines(file) do
    if k % {threads} == id then
      local tab = line:find("\t", 1, true)
      n = n + 1
      reqs[n] = wrk.format("POST", path, {{["Content-Type"] = "application/json",
        ["x-paystack-signature"] = line:sub(1, tab - 1)}}, line:sub(tab + 1))
    end
    k = k + 1
  end
  unsigned = wrk.format("POST", path, {{["Content-Type"] = "application/json"}}, "{{}}")
end
function request()
  if i < n then
    i = i + 1
    return reqs[i]
  end
  exhausted = exhausted + 1
  return unsigned
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(all) do total = total + (t:get("exhausted") or 0) end
  io.write(string.format("exhausted: %d\n", total))
end
"#,
        file = json_string(&requests.display().to_string()),
    )
}

/// Starts `baton serve` on a new database and answers it with its address.
fn start_baton(dir: &Path, token: &str) -> Result<(Server, String)> {
    let mut child = Command::new(baton_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.join("bench.db"))
        .env("BATON_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("serve.log"))?)
        .spawn()
        .context("could not start baton serve")?;
    let stdout = child.stdout.take().context("serve's stdout")?;
    let server = Server(child);
    let mut addr = None;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(rest) = line.split_once(" on http://").map(|(_, r)| r) {
            addr = rest.split_whitespace().next().map(str::to_string);
            break;
        }
    }
    let addr = addr.context("baton serve did not say where it listens (see serve.log)")?;
    Ok((server, addr))
}

/// Starts instances from 16 client threads until `target` are waiting or `deadline` passed;
/// answers how many: their references are `R{rep}-0` up to that number (each number taken is
/// started, and numbers are taken in order).
fn start_instances(
    addr: &str,
    token: &str,
    rep: usize,
    target: usize,
    deadline: Option<Instant>,
) -> Result<usize> {
    let next = AtomicUsize::new(0);
    let started = AtomicUsize::new(0);
    let failure = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                let run = || -> Result<()> {
                    let mut client = Client::connect(addr, token)?;
                    loop {
                        if deadline.is_some_and(|d| Instant::now() > d) {
                            return Ok(());
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= target {
                            return Ok(());
                        }
                        let data = format!(
                            r#"{{"processKey":"WebhookBench","variables":{{"reference":"R{rep}-{i}"}}}}"#
                        );
                        let answer = client.execute("StartProcessInstanceCommand", &data)?;
                        if !answer.contains("WaitForPayment") {
                            bail!("instance R{rep}-{i} is not waiting for the callback: {answer}");
                        }
                        started.fetch_add(1, Ordering::Relaxed);
                    }
                };
                if let Err(e) = run() {
                    *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    // The workers stop taking numbers together, so the started ones are 0..started.
    let n = started.into_inner();
    Ok(n.min(next.into_inner()))
}

fn total_count(answer: &str) -> Result<u64> {
    crate::bench::json_scalar(answer, "totalCount")
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no totalCount in {answer}"))
}

fn count(client: &mut Client, query: &str, data: &str) -> Result<u64> {
    total_count(&client.execute(query, data)?)
}

/// One rep against Baton: what wrk saw, the instances started and completed, and the requests
/// Baton recorded.
struct BatonRun {
    wrk: WrkRun,
    started: usize,
    completed: u64,
    recorded: u64,
}

fn run_baton(o: &Options, work: &Path, rep: usize, target: Option<usize>) -> Result<BatonRun> {
    let dir = work.join(format!("baton-{rep}"));
    std::fs::create_dir_all(&dir)?;
    let token = token();
    let (server, addr) = start_baton(&dir, &token)?;
    let mut api = Client::connect(&addr, &token)?;
    api.execute(
        "DeployProcessDefinitionCommand",
        &format!(r#"{{"bpmnXml":{}}}"#, json_string(MODEL)),
    )?;
    api.execute(
        "CreateWebHookConfigCommand",
        &format!(
            r#"{{"name":"bench","url":"{HOOK_PATH}","executionType":0,"commandName":"ReturnCallbackCommand","commandData":{{"correlationKey":"body.data.reference","result":"{{status: body.data.status, amount: body.data.amount, reference: body.data.reference}}"}},"verification":{{"scheme":"paystack","secret":"{SECRET}"}}}}"#
        ),
    )?;
    // wrk sends everything from one address: the per-address rate limit would answer 429
    // after the first burst (docs/security.md). The bench measures the path, not the limit.
    api.execute("SetSecuritySettingsCommand", r#"{"rateLimitPerMinute":0}"#)?;
    // Without a count to aim for, start instances for 1.5x the wrk run: a resume does more
    // than a start (two more writes for the request log), so that is at least 1.5x what wrk
    // will send. Every rep starts from the same conditions that way, even when the resume rate
    // depends on how many instances wait (it is not sized from an earlier rep's rate).
    let (want, deadline) = match target {
        Some(n) => (n, None),
        None => (
            usize::MAX,
            Some(Instant::now() + Duration::from_secs(o.seconds * 3 / 2)),
        ),
    };
    eprintln!(
        "==> baton, rep {rep}: starting {} waiting instances",
        if want == usize::MAX {
            format!("as many as fit in {} s of", o.seconds * 3 / 2)
        } else {
            want.to_string()
        }
    );
    let t = Instant::now();
    let started = start_instances(&addr, &token, rep, want, deadline)?;
    eprintln!(
        "    {started} started in {:.1} s; signing one request each",
        t.elapsed().as_secs_f64()
    );
    let script = signed_requests(o, &dir, &format!("R{rep}-"), started)?;
    // One request by hand first, signed, for a reference nobody waits on: a wrong signature
    // (401) or configuration (404) shows here in words; the mapping and the command ran when
    // the answer is the command's refusal naming the reference.
    let (status, answer) = {
        let b = body("R-probe");
        let mut c = Client::connect(&addr, &token)?;
        c.post_signed(HOOK_PATH, &b, &paystack_signature(SECRET, &b))?
    };
    if status != 422 || !answer.contains("R-probe") {
        bail!("a signed request for an unknown reference was answered {status}, not 422 naming it: {answer}");
    }
    eprintln!("==> baton, rep {rep}: wrk on {HOOK_PATH}");
    let w = wrk(
        o,
        &script,
        &format!("http://{addr}{HOOK_PATH}"),
        &work.join(format!("wrk-baton-{rep}.txt")),
        server.0.id(),
    )?;
    // Requests wrk sent but stopped waiting for at its deadline may still be finishing.
    let (mut completed, mut recorded) = (0, 0);
    for _ in 0..50 {
        let c = count(
            &mut api,
            "GetProcessInstanceListQuery",
            r#"{"status":"COMPLETED","processKey":"WebhookBench","pageSize":1}"#,
        )?;
        let r = count(&mut api, "GetWebhookRequestListQuery", r#"{"pageSize":1}"#)?;
        if (c, r) == (completed, recorded) {
            break;
        }
        (completed, recorded) = (c, r);
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(api);
    drop(server);
    Ok(BatonRun {
        wrk: w,
        started,
        completed,
        // Less the probe.
        recorded: recorded.saturating_sub(1),
    })
}

/// The `baton` measured: `BATON_BENCH_BIN` when set (to compare two builds in the same
/// minutes), else the release build.
fn baton_bin() -> PathBuf {
    std::env::var_os("BATON_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| baton("release"))
}

pub(crate) fn bench_webhook(args: &[String]) -> Result<()> {
    let o = options(args)?;
    let Some(peers) = peers_dir() else {
        println!("skipped: ../shared/bench-peers not found (the echo server and its wrk script live there)");
        return Ok(());
    };
    if !have_program("wrk") {
        if !can_apt() {
            bail!("wrk is not installed and apt-get cannot install it here: install wrk");
        }
        apt_install(&["wrk"])?;
    }
    if std::env::var_os("BATON_BENCH_BIN").is_none() {
        run(
            cargo().args(["build", "--release", "-p", "baton"]),
            "cargo build --release -p baton",
        )?;
    }
    let echo = build_echo(&peers)?;
    let floor = build_floor()?;
    let work = std::env::temp_dir().join(format!("baton-bench-webhook-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let mut echo_runs = Vec::new();
    let mut floor_runs = Vec::new();
    let mut baton_runs: Vec<BatonRun> = Vec::new();
    for rep in 1..=o.reps {
        echo_runs.push(run_echo(&o, &echo, &peers, &work, rep)?);
        floor_runs.push(run_floor(&o, &floor, &work, rep)?);
        baton_runs.push(run_baton(&o, &work, rep, o.instances)?);
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(work.join(format!("baton-{rep}/bench.db{ext}")));
        }
        let _ = std::fs::remove_file(work.join(format!("baton-{rep}/requests.tsv")));
    }
    report(&o, &echo_runs, &floor_runs, &baton_runs, &work)
}

fn report(
    o: &Options,
    echo: &[WrkRun],
    floor: &[WrkRun],
    baton: &[BatonRun],
    work: &Path,
) -> Result<()> {
    let stat = |v: Vec<f64>, digits: usize| {
        let (m, lo, hi) = median_range(&mut v.clone());
        format!("{m:.digits$} ({lo:.digits$}-{hi:.digits$})")
    };
    let row = |name: &str, runs: Vec<&WrkRun>| {
        println!(
            "| {name} | {} | {} | {} | {} |",
            stat(runs.iter().map(|r| r.rps).collect(), 0),
            stat(runs.iter().map(|r| r.p50_ms).collect(), 3),
            stat(runs.iter().map(|r| r.p99_ms).collect(), 3),
            runs.iter()
                .map(|r| r.non2xx.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        )
    };
    println!(
        "\nwrk -t{} -c{} -d{}s --latency, {} reps interleaved, 127.0.0.1, instances resumed in {} order; medians (min-max)\n",
        o.threads,
        o.connections,
        o.seconds,
        o.reps,
        if o.shuffled { "a shuffled" } else { "their start" }
    );
    println!("| server | requests/s | p50 (ms) | p99 (ms) | non-2xx per rep |");
    println!("|---|---|---|---|---|");
    row("axum echo (POST /hook)", echo.iter().collect());
    row(
        "durable floor (signature, one row completed, request logged, group commit, FULL)",
        floor.iter().collect(),
    );
    row(
        "Baton webhook -> ReturnCallbackCommand",
        baton.iter().map(|b| &b.wrk).collect(),
    );
    let ratio_of = |num: Vec<f64>, den: Vec<f64>| {
        let v: Vec<f64> = num.iter().zip(&den).map(|(n, d)| n / d).collect();
        median_range(&mut v.clone())
    };
    let echo_rps: Vec<f64> = echo.iter().map(|r| r.rps).collect();
    let floor_rps: Vec<f64> = floor.iter().map(|r| r.rps).collect();
    let baton_rps: Vec<f64> = baton.iter().map(|b| b.wrk.rps).collect();
    let (ratio, lo, hi) = ratio_of(baton_rps.clone(), echo_rps.clone());
    println!(
        "\nBaton / echo requests/s: {ratio:.3} ({lo:.3}-{hi:.3}); the goal is at least 0.25: {}",
        if ratio >= 0.25 { "met" } else { "NOT met" }
    );
    let (f, flo, fhi) = ratio_of(floor_rps.clone(), echo_rps);
    let (b, blo, bhi) = ratio_of(baton_rps, floor_rps);
    println!("floor / echo: {f:.3} ({flo:.3}-{fhi:.3}); Baton / floor: {b:.3} ({blo:.3}-{bhi:.3})");
    let cpu = |runs: Vec<&WrkRun>| {
        let v: Option<Vec<f64>> = runs.iter().map(|r| r.cpu_us).collect();
        v.map(|v| stat(v, 1))
            .unwrap_or_else(|| "n/a (no /proc)".into())
    };
    println!(
        "server CPU time per request (user + system, all threads, during wrk): echo {} µs, floor {} µs, Baton {} µs",
        cpu(echo.iter().collect()),
        cpu(floor.iter().collect()),
        cpu(baton.iter().map(|b| &b.wrk).collect())
    );
    println!(
        "\n| rep | instances waiting | wrk 2xx | completed | requests Baton recorded | check |"
    );
    println!("|---:|---:|---:|---:|---:|---|");
    let mut bad = Vec::new();
    for (i, b) in baton.iter().enumerate() {
        let ok = b.wrk.requests - b.wrk.non2xx.min(b.wrk.requests);
        let mut problems = Vec::new();
        if b.wrk.non2xx > 0 {
            problems.push(format!("{} non-2xx", b.wrk.non2xx));
        }
        if b.wrk.exhausted > 0 {
            problems.push(format!(
                "ran out of waiting instances ({} requests unsigned; pass a larger --instances)",
                b.wrk.exhausted
            ));
        }
        if b.wrk.socket_errors != "none" {
            problems.push(format!("socket errors: {}", b.wrk.socket_errors));
        }
        // wrk does not count the answers still on their way at its deadline (at most one per
        // connection); Baton completes those instances all the same.
        if b.completed < ok || b.completed > ok + o.connections as u64 {
            problems.push(format!(
                "{} completed instances for {ok} successful requests",
                b.completed
            ));
        }
        if b.completed > b.recorded {
            problems.push("more instances completed than requests recorded".into());
        }
        let check = if problems.is_empty() {
            let late = b.completed - ok;
            if late == 0 {
                "ok".to_string()
            } else {
                format!("ok ({late} answered after wrk's deadline)")
            }
        } else {
            problems.join("; ")
        };
        println!(
            "| {} | {} | {ok} | {} | {} | {check} |",
            i + 1,
            b.started,
            b.completed,
            b.recorded
        );
        if !problems.is_empty() {
            bad.push(i + 1);
        }
    }
    for (i, f) in floor.iter().enumerate() {
        let mut problems = Vec::new();
        if f.non2xx > 0 {
            problems.push(format!("{} non-2xx", f.non2xx));
        }
        if f.exhausted > 0 {
            problems.push(format!("ran out of pending references ({})", f.exhausted));
        }
        if f.socket_errors != "none" {
            problems.push(format!("socket errors: {}", f.socket_errors));
        }
        if !problems.is_empty() {
            println!("floor, rep {}: {}", i + 1, problems.join("; "));
            bad.push(i + 1);
        }
    }
    println!("\nwrk's reports and serve.log: {}", work.display());
    if !bad.is_empty() {
        bail!("the check failed in rep(s) {bad:?} (see the check column)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_reports_are_read() {
        let out = "Running 10s test @ http://127.0.0.1:3999/hook
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   175.86us  331.26us  14.62ms   96.77%
  Latency Distribution
     50%  118.00us
     75%  152.00us
     90%  212.00us
     99%    1.61ms
  907717 requests in 10.10s, 146.31MB read
  Non-2xx or 3xx responses: 3
  Socket errors: connect 0, read 1, write 0, timeout 0
Requests/sec:  89877.08
Transfer/sec:     14.49MB
exhausted: 2
";
        let r = parse_wrk(out).unwrap();
        assert_eq!(
            r,
            WrkRun {
                rps: 89877.08,
                p50_ms: 0.118,
                p99_ms: 1.61,
                requests: 907717,
                non2xx: 3,
                socket_errors: "connect 0, read 1, write 0, timeout 0".into(),
                exhausted: 2,
                cpu_us: None,
            }
        );
        assert!(parse_wrk("wrk: connection refused").is_err());
        assert_eq!(to_ms("1.50s"), Some(1500.0));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_process_cpu_time_is_read_from_proc() {
        let spent = cpu_seconds(std::process::id()).expect("/proc/self/stat is readable");
        assert!(spent >= 0.0);
        assert_eq!(cpu_seconds(u32::MAX), None);
    }

    #[test]
    fn the_lua_script_walks_the_signed_requests_file() {
        let s = lua_script(Path::new("/tmp/x y/requests.tsv"), 2);
        assert!(s.contains(r#"local file = "/tmp/x y/requests.tsv""#));
        assert!(s.contains("if k % 2 == id then"));
        assert!(s.contains(HOOK_PATH));
    }

    #[test]
    fn a_shuffled_order_holds_every_reference_once_and_is_the_same_each_run() {
        let order = shuffled(1000);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        assert_eq!(order, shuffled(1000));
        let in_place = order.iter().enumerate().filter(|(i, v)| i == *v).count();
        assert!(in_place < 20, "{in_place} of 1000 left where they were");
        assert!(shuffled(0).is_empty());
        assert_eq!(shuffled(1), [0]);
    }

    #[test]
    fn the_order_is_read_from_the_arguments() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!options(&args(&[])).unwrap().shuffled);
        assert!(options(&args(&["--order", "random"])).unwrap().shuffled);
        assert!(
            !options(&args(&["--order", "started", "--reps", "2"]))
                .unwrap()
                .shuffled
        );
        let e = options(&args(&["--order", "sideways"])).err().unwrap();
        assert!(e
            .to_string()
            .contains("--order sideways: started or random"));
    }

    #[test]
    fn bodies_are_json_with_their_reference() {
        assert!(body("R1-7").contains(r#""reference":"R1-7""#));
    }
}
