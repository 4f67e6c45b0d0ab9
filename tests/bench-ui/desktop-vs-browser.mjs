// The desktop app next to a browser tab of the web UI: memory at rest with the designer open and
// cold-start time, measured the same way on both sides, several times, medians reported.
//
//   node tests/bench-ui/desktop-vs-browser.mjs            (from the repository root)
//
// Desktop: Xvfb gives a display; tauri-driver (with WebKitWebDriver) starts baton-desktop with a
// fresh app-data folder (XDG_DATA_HOME), so its database and the web view's storage start empty.
// Cold start runs from the WebDriver "new session" request (which spawns the app) until the
// designer canvas shows a diagram (`[data-testid=designer-canvas] .djs-shape`).
// Browser: `baton serve` on a fresh database, then Debian's Chromium (headless, through
// playwright-core from ui/node_modules, the flags of ui/playwright.config.ts) opening
// `/?token=...#/designer`. Cold start runs from launching the browser until the same canvas shows
// a diagram; the server's own start-up is reported beside it.
// Memory: after the canvas shows, the app rests for BATON_BENCH_REST_MS (5 s); then RSS and PSS
// (/proc/PID/smaps_rollup) are summed over the whole process tree: baton-desktop with its
// WebKitWebProcess / WebKitNetworkProcess children, or Chromium's processes plus baton serve.
// RSS counts a shared library once per process; PSS splits shared pages between their users,
// so the PSS sum is what the tree really costs.
//
// Environment: BATON_DESKTOP_BIN and BATON_BIN (default target/release/..., else target/debug/...),
// BATON_BENCH_RUNS (5), BATON_BENCH_WARMUP (1 untimed run of each side first, so both sides
// start with their files in the page cache), BATON_BENCH_REST_MS (5000), CHROMIUM
// (/usr/bin/chromium), TAURI_DRIVER. Prints one JSON line per run, a JSON summary, and a
// markdown table. Prints "skipped: ..." and exits 0 when this machine cannot run a side.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir, cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Children, desktopEnv, findDriver, onPath, sleep, startTauriDriver, startXvfb, tauriSession,
  waitFor as waitUntil, webDriver,
} from '../desktop/support.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUNS = Math.max(1, Number(process.env.BATON_BENCH_RUNS ?? 5));
const WARMUP = Math.max(0, Number(process.env.BATON_BENCH_WARMUP ?? 1));
const REST_MS = Math.max(0, Number(process.env.BATON_BENCH_REST_MS ?? 5000));
const TIMEOUT = 60_000;
const VIEWPORT = { width: 1280, height: 820 }; // the desktop window's size (tauri.conf.json)
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const CANVAS_SHAPE = '[data-testid="designer-canvas"] .djs-element.djs-shape';

const emit = (obj) => console.log(JSON.stringify(obj));

/** The release build when there is one (the fair comparison), else the debug build. */
function binary(envVar, name) {
  const given = process.env[envVar];
  if (given) return { path: resolve(given), profile: /\/release\//.test(resolve(given)) ? 'release' : /\/debug\//.test(resolve(given)) ? 'debug' : 'given' };
  for (const profile of ['release', 'debug']) {
    const path = join(repo, 'target', profile, name);
    if (existsSync(path)) return { path, profile };
  }
  return { path: join(repo, 'target', 'release', name), profile: 'missing' };
}

function loadPlaywright() {
  try {
    return createRequire(join(repo, 'ui', 'package.json'))('playwright-core');
  } catch {
    return null;
  }
}

// --- what can run here ---------------------------------------------------------------------
const desktopBin = binary('BATON_DESKTOP_BIN', 'baton-desktop');
const batonBin = binary('BATON_BIN', 'baton');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const driverBin = findDriver();
const playwright = loadPlaywright();

const desktopMissing =
  process.platform !== 'linux' ? 'the desktop is driven through WebKitGTK\'s WebDriver, on Linux only'
  : !existsSync(desktopBin.path) ? `${desktopBin.path} does not exist (cargo build -p baton-desktop --release)`
  : !onPath('Xvfb') ? 'Xvfb is not installed (cargo xtask test installs it)'
  : !onPath('WebKitWebDriver') ? 'WebKitWebDriver is not installed (Debian package webkit2gtk-driver)'
  : driverBin === null ? 'tauri-driver is not installed (cargo install tauri-driver --version 2.1.0)'
  : null;
const browserMissing =
  process.platform !== 'linux' ? 'memory is read from /proc, on Linux only'
  : !existsSync(batonBin.path) ? `${batonBin.path} does not exist (cargo build -p baton --release)`
  : !existsSync(chromiumPath) ? `${chromiumPath} does not exist (Debian package chromium)`
  : playwright === null ? 'playwright-core is not in ui/node_modules (cd ui && npm ci)'
  : !existsSync(join(repo, 'ui', 'dist', 'index.html')) ? 'the web UI is not built (cd ui && npm run build, then rebuild baton)'
  : null;

if (desktopMissing && browserMissing) {
  console.log(`skipped: desktop: ${desktopMissing}; browser: ${browserMissing}`);
  process.exit(0);
}
if (desktopMissing) console.log(`skipped: the desktop side: ${desktopMissing}`);
if (browserMissing) console.log(`skipped: the browser side: ${browserMissing}`);

// --- processes and their memory ------------------------------------------------------------
/** Every process as {pid, ppid, name}, from /proc/PID/stat. */
function processTable() {
  const table = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      let name = stat.slice(stat.indexOf('(') + 1, close);
      // Chromium's helpers all share one name; their role is in --type=.
      const type = /--type=([\w-]+)/.exec(readFileSync(`/proc/${entry}/cmdline`, 'utf8'))?.[1];
      if (name === 'chromium') name = `chromium ${type ?? 'browser'}`;
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      table.push({ pid: Number(entry), ppid, name });
    } catch {
      // the process ended while we looked
    }
  }
  return table;
}

/** The process `root` and all its descendants. */
function subtree(root, table = processTable()) {
  const children = new Map();
  for (const p of table) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(p);
  }
  const self = table.find((p) => p.pid === root);
  if (!self) return [];
  const out = [];
  const queue = [self];
  while (queue.length) {
    const p = queue.shift();
    out.push(p);
    queue.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

/** RSS, PSS and private (USS) memory of one process in KiB. */
function memoryOf(pid) {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0);
    return {
      rssKiB: field('Rss'),
      pssKiB: field('Pss'),
      ussKiB: field('Private_Clean') + field('Private_Dirty'),
    };
  } catch {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
      return { rssKiB: rss, pssKiB: NaN, ussKiB: NaN };
    } catch {
      return { rssKiB: 0, pssKiB: 0, ussKiB: 0 };
    }
  }
}

/** Memory of a set of processes: per process, and summed. */
function measure(procs) {
  const list = procs.map((p) => ({ pid: p.pid, name: p.name, ...memoryOf(p.pid) }));
  const sum = (k) => list.reduce((a, p) => a + p[k], 0);
  return { processes: list, rssKiB: sum('rssKiB'), pssKiB: sum('pssKiB'), ussKiB: sum('ussKiB') };
}

const mib = (kib) => Math.round((kib / 1024) * 10) / 10;

/**
 * PSS splits a shared library's pages between every process that maps it, so another WebKit or
 * Chromium running on the machine at the same time (a test of someone else) lowers our PSS.
 * Waits up to BATON_BENCH_ALONE_MS (60 s) until no such process runs outside `mine`; answers
 * how many were still there when the memory was read (reported with the run).
 */
async function awaitAlone(pattern, mine) {
  const until = Date.now() + Number(process.env.BATON_BENCH_ALONE_MS ?? 60_000);
  for (;;) {
    const mineNow = new Set(mine().map((p) => p.pid));
    const others = processTable().filter((p) => pattern.test(p.name) && !mineNow.has(p.pid));
    if (!others.length || Date.now() >= until) return others.length;
    await sleep(500);
  }
}

async function gone(pid, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!existsSync(`/proc/${pid}`)) return true;
    await sleep(50);
  }
  return !existsSync(`/proc/${pid}`);
}

// --- child processes -----------------------------------------------------------------------
const children = new Children({ verbose: Boolean(process.env.BATON_BENCH_VERBOSE) });
const startChild = (cmd, args, env) => children.start(cmd, args, env);
const stopChild = (child, signal) => children.stop(child, signal);

function waitFor(what, check, timeout = TIMEOUT, every = 200) {
  return waitUntil(what, check, { timeout, every });
}

// --- the desktop app -----------------------------------------------------------------------
const ELEMENT_SCRIPT = `const c = document.querySelector('[data-testid="designer-canvas"]');
return c && c.querySelector('.djs-element.djs-shape') ? performance.now() : null;`;

async function desktopRun(display) {
  const scratch = mkdtempSync(join(tmpdir(), 'baton-bench-desktop-'));
  const env = {
    ...desktopEnv(display, scratch),
    BATON_LOG: 'warn',
    // No GPU under Xvfb.
    WEBKIT_DISABLE_DMABUF_RENDERER: '1',
    WEBKIT_DISABLE_COMPOSITING_MODE: '1',
    LIBGL_ALWAYS_SOFTWARE: '1',
  };
  const { driver, base } = await startTauriDriver(children, driverBin, env);
  const wd = webDriver(base);
  let session;
  let appPid;
  try {
    await waitFor('tauri-driver to answer', async () => (await wd('GET', '/status')) !== undefined, 20_000, 50);
    const t0 = performance.now();
    const created = await wd('POST', '/session', tauriSession(desktopBin.path));
    const sessionMs = performance.now() - t0;
    session = created.sessionId;
    const pageMs = await waitFor(
      'the designer canvas with a diagram in the desktop app',
      async () => wd('POST', `/session/${session}/execute/sync`, { script: ELEMENT_SCRIPT, args: [] }),
      TIMEOUT,
      20,
    );
    const coldStartMs = performance.now() - t0;
    const app = subtree(driver.pid).find((p) => p.name === 'baton-desktop');
    if (!app) throw new Error('no baton-desktop process under tauri-driver');
    appPid = app.pid;
    await sleep(REST_MS);
    const outsiders = await awaitAlone(/^(WebKit(?!WebDriver)|baton-desktop)/, () => subtree(appPid));
    const mem = measure(subtree(appPid));
    const app_only = mem.processes.find((p) => p.pid === appPid);
    return {
      coldStartMs: Math.round(coldStartMs),
      sessionMs: Math.round(sessionMs),
      pageMs: Math.round(pageMs),
      rssMiB: mib(mem.rssKiB),
      pssMiB: mib(mem.pssKiB),
      ussMiB: mib(mem.ussKiB),
      appRssMiB: mib(app_only.rssKiB),
      appPssMiB: mib(app_only.pssKiB),
      outsiders,
      processes: mem.processes.map((p) => ({ pid: p.pid, name: p.name, rssMiB: mib(p.rssKiB), pssMiB: mib(p.pssKiB) })),
    };
  } catch (e) {
    e.message += `\n--- tauri-driver, WebKitWebDriver and app output ---\n${driver.output.slice(-4000)}`;
    throw e;
  } finally {
    if (session) await wd('DELETE', `/session/${session}`).catch(() => {});
    await stopChild(driver);
    if (appPid && !(await gone(appPid, 10_000))) {
      try {
        process.kill(appPid, 'SIGKILL');
      } catch {
        // already gone
      }
      await gone(appPid, 5_000);
    }
    rmSync(scratch, { recursive: true, force: true });
  }
}

// --- the web UI in Chromium ----------------------------------------------------------------
async function startServe(dir) {
  const token = `bench-${crypto.randomUUID()}`;
  const t0 = performance.now();
  const child = startChild(batonBin.path, ['serve', '--db', join(dir, 'baton.db'), '--listen', '127.0.0.1:0', '--token', token], {
    ...process.env,
    BATON_LOG: 'warn',
  });
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`baton serve did not print its address:\n${child.output}`)), 20_000);
    child.stdout.on('data', () => {
      const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(child.output);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`baton serve exited (${code}) before listening:\n${child.output}`));
    });
  });
  return { child, url, token, serveMs: performance.now() - t0 };
}

async function browserRun() {
  const scratch = mkdtempSync(join(tmpdir(), 'baton-bench-browser-'));
  let serve;
  let browser;
  try {
    serve = await startServe(scratch);
    const t0 = performance.now();
    browser = await playwright.chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS });
    const launchMs = performance.now() - t0;
    const page = await browser.newPage({ viewport: VIEWPORT });
    await page.goto(`${serve.url}/?token=${encodeURIComponent(serve.token)}#/designer`);
    await page.waitForSelector(CANVAS_SHAPE, { state: 'attached', timeout: TIMEOUT });
    const coldStartMs = performance.now() - t0;
    const pageMs = await page.evaluate(() => performance.now());
    await sleep(REST_MS);
    // playwright-core runs in this process and spawns Chromium as our child.
    const chromiumTree = (table = processTable()) => {
      const ours = new Set(children.list().map((c) => c.pid));
      return table.filter((p) => p.ppid === process.pid && !ours.has(p.pid)).flatMap((p) => subtree(p.pid, table));
    };
    const outsiders = await awaitAlone(/^chromium/, chromiumTree);
    const table = processTable();
    const tree = chromiumTree(table);
    if (!tree.length) throw new Error('no browser process among this script\'s children');
    const chromium = measure(tree);
    const server = measure(subtree(serve.child.pid, table));
    const all = [...chromium.processes, ...server.processes];
    return {
      coldStartMs: Math.round(coldStartMs),
      launchMs: Math.round(launchMs),
      pageMs: Math.round(pageMs),
      serveMs: Math.round(serve.serveMs),
      withServeMs: Math.round(coldStartMs + serve.serveMs),
      rssMiB: mib(chromium.rssKiB + server.rssKiB),
      pssMiB: mib(chromium.pssKiB + server.pssKiB),
      ussMiB: mib(chromium.ussKiB + server.ussKiB),
      chromiumRssMiB: mib(chromium.rssKiB),
      chromiumPssMiB: mib(chromium.pssKiB),
      serveRssMiB: mib(server.rssKiB),
      servePssMiB: mib(server.pssKiB),
      outsiders,
      processes: all.map((p) => ({ pid: p.pid, name: p.name, rssMiB: mib(p.rssKiB), pssMiB: mib(p.pssKiB) })),
    };
  } catch (e) {
    if (serve) e.message += `\n--- baton serve output ---\n${serve.child.output.slice(-4000)}`;
    throw e;
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (serve) await stopChild(serve.child, 'SIGINT');
    rmSync(scratch, { recursive: true, force: true });
  }
}

// --- summary -------------------------------------------------------------------------------
function stats(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median: Math.round(median * 10) / 10, min: v[0], max: v[v.length - 1] };
}

function cell(s, unit = '') {
  if (!s) return '–';
  const f = (n) => (Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(1));
  return s.min === s.max ? `${f(s.median)}${unit}` : `${f(s.median)}${unit} (${f(s.min)}–${f(s.max)})`;
}

async function main() {
  let xvfb;
  let display;
  if (!desktopMissing) ({ display, xvfb } = await startXvfb(children));
  const results = { desktop: [], browser: [] };
  const sides = [
    ...(desktopMissing ? [] : [['desktop', () => desktopRun(display)]]),
    ...(browserMissing ? [] : [['browser', browserRun]]),
  ];
  emit({
    bench: 'desktop-vs-browser',
    machine: { cpus: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30) },
    desktopBin: desktopMissing ? null : `${desktopBin.path} (${desktopBin.profile})`,
    batonBin: browserMissing ? null : `${batonBin.path} (${batonBin.profile})`,
    runs: RUNS,
    warmup: WARMUP,
    restMs: REST_MS,
  });
  try {
    for (let i = 0; i < WARMUP; i++) {
      for (const [side, run] of sides) {
        const r = await run();
        emit({ side, warmup: i + 1, coldStartMs: r.coldStartMs, rssMiB: r.rssMiB, pssMiB: r.pssMiB });
      }
    }
    // The sides take turns, so a busy moment on the shared machine hits both alike.
    for (let i = 0; i < RUNS; i++) {
      for (const [side, run] of sides) {
        const r = await run();
        results[side].push(r);
        emit({ side, run: i + 1, ...r });
      }
    }
  } finally {
    for (const child of children.list()) await stopChild(child);
    if (xvfb) await stopChild(xvfb);
  }

  const summary = {};
  for (const side of ['desktop', 'browser']) {
    const rs = results[side];
    if (!rs.length) continue;
    const keys = Object.keys(rs[0]).filter((k) => typeof rs[0][k] === 'number');
    summary[side] = Object.fromEntries(keys.map((k) => [k, stats(rs.map((r) => r[k]))]));
  }
  emit({ summary });

  const d = summary.desktop ?? {};
  const b = summary.browser ?? {};
  const rows = [
    ['cold start, ms (spawn / launch → designer canvas with a diagram)', cell(d.coldStartMs), cell(b.coldStartMs)],
    ['… of which in the page (navigation start → canvas), ms', cell(d.pageMs), cell(b.pageMs)],
    ['… plus `baton serve` starting first, ms', '–', cell(b.withServeMs)],
    ['RSS at rest, whole tree, MiB', cell(d.rssMiB), cell(b.rssMiB)],
    ['PSS at rest, whole tree, MiB', cell(d.pssMiB), cell(b.pssMiB)],
    ['private (USS) at rest, whole tree, MiB', cell(d.ussMiB), cell(b.ussMiB)],
    ['… baton-desktop alone (Rust with GTK and WebKit\'s UI side) / baton serve alone, RSS MiB', cell(d.appRssMiB), cell(b.serveRssMiB)],
    ['… baton-desktop alone / baton serve alone, PSS MiB', cell(d.appPssMiB), cell(b.servePssMiB)],
  ];
  const lastProcs = (side) => {
    const r = results[side].at(-1);
    if (!r) return '–';
    const counts = new Map();
    for (const p of r.processes) counts.set(p.name, (counts.get(p.name) ?? 0) + 1);
    return [...counts].map(([n, c]) => (c > 1 ? `${n} ×${c}` : n)).join(', ');
  };
  rows.push(['processes', lastProcs('desktop'), lastProcs('browser')]);
  for (const side of ['desktop', 'browser']) {
    const shared = results[side].map((r, i) => (r.outsiders > 0 ? i + 1 : 0)).filter(Boolean);
    if (shared.length) {
      console.log(`note: ${side} runs ${shared.join(', ')} were measured while other ${side === 'desktop' ? 'WebKit' : 'Chromium'} processes ran on the machine (their PSS is lower)`);
    }
  }
  console.log('');
  console.log(`| medians of ${RUNS} runs (min–max) | desktop app (${desktopBin.profile}, WebKitGTK) | browser tab (baton serve ${batonBin.profile} + Chromium headless) |`);
  console.log('|---|---|---|');
  for (const [what, dv, bv] of rows) console.log(`| ${what} | ${dv} | ${bv} |`);
}

const stopAll = async () => {
  for (const child of children.list()) await stopChild(child);
  process.exit(130);
};
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);

try {
  await main();
  process.exit(0);
} catch (e) {
  console.error(`desktop-vs-browser FAILED: ${e.stack ?? e.message}`);
  for (const child of children.list()) await stopChild(child);
  process.exit(1);
}
