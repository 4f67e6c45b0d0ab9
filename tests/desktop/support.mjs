// What the desktop WebDriver test (tests/desktop/webdriver.mjs) and the desktop-vs-browser
// benchmark (tests/bench-ui/desktop-vs-browser.mjs) both need: finding programs, child
// processes with their output kept, Xvfb, tauri-driver, and a small W3C WebDriver client.
// Plain Node, no packages. Timeouts and output handling stay with the callers.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Whether `program` is on PATH. */
export function onPath(program) {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

/** tauri-driver: $TAURI_DRIVER, else on PATH, else in $CARGO_HOME/bin (~/.cargo/bin); null if none. */
export function findDriver() {
  if (process.env.TAURI_DRIVER) return process.env.TAURI_DRIVER;
  if (onPath('tauri-driver')) return 'tauri-driver';
  const inCargo = join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'bin', 'tauri-driver');
  return existsSync(inCargo) ? inCargo : null;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

/**
 * Calls `check` every `every` ms until it answers something truthy, and answers that. After
 * `timeout` ms it throws "timed out waiting for <what>" with the last error `check` threw, or
 * else with `lastSeen()` when that is defined.
 */
export async function waitFor(what, check, { timeout, every = 200, lastSeen = () => undefined }) {
  const until = Date.now() + timeout;
  let last;
  while (Date.now() < until) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(every);
  }
  const seen = lastSeen();
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : seen !== undefined ? ` (last seen: ${JSON.stringify(seen)})` : ''}`);
}

/**
 * The child processes a script started, so it can stop them all. Each child keeps the tail of
 * its stdout and stderr in `child.output` (`keep` characters); `onOutput` sees every chunk, and
 * with `verbose` the chunks are copied to our stderr as they come.
 */
export class Children {
  constructor({ verbose = false, keep = 8000, onOutput = () => {} } = {}) {
    this.verbose = verbose;
    this.keep = keep;
    this.onOutput = onOutput;
    this.running = new Set();
  }

  /** Starts `cmd`; `extraStdio` adds descriptors from 3 on (e.g. ['pipe']). */
  start(cmd, args, env, extraStdio = []) {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe', ...extraStdio] });
    child.output = '';
    const keep = (chunk) => {
      child.output = (child.output + chunk.toString()).slice(-this.keep);
      this.onOutput(chunk);
      if (this.verbose) process.stderr.write(chunk);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    this.running.add(child);
    child.on('exit', () => this.running.delete(child));
    return child;
  }

  /** The children still running, oldest first. */
  list() {
    return [...this.running];
  }

  /** Sends `signal` to `child` and waits up to `graceMs` for it to exit, then SIGKILLs it. */
  async stop(child, signal = 'SIGTERM', graceMs = 10_000) {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await Promise.race([exited, sleep(graceMs)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  /** Sends `signal` to every running child, newest first, without waiting. */
  signalAll(signal = 'SIGTERM') {
    for (const child of this.list().reverse()) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    }
  }
}

/**
 * Xvfb on a display number it picks itself (-displayfd), so parallel runs do not clash.
 * Answers { display: ':N', xvfb: the child }.
 */
export function startXvfb(children, { timeout = 15_000 } = {}) {
  return new Promise((resolveDisplay, reject) => {
    const x = children.start('Xvfb', ['-displayfd', '3', '-screen', '0', '1400x900x24', '-nolisten', 'tcp'], process.env, ['pipe']);
    let got = '';
    const timer = setTimeout(() => reject(new Error(`Xvfb did not start:\n${x.output}`)), timeout);
    x.stdio[3].on('data', (chunk) => {
      got += chunk.toString();
      if (got.includes('\n')) {
        clearTimeout(timer);
        resolveDisplay({ display: `:${got.trim()}`, xvfb: x });
      }
    });
    x.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited (${code}):\n${x.output}`));
    });
  });
}

/**
 * The environment the desktop app gets under Xvfb: `display`, no Wayland, fresh XDG data, config
 * and cache folders under `scratch` (so its database starts empty), any free port for its
 * listener. Callers add their own variables.
 */
export function desktopEnv(display, scratch) {
  return {
    ...process.env,
    DISPLAY: display,
    WAYLAND_DISPLAY: '',
    XDG_DATA_HOME: join(scratch, 'data'),
    XDG_CONFIG_HOME: join(scratch, 'config'),
    XDG_CACHE_HOME: join(scratch, 'cache'),
    BATON_LISTEN: '127.0.0.1:0',
  };
}

/** tauri-driver (`driverBin`) on free ports with `env`. Answers { driver: the child, base: its URL }. */
export async function startTauriDriver(children, driverBin, env) {
  const port = await freePort();
  const nativePort = await freePort();
  const driver = children.start(driverBin, ['--port', String(port), '--native-port', String(nativePort)], env);
  return { driver, base: `http://127.0.0.1:${port}` };
}

/** The W3C key under which WebDriver answers an element reference. */
export const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

/** The New Session body that makes tauri-driver start `application`. */
export const tauriSession = (application, args = []) => ({
  capabilities: { alwaysMatch: { 'tauri:options': { application, args } } },
});

/**
 * A W3C WebDriver client for the server at `base`: wd(method, path, body) answers the reply's
 * `value` and throws "METHOD path: error message" on an error. `trace` sees each request.
 */
export function webDriver(base, { trace } = {}) {
  return async (method, path, body) => {
    trace?.(method, path, body);
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok || json.value?.error) {
      const v = json.value ?? {};
      throw new Error(`${method} ${path}: ${v.error ?? res.status} ${v.message ?? ''}`.trim());
    }
    return json.value;
  };
}
