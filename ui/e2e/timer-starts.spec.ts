/**
 * The "Timer start events" section of #/jobs against a real `baton serve`: a timer start event
 * whose start fails, tried 3 times and then stopped with an incident; Retry refused for a
 * non-administrator, a retry whose attempt fails again, and one that starts an instance.
 *
 * The failure is real: the server's own scheduler fails to start the instance. It is caused
 * from outside through the server's SQLite file, the way a disk that refuses a write would: a
 * trigger refuses new instances of the `Nightly` definition (dropped again to let a retry
 * succeed). The back-off (1 minute, then 5) is not waited out: before each attempt the start
 * timer's row is made due at once, and a one-second timer of another process wakes the
 * scheduler, which otherwise looks again within 30 s.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, expectAccessible, screenshot, type Server } from './harness';
import { inARow } from './models';
import { must } from './runner-data';

test.describe.configure({ mode: 'serial' });

const timerStart = (id: string, cycle: string) => ({
  id,
  name: 'Every hour',
  body: `<bpmn:timerEventDefinition id="${id}_def"><bpmn:timeCycle>${cycle}</bpmn:timeCycle></bpmn:timerEventDefinition>`,
});

/** `Nightly`: a timer start event `tick` every hour, a script, an end. */
const NIGHTLY = inARow({
  id: 'Nightly',
  name: 'Nightly report',
  start: timerStart('tick', 'R/PT1H'),
  middle: { type: 'scriptTask', id: 'Report', name: 'Write the report', attrs: 'scriptFormat="rhai"', body: '<bpmn:script>let written = true;</bpmn:script>' },
});

/** `Digest`: a timer start event `daily` that keeps working beside the failing one. */
const DIGEST = inARow({
  id: 'Digest',
  name: 'Daily digest',
  start: { ...timerStart('daily', 'R/P1D'), name: 'Every day' },
  middle: { type: 'scriptTask', id: 'Send', name: 'Send it', attrs: 'scriptFormat="rhai"', body: '<bpmn:script>let sent = true;</bpmn:script>' },
});

/** `Poke`: a one-second timer; starting it wakes the scheduler a second later. */
const POKE = inARow({
  id: 'Poke',
  name: 'Wake the scheduler',
  middle: {
    type: 'intermediateCatchEvent',
    id: 'Wait',
    name: 'One second',
    body: '<bpmn:timerEventDefinition id="Wait_def"><bpmn:timeDuration>PT1S</bpmn:timeDuration></bpmn:timerEventDefinition>',
  },
});

/** Runs SQL on the server's own SQLite file (it waits while the server writes). */
function sql(server: Server, text: string): void {
  execFileSync('sqlite3', [join(server.dir, 'baton.db')], { input: `.timeout 20000\n${text}\n` });
}

let nightly = 0;

async function startRow(server: Server): Promise<{ retries: number; lastError: string | null } | undefined> {
  const items = (await must(server, 'GetTimerListQuery', { kind: 'start' })).items as any[];
  return items.find((r) => r.elementId === 'tick');
}

async function openStartIncidents(server: Server): Promise<any[]> {
  const items = (await must(server, 'GetIncidentListQuery', {})).items as any[];
  return items.filter((i) => i.kind === 'timerStart');
}

/** Makes `Nightly`'s next attempt happen now, and waits until the server has made it. */
async function attemptNow(server: Server, done: () => Promise<boolean>): Promise<void> {
  const past = new Date(Date.now() - 60_000).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  sql(server, `UPDATE timers SET due_at = '${past}' WHERE kind = 'start' AND definition_id = ${nightly} AND element_id = 'tick';`);
  await must(server, 'StartProcessInstanceCommand', { processKey: 'Poke' });
  await expect.poll(done, { timeout: 40_000, intervals: [250] }).toBe(true);
}

const refuseNightly = (server: Server) =>
  sql(server, `CREATE TRIGGER refuse_nightly BEFORE INSERT ON instances WHEN NEW.definition_id = ${nightly} BEGIN SELECT RAISE(ABORT, 'the disk refused the write'); END;`);
const allowNightly = (server: Server) => sql(server, 'DROP TRIGGER IF EXISTS refuse_nightly;');

const section = (page: Page) => page.getByTestId('timer-starts');
const REFERENCE = /internal error; reference [0-9a-f]{8}/;

/** Drops the console lines Chromium prints for answers with this HTTP status (expected ones). */
function expectRefusals(consoleErrors: string[], status: number, count: number): void {
  const mine = consoleErrors.filter((e) => e.includes(`status of ${status}`));
  expect(mine).toHaveLength(count);
  consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !e.includes(`status of ${status}`)));
}

test('with no timer start events the section says so, in both themes', async ({ page, openUi }) => {
  await openUi('#/jobs');
  await expect(page.getByTestId('timer-starts-summary')).toHaveText('0 timer start events scheduled, none stopped');
  await expect(page.getByTestId('start-incidents-empty')).toContainText('No timer start event has stopped');
  await expect(page.getByTestId('start-timers-empty')).toContainText('No timer start events are scheduled');
  await expect(page.getByTestId('start-banner')).toBeHidden();
  await expectAccessible(page, 'the empty timer start events');
  await page.getByTestId('theme-toggle').click();
  await expectAccessible(page, 'the empty timer start events in the dark theme');
  await page.getByTestId('theme-toggle').click();
});

test('a deployed timer start event is listed with its next start and all 3 attempts', async ({ page, openUi, server }) => {
  nightly = (await must(server, 'DeployProcessDefinitionCommand', { bpmnXml: NIGHTLY })).processDefinitionId;
  await must(server, 'DeployProcessDefinitionCommand', { bpmnXml: DIGEST });
  await must(server, 'DeployProcessDefinitionCommand', { bpmnXml: POKE });
  await openUi('#/jobs');
  const row = page.getByTestId('start-timer-row').filter({ hasText: 'tick' });
  await expect(row).toContainText('Nightly v1');
  await expect(row.getByTestId('start-timer-retries')).toHaveText('3 of 3');
  await expect(row.getByTestId('start-timer-error')).toHaveText('none');
  await expect(row.getByTestId('start-timer-due')).toContainText('next start');
  await expect(row.getByTestId('start-timer-due')).toContainText(/\(in (59 min|1 h)\)/);
  const due = (await startRow(server)) as any;
  await expect(row.locator('time')).toHaveAttribute('datetime', due.dueAt);
  await expect(page.getByTestId('start-timer-row')).toHaveCount(2);
  await expect(page.getByTestId('timer-starts-summary')).toHaveText('2 timer start events scheduled, none stopped');
});

test('a start that fails is tried again with its attempts and error shown, and stops with an incident after the third', async ({ page, openUi, server }) => {
  refuseNightly(server);
  await openUi('#/jobs');
  const row = page.getByTestId('start-timer-row').filter({ hasText: 'tick' });
  await expect(row.getByTestId('start-timer-retries')).toHaveText('3 of 3');

  await attemptNow(server, async () => (await startRow(server))?.retries === 2);
  await page.getByTestId('jobs-refresh').click();
  await expect(row.getByTestId('start-timer-retries')).toHaveText('2 of 3');
  await expect(row.getByTestId('start-timer-error')).toHaveText(REFERENCE);
  await expect(row.getByTestId('start-timer-due')).toContainText('attempt 2 of 3');
  await expect(row.getByTestId('start-timer-due')).toContainText(/\(in (\d+ s|1 min)\)/);
  await expect(row).toHaveAttribute('data-retrying', 'true');
  await screenshot(page, 'timer-starts-retrying');

  await attemptNow(server, async () => (await startRow(server))?.retries === 1);
  await page.getByTestId('jobs-refresh').click();
  await expect(row.getByTestId('start-timer-retries')).toHaveText('1 of 3');
  await expect(row.getByTestId('start-timer-due')).toContainText('attempt 3 of 3');

  await attemptNow(server, async () => (await openStartIncidents(server)).length === 1);
  await page.getByTestId('jobs-refresh').click();
  await expect(row).toHaveCount(0);
  const incident = page.getByTestId('start-incident-row');
  await expect(incident).toHaveCount(1);
  await expect(incident).toContainText('tick');
  await expect(incident).toContainText('Nightly v1');
  await expect(incident.getByTestId('start-incident-message')).toContainText("Timer start event 'tick' stopped after 3 failed attempts to start an instance");
  await expect(incident.getByTestId('start-incident-message')).toContainText(REFERENCE);
  await expect(incident.getByRole('button', { name: 'Retry tick of Nightly' })).toBeVisible();
  await expect(page.getByTestId('timer-starts-summary')).toHaveText('1 timer start event scheduled, 1 stopped with an incident');
  await expect(page.getByTestId('start-incidents-empty')).toBeHidden();

  // The top of the page says so, and takes the keyboard to the section.
  await expect(page.getByTestId('start-banner')).toContainText('A timer start event stopped after failing (Nightly / tick)');
  await page.getByTestId('start-banner-go').press('Enter');
  await expect(section(page).getByRole('heading', { name: 'Timer start events' })).toBeFocused();
  // The Retry button is reached by Tab (after the table's scroll region).
  await section(page).getByRole('region', { name: 'Stopped after failing' }).focus();
  await page.keyboard.press('Tab');
  await expect(incident.getByTestId('start-retry')).toBeFocused();

  await section(page).scrollIntoViewIfNeeded();
  await screenshot(page, 'timer-starts-incident');
  await expectAccessible(page, 'a stopped timer start event');
  await page.getByTestId('theme-toggle').click();
  await screenshot(page, 'timer-starts-incident-dark');
  await expectAccessible(page, 'a stopped timer start event in the dark theme');
  await page.getByTestId('theme-toggle').click();

  // A narrow window: the tables scroll inside their regions, the Retry button stays reachable.
  await page.setViewportSize({ width: 760, height: 900 });
  await incident.getByTestId('start-retry').scrollIntoViewIfNeeded();
  await expect(incident.getByTestId('start-retry')).toBeInViewport();
  await screenshot(page, 'timer-starts-narrow');
  await expectAccessible(page, 'a stopped timer start event in a narrow window');
  await page.setViewportSize({ width: 1400, height: 900 });
});

test('someone who is not an administrator is told beside the button why Retry is refused', async ({ page, server, consoleErrors }) => {
  await must(server, 'CreateUserCommand', { userName: 'viewer' });
  const { token } = await must(server, 'CreateApiTokenCommand', { userName: 'viewer' });
  await page.goto(`${server.url}/?token=${encodeURIComponent(token)}#/jobs`);
  const incident = page.getByTestId('start-incident-row');
  await expect(incident).toHaveCount(1);
  await incident.getByTestId('start-retry').click();
  await expect(incident.getByTestId('start-retry-error')).toHaveText(
    'Not retried: retrying the incident of a timer start event needs an administrator; viewer is not one',
  );
  await expect(incident.getByTestId('start-retry')).toBeEnabled();
  await expect(incident.getByTestId('start-retry')).toBeFocused();
  await expect(page.getByTestId('start-retry-note')).toBeHidden();
  expect((await openStartIncidents(server)).map((i) => i.resolution)).toEqual([null]);
  await screenshot(page, 'timer-starts-refused');
  await expectAccessible(page, 'a refused retry');
  expectRefusals(consoleErrors, 403, 1);
});

test('a retry whose attempt fails says so, and the start event has a new incident', async ({ page, openUi, server, consoleErrors }) => {
  await openUi('#/jobs');
  const incident = page.getByTestId('start-incident-row');
  await expect(incident).toHaveCount(1);
  const before = await incident.getAttribute('data-id');
  await incident.getByTestId('start-retry').click();
  await expect(incident.getByTestId('start-retry-error')).toHaveText(/^The attempt failed: internal error; reference [0-9a-f]{8}\. The start event stopped again\.$/);
  await expect(incident).not.toHaveAttribute('data-id', before!);
  const open = await openStartIncidents(server);
  expect(open).toHaveLength(1);
  await expect(incident).toHaveAttribute('data-id', String(open[0].id));
  await expect(incident.getByTestId('start-retry')).toBeFocused();
  // The failed attempt's own reference is in the new incident's message.
  const said = (await incident.getByTestId('start-retry-error').textContent())!.match(REFERENCE)![0];
  await expect(incident.getByTestId('start-incident-message')).toContainText(said);
  expectRefusals(consoleErrors, 500, 1);
});

test('a retry that starts an instance resolves the incident and links the instance', async ({ page, openUi, server }) => {
  allowNightly(server);
  await openUi('#/jobs');
  const incident = page.getByTestId('start-incident-row');
  await expect(incident).toHaveCount(1);
  await incident.getByTestId('start-retry').focus();
  await page.keyboard.press('Enter');

  const note = page.getByTestId('start-retry-note');
  await expect(note).toHaveText(/^Retried Nightly \/ tick: it started instance [0-9a-f-]{36} \(completed\)\. The start event fires on schedule again\.$/);
  await expect(note).toBeFocused();
  await expect(incident).toHaveCount(0);
  await expect(page.getByTestId('start-incidents-empty')).toBeVisible();
  await expect(page.getByTestId('start-banner')).toBeHidden();
  const row = page.getByTestId('start-timer-row').filter({ hasText: 'tick' });
  await expect(row.getByTestId('start-timer-retries')).toHaveText('3 of 3');
  await expect(row.getByTestId('start-timer-error')).toHaveText('none');
  expect(await openStartIncidents(server)).toEqual([]);

  // The resolved incidents, on request (keyboard: Space on the check box).
  await page.getByTestId('start-show-resolved').focus();
  await page.keyboard.press('Space');
  const resolved = page.getByTestId('start-resolved-row');
  await expect(resolved).toHaveCount(2);
  await expect(resolved.first()).toHaveAttribute('data-resolution', 'retried');
  await expect(resolved.nth(1)).toHaveAttribute('data-resolution', 'retried');
  await section(page).scrollIntoViewIfNeeded();
  await screenshot(page, 'timer-starts-retried');
  await expectAccessible(page, 'a retried timer start event');
  await page.getByTestId('theme-toggle').click();
  await screenshot(page, 'timer-starts-retried-dark');
  await expectAccessible(page, 'a retried timer start event in the dark theme');
  await page.getByTestId('theme-toggle').click();

  // The link opens the instance the retry started.
  const link = page.getByTestId('start-retry-instance');
  const guid = (await link.textContent())!;
  await expect(link).toHaveAttribute('href', `#/instances/${guid}`);
  await link.click();
  await expect(page).toHaveURL(new RegExp(`#/instances/${guid}$`));
  await expect(page.getByTestId('instance-status')).toHaveText('COMPLETED');
  const started = await must(server, 'GetProcessInstanceByIdQuery', { instanceGuid: guid });
  expect(started.processDefinitionId).toBe(nightly);
});
