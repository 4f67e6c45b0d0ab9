/**
 * #/jobs against a real `baton serve`: create a job while the cron preview follows what is
 * typed, bad input marked beside its field with nothing sent, run now into the history, pause
 * and resume, edit, delete with confirmation.
 */
import type { Page } from '@playwright/test';
import { test, expect, expectAccessible, screenshot, startServer, type Server } from './harness';
import { deployXml, must, ONE_TASK_BPMN } from './runner-data';

test.describe.configure({ mode: 'serial' });

/** The commands the page sent to the bus, by name. */
function recordCommands(page: Page): string[] {
  const sent: string[] = [];
  page.on('request', (r) => {
    if (!r.url().endsWith('/api/v1/execute') || r.method() !== 'POST') return;
    try {
      sent.push((JSON.parse(r.postData() ?? '{}') as { cmd: string }).cmd);
    } catch {
      /* not ours */
    }
  });
  return sent;
}

async function jobCount(server: Server): Promise<number> {
  return (await must(server, 'GetRecurringJobListQuery', {})).totalCount as number;
}

/** Marks the page so a test can prove it was never reloaded. */
async function markPage(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { __notReloaded: boolean }).__notReloaded = true));
}

const preview = (page: Page) => page.getByTestId('cron-preview-list').locator('li');

async function typeInto(page: Page, testid: string, value: string): Promise<void> {
  const box = page.getByTestId(testid);
  await box.fill('');
  await box.pressSequentially(value, { delay: 15 });
}

test('a new job previews its next runs as the cron expression is typed, then is created', async ({ page, openUi, server }) => {
  await deployXml(server, 'OneTask', ONE_TASK_BPMN);
  await openUi('#/jobs');
  await expect(page.getByTestId('jobs-empty')).toContainText('No recurring jobs yet');
  await expectAccessible(page, 'the empty job list');

  await page.getByTestId('job-new').click();
  await expect(page.getByTestId('job-name')).toBeFocused();
  await page.getByTestId('job-name').fill('Weekday report');
  await page.getByTestId('job-timeZone').fill('Africa/Lagos');
  await typeInto(page, 'job-cronExpression', '0 9 * * 1-5');
  await expect(preview(page)).toHaveCount(5);
  for (const text of await preview(page).allTextContents()) {
    expect(text).toMatch(/^(Mon|Tue|Wed|Thu|Fri) \d+ \w+ \d{4}, 09:00 \(UTC\+01:00\)$/);
  }
  await expect(page.getByTestId('cron-preview')).toContainText('Next five runs (Africa/Lagos)');
  const weekdays = await preview(page).allTextContents();

  // Another expression: the list follows (the last day of each month, at midnight).
  await typeInto(page, 'job-cronExpression', '0 0 L * *');
  await expect(preview(page).first()).toContainText('00:00');
  const lastDays = await preview(page).allTextContents();
  expect(lastDays).not.toEqual(weekdays);
  expect(lastDays).toHaveLength(5);
  for (const text of lastDays) {
    const [, day, month] = /^\w+ (\d+) (\w+) /.exec(text)!;
    expect(['28', '29', '30', '31']).toContain(day);
    expect(month).toBeTruthy();
  }

  // The zone changes the preview too.
  await typeInto(page, 'job-timeZone', 'America/New_York');
  await expect(page.getByTestId('cron-preview')).toContainText('Next five runs (America/New_York)');
  await expect(preview(page).first()).toContainText(/\(UTC-0[45]:00\)/);
  await typeInto(page, 'job-timeZone', 'Africa/Lagos');
  await typeInto(page, 'job-cronExpression', '0 9 * * 1-5');
  await expect(preview(page).first()).toContainText('09:00 (UTC+01:00)');

  await expect(page.getByTestId('job-executionType')).toHaveValue('3');
  await page.getByTestId('job-processKey').fill('OneTask');
  await page.getByTestId('job-variables').fill('{"source": "weekday report"}');
  await screenshot(page, 'jobs-editor');
  await expectAccessible(page, 'the job editor');
  await page.getByTestId('job-save').click();

  const row = page.getByTestId('job-row').filter({ hasText: 'Weekday report' });
  await expect(row).toBeVisible();
  await expect(row.getByTestId('job-status')).toHaveText('Active');
  await expect(row).toContainText('0 9 * * 1-5');
  await expect(row).toContainText('Africa/Lagos');
  await expect(row.getByTestId('job-next')).toContainText('09:00 (UTC+01:00)');
  await expect(page.getByTestId('job-detail-name')).toHaveText('Weekday report');
  await expect(page.getByTestId('job-action-note')).toContainText('Created “Weekday report”');
  await expect(page.getByTestId('job-detail-name')).toBeFocused();
  await expect(page.getByTestId('runs-summary')).toHaveText('No runs yet.');
  await expect(page).toHaveURL(/#\/jobs\?job=\d+$/);

  const stored = (await must(server, 'GetRecurringJobListQuery', {})).items[0];
  expect(stored).toMatchObject({ name: 'Weekday report', cronExpression: '0 9 * * 1-5', timeZone: 'Africa/Lagos', isActive: true, executionType: 3, processKey: 'OneTask' });
  expect(stored.variables).toEqual({ source: 'weekday report' });
});

test('bad input is marked beside its field in the runtime’s words and nothing is sent', async ({ page, openUi, server }) => {
  const before = await jobCount(server);
  await openUi('#/jobs');
  await expect(page.getByTestId('job-row').first()).toBeVisible();
  const sent = recordCommands(page);
  await page.getByTestId('job-new').click();

  // No name, an expression the runtime refuses, variables that are not JSON.
  await typeInto(page, 'job-cronExpression', '0 9 * * FUNDAY');
  await expect(page.getByTestId('job-cronExpression-error')).toContainText("'0 9 * * FUNDAY': the day-of-week field 'FUNDAY' is not valid");
  await expect(preview(page)).toHaveCount(0);
  await page.getByTestId('job-processKey').fill('OneTask');
  await page.getByTestId('job-variables').fill('{"a": }');
  await page.getByTestId('job-save').click();

  await expect(page.getByTestId('job-name-error')).toHaveText('name is required');
  await expect(page.getByTestId('job-name')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByTestId('job-cronExpression-error')).toContainText("the day-of-week field 'FUNDAY' is not valid");
  await expect(page.getByTestId('job-cronExpression')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByTestId('job-variables-error')).toContainText('The variables are not valid JSON');
  await expect(page.getByTestId('job-variables-error')).toContainText('line 1, column 7');
  await expect(page.getByTestId('job-form-error')).toContainText('Not saved: 3 fields need attention');
  await expect(page.getByTestId('job-name')).toBeFocused();
  // Everything typed is still there.
  await expect(page.getByTestId('job-cronExpression')).toHaveValue('0 9 * * FUNDAY');
  await expect(page.getByTestId('job-variables')).toHaveValue('{"a": }');
  await screenshot(page, 'jobs-bad-input');
  await expectAccessible(page, 'the job editor with errors');
  expect(sent.filter((c) => c === 'CreateRecurringJobCommand')).toEqual([]);

  // A valid expression in an unknown time zone: the runtime's words beside the zone field.
  await typeInto(page, 'job-cronExpression', '0 2 * * *');
  await typeInto(page, 'job-timeZone', 'Europe/Lndon');
  await expect(page.getByTestId('job-timeZone-error')).toContainText("'Europe/Lndon' is not a known time zone");
  await expect(page.getByTestId('job-cronExpression')).not.toHaveAttribute('aria-invalid', 'true');

  // Fixed on this side, refused by the runtime on save: the message lands beside the field.
  await page.getByTestId('job-name').fill('Nightly');
  await typeInto(page, 'job-timeZone', 'UTC');
  await expect(preview(page)).toHaveCount(5);
  await page.getByTestId('job-variables').fill('{"a": 1}');
  await page.getByTestId('job-processKey').fill('NotDeployed');
  await page.getByTestId('job-save').click();
  await expect(page.getByTestId('job-processKey-error')).toHaveText("no process definition with key 'NotDeployed' is deployed");
  await expect(page.getByTestId('job-processKey')).toBeFocused();
  await expect(page.getByTestId('job-name')).toHaveValue('Nightly');
  expect(await jobCount(server)).toBe(before);

  // A script that does not compile: the runtime's line and column beside the script.
  await page.getByTestId('job-executionType').selectOption('2');
  await page.getByTestId('job-executionCode').fill('let x = 1 +;');
  await page.getByTestId('job-save').click();
  await expect(page.getByTestId('job-executionCode-error')).toContainText('line 1, column 12');
  expect(await jobCount(server)).toBe(before);

  // Leaving the view keeps the unsaved changes; coming back brings them back.
  await page.getByTestId('nav-instances').click();
  await expect(page.getByTestId('instances-view')).toBeVisible();
  await page.getByTestId('nav-jobs').click();
  await expect(page.getByTestId('job-restored')).toBeVisible();
  await expect(page.getByTestId('job-name')).toHaveValue('Nightly');
  await expect(page.getByTestId('job-executionType')).toHaveValue('2');
  await expect(page.getByTestId('job-executionCode')).toHaveValue('let x = 1 +;');
  await expect(page.getByTestId('job-processKey')).toHaveValue('NotDeployed');
  await expect(preview(page)).toHaveCount(5);

  // Cancel with changes asks first; Keep editing keeps them.
  await page.getByTestId('job-cancel').click();
  await expect(page.getByTestId('job-discard-box')).toBeVisible();
  await expect(page.getByTestId('job-keep-editing')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('job-discard-box')).toBeHidden();
  await expect(page.getByTestId('job-executionCode')).toHaveValue('let x = 1 +;');
  await page.getByTestId('job-cancel').click();
  await page.getByTestId('job-discard').click();
  await expect(page.getByTestId('job-editor')).toBeHidden();
  await expect(page.getByTestId('job-new')).toBeFocused();
  expect(await jobCount(server)).toBe(before);
});

test('run now shows the run in the history with its outcome and duration; pause and resume', async ({ page, openUi, server }) => {
  await openUi('#/jobs');
  const row = page.getByTestId('job-row').filter({ hasText: 'Weekday report' });
  await row.getByRole('button', { name: 'Weekday report' }).click();
  await expect(page.getByTestId('job-detail-name')).toHaveText('Weekday report');
  const instancesBefore = (await must(server, 'GetProcessInstanceListQuery', { pageSize: 1 })).totalCount as number;

  await page.getByTestId('job-run').click();
  await expect(page.getByTestId('job-action-note')).toContainText(/Run \d+ succeeded in [\d.]+ (ms|s)\./);
  const run = page.getByTestId('run-row').first();
  await expect(run.getByTestId('run-status')).toHaveText('Succeeded');
  await expect(run).toContainText('run now');
  await expect(run.getByTestId('run-duration')).toHaveText(/^[\d.]+ (ms|s)$/);
  const href = (await run.getByTestId('run-instance').getAttribute('href'))!;
  const started = decodeURIComponent(href.replace('#/instances/', ''));
  await expect(run.getByTestId('run-instance')).toHaveText(`instance ${started.slice(0, 8)}…`);
  expect((await must(server, 'GetProcessInstanceByIdQuery', { instanceGuid: started })).processKey).toBe('OneTask');
  await expect(page.getByTestId('runs-summary')).toHaveText('1 run, newest first.');
  expect((await must(server, 'GetProcessInstanceListQuery', { pageSize: 1 })).totalCount).toBe(instancesBefore + 1);
  await screenshot(page, 'jobs-run-history');
  await expectAccessible(page, 'a job with its run history');

  // Pause: the list and the detail say so, and nothing is scheduled.
  await page.getByTestId('job-pause').click();
  await expect(row.getByTestId('job-status')).toHaveText('Paused');
  await expect(row.getByTestId('job-next')).toHaveText('paused');
  await expect(page.getByTestId('job-action-note')).toContainText('Paused');
  await expect(page.getByTestId('job-resume')).toBeFocused();
  let stored = (await must(server, 'GetRecurringJobListQuery', {})).items.find((j: { name: string }) => j.name === 'Weekday report');
  expect(stored).toMatchObject({ isActive: false, nextRunAt: null });
  await screenshot(page, 'jobs-paused');

  await page.getByTestId('job-resume').click();
  await expect(row.getByTestId('job-status')).toHaveText('Active');
  await expect(page.getByTestId('job-action-note')).toContainText('Resumed: the next run is');
  stored = (await must(server, 'GetRecurringJobListQuery', {})).items.find((j: { name: string }) => j.name === 'Weekday report');
  expect(stored.isActive).toBe(true);
  expect(stored.nextRunAt).not.toBeNull();

  // A failing run: the error in words beside the actions and in the history.
  const failing = await must(server, 'CreateRecurringJobCommand', {
    name: 'Always fails',
    cronExpression: '0 0 1 1 *',
    timeZone: 'UTC',
    executionType: 2,
    executionCode: 'throw "the ledger is closed"',
  });
  await page.getByTestId('jobs-refresh').click();
  await page.getByTestId('job-row').filter({ hasText: 'Always fails' }).getByRole('button').click();
  await expect(page).toHaveURL(new RegExp(`#/jobs\\?job=${failing.id}$`));
  await page.getByTestId('job-run').click();
  await expect(page.getByTestId('job-action-error')).toContainText('The run failed');
  await expect(page.getByTestId('job-action-error')).toContainText('the ledger is closed');
  await expect(page.getByTestId('run-row').first().getByTestId('run-status')).toHaveText('Failed');
  await expect(page.getByTestId('run-row').first()).toContainText('the ledger is closed');
  await screenshot(page, 'jobs-failed-run');
});

test('edit a job, then delete it after confirming', async ({ page, openUi, server }) => {
  await openUi('#/jobs');
  const row = page.getByTestId('job-row').filter({ hasText: 'Weekday report' });
  await row.getByRole('button', { name: 'Weekday report' }).click();
  await page.getByTestId('job-edit').click();
  await expect(page.getByTestId('job-name')).toHaveValue('Weekday report');
  await expect(page.getByTestId('job-variables')).toHaveValue(/"source": "weekday report"/);
  await expect(preview(page)).toHaveCount(5);
  await typeInto(page, 'job-cronExpression', '30 6 * * *');
  await expect(preview(page).first()).toContainText('06:30 (UTC+01:00)');
  await page.getByTestId('job-save').click();
  await expect(row).toContainText('30 6 * * *');
  await expect(page.getByTestId('job-action-note')).toContainText('Saved “Weekday report”');
  // The history stays with the job.
  await expect(page.getByTestId('run-row')).toHaveCount(1);

  // The dark theme, for a look.
  await page.getByTestId('theme-toggle').click();
  await screenshot(page, 'jobs-dark');
  await expectAccessible(page, 'the jobs view in the dark theme');
  await page.getByTestId('job-edit').click();
  await page.getByTestId('job-cronExpression').fill('0 9 * * FUNDAY');
  await page.getByTestId('job-variables').fill('{"source": }');
  await page.getByTestId('job-save').click();
  await expect(page.getByTestId('job-variables-error')).toContainText('not valid JSON');
  await expect(page.getByTestId('job-cronExpression-error')).toContainText("'FUNDAY' is not valid");
  await screenshot(page, 'jobs-editor-dark');
  await expectAccessible(page, 'the job editor with errors in the dark theme');
  await page.getByTestId('job-cancel').click();
  await page.getByTestId('job-discard').click();
  await expect(page.getByTestId('job-edit')).toBeFocused();
  await expect(row).toContainText('30 6 * * *');
  await page.getByTestId('theme-toggle').click();

  // Delete asks first; Keep it keeps it.
  await page.getByTestId('job-delete').click();
  await expect(page.getByTestId('job-delete-box')).toContainText('Delete “Weekday report”?');
  await expect(page.getByTestId('job-delete-keep')).toBeFocused();
  await page.getByTestId('job-delete-keep').click();
  await expect(row).toBeVisible();
  await page.getByTestId('job-delete').click();
  await page.getByTestId('job-delete-confirm').click();
  await expect(row).toHaveCount(0);
  await expect(page.getByTestId('job-placeholder')).toBeVisible();
  await expect(page.getByTestId('job-placeholder-note')).toHaveText('Deleted “Weekday report” and its run history.');
  await expect(page.getByTestId('job-new')).toBeFocused();
  const names = (await must(server, 'GetRecurringJobListQuery', {})).items.map((j: { name: string }) => j.name);
  expect(names).not.toContain('Weekday report');
});

test('the view is worked with the keyboard alone', async ({ page, openUi, server }) => {
  await deployXml(server, 'OneTask', ONE_TASK_BPMN);
  await openUi('#/jobs');
  await expect(page.getByTestId('jobs-summary')).not.toHaveText('Loading jobs…');
  // From the view's heading area, Tab reaches Refresh, New job and the first job's button.
  await page.getByTestId('jobs-refresh').focus();
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('job-new')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('job-name')).toBeFocused();
  await page.keyboard.type('Keyboard job');
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('job-cronExpression')).toBeFocused();
  await page.keyboard.type('@daily');
  await expect(preview(page)).toHaveCount(5);
  // The examples are one Tab stop; the arrow keys move along them.
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Weekdays at 09:00: 0 9 * * 1-5' })).toBeFocused();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByRole('button', { name: 'Every 15 minutes: */15 * * * *' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('job-timeZone')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('job-isActive')).toBeFocused();
  await page.keyboard.press('Space');
  await expect(page.getByTestId('job-isActive')).not.toBeChecked();
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('job-executionType')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('job-processKey')).toBeFocused();
  await page.keyboard.type('OneTask');
  await page.getByTestId('job-processKey').press('Enter'); // Enter submits the form
  const row = page.getByTestId('job-row').filter({ hasText: 'Keyboard job' });
  await expect(row.getByTestId('job-status')).toHaveText('Paused');
  await expect(page.getByTestId('job-detail-name')).toHaveText('Keyboard job');
  await expect(page.getByTestId('job-detail-name')).toBeFocused();
  // On to the actions: Tab from the heading reaches Run now.
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('job-run')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('run-row')).toHaveCount(1);
  await expect(page.getByTestId('run-row').first().getByTestId('run-status')).toHaveText('Succeeded');
  await screenshot(page, 'jobs-keyboard');

  // An example fills the expression and the preview follows.
  await page.getByTestId('job-edit').click();
  await page.getByRole('button', { name: 'Last day of the month, 23:00: 0 23 L * *' }).click();
  await expect(page.getByTestId('job-cronExpression')).toHaveValue('0 23 L * *');
  await expect(page.getByTestId('job-cronExpression')).toBeFocused();
  await expect(preview(page).first()).toContainText('23:00 (UTC)');

  // A narrow window: one column, still without serious violations.
  await page.setViewportSize({ width: 900, height: 900 });
  await screenshot(page, 'jobs-narrow');
  await expectAccessible(page, 'the jobs view in a narrow window');
});

test('someone who is not an administrator may look, and is told in words why nothing changes', async ({ page, server, consoleErrors }) => {
  await must(server, 'CreateUserCommand', { userName: 'viewer' });
  const { token } = await must(server, 'CreateApiTokenCommand', { userName: 'viewer' });
  const before = await jobCount(server);
  await page.goto(`${server.url}/?token=${encodeURIComponent(token)}#/jobs`);
  const row = page.getByTestId('job-row').filter({ hasText: 'Always fails' });
  await row.getByRole('button').click();
  await expect(page.getByTestId('runs-summary')).toHaveText(/newest first/);
  const runsBefore = await page.getByTestId('run-row').count();
  expect(runsBefore).toBeGreaterThan(0);
  await page.getByTestId('job-run').click();
  await expect(page.getByTestId('job-action-error')).toHaveText('Not run: ExecuteRecurringJobCommand needs an administrator; viewer is not one');
  await expect(page.getByTestId('run-row')).toHaveCount(runsBefore);
  await page.getByTestId('job-pause').click();
  await expect(page.getByTestId('job-action-error')).toContainText('Not paused: UpdateRecurringJobCommand needs an administrator');
  await expect(row.getByTestId('job-status')).toHaveText('Active');

  // The preview works for anyone; saving is refused with the server's words, the form kept.
  await page.getByTestId('job-new').click();
  await page.getByTestId('job-name').fill('Not mine');
  await typeInto(page, 'job-cronExpression', '*/5 * * * *');
  await expect(preview(page)).toHaveCount(5);
  await page.getByTestId('job-executionType').selectOption('2');
  await page.getByTestId('job-executionCode').fill('1 + 1');
  await page.getByTestId('job-save').click();
  await expect(page.getByTestId('job-form-error')).toHaveText('Not saved: CreateRecurringJobCommand needs an administrator; viewer is not one.');
  await expect(page.getByTestId('job-name')).toHaveValue('Not mine');
  expect(await jobCount(server)).toBe(before);
  await expectAccessible(page, 'the jobs view for a non-administrator');
  // Chromium logs every 403 answer as a failed resource: those three are the refusals above.
  const refused = consoleErrors.filter((e) => e.includes('status of 403'));
  expect(refused).toHaveLength(3);
  consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !e.includes('status of 403')));
});

test('a run on schedule shows up in the open view without a reload', async ({ page, openUi, server }) => {
  // One run, a few seconds from now (a seven-field expression names the second and the year).
  const at = new Date(Date.now() + 5000);
  const cron = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} * ${at.getUTCFullYear()}`;
  const job = await must(server, 'CreateRecurringJobCommand', {
    name: 'Once, soon',
    cronExpression: cron,
    timeZone: 'UTC',
    executionType: 2,
    executionCode: '"tick"',
  });
  try {
    await openUi(`#/jobs?job=${job.id}`);
    await expect(page.getByTestId('job-detail-name')).toHaveText('Once, soon');
    await expect(page.getByTestId('runs-summary')).toHaveText('No runs yet.');
    await markPage(page);
    // No click, no reload: the view looks again when the run is due.
    const scheduled = page.getByTestId('run-row').filter({ hasText: 'on schedule' });
    await expect(scheduled).toHaveCount(1, { timeout: 15_000 });
    await expect(scheduled.getByTestId('run-status')).toHaveText('Succeeded');
    await expect(scheduled).toContainText('"tick"');
    await expect(page.getByTestId('job-row').filter({ hasText: 'Once, soon' }).getByTestId('job-next')).toHaveText('never again');
    expect(await page.evaluate(() => (window as unknown as { __notReloaded?: boolean }).__notReloaded)).toBe(true);
  } finally {
    await must(server, 'DeleteRecurringJobCommand', { id: job.id });
  }
});

test('a run another client starts shows up in the open view as it ends, without a reload', async ({ page, openUi, server }) => {
  // Its next run is months away and it starts no process: only the pushed run event tells
  // the view.
  const job = await must(server, 'CreateRecurringJobCommand', {
    name: 'Started elsewhere',
    cronExpression: '0 0 1 1 *',
    timeZone: 'UTC',
    executionType: 2,
    executionCode: '"from afar"',
  });
  try {
    await openUi(`#/jobs?job=${job.id}`);
    await expect(page.getByTestId('job-detail-name')).toHaveText('Started elsewhere');
    await expect(page.getByTestId('runs-summary')).toHaveText('No runs yet.');
    await markPage(page);
    const ran = await must(server, 'ExecuteRecurringJobCommand', { id: job.id });
    const row = page.getByTestId('run-row').filter({ hasText: 'run now' });
    await expect(row).toHaveCount(1, { timeout: 10_000 });
    await expect(row.getByTestId('run-status')).toHaveText('Succeeded');
    await expect(row).toContainText('"from afar"');
    expect(ran.status).toBe('Succeeded');
    expect(await page.evaluate(() => (window as unknown as { __notReloaded?: boolean }).__notReloaded)).toBe(true);
  } finally {
    await must(server, 'DeleteRecurringJobCommand', { id: job.id });
  }
});

test('the history shows the newest 50 runs and pages back to older ones', async ({ page, openUi, server }) => {
  const job = await must(server, 'CreateRecurringJobCommand', {
    name: 'Busy',
    cronExpression: '0 0 1 1 *',
    timeZone: 'UTC',
    executionType: 2,
    executionCode: '1',
  });
  try {
    for (let i = 0; i < 52; i++) await must(server, 'ExecuteRecurringJobCommand', { id: job.id });
    await openUi(`#/jobs?job=${job.id}`);
    await expect(page.getByTestId('runs-summary')).toHaveText('The newest 50 runs.');
    await expect(page.getByTestId('run-row')).toHaveCount(50);
    await page.getByTestId('runs-more').click();
    await expect(page.getByTestId('run-row')).toHaveCount(52);
    await expect(page.getByTestId('runs-summary')).toHaveText('52 runs, newest first.');
    await expect(page.getByTestId('runs-more')).toBeHidden();
    const ids = (await page.getByTestId('run-row').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-run')))));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  } finally {
    await must(server, 'DeleteRecurringJobCommand', { id: job.id });
  }
});

test('a server that went away is said in words and the editor keeps what was typed', async ({ page, consoleErrors }) => {
  const own = await startServer();
  try {
    await page.goto(`${own.url}/?token=${encodeURIComponent(own.token)}#/jobs`);
    await expect(page.getByTestId('jobs-empty')).toBeVisible();
    await page.getByTestId('job-new').click();
    await page.getByTestId('job-name').fill('Typed before the server stopped');
    await typeInto(page, 'job-cronExpression', '0 7 * * *');
    await expect(preview(page)).toHaveCount(5);
    await page.getByTestId('job-executionType').selectOption('2');
    await page.getByTestId('job-executionCode').fill('"still here"');
    await own.stop();
    await page.getByTestId('job-save').click();
    await expect(page.getByTestId('job-form-error')).toContainText('Not saved: Cannot reach the Baton server');
    await expect(page.getByTestId('job-name')).toHaveValue('Typed before the server stopped');
    await expect(page.getByTestId('job-executionCode')).toHaveValue('"still here"');
    // A new expression cannot be previewed: said in the preview, the field not blamed.
    await typeInto(page, 'job-cronExpression', '0 8 * * *');
    await expect(page.getByTestId('cron-preview-note')).toContainText('The next runs could not be computed: Cannot reach the Baton server');
    await expect(page.getByTestId('job-cronExpression')).not.toHaveAttribute('aria-invalid', 'true');
    await screenshot(page, 'jobs-server-gone');
  } finally {
    await own.stop();
    // The browser reports the refused connections itself; those are the point of this test.
    const expected = /ERR_CONNECTION_REFUSED|Failed to load resource|net::ERR_/;
    consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !expected.test(e)));
  }
});
