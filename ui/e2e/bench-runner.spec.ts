/**
 * Runner benchmarks (BATON_BENCH=1 npx playwright test e2e/bench-runner.spec.ts). Prints one JSON
 * line per figure:
 *  (a) the instance list with 100,000 stored instances (BATON_BENCH_INSTANCES to change):
 *      GetProcessInstanceListQuery from the page for the first, middle and last page, and the
 *      time from a click on Previous/Next until the table shows that page;
 *  (b) the time from a ReturnCallbackCommand sent over HTTP until the open instance view shows
 *      the moved marker (median of 20).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, repoDir, type Server } from './harness';
import { deployTemplate, must, ONE_TASK_BPMN, unique } from './runner-data';

const enabled = process.env.BATON_BENCH === '1';
const bin = process.env.BATON_BIN ?? join(repoDir, 'target', 'debug', 'baton');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
const round = (x: number) => Math.round(x * 100) / 100;

/** `baton serve` on an existing database file (the harness's server always starts empty). */
async function serveOn(db: string): Promise<{ url: string; token: string; stop(): Promise<void> }> {
  const token = 'bench-' + crypto.randomUUID();
  const child = spawn(bin, ['serve', '--db', db, '--listen', '127.0.0.1:0', '--token', token], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`baton serve did not start:\n${output}`)), 60_000);
    const on = (c: Buffer) => {
      output += c.toString();
      const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.on('exit', (code) => reject(new Error(`baton serve exited (${code}):\n${output}`)));
  });
  return {
    url,
    token,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Times one click (Previous/Next) until the summary shows `want`, measured inside the page. */
async function timeClick(page: Page, testid: string, want: string): Promise<number> {
  return page.evaluate(
    ({ testid, want }) =>
      new Promise<number>((resolve, reject) => {
        const summary = document.querySelector('[data-testid="instance-summary"]')!;
        const t0 = performance.now();
        const obs = new MutationObserver(() => {
          if (summary.textContent === want) {
            obs.disconnect();
            resolve(performance.now() - t0);
          }
        });
        obs.observe(summary, { childList: true, characterData: true, subtree: true });
        setTimeout(() => reject(new Error(`the list did not show "${want}"`)), 30_000);
        (document.querySelector(`[data-testid="${testid}"]`) as HTMLButtonElement).click();
      }),
    { testid, want },
  );
}

test.describe('runner benchmarks', () => {
  test.skip(!enabled, 'set BATON_BENCH=1 to run the benchmarks');

  test('(a) the instance list pages through 100,000 stored instances', async ({ page }) => {
    test.setTimeout(30 * 60_000);
    const n = Number(process.env.BATON_BENCH_INSTANCES ?? 100_000);
    const dir = mkdtempSync(join(tmpdir(), 'baton-bench-ui-'));
    const db = join(dir, 'bench.db');
    try {
      const model = join(dir, 'OneTask.bpmn');
      writeFileSync(model, ONE_TASK_BPMN);
      const t0 = Date.now();
      execFileSync(bin, ['bench', model, '--instances', String(n), '--durable', db, '--sync', 'normal', '--clients', '2', '--json'], {
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 24,
      });
      console.log(JSON.stringify({ bench: 'runner.seed', instances: n, seconds: round((Date.now() - t0) / 1000) }));
      expect(existsSync(db)).toBe(true);

      const server = await serveOn(db);
      try {
        const size = 20;
        const pages = Math.ceil(n / size);
        const middle = Math.ceil(pages / 2);
        await page.goto(`${server.url}/?token=${encodeURIComponent(server.token)}#/instances`);
        await expect(page.getByTestId('instance-row')).toHaveCount(size);
        await expect(page.getByTestId('instance-summary')).toHaveText(`Showing 1–20 of ${n.toLocaleString('en')}`);

        // The query alone, sent from the page as the UI sends it (median of 15 per page).
        const queryMs = await page.evaluate(
          async ({ which, size }) => {
            const token = localStorage.getItem('baton.token')!;
            const out: Record<string, number[]> = {};
            for (const [name, p] of Object.entries(which)) {
              out[name] = [];
              for (let i = 0; i < 15; i++) {
                const t = performance.now();
                const r = await fetch('/api/v1/execute', {
                  method: 'POST',
                  headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
                  body: JSON.stringify({ cmd: 'GetProcessInstanceListQuery', data: { pageNumber: p, pageSize: size } }),
                });
                const body = await r.json();
                if (!body.isSuccessful || body.data.items.length === 0) throw new Error(`page ${p}: ${JSON.stringify(body).slice(0, 200)}`);
                out[name]!.push(performance.now() - t);
              }
            }
            return out;
          },
          { which: { first: 1, middle, last: pages }, size },
        );

        // Click to the page and wait until the table shows it (median of 5 per page).
        const text = (p: number) => `Showing ${((p - 1) * size + 1).toLocaleString('en')}–${Math.min(n, p * size).toLocaleString('en')} of ${n.toLocaleString('en')}`;
        const renders: Record<string, number[]> = { first: [], middle: [], last: [] };
        const cases: [string, number][] = [
          ['first', 1],
          ['middle', middle],
          ['last', pages],
        ];
        for (const [name, p] of cases) {
          const from = p === 1 ? 2 : p - 1;
          await page.goto(`${server.url}/#/instances?page=${from}`);
          await expect(page.getByTestId('instance-summary')).toHaveText(text(from));
          for (let i = 0; i < 5; i++) {
            const towards = p === 1 ? 'page-previous' : 'page-next';
            const back = p === 1 ? 'page-next' : 'page-previous';
            renders[name]!.push(await timeClick(page, towards, text(p)));
            await timeClick(page, back, text(from));
          }
        }
        // An instance started over HTTP until the open first page counts it (median of 10).
        await page.goto(`${server.url}/#/instances?page=1`);
        await expect(page.getByTestId('instance-summary')).toHaveText(text(1));
        const appear: number[] = [];
        const hostExecute = async (cmd: string, data: object) => {
          const r = await fetch(`${server.url}/api/v1/execute`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${server.token}` },
            body: JSON.stringify({ cmd, data }),
          });
          return r.json();
        };
        for (let i = 1; i <= 10; i++) {
          const want = `of ${(n + i).toLocaleString('en')}`;
          await page.evaluate((want) => {
            const summary = document.querySelector('[data-testid="instance-summary"]')!;
            (window as unknown as { __seen: Promise<number> }).__seen = new Promise<number>((resolve) => {
              const obs = new MutationObserver(() => {
                if (summary.textContent?.endsWith(want)) {
                  obs.disconnect();
                  resolve(Date.now());
                }
              });
              obs.observe(summary, { childList: true, characterData: true, subtree: true });
            });
          }, want);
          const t0 = Date.now();
          await hostExecute('StartProcessInstanceCommand', { processKey: 'OneTask' });
          const t1 = await page.evaluate(() => (window as unknown as { __seen: Promise<number> }).__seen);
          appear.push(t1 - t0);
          await page.waitForTimeout(300); // past the list's 250 ms refresh window
        }
        console.log(JSON.stringify({ bench: 'runner.startToListRow', instances: n, samples: appear.length, msMedian: round(median(appear)), msMax: round(Math.max(...appear)) }));

        for (const [name, p] of cases) {
          console.log(
            JSON.stringify({
              bench: 'runner.instanceList',
              instances: n,
              page: name,
              pageNumber: p,
              pageSize: size,
              queryMsMedian: round(median(queryMs[name]!)),
              queryMsMax: round(Math.max(...queryMs[name]!)),
              clickToRenderMsMedian: round(median(renders[name]!)),
            }),
          );
        }
      } finally {
        await server.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('(b) a callback reaches the open instance view', async ({ page, openUi, server }) => {
    test.setTimeout(5 * 60_000);
    await deployTemplate(server, 'payment-approval', 'PaymentApprovalProcess');
    const latencies: number[] = [];
    const first = await startPayment(server);
    await openUi(`#/instances/${first.guid}`);
    let next = first;
    for (let i = 0; i < 20; i++) {
      const current = next;
      if (i > 0) await page.evaluate((g) => (window.location.hash = `#/instances/${g}`), current.guid);
      await expect(page.locator(`[data-testid="instance-view"][data-guid="${current.guid}"] [data-testid="instance-status"]`)).toHaveText('WAITING');
      const waitingShape = page.locator('[data-testid="instance-canvas"] .djs-element[data-element-id="Task_WaitForPayment"]');
      await expect(waitingShape).toHaveClass(/baton-active/);
      await page.evaluate(() => {
        const target = document.querySelector('[data-testid="instance-canvas"] .djs-element[data-element-id="Task_ReviewPayment"]')!;
        (window as unknown as { __moved: Promise<number> }).__moved = new Promise<number>((resolve) => {
          const obs = new MutationObserver(() => {
            if (target.classList.contains('baton-active')) {
              obs.disconnect();
              resolve(Date.now());
            }
          });
          obs.observe(target, { attributes: true, attributeFilter: ['class'] });
        });
      });
      if (i < 19) next = await startPayment(server);
      const t0 = Date.now();
      await must(server, 'ReturnCallbackCommand', { correlationKey: current.key, result: { status: 'success' } });
      const t1 = await page.evaluate(() => (window as unknown as { __moved: Promise<number> }).__moved);
      latencies.push(t1 - t0);
    }
    console.log(
      JSON.stringify({
        bench: 'runner.callbackToMarker',
        samples: latencies.length,
        msMedian: round(median(latencies)),
        msMax: round(Math.max(...latencies)),
        msMin: round(Math.min(...latencies)),
      }),
    );
    expect(latencies.length).toBe(20);
  });
});

async function startPayment(server: Server): Promise<{ guid: string; key: string }> {
  const key = unique('BENCH');
  const r = await must(server, 'StartProcessInstanceCommand', { processKey: 'PaymentApprovalProcess', variables: { paymentId: key, amount: 1 } });
  return { guid: r.instanceGuid, key };
}
