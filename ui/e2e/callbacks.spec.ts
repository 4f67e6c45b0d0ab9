/**
 * #/callbacks against a real `baton serve`: the CallbackRegistry, returning a pending callback
 * through a Paystack-signed request to a real webhook configuration (signature, mapping and
 * correlation all run) and by ReturnCallbackCommand, conflicts, messages and signals, and bad
 * input refused beside its field with nothing sent.
 */
import type { Page } from '@playwright/test';
import { test, expect, expectAccessible, screenshot, type Server } from './harness';
import { deployTemplate, must, unique } from './runner-data';

test.describe.configure({ mode: 'serial' });

const SECRET = 'sk_test_' + 'e2e-callbacks-secret';
let hookUrl = '';

/** The row of `key` (its webhook-mode row: a form task after it registers the same key again). */
const row = (page: Page, key: string, status?: string) =>
  page.locator(`[data-testid="cb-row"][data-key="${key}"]${status ? `[data-status="${status}"]` : ''}`).first();

async function startPayment(server: Server, paymentId: string): Promise<string> {
  await deployTemplate(server, 'payment-approval', 'PaymentApprovalProcess');
  const started = await must(server, 'StartProcessInstanceCommand', {
    processKey: 'PaymentApprovalProcess',
    variables: { paymentId, amount: 500 },
  });
  return started.instanceGuid as string;
}

async function waitingAt(server: Server, guid: string): Promise<string[]> {
  const inst = await must(server, 'GetProcessInstanceByIdQuery', { instanceGuid: guid });
  return (inst.waiting as { taskId: string }[]).map((w) => w.taskId);
}

async function requestCount(server: Server): Promise<number> {
  const r = await must(server, 'GetWebhookRequestListQuery', { pageSize: 1 });
  return (r.totalCount ?? r.items?.length ?? 0) as number;
}

async function ensureHook(server: Server): Promise<void> {
  if (hookUrl) return;
  hookUrl = `/webhook/paystack/${unique('cb')}`;
  const created = await must(server, 'CreateWebHookConfigCommand', {
    name: 'Paystack payment callbacks',
    url: hookUrl,
    executionType: 0,
    commandName: 'ReturnCallbackCommand',
    commandData: { correlationKey: 'body.data.reference', result: 'body.data' },
    verification: { scheme: 'paystack', secret: SECRET },
  });
  // Read back what the server answers (not assumed): a signed configuration is verified.
  const listed = await must(server, 'GetWebHookConfigListQuery', { pageSize: 100 });
  const mine = (listed.items as { id: number; verified?: boolean; verification: { scheme: string; secretSet: boolean } }[]).find(
    (c) => c.id === created.id,
  );
  expect(mine?.verification).toMatchObject({ scheme: 'paystack', secretSet: true });
  if (mine && 'verified' in mine) expect(mine.verified).toBe(true);
}

test('a pending callback is returned through a Paystack-signed webhook request and the instance moves on', async ({ page, openUi, server, consoleErrors }) => {
  await ensureHook(server);
  const key = unique('PAY');
  const guid = await startPayment(server, key);
  expect(await waitingAt(server, guid)).toEqual(['Task_WaitForPayment']);

  await openUi('#/callbacks');
  await expect(row(page, key)).toHaveAttribute('data-status', 'Pending');
  await expect(row(page, key)).toContainText('PaymentApprovalProcess');
  await expectAccessible(page, 'the callback registry');

  await row(page, key).getByTestId('return-open').click();
  const panel = page.getByTestId('return-panel');
  await expect(panel).toBeVisible();
  await expect(page.getByTestId('return-payload')).toBeFocused();
  await page.getByTestId('return-via-webhook').check();
  await expect(page.getByTestId('return-config')).toContainText('Paystack payment callbacks');
  await expect(page.getByTestId('return-config-url')).toHaveText(`${server.url}${hookUrl}`);
  await expect(page.getByTestId('return-preset')).toHaveValue('paystack');
  const payload = JSON.parse(await page.getByTestId('return-payload').inputValue());
  expect(payload.event).toBe('charge.success');
  expect(payload.data.reference).toBe(key);

  // An empty secret: marked beside the field, nothing sent.
  const before = await requestCount(server);
  await page.getByTestId('return-send').click();
  await expect(page.getByTestId('return-secret-error')).toContainText("Enter the configuration's secret");
  await expect(page.getByTestId('return-secret')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByTestId('return-secret')).toBeFocused();
  expect(await requestCount(server)).toBe(before);
  await screenshot(page, 'callbacks-empty-secret');

  // A wrong secret: the runtime's refusal (401, bad signature) beside the form; nothing typed is lost.
  await page.getByTestId('return-payload').fill(JSON.stringify({ ...payload, data: { ...payload.data, note: 'typed by hand' } }, null, 2));
  await page.getByTestId('return-secret').fill('sk_test_wrong');
  await page.getByTestId('return-send').click();
  await expect(page.getByTestId('return-error')).toContainText('HTTP 401: signature check failed: x-paystack-signature does not match');
  await expect(page.getByTestId('return-secret-error')).toContainText('Check the secret');
  await expect(page.getByTestId('return-payload')).toHaveValue(/typed by hand/);
  expect(await waitingAt(server, guid)).toEqual(['Task_WaitForPayment']);
  // Chromium logs every refused request it makes; this one was refused on purpose. Anything
  // else on the console still fails the test.
  const refused = consoleErrors.findIndex((e) => /status of 401 \(Unauthorized\)/.test(e));
  expect(refused, 'the refused request is logged by the browser').toBeGreaterThanOrEqual(0);
  consoleErrors.splice(refused, 1);

  // The right secret: accepted, the mapping finds the key, the callback completes.
  await page.getByTestId('return-secret').fill(SECRET);
  await page.getByTestId('return-send').click();
  await expect(page.getByTestId('return-answer-title')).toContainText('HTTP 200: accepted by Paystack payment callbacks');
  await expect(page.getByTestId('return-error')).toBeHidden();
  const done = row(page, key, 'Completed');
  await expect(done).toBeVisible();
  await expect(done.getByTestId('return-open')).toHaveCount(0);
  await done.getByTestId('cb-toggle').click();
  await expect(done.getByTestId('cb-toggle')).toHaveAttribute('aria-expanded', 'true');
  await expect(page.getByTestId('cb-detail').getByTestId('cb-result')).toContainText('typed by hand');
  // The review task that follows waits on the same key, for a form: the row says where to do it.
  await expect(row(page, key, 'Pending')).toContainText('Open in the task inbox');
  expect(await waitingAt(server, guid)).toEqual(['Task_ReviewPayment']);
  const inst = await must(server, 'GetProcessInstanceByIdQuery', { instanceGuid: guid });
  expect(inst.variables.lastReceiveTaskResult.reference).toBe(key);
  // The secret is not kept: the field is password-typed and never written to storage.
  expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(SECRET);
  await screenshot(page, 'callbacks-signed-webhook');
  await expectAccessible(page, 'the registry with the return panel open');

  // The instance view agrees: it moved on to the review task.
  await page.goto(`${server.url}/#/instances/${guid}`);
  await expect(page.locator('[data-testid="instance-canvas"] .djs-element[data-element-id="Task_ReviewPayment"]')).toHaveClass(/baton-active/);
});

test('a pending callback is returned by ReturnCallbackCommand; invalid JSON is refused beside the field', async ({ page, openUi, server }) => {
  const key = unique('PAY');
  const guid = await startPayment(server, key);
  await openUi(`#/callbacks?status=Pending&key=${encodeURIComponent(key)}`);
  await expect(page.getByTestId('cb-row')).toHaveCount(1);
  await expect(page.getByTestId('cb-summary')).toHaveText('1 callback matches');
  await expect(page.getByTestId('cb-status-filter')).toHaveValue('Pending');

  await row(page, key, 'Pending').getByTestId('return-open').click();
  await expect(page.getByTestId('return-via-command')).toBeChecked();
  await page.getByTestId('return-preset').selectOption('flutterwave');
  expect(JSON.parse(await page.getByTestId('return-payload').inputValue()).data.tx_ref).toBe(key);

  await page.getByTestId('return-payload').fill('{"status": "successful",\n "amount": }');
  await page.getByTestId('return-send').click();
  await expect(page.getByTestId('return-payload-error')).toContainText('The payload is not valid JSON');
  await expect(page.getByTestId('return-payload-error')).toContainText('line 2, column 12');
  await expect(page.getByTestId('return-payload')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByTestId('return-answer')).toBeHidden();
  expect(await waitingAt(server, guid)).toEqual(['Task_WaitForPayment']);
  await screenshot(page, 'callbacks-invalid-json');

  await page.getByTestId('return-payload').fill('{"status": "successful", "amount": 500}');
  await page.getByTestId('return-send').click();
  await expect(page.getByTestId('return-answer-title')).toContainText('Returned: the instance is WAITING');
  // The row left the Pending list; the panel reads it again and says what it became.
  await expect(page.getByTestId('return-moved')).toHaveText(
    'This callback is now Completed: sending it again is answered as a duplicate (a conflict when the payload differs).',
  );
  await expect(page.getByTestId('return-payload')).not.toHaveAttribute('aria-invalid', 'true');
  expect(await waitingAt(server, guid)).toEqual(['Task_ReviewPayment']);
  // The Pending filter drops the completed row.
  await expect(page.getByTestId('cb-row')).toHaveCount(1);
  await expect(row(page, key, 'Pending')).toContainText('Open in the task inbox');

  // The same callback again is a duplicate; with another result it is a conflict, shown on the row.
  const again = await must(server, 'ReturnCallbackCommand', { correlationKey: key, result: { status: 'failed' } });
  expect(again.conflict).toBe(true);
  await page.getByTestId('cb-status-filter').selectOption('Completed');
  await expect(page.getByTestId('return-moved')).toContainText('This callback is now Completed: sending it again is answered as a duplicate');
  const conflicted = row(page, key, 'Completed');
  await expect(conflicted.getByTestId('cb-conflict')).toContainText('1 conflicting duplicate');
  await conflicted.getByTestId('cb-toggle').click();
  await expect(page.getByTestId('cb-detail').getByTestId('cb-conflicting')).toContainText('"failed"');
  await expect(page.getByTestId('cb-detail').getByTestId('cb-result')).toContainText('"successful"');
  await screenshot(page, 'callbacks-conflict');

  // The next pending callback of this process offers the last payload used.
  const next = unique('PAY');
  await startPayment(server, next);
  await page.getByTestId('cb-status-filter').selectOption('');
  await page.getByTestId('cb-key-filter').fill(next);
  await row(page, next, 'Pending').getByTestId('return-open').click();
  await expect(page.getByTestId('return-preset')).toHaveValue('last');
  expect(JSON.parse(await page.getByTestId('return-payload').inputValue())).toEqual({ status: 'successful', amount: 500 });
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('return-panel')).toBeHidden();
  await expect(row(page, next, 'Pending').getByTestId('return-open')).toBeFocused();

  // The instance is cancelled while the panel is open: the runtime's refusal is shown beside the
  // form in its own words, and the payload typed stays.
  await row(page, next, 'Pending').getByTestId('return-open').click();
  await page.getByTestId('return-payload').fill('{"status": "late"}');
  const nextGuid = (await must(server, 'GetCallbackRegistryListQuery', { status: 'Pending' })).find(
    (r: { CorrelationKey: string }) => r.CorrelationKey === next,
  ).ParentInstanceId;
  await must(server, 'CancelProcessInstanceCommand', { instanceGuid: nextGuid });
  await page.getByTestId('return-send').click();
  await expect(page.getByTestId('return-error')).toBeVisible();
  const refusal = await page.getByTestId('return-error').innerText();
  expect(refusal).toContain(next);
  await expect(page.getByTestId('return-payload')).toHaveValue('{"status": "late"}');
  await screenshot(page, 'callbacks-refused');
});

test('a message is correlated by name and key, a signal is broadcast, bad input is refused beside its field', async ({ page, openUi, server }) => {
  const key = unique('PAY');
  const guid = await startPayment(server, key);
  await openUi('#/callbacks');
  await expect(page.getByTestId('message-form')).toBeVisible();
  // The process filter: kept in the address, the rows of that process only.
  await page.getByTestId('cb-process-filter').selectOption('PaymentApprovalProcess');
  await expect(page).toHaveURL(/#\/callbacks\?process=PaymentApprovalProcess$/);
  await expect(row(page, key, 'Pending')).toBeVisible();
  await expect(page.getByTestId('cb-row').filter({ hasNotText: 'PaymentApprovalProcess' })).toHaveCount(0);

  // No name: nothing sent, said beside the field.
  await page.getByTestId('message-send').click();
  await expect(page.getByTestId('message-name-error')).toHaveText('Enter the message name.');
  await page.getByTestId('message-name').fill('PaymentProcessed');
  await page.getByTestId('message-key').fill(key);
  await page.getByTestId('message-variables').fill('[1, 2]');
  await page.getByTestId('message-send').click();
  await expect(page.getByTestId('message-variables-error')).toContainText('must be a JSON object');
  await expect(page.getByTestId('message-answer')).toBeHidden();
  await page.getByTestId('message-variables').fill('{"approvedBy": "e2e"}');
  await page.getByTestId('message-send').click();
  await expect(page.getByTestId('message-answer')).toContainText('Correlated');
  await expect(page.getByTestId('message-answer').locator('a')).toHaveText(guid);
  expect(await waitingAt(server, guid)).toEqual(['Task_ReviewPayment']);

  // A message nothing waits for is discarded, and the answer says so; the name stays typed.
  await page.getByTestId('message-key').fill(unique('NOBODY'));
  await page.getByTestId('message-send').click();
  await expect(page.getByTestId('message-answer')).toContainText('Nothing waits for this message');
  await expect(page.getByTestId('message-name')).toHaveValue('PaymentProcessed');
  await page.getByTestId('message-ttl').fill('-3');
  await page.getByTestId('message-send').click();
  await expect(page.getByTestId('message-ttl-error')).toContainText('whole number of seconds');

  await page.getByTestId('signal-name').fill(unique('NoListener'));
  await page.getByTestId('signal-variables').fill('{"a": tru}');
  await page.getByTestId('signal-send').click();
  await expect(page.getByTestId('signal-variables-error')).toContainText('did you mean true?');
  await page.getByTestId('signal-variables').fill('{"a": true}');
  await page.getByTestId('signal-send').click();
  await expect(page.getByTestId('signal-answer')).toContainText('no instance listens');
  await screenshot(page, 'callbacks-message-signal');
  await expectAccessible(page, 'the message and signal forms');

  // Keyboard: the filters, the rows' buttons and the forms are reached with Tab.
  await page.getByTestId('cb-status-filter').focus();
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('cb-process-filter')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('cb-key-filter')).toBeFocused();

  // The dark theme passes the same checks.
  await page.getByTestId('theme-toggle').click();
  await screenshot(page, 'callbacks-dark');
  await expectAccessible(page, 'the callbacks view in the dark theme');
  await page.getByTestId('theme-toggle').click();

  // A narrow window puts the forms under the list.
  await page.setViewportSize({ width: 900, height: 900 });
  await page.getByRole('heading', { name: 'Callbacks' }).scrollIntoViewIfNeeded();
  await screenshot(page, 'callbacks-narrow');
});

test('Stripe and Standard Webhooks configurations are signed as their schemes require', async ({ page, openUi, server }) => {
  const hooks = [
    {
      name: 'Stripe intents',
      scheme: 'stripe',
      secret: 'whsec_' + 'stripe-e2e-secret',
      keyAt: 'body.data.object.metadata.correlationKey',
      preset: 'stripe',
    },
    {
      name: 'Standard sender',
      scheme: 'standardWebhooks',
      secret: 'whsec_' + Buffer.from('standard-webhooks-e2e-key').toString('base64'),
      keyAt: 'body.ref',
      // The Stripe payload just sent for this process, with this callback's key.
      preset: 'last',
    },
  ];
  const created: Record<string, number> = {};
  for (const h of hooks) {
    const r = await must(server, 'CreateWebHookConfigCommand', {
      name: h.name,
      url: `/webhook/${h.scheme}/${unique('cb')}`,
      executionType: 0,
      commandName: 'ReturnCallbackCommand',
      commandData: { correlationKey: h.keyAt, result: 'body' },
      verification: { scheme: h.scheme, secret: h.secret },
    });
    created[h.scheme] = r.id as number;
  }
  for (const h of hooks) {
    const key = unique('PAY');
    const guid = await startPayment(server, key);
    await openUi(`#/callbacks?key=${encodeURIComponent(key)}`);
    await row(page, key, 'Pending').getByTestId('return-open').click();
    await page.getByTestId('return-via-webhook').check();
    await page.getByTestId('return-config').selectOption(String(created[h.scheme]));
    await expect(page.getByTestId('return-preset')).toHaveValue(h.preset);
    // The payload carries the key where the configuration's mapping reads it.
    const body = JSON.parse(await page.getByTestId('return-payload').inputValue());
    const path = h.keyAt.split('.').slice(1);
    expect(path.reduce((at: any, p) => at?.[p], body)).toBe(key);
    await page.getByTestId('return-secret').fill(h.secret);
    await page.getByTestId('return-send').click();
    await expect(page.getByTestId('return-answer-title')).toContainText(`HTTP 200: accepted by ${h.name}`);
    await expect(row(page, key, 'Completed')).toBeVisible();
    expect(await waitingAt(server, guid)).toEqual(['Task_ReviewPayment']);
  }
  await screenshot(page, 'callbacks-standard-webhooks');
});

test('the list is paged and filtered by the server, newest first', async ({ page, openUi, server }) => {
  const prefix = unique('BULK');
  await deployTemplate(server, 'payment-approval', 'PaymentApprovalProcess');
  // 53 waiting callbacks under one prefix: a page of 50 and a page of 3.
  for (let i = 0; i < 53; i++) {
    await must(server, 'StartProcessInstanceCommand', {
      processKey: 'PaymentApprovalProcess',
      variables: { paymentId: `${prefix}-${String(i).padStart(2, '0')}`, amount: 1 },
    });
  }
  await openUi(`#/callbacks?key=${encodeURIComponent(prefix.toLowerCase())}`);
  await expect(page.getByTestId('cb-summary')).toHaveText('53 callbacks match');
  await expect(page.getByTestId('cb-row')).toHaveCount(50);
  await expect(page.getByTestId('cb-row').first()).toHaveAttribute('data-key', `${prefix}-52`);
  await expect(page.getByRole('navigation', { name: 'Pages of callbacks' })).toContainText('Page 1 of 2');
  await page.getByTestId('cb-next').click();
  await expect(page.getByTestId('cb-row')).toHaveCount(3);
  await expect(page.getByTestId('cb-row').last()).toHaveAttribute('data-key', `${prefix}-00`);
  await expect(page.getByRole('navigation', { name: 'Pages of callbacks' })).toContainText('Page 2 of 2');
  await expectAccessible(page, 'the second page of callbacks');
  await screenshot(page, 'callbacks-second-page');
  // A narrower key: one page again.
  await page.getByTestId('cb-key-filter').fill(`${prefix}-4`);
  await expect(page.getByTestId('cb-summary')).toHaveText('10 callbacks match');
  await expect(page.getByTestId('cb-row')).toHaveCount(10);
  await expect(page.getByRole('navigation', { name: 'Pages of callbacks' })).toBeHidden();
});
