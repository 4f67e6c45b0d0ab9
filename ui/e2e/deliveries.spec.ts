/**
 * #/deliveries against a real `baton serve` and a real HTTP receiver (Node's http on
 * 127.0.0.1, allowed by the administrator's allowPrivateOutboundUrls): subscriptions and custom
 * webhooks made from the UI with their bad input refused beside the field, an instance's
 * deliveries in the log with status and response, a failure redelivered from the UI, and a
 * log of 100,000 rows paged one page at a time.
 */
import type { Page } from '@playwright/test';
import { createServer, type IncomingHttpHeaders, type Server as HttpServer } from 'node:http';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test, expect, expectAccessible, screenshot, startServer } from './harness';
import { deployXml, FLAKY_BPMN, must } from './runner-data';

interface Received {
  headers: IncomingHttpHeaders;
  body: { id?: string; eventName?: string; sequence?: number; workflowRuntimeId?: string };
  answered: number;
}

interface Receiver {
  url: string;
  received: Received[];
  /** While true the receiver answers 500 to everything. */
  failing: boolean;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const state: Receiver = { url: '', received: [], failing: false, close: async () => {} };
  const http: HttpServer = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const answered = state.failing ? 500 : 200;
      let body: Received['body'] = {};
      try {
        body = JSON.parse(text);
      } catch {
        /* kept empty */
      }
      state.received.push({ headers: req.headers, body, answered });
      res.writeHead(answered, { 'Content-Type': 'text/plain' });
      res.end(answered === 200 ? 'thanks' : 'the receiver is down for maintenance');
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const address = http.address();
  if (!address || typeof address === 'string') throw new Error('the receiver has no port');
  state.url = `http://127.0.0.1:${address.port}/baton-events`;
  state.close = () => new Promise((r) => http.close(() => r()));
  return state;
}

/** Every CreateXxx command the page sends (to prove that refused input sends nothing). */
function watchCommands(page: Page, name: string): string[] {
  const sent: string[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/api/v1/execute') && (r.postData() ?? '').includes(`"${name}"`)) sent.push(r.postData() ?? '');
  });
  return sent;
}

let receiver: Receiver;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  receiver = await startReceiver();
});
test.afterAll(async () => {
  await receiver.close();
});

test('a subscription is made from the form; bad input is marked beside its field and nothing is sent', async ({ page, openUi, server }) => {
  await must(server, 'SetSecuritySettingsCommand', { allowPrivateOutboundUrls: true });
  const sent = watchCommands(page, 'CreateEventSubscriptionCommand');
  await openUi('#/deliveries');
  await expect(page.getByRole('heading', { name: 'Deliveries', level: 1 })).toBeVisible();
  await expect(page.getByTestId('subscriptions-empty')).toBeVisible();
  await expect(page.getByTestId('webhooks-empty')).toBeVisible();
  await expect(page.getByTestId('dl-empty')).toContainText('No deliveries yet');
  await expect(page.getByTestId('nav-deliveries')).toHaveAttribute('aria-current', 'page');
  await expectAccessible(page, 'the empty deliveries view');

  // Keyboard: the "New subscription" button opens the form and puts the cursor in the URL.
  await page.getByTestId('sub-new').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('sub-form')).toBeVisible();
  await expect(page.getByLabel('URL', { exact: true }).first()).toBeFocused();

  // Nothing filled in: both required fields are marked, nothing is sent.
  await page.getByTestId('sub-create').click();
  await expect(page.locator('#sub-url-error')).toHaveText(/Enter the address the events are sent to/);
  await expect(page.getByTestId('sub-url')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#sub-events-error')).toHaveText('Choose at least one event, or All events.');
  await expect(page.getByTestId('sub-url')).toBeFocused();

  await page.getByTestId('sub-url').fill('ftp://example.com/events');
  await page.getByLabel('workflow.completed').check();
  await page.getByTestId('sub-create').click();
  await expect(page.locator('#sub-url-error')).toHaveText('The address must start with http:// or https://.');
  await expect(page.locator('#sub-events-error')).toBeHidden();
  expect(sent).toEqual([]);

  // A secret the runtime refuses: its own words beside the secret, everything typed kept.
  await page.getByTestId('sub-url').fill(receiver.url);
  await page.getByLabel('workflow.state.changed').check();
  await page.getByTestId('sub-secret').fill('whsec_not base64!');
  await page.getByTestId('sub-create').click();
  await expect(page.locator('#sub-secret-error')).toHaveText("secret: the part of the secret after whsec_ is not base64");
  await expect(page.getByTestId('sub-secret')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#sub-url-error')).toBeHidden();
  expect(sent).toHaveLength(1);
  await expect(page.getByTestId('sub-url')).toHaveValue(receiver.url);
  await expect(page.getByLabel('workflow.state.changed')).toBeChecked();
  await expect(page.getByLabel('workflow.completed')).toBeChecked();
  await screenshot(page, 'deliveries-subscription-errors');
  await expectAccessible(page, 'the subscription form with errors');

  // Without a secret Baton makes one and shows it once.
  await page.getByTestId('sub-secret').fill('');
  await page.getByTestId('sub-create').click();
  await expect(page.getByTestId('sub-created')).toContainText('Subscription 1 created');
  await expect(page.getByTestId('sub-secret-value')).toHaveText(/^whsec_[A-Za-z0-9+/=]{20,}$/);
  await expect(page.getByTestId('sub-form')).toBeHidden();
  const row = page.getByTestId('subscription-row');
  await expect(row).toHaveCount(1);
  await expect(row).toContainText(receiver.url);
  await expect(row.locator('.dl-event-list li')).toHaveText(['workflow.state.changed', 'workflow.completed']);
  await expect(row).toContainText('every process');
  const listed = await must(server, 'GetEventSubscriptionListQuery', {});
  expect(listed.items.map((s: { url: string }) => s.url)).toEqual([receiver.url]);

  // The events the form offers are the ones the runtime accepts.
  const offered = await page.getByTestId('sub-events-option').evaluateAll((boxes) => boxes.map((b) => (b as HTMLInputElement).value));
  expect(offered[0]).toBe('*');
  const all = await server.execute('CreateEventSubscriptionCommand', { url: 'https://example.com/all', events: offered.slice(1) });
  expect(all.isSuccessful, JSON.stringify(all.errors)).toBe(true);
  await must(server, 'DeleteEventSubscriptionCommand', { id: all.data.id });
  await page.getByTestId('sub-created-close').click();
});

test('a custom webhook: invalid header JSON and a mapping the runtime refuses are marked; Delete asks first', async ({ page, openUi, server }) => {
  const sent = watchCommands(page, 'CreateCustomWebhookCommand');
  await openUi('#/deliveries');
  await page.getByTestId('cw-new').click();
  await page.getByTestId('cw-name').fill('backend_update_webhook');
  await page.getByTestId('cw-url').fill('https://example.com/update');
  await page.getByTestId('cw-states').fill('Work, Manager review');
  await page.getByTestId('cw-method').selectOption('PUT');
  await page.getByTestId('cw-headers').fill('{"authorization": "Bearer {secret.VENDOR_API_KEY}",}');
  await page.getByTestId('cw-create').click();
  await expect(page.locator('#cw-headers-error')).toHaveText(/^The headers are not valid JSON: .* at line 1, column \d+/);
  await expect(page.getByTestId('cw-headers')).toBeFocused();
  expect(sent).toEqual([]);

  await page.getByTestId('cw-headers').fill('{"authorization": "Bearer {secret.VENDOR_API_KEY}"}');
  await page.getByTestId('cw-mapping').fill('{success_result: @');
  await page.getByTestId('cw-create').click();
  await expect(page.locator('#cw-mapping-error')).toContainText("request.transform.mapping '{success_result: @'");
  await expect(page.getByTestId('cw-mapping')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#cw-headers-error')).toBeHidden();
  expect(sent).toHaveLength(1);
  await expect(page.getByTestId('cw-name')).toHaveValue('backend_update_webhook');
  await expect(page.getByTestId('cw-method')).toHaveValue('PUT');
  await screenshot(page, 'deliveries-webhook-errors');

  await page.getByTestId('cw-mapping').fill('{success_result: @}');
  await page.getByTestId('cw-create').click();
  await expect(page.getByTestId('cw-created')).toContainText('backend_update_webhook');
  const row = page.getByTestId('webhook-row');
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('PUT https://example.com/update');
  await expect(row).toContainText('Work, Manager review');
  await expect(row).toContainText('headers: authorization');
  await screenshot(page, 'deliveries-webhook-created');
  await expectAccessible(page, 'the custom webhook list');

  // Delete asks first; Cancel (or Escape) keeps it.
  await row.getByTestId('cw-delete').click();
  await expect(row).toContainText('Delete custom webhook backend_update_webhook?');
  await expect(row.getByTestId('cw-delete-cancel')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(row.getByTestId('cw-delete')).toBeFocused();
  expect((await must(server, 'GetCustomWebhookListQuery', {})).items).toHaveLength(1);
  await row.getByTestId('cw-delete').click();
  await row.getByTestId('cw-delete-confirm').click();
  await expect(page.getByTestId('webhook-row')).toHaveCount(0);
  await expect(page.getByTestId('webhooks-empty')).toBeVisible();
  expect((await must(server, 'GetCustomWebhookListQuery', {})).items).toHaveLength(0);
});

test("an instance's deliveries reach the log; a failed one is redelivered from the UI", async ({ page, openUi, server }) => {
  await deployXml(server, 'Flaky', FLAKY_BPMN);
  const first = await must(server, 'StartProcessInstanceCommand', { processKey: 'Flaky', variables: { fail: false } });
  expect(first.status).toBe('COMPLETED');

  await openUi('#/deliveries');
  await page.getByTestId('dl-instance').fill(first.instanceGuid);
  await page.getByTestId('dl-instance').press('Enter');
  await expect(page).toHaveURL(new RegExp(`instance=${first.instanceGuid}`));
  const rows = page.getByTestId('delivery-row');
  await expect(rows).toHaveCount(2);
  // The sender delivers them; the page reads the log again while they are pending.
  await expect(rows.and(page.locator('[data-status="Delivered"]'))).toHaveCount(2);
  const completed = rows.and(page.locator('[data-event="workflow.completed"]'));
  const changed = rows.and(page.locator('[data-event="workflow.state.changed"]'));
  await expect(changed.getByTestId('dl-row-sequence')).toHaveText('1');
  await expect(completed.getByTestId('dl-row-sequence')).toHaveText('2');
  await expect(completed.getByTestId('dl-row-response')).toHaveText('HTTP 200');
  await expect(completed.getByTestId('dl-row-attempts')).toHaveText('1');
  await expect(completed).toContainText(receiver.url);
  await expect(completed.getByTestId('dl-instance-link')).toHaveAttribute('href', `#/instances/${first.instanceGuid}`);
  const mine = receiver.received.filter((r) => r.body.workflowRuntimeId === first.instanceGuid);
  expect(mine.map((r) => r.body.sequence).sort()).toEqual([1, 2]);
  expect(mine.every((r) => String(r.headers['webhook-signature'] ?? '').startsWith('v1,'))).toBe(true);

  // Details show the payload that was sent and what the receiver answered.
  await completed.getByTestId('dl-details').click();
  await expect(completed.getByTestId('dl-details')).toHaveAttribute('aria-expanded', 'true');
  const details = page.getByTestId('dl-details-row');
  await expect(details).toContainText('subscription 1');
  await expect(details).toContainText('"eventName": "workflow.completed"');
  await expect(details.locator('dt', { hasText: 'Last response body' })).toBeVisible();
  await expect(details.locator('dd.dl-preserve')).toHaveText('thanks');

  // The receiver fails: the new instance's deliveries wait for their retry with HTTP 500.
  receiver.failing = true;
  const second = await must(server, 'StartProcessInstanceCommand', { processKey: 'Flaky', variables: { fail: false } });
  await page.getByTestId('dl-instance').fill(second.instanceGuid);
  await page.getByTestId('dl-instance').press('Enter');
  await expect(rows).toHaveCount(2);
  const failed = rows.and(page.locator('[data-event="workflow.completed"]'));
  await expect(failed.getByTestId('dl-row-response')).toHaveText('HTTP 500');
  await expect(failed).toHaveAttribute('data-status', 'Pending');
  await expect(failed).toContainText(/in \d+ s|due now/);
  // A failing receiver's answer is kept too.
  await failed.getByTestId('dl-details').click();
  await expect(page.getByTestId('dl-details-row').locator('dd.dl-preserve')).toHaveText('the receiver is down for maintenance');
  await failed.getByTestId('dl-details').click();
  await page.getByTestId('dl-status').selectOption('Pending');
  await expect(page).toHaveURL(/status=Pending/);
  await expect(rows).toHaveCount(2);
  await screenshot(page, 'deliveries-failed');

  // It works again: Redeliver sends it now and says what came of it. A read of the log that
  // began before the redelivery (Refresh, or the page's own poll) answers afterwards with the
  // row as it was: the row stays as the redelivery left it.
  receiver.failing = false;
  const id = await failed.getAttribute('data-id');
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let heldReads = 0;
  let answeredReads = 0;
  await page.route('**/api/v1/execute', async (route) => {
    if (!(route.request().postData() ?? '').includes('GetDeliveryListQuery')) return route.continue();
    const before = await route.fetch();
    heldReads += 1;
    await held;
    await route.fulfill({ response: before });
    answeredReads += 1;
  });
  await page.getByTestId('dl-refresh').click();
  await expect.poll(() => heldReads).toBeGreaterThan(0);
  await failed.getByTestId('dl-redeliver').click();
  await expect(page.getByTestId('row-result')).toHaveText(/^Delivered: the receiver answered HTTP 200 \(attempt \d+\)\.$/);
  await expect(page.getByTestId('redeliver-result')).toContainText('workflow.completed #2');
  const redelivered = page.locator(`[data-testid="delivery-row"][data-id="${id}"]`);
  await expect(redelivered).toHaveAttribute('data-status', 'Delivered');
  release();
  await expect.poll(() => answeredReads).toBe(heldReads);
  await expect(page.locator('table[data-testid="delivery-list"]')).not.toHaveAttribute('aria-busy', 'true');
  await expect(redelivered).toHaveAttribute('data-status', 'Delivered');
  await expect(redelivered.getByTestId('dl-row-response')).toHaveText('HTTP 200');
  await page.unroute('**/api/v1/execute');
  const tries = receiver.received.filter((r) => r.body.id === id);
  expect(tries.map((r) => r.answered)).toContain(500);
  expect(tries.at(-1)!.answered).toBe(200);
  await screenshot(page, 'deliveries-redelivered');
  await expectAccessible(page, 'the delivery log after a redelivery');

  // The status filter: nothing of this instance failed for good.
  await page.getByTestId('dl-status').selectOption('Failed');
  await expect(page.getByTestId('dl-empty')).toContainText('No deliveries match these filters.');
  await page.getByTestId('dl-clear').click();
  await expect(page).toHaveURL(/#\/deliveries$/);
  await expect(rows).toHaveCount(4);
  await screenshot(page, 'deliveries-log');

  // The event filter, asked of the server: only that event's rows.
  await page.getByTestId('dl-event').selectOption('workflow.completed');
  await expect(page).toHaveURL(/event=workflow\.completed/);
  await expect(rows).toHaveCount(2);
  await expect(page.locator('[data-testid="delivery-row"]:not([data-event="workflow.completed"])')).toHaveCount(0);
  await page.getByTestId('dl-event').selectOption('');
  await expect(rows).toHaveCount(4);

  // A test event to the subscription: sent now, its result said beside the row.
  const subscription = page.getByTestId('subscription-row').first();
  await subscription.getByTestId('sub-test').click();
  await expect(subscription.getByTestId('sub-test-result')).toHaveText(/^Test event: Delivered: the receiver answered HTTP 200 \(attempt 1\)\.$/);
  expect(receiver.received.some((r) => r.body.eventName === 'webhook.test' && r.answered === 200)).toBe(true);

  // The instance link opens the instance.
  await rows.first().getByTestId('dl-instance-link').click();
  await expect(page).toHaveURL(/#\/instances\/[0-9a-f-]+$/);
  await expect(page.getByTestId('nav-instances')).toHaveAttribute('aria-current', 'page');
});

test('a subscription is deleted after a confirmation; its deliveries stay in the log', async ({ page, openUi, server }) => {
  await openUi('#/deliveries');
  const row = page.getByTestId('subscription-row');
  await expect(row).toHaveCount(1);
  await row.getByTestId('sub-delete').click();
  await expect(row).toContainText('Delete subscription 1? Deliveries already in the log stay.');
  await row.getByTestId('sub-delete-cancel').click();
  await expect(row.getByTestId('sub-delete')).toBeFocused();
  await row.getByTestId('sub-delete').press('Enter');
  await row.getByTestId('sub-delete-confirm').press('Enter');
  await expect(page.getByTestId('subscription-row')).toHaveCount(0);
  await expect(page.getByTestId('subscriptions-empty')).toBeVisible();
  await expect(page.getByTestId('sub-new')).toBeFocused();
  expect((await must(server, 'GetEventSubscriptionListQuery', {})).items).toEqual([]);
  // The two instances' four deliveries and the test event.
  await expect(page.getByTestId('delivery-row')).toHaveCount(5);
});

test('the log pages through 100,000 deliveries, one page at a time', async ({ page }) => {
  const big = await startServer();
  try {
    // The rows are written straight into the server's SQLite file (as steps would, without
    // running 100,000 instances): Delivered rows, which the sender leaves alone.
    const sql = `.timeout 20000
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO deliveries (id, subscription_id, event_name, payload, url, status, attempts, last_status_code, created_at, delivered_at, instance_guid, sequence)
SELECT printf('bulk-%06d', i), 1, CASE i % 3 WHEN 0 THEN 'workflow.completed' ELSE 'workflow.state.changed' END,
       '{"bulk": ' || i || '}', 'https://receiver.example/events', 'Delivered', 1, 200,
       '2026-11-30T00:00:00.000000Z', '2026-11-30T00:00:01.000000Z', printf('inst-%05d', i / 2), i % 2 + 1
FROM n;`;
    execFileSync('sqlite3', [join(big.dir, 'baton.db')], { input: sql });

    const asked: { pageNumber: number; pageSize: number }[] = [];
    page.on('request', (r) => {
      const body = r.postData() ?? '';
      if (body.includes('"GetDeliveryListQuery"')) asked.push(JSON.parse(body).data);
    });
    await page.goto(`${big.url}/?token=${encodeURIComponent(big.token)}#/deliveries?size=100`);
    await expect(page.getByTestId('dl-summary')).toHaveText('Showing 1–100 of 100,000 deliveries');
    await expect(page.getByTestId('delivery-row')).toHaveCount(100);
    await expect(page.getByTestId('delivery-row').first()).toHaveAttribute('data-id', 'bulk-100000');
    await expect(page.getByTestId('dl-page-label')).toHaveText('Page 1 of 1,000');

    await page.getByTestId('dl-last').click();
    await expect(page.getByTestId('dl-page-label')).toHaveText('Page 1,000 of 1,000');
    await expect(page.getByTestId('delivery-row').last()).toHaveAttribute('data-id', 'bulk-000001');
    await expect(page.getByTestId('dl-next')).toBeDisabled();

    await page.getByTestId('dl-jump').fill('1001');
    await page.getByTestId('dl-go').click();
    await expect(page.getByTestId('dl-jump-error')).toHaveText('There are 1,000 pages: enter a number from 1 to 1,000.');
    await expect(page.getByTestId('dl-jump')).toHaveValue('1001');
    await page.getByTestId('dl-jump').fill('500');
    await page.getByTestId('dl-jump').press('Enter');
    await expect(page.getByTestId('dl-summary')).toHaveText('Showing 49,901–50,000 of 100,000 deliveries');
    await expect(page.getByTestId('dl-jump-error')).toBeHidden();
    await expect(page).toHaveURL(/page=500&size=100/);
    await page.getByTestId('dl-previous').click();
    await expect(page.getByTestId('dl-page-label')).toHaveText('Page 499 of 1,000');

    // The instance filter goes to the server too.
    await page.getByTestId('dl-instance').fill('inst-00042');
    await page.getByTestId('dl-instance').press('Enter');
    await expect(page.getByTestId('delivery-row')).toHaveCount(2);
    await expect(page.getByTestId('dl-summary')).toHaveText('Showing 1–2 of 2 deliveries');
    await screenshot(page, 'deliveries-100k-filtered');
    await page.getByTestId('dl-clear').click();
    await expect(page.getByTestId('dl-summary')).toHaveText('Showing 1–100 of 100,000 deliveries');
    await screenshot(page, 'deliveries-100k');
    await expectAccessible(page, 'a page of 100,000 deliveries');

    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((d) => d.pageSize <= 100)).toBe(true);
  } finally {
    await big.stop();
  }
});

test('the dark theme keeps the view readable', async ({ page, openUi }) => {
  await openUi('#/deliveries');
  await page.getByTestId('theme-toggle').click();
  await page.getByTestId('sub-new').click();
  await page.getByTestId('sub-create').click();
  await expect(page.locator('#sub-url-error')).toBeVisible();
  await screenshot(page, 'deliveries-dark');
  await expectAccessible(page, 'the deliveries view in the dark theme');
  await page.getByTestId('theme-toggle').click();
});

test('a subscription is made with the keyboard alone', async ({ page, openUi, server }) => {
  await openUi('#/deliveries');
  await page.getByTestId('sub-new').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('sub-url')).toBeFocused();
  await page.keyboard.type('https://example.com/keyboard');
  await page.keyboard.press('Tab');
  await expect(page.getByLabel('All events')).toBeFocused();
  await page.keyboard.press('Space');
  // Past the six event checkboxes after "All events".
  for (let i = 0; i < 7; i++) await page.keyboard.press('Tab');
  await expect(page.getByTestId('sub-secret')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('sub-process')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('sub-create')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('sub-created')).toContainText('created');
  const row = page.getByTestId('subscription-row').filter({ hasText: 'https://example.com/keyboard' });
  await expect(row).toContainText('All events');
  const listed = await must(server, 'GetEventSubscriptionListQuery', {});
  expect(listed.items.find((s: { url: string }) => s.url === 'https://example.com/keyboard').events).toEqual(['*']);
});
