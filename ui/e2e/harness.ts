/**
 * End-to-end fixtures: a real `baton serve` on 127.0.0.1 (a fresh SQLite file per test file),
 * a real Chromium page opened on its web UI with the token in the address, and checks that
 * every test runs with no console errors and no serious accessibility violations.
 *
 * BATON_BIN points at the binary (default: ../target/debug/baton, built by `cargo xtask test`).
 */
import { test as base, expect, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const uiDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoDir = resolve(uiDir, '..');
export const templatesDir = join(repoDir, 'bpmn-templates');
export const screenshotsDir = join(repoDir, 'target', 'ui-screenshots');

export interface Server {
  url: string;
  token: string;
  dir: string;
  process: ChildProcess;
  /** Runs a command on the bus over HTTP, as the tests' own client (not through the UI). */
  execute(cmd: string, data?: object): Promise<{ isSuccessful: boolean; message: string; data: any; errors?: any[] }>;
  stop(): Promise<void>;
}

export async function startServer(): Promise<Server> {
  const bin = process.env.BATON_BIN ?? join(repoDir, 'target', 'debug', 'baton');
  if (!existsSync(bin)) {
    throw new Error(`${bin} does not exist: build it with \`cargo build -p baton\` (cargo xtask test does)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'baton-e2e-'));
  const token = 'e2e-token-' + crypto.randomUUID();
  const child = spawn(bin, ['serve', '--db', join(dir, 'baton.db'), '--listen', '127.0.0.1:0', '--token', token], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BATON_LOG: process.env.BATON_LOG ?? 'warn' },
  });
  let output = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`baton serve did not print its address:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => {
      output += c.toString();
      if (process.env.BATON_E2E_VERBOSE) process.stderr.write(c);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`baton serve exited (${code}) before listening:\n${output}`));
    });
  });
  const execute: Server['execute'] = async (cmd, data = {}) => {
    const r = await fetch(`${url}/api/v1/execute`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ cmd, data }),
    });
    return r.json();
  };
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { url, token, dir, process: child, execute, stop };
}

/** Errors the page printed; a test fails if any appear (checked after each test). */
function watchConsole(page: Page, sink: string[]): void {
  page.on('console', (msg) => {
    if (msg.type() === 'error') sink.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => sink.push(`page error: ${err.message}`));
}

export async function expectAccessible(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa']).analyze();
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const described = serious.map(
    (v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join('\n    ')}`,
  );
  expect(described, `accessibility of ${what}`).toEqual([]);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotsDir, { recursive: true });
  await page.screenshot({ path: join(screenshotsDir, `${name}.png`) });
}

interface Fixtures {
  consoleErrors: string[];
  /** Opens the web UI at `hash` (default the designer) with the token in the address. */
  openUi: (hash?: string) => Promise<void>;
}
interface WorkerFixtures {
  /** The worker's servers: one per test file, started when the file's first test asks. */
  servers: { forFile(file: string): Promise<Server> };
}

export const test = base.extend<Fixtures & { server: Server }, WorkerFixtures>({
  servers: [
    async ({}, use) => {
      const held: { file: string; server: Server }[] = [];
      await use({
        async forFile(file: string) {
          const same = held.find((h) => h.file === file);
          if (same) return same.server;
          // A new file: the previous file's server (and its SQLite file) is done with.
          for (const h of held.splice(0)) await h.server.stop();
          const server = await startServer();
          held.push({ file, server });
          return server;
        },
      });
      for (const h of held.splice(0)) await h.server.stop();
    },
    { scope: 'worker' },
  ],
  // A fresh `baton serve` for each test file, shared by that file's tests (in order).
  server: async ({ servers }, use, testInfo) => {
    await use(await servers.forFile(testInfo.file));
  },
  consoleErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      watchConsole(page, errors);
      await use(errors);
      expect(errors, 'the page printed errors').toEqual([]);
    },
    { auto: true },
  ],
  openUi: async ({ page, server }, use) => {
    await use(async (hash = '#/designer') => {
      await page.goto(`${server.url}/?token=${encodeURIComponent(server.token)}${hash}`);
    });
  },
});

export { expect };
