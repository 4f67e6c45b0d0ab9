/**
 * Designer benchmark (BATON_BENCH=1): a generated 1,000-node diagram (1,000 flow nodes and
 * 999 sequence flows) opened in the designer against `baton serve`. Prints JSON lines:
 * time to first render, then frame times while panning the whole diagram (fitted), at 100 %,
 * and at 100 % in the dark theme.
 *
 *   BATON_BENCH=1 npx playwright test e2e/bench-designer.spec.ts
 */
import type { Page } from '@playwright/test';
import { test, expect } from './harness';
import { generateDiagramXml } from '../src/designer/diagram';

test.skip(!process.env.BATON_BENCH, 'set BATON_BENCH=1 to run the designer benchmark');

interface Frames {
  frames: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  fps: number;
}

/** Pans with the mouse wheel for `steps` frames and answers the frame times meanwhile. */
async function panFrames(page: Page, steps: number): Promise<Frames> {
  await page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __stop: boolean };
    w.__frames = [];
    w.__stop = false;
    let last = performance.now();
    const tick = (now: number) => {
      w.__frames.push(now - last);
      last = now;
      if (!w.__stop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const viewport = page.locator('.designer-modeler:not(.inactive) .djs-container > svg > .viewport');
  const before = await viewport.getAttribute('transform');
  const box = (await page.locator('.designer-modeler:not(.inactive)').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < steps; i++) {
    const dir = Math.floor(i / 15) % 2 === 0 ? 1 : -1;
    await page.mouse.wheel(40 * dir, 25 * dir);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
    // The wheel really pans the canvas.
    if (i === 10) expect(await viewport.getAttribute('transform')).not.toBe(before);
  }
  const frames = await page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __stop: boolean };
    w.__stop = true;
    return w.__frames.slice(1);
  });
  const sorted = [...frames].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const total = frames.reduce((a, b) => a + b, 0);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    frames: frames.length,
    medianMs: round(at(0.5)),
    p95Ms: round(at(0.95)),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
    fps: round((frames.length / total) * 1000),
  };
}

test('a generated 1,000-node diagram opens and pans smoothly', async ({ page, openUi }) => {
  test.setTimeout(180_000);
  const nodes = 1000;
  const xml = generateDiagramXml(nodes);
  await openUi();
  await expect(page.locator('.designer-modeler:not(.inactive) .djs-element').first()).toBeVisible();
  const started = Date.now();
  await page.getByTestId('open-file-input').setInputFiles({ name: 'Generated.bpmn', mimeType: 'application/xml', buffer: Buffer.from(xml) });
  await expect(page.getByTestId('tab-active')).toContainText('Generated.bpmn', { timeout: 60_000 });
  await expect(page.locator('.designer-modeler:not(.inactive) .djs-element[data-element-id="End"]')).toBeAttached();
  const measured = await page.evaluate(async () => {
    for (let i = 0; i < 100; i++) {
      const m = performance.getEntriesByName('designer-open', 'measure')[0];
      if (m) return m.duration;
      await new Promise((r) => setTimeout(r, 50));
    }
    return null;
  });
  const wall = Date.now() - started;
  const elements = await page.locator('.designer-modeler:not(.inactive) .djs-element').count();
  console.log(JSON.stringify({ bench: 'designer.open', nodes, elements, firstRenderMs: Math.round(measured ?? wall), wallMs: wall }));

  const fitted = await panFrames(page, 60);
  console.log(JSON.stringify({ bench: 'designer.pan', zoom: 'fit', nodes, ...fitted }));

  await page.locator('.designer-modeler:not(.inactive) .djs-container > svg').focus();
  await page.keyboard.press('Control+0');
  const full = await panFrames(page, 60);
  console.log(JSON.stringify({ bench: 'designer.pan', zoom: '100%', nodes, ...full }));

  // The dark theme draws the canvas through a CSS filter: what does that cost?
  await page.getByTestId('theme-toggle').click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  const dark = await panFrames(page, 60);
  console.log(JSON.stringify({ bench: 'designer.pan', zoom: '100%', theme: 'dark', nodes, ...dark }));

  expect(fitted.frames).toBeGreaterThan(30);
  expect(full.frames).toBeGreaterThan(30);
});
