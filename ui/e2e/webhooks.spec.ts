/**
 * #/webhooks against a real `baton serve`: a webhook made in the UI is called with a
 * Paystack-signed request (Node's HMAC, as a gateway signs), found in the request inspector and
 * replayed; the mapping's live JMESPath preview; bad input (an expression that does not
 * compile, invalid JSON, an empty secret, a runtime refusal) marked beside its field with
 * nothing sent; activate, deactivate, delete; the inspector pages; incoming webhook
 * applications show their token URL once and get a new one in place (the same id).
 */
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, expectAccessible, screenshot, startServer, type Server } from './harness';
import { deployTemplate, must, unique } from './runner-data';

test.describe.configure({ mode: 'serial' });

const SECRET = 'sk_test_' + 'e2e-webhooks-secret';

const configRow = (page: Page, name: string) => page.locator(`[data-testid="wh-row"][data-name="${name}"]`);

async function configCount(server: Server): Promise<number> {
  return (await must(server, 'GetWebHookConfigListQuery', { pageSize: 1 })).totalCount as number;
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

test('a webhook made in the UI takes a signed request, which the inspector shows and replays', async ({ page, openUi, server, consoleErrors }) => {
  await deployTemplate(server, 'payment-approval', 'PaymentApprovalProcess');
  const reference = unique('PAY');
  const started = await must(server, 'StartProcessInstanceCommand', { processKey: 'PaymentApprovalProcess', variables: { paymentId: reference, amount: 500 } });
  const guid = started.instanceGuid as string;
  const name = unique('Paystack payments');
  const path = `/webhook/paystack/${unique('ui')}`;

  await openUi('#/webhooks');
  await expect(page.getByTestId('webhooks-view')).toBeVisible();
  await expect(page.getByRole('tab', { name: 'Configurations' })).toHaveAttribute('aria-selected', 'true');
  await page.getByTestId('wh-new').click();
  await page.getByTestId('whe-name').fill(name);
  await page.getByTestId('whe-path').fill(path);
  await screenshot(page, 'webhooks-editor-top');
  await expect(page.getByTestId('whe-type')).toHaveValue('0');
  await expect(page.getByTestId('whe-command')).toHaveValue('ReturnCallbackCommand');
  // The preview evaluates the mapping on the sample payload, and follows it as it is edited.
  await expect(page.getByTestId('whe-map-result').first()).toHaveText('"REF-1001"');
  const sample = JSON.stringify({ event: 'charge.success', data: { id: 77, reference, amount: 50000, status: 'success' } }, null, 2);
  await page.getByTestId('whe-sample').fill(sample);
  await expect(page.getByTestId('whe-map-result').first()).toHaveText(JSON.stringify(reference));
  await expect(page.getByTestId('whe-preview')).toContainText(`"correlationKey": "${reference}"`);
  await expect(page.getByTestId('whe-preview')).toContainText('"amount": 50000');
  await page.getByTestId('whe-scheme').selectOption('paystack');
  await page.getByTestId('whe-secret').fill(SECRET);
  await expectAccessible(page, 'the webhook editor');
  await screenshot(page, 'webhooks-editor');
  await page.getByTestId('whe-save').click();

  // Saved: the full address to copy, and the list shows it, verified.
  const saved = page.getByTestId('wh-saved');
  await expect(saved).toBeVisible();
  await expect(page.getByTestId('wh-saved-url')).toHaveText(`${server.url}${path}`);
  await expect(page.getByTestId('wh-saved-warning')).toHaveCount(0);
  await expect(configRow(page, name)).toBeVisible();
  await expect(configRow(page, name).getByTestId('wh-unverified')).toHaveCount(0);
  await expect(configRow(page, name).getByTestId('wh-row-url')).toHaveText(`${server.url}${path}`);

  // A gateway calls it, signed as Paystack signs (HMAC-SHA512 of the body).
  const body = JSON.stringify({ event: 'charge.success', data: { id: 91, reference, amount: 50000, status: 'success' } });
  const signature = createHmac('sha512', SECRET).update(body).digest('hex');
  const answered = await post(`${server.url}${path}`, body, { 'x-paystack-signature': signature });
  expect(answered.status, await answered.clone().text()).toBe(200);
  const inst = await must(server, 'GetProcessInstanceByIdQuery', { instanceGuid: guid });
  expect((inst.waiting as { taskId: string }[]).map((w) => w.taskId)).not.toContain('Task_WaitForPayment');
  // The gateway delivers the same event again: answered as a duplicate, run once.
  const again = await post(`${server.url}${path}`, body, { 'x-paystack-signature': signature });
  expect(again.status).toBe(200);
  expect((await again.json()).duplicate).toBe(true);
  // A wrong signature is refused and logged too.
  expect((await post(`${server.url}${path}`, body, { 'x-paystack-signature': '00' })).status).toBe(401);

  await configRow(page, name).getByTestId('wh-requests').click();
  await expect(page.getByRole('tab', { name: 'Requests' })).toHaveAttribute('aria-selected', 'true');
  await expect(page).toHaveURL(/#\/webhooks\?tab=requests&config=\d+/);
  const rows = page.getByTestId('whr-row');
  await expect(rows).toHaveCount(3);
  await expect(rows.nth(0)).toHaveAttribute('data-verdict', 'badSignature');
  await expect(rows.nth(0).getByTestId('whr-replay')).toBeDisabled();
  const accepted = rows.nth(2);
  await expect(accepted).toHaveAttribute('data-verdict', 'accepted');
  await expect(accepted).toContainText(name);
  const id = await accepted.getAttribute('data-id');
  const duplicate = rows.nth(1);
  await expect(duplicate).toHaveAttribute('data-verdict', 'duplicate');
  await expect(duplicate.getByTestId('whr-duplicate-of')).toHaveText(`of request ${id}`);
  await expect(duplicate.getByTestId('whr-replay')).toBeDisabled();
  await expect(duplicate.getByTestId('whr-replay')).toHaveAttribute('title', `A duplicate ran nothing: replay request ${id}`);
  await accepted.getByTestId('whr-toggle').click();
  const detail = page.locator(`#whr-detail-${id}`);
  await expect(detail.getByTestId('whr-body')).toContainText(reference);
  await expect(detail.getByTestId('whr-headers')).toContainText('x-paystack-signature');
  await expect(detail.getByTestId('whr-outcome')).not.toHaveText('—');
  await expectAccessible(page, 'the request inspector');
  await screenshot(page, 'webhooks-inspector');

  await accepted.getByTestId('whr-replay').click();
  const replayed = page.locator(`#whr-detail-${id}`).getByTestId('whr-replayed');
  await expect(replayed).toBeVisible();
  // The replay is a new request in the log (trigger replay), with what its command answered.
  await expect(rows).toHaveCount(4);
  const replayRow = rows.nth(0);
  await expect(replayRow).toContainText(`replay of ${id}`);
  const newId = await replayRow.getAttribute('data-id');
  await expect(replayed).toContainText(`Replayed as request ${newId} (200)`);
  await screenshot(page, 'webhooks-replayed');

  // Filtered by verdict (asked of the server, kept in the address): the duplicate alone.
  await page.getByLabel('Verdict').selectOption('duplicate');
  await expect(page).toHaveURL(/verdict=duplicate/);
  await expect(rows).toHaveCount(1);
  await expect(rows.nth(0)).toHaveAttribute('data-verdict', 'duplicate');
  await page.getByLabel('Verdict').selectOption('');
  await expect(rows).toHaveCount(4);

  // Edited: the mapping comes back as lines, the stored secret is kept when none is typed,
  // and a path another configuration uses is refused by the runtime beside the path.
  const other = await must(server, 'CreateWebHookConfigCommand', { name: unique('other'), url: `/webhook/${unique('taken')}`, executionType: 2, executionCode: '1' });
  await page.getByRole('tab', { name: 'Configurations' }).click();
  await configRow(page, name).getByTestId('wh-edit').click();
  await expect(page.getByTestId('whe-map-field')).toHaveCount(2);
  await expect(page.getByTestId('whe-map-expr').first()).toHaveValue('body.data.reference');
  await expect(page.getByTestId('whe-secret')).toHaveValue('');
  await page.getByTestId('whe-path').fill(other.url);
  await page.getByTestId('whe-save').click();
  await expect(page.getByTestId('whe-error-path')).toContainText(`another webhook configuration already uses url '${other.url}'`);
  await expect(page.getByTestId('whe-path')).toBeFocused();
  await page.getByTestId('whe-path').fill(path);
  await page.getByTestId('whe-name').fill(`${name} (edited)`);
  await page.getByTestId('whe-save').click();
  await expect(page.getByTestId('wh-saved')).toContainText('Webhook configuration updated');
  await expect(configRow(page, `${name} (edited)`).getByTestId('wh-unverified')).toHaveCount(0);
  const kept = await must(server, 'GetWebHookConfigListQuery', { pageSize: 100 });
  const mine = (kept.items as { name: string; verification: { scheme: string; secretSet: boolean } }[]).find((c) => c.name === `${name} (edited)`);
  expect(mine?.verification).toEqual({ scheme: 'paystack', secretSet: true });

  // Send test, signed in the browser: an empty secret is refused beside it with nothing sent,
  // a wrong one is refused by the server (401) and marks the secret.
  const edited = configRow(page, `${name} (edited)`);
  const logged = (await must(server, 'GetWebhookRequestListQuery', { pageSize: 1 })).totalCount as number;
  await edited.getByTestId('wh-test').click();
  const panel = page.getByTestId('wht-panel');
  await expect(page.getByTestId('wht-payload')).toBeFocused();
  await page.getByTestId('wht-send').click();
  await expect(page.getByTestId('wht-secret-error')).toContainText("Enter the configuration's secret");
  expect((await must(server, 'GetWebhookRequestListQuery', { pageSize: 1 })).totalCount).toBe(logged);
  await page.getByTestId('wht-secret').fill('not-the-secret');
  await page.getByTestId('wht-send').click();
  await expect(page.getByTestId('wht-result-title')).toContainText('HTTP 401');
  await expect(page.getByTestId('wht-secret')).toHaveAttribute('aria-invalid', 'true');
  // The browser logs the refused request it was asked to make; that one line is expected.
  const refused = consoleErrors.findIndex((e) => /status of 401 \(Unauthorized\)/.test(e));
  expect(refused, 'the browser reports the 401 it was sent').toBeGreaterThanOrEqual(0);
  consoleErrors.splice(refused, 1);
  await expectAccessible(page, 'the test request panel');
  await screenshot(page, 'webhooks-send-test');
  await page.getByTestId('wht-close').click();
  await expect(panel).toHaveCount(0);
  await expect(edited.getByTestId('wh-test')).toBeFocused();
});

test('the mapping editor marks an expression that does not compile and invalid JSON, and sends nothing', async ({ page, openUi, server }) => {
  const before = await configCount(server);
  await openUi('#/webhooks');
  await page.getByTestId('wh-new').click();
  await page.getByTestId('whe-name').fill(unique('bad mapping'));
  const expr = page.getByTestId('whe-map-expr').first();
  await expr.fill('body.data.[[');
  const exprError = page.getByTestId('whe-error-mapping.0.expr');
  await expect(exprError).toBeVisible();
  await expect(exprError).toContainText('Not a JMESPath expression');
  await expect(expr).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByTestId('whe-preview')).toContainText('Fix the marked expressions');
  await page.getByTestId('whe-sample').fill('{"data": {"reference": "R1",}}');
  await expect(page.getByTestId('whe-error-sample')).toContainText('a trailing comma');
  await page.getByTestId('whe-secret').fill(SECRET);
  await page.getByTestId('whe-save').click();
  await expect(expr).toBeFocused();
  await expect(exprError).toBeVisible();
  await screenshot(page, 'webhooks-bad-mapping');
  // Fixed, the preview comes back; nothing typed was lost while it was wrong.
  await page.getByTestId('whe-sample').fill('{"data": {"reference": "R1"}}');
  await expr.fill('body.data.reference');
  await expect(exprError).toBeHidden();
  await expect(page.getByTestId('whe-map-result').first()).toHaveText('"R1"');
  await expect(page.getByTestId('whe-secret')).toHaveValue(SECRET);
  // Leaving with changes asks first; Escape keeps them.
  await page.getByTestId('whe-cancel').click();
  await expect(page.getByTestId('whe-discard')).toBeVisible();
  await expect(page.getByTestId('whe-discard-no')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('whe-discard')).toHaveCount(0);
  await expect(expr).toHaveValue('body.data.reference');
  await page.getByTestId('whe-cancel').click();
  await page.getByTestId('whe-discard-yes').click();
  await expect(page.getByTestId('wh-editor')).toHaveCount(0);
  expect(await configCount(server)).toBe(before);
});

test('an empty secret is refused beside the field, and the runtime\'s own refusals are placed beside theirs', async ({ page, openUi, server }) => {
  const before = await configCount(server);
  await openUi('#/webhooks');
  await page.getByTestId('wh-new').click();
  await page.getByTestId('whe-name').fill(unique('needs a secret'));
  await page.getByTestId('whe-scheme').selectOption('stripe');
  await page.getByTestId('whe-save').click();
  const secretError = page.getByTestId('whe-error-secret');
  await expect(secretError).toContainText('the stripe scheme signs with it');
  await expect(page.getByTestId('whe-secret')).toBeFocused();
  await expect(page.getByTestId('whe-secret')).toHaveAttribute('aria-invalid', 'true');
  expect(await configCount(server)).toBe(before);
  await expectAccessible(page, 'the editor with a refused secret');
  await screenshot(page, 'webhooks-empty-secret');

  // The runtime refuses a header name it cannot use: its words, beside the header field.
  await page.getByTestId('whe-scheme').selectOption('hmacSha256');
  await page.getByTestId('whe-secret').fill('s3cret');
  await page.getByTestId('whe-header').fill('x bad header');
  await page.getByTestId('whe-save').click();
  await expect(page.getByTestId('whe-error-header')).toContainText("verification.header 'x bad header' is not a valid header name");
  await expect(page.getByTestId('whe-header')).toBeFocused();
  expect(await configCount(server)).toBe(before);

  // And an address that is not one, caught before it is sent.
  await page.getByTestId('whe-header').fill('');
  await page.getByTestId('whe-ips').fill('52.31.139.75\n300.1.2.3');
  await page.getByTestId('whe-save').click();
  await expect(page.getByTestId('whe-error-allowedIPs')).toContainText('"300.1.2.3" is not an IP address');
  expect(await configCount(server)).toBe(before);
});

test('every execution type: a chain refused as invalid JSON, code the runtime cannot compile, a process started from an unverified webhook', async ({ page, openUi, server }) => {
  await deployTemplate(server, 'payment-approval', 'PaymentApprovalProcess');
  const before = await configCount(server);
  const name = unique('Start payments');
  const path = `/webhook/start/${unique('p')}`;
  await openUi('#/webhooks');
  await page.getByTestId('wh-new').click();
  await page.getByTestId('whe-name').fill(name);
  await page.getByTestId('whe-path').fill(path);
  await page.getByTestId('whe-scheme').selectOption('none');
  await expect(page.getByTestId('whe-unverified-note')).toBeVisible();

  // 1: a chain that is not JSON is marked with its line and column; nothing is sent.
  await page.getByTestId('whe-type').selectOption('1');
  await page.getByTestId('whe-chain').fill('[{"commandName": "GetProcessInstanceListQuery", "commandData": {pageSize: 1}}]');
  await page.getByTestId('whe-save').click();
  await expect(page.getByTestId('whe-error-commandChain')).toContainText('The command chain is not valid JSON: an unquoted property name "pageSize"');
  await expect(page.getByTestId('whe-chain')).toBeFocused();
  expect(await configCount(server)).toBe(before);

  // 2: code the runtime cannot compile: its own words, beside the code editor.
  await page.getByTestId('whe-type').selectOption('2');
  await page.locator('[data-testid="whe-code"] .cm-content').click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type('let x = ;');
  await page.getByTestId('whe-save').click();
  await expect(page.getByTestId('whe-error-executionCode')).toBeVisible();
  await expect(page.getByTestId('whe-error-executionCode')).toContainText('line 1');
  await expect(page.locator('[data-testid="whe-code"] .cm-content')).toHaveAttribute('aria-invalid', 'true');
  expect(await configCount(server)).toBe(before);
  await expectAccessible(page, 'the code editor with the runtime\'s refusal');
  await screenshot(page, 'webhooks-code-refused');

  // 3: start a process; the chain and code typed above are still there for their types.
  await page.getByTestId('whe-type').selectOption('3');
  await page.getByTestId('whe-process').fill('PaymentApprovalProcess');
  await page.getByTestId('whe-variables').fill('{"channel": "web"');
  await page.getByTestId('whe-save').click();
  await expect(page.getByTestId('whe-error-variables')).toContainText('The variables are not valid JSON');
  await page.getByTestId('whe-variables').fill('{"channel": "web"}');
  await page.getByTestId('whe-ips').fill('127.0.0.1');
  await page.getByTestId('whe-save').click();
  await expect(page.getByTestId('wh-saved-warning')).toContainText('only requests from allowedIPs reach it');
  const row = configRow(page, name);
  await expect(row.getByTestId('wh-unverified')).toBeVisible();
  await expect(row).toContainText('Start a process');
  await expect(row).toContainText('1 allowed address');

  const started = await post(`${server.url}${path}`, JSON.stringify({ paymentId: unique('P'), amount: 10 }));
  expect(started.status).toBe(200);
  const guid = (await started.json()).data.instanceGuid as string;
  const inst = await must(server, 'GetProcessInstanceByIdQuery', { instanceGuid: guid });
  expect(inst.variables.channel).toBe('web');
});

test('configurations: unverified badge, copy the URL, deactivate, activate, delete after confirming', async ({ page, openUi, server, context }) => {
  const name = unique('Seed 000 style');
  const created = await must(server, 'CreateWebHookConfigCommand', { name, executionType: 2, executionCode: 'request.body' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  await openUi('#/webhooks');
  const row = configRow(page, name);
  await expect(row.getByTestId('wh-unverified')).toBeVisible();
  await expect(row.getByTestId('wh-row-url')).toHaveText(`${server.url}${created.url}`);
  await row.getByTestId('wh-row-copy').click();
  await expect(row.getByTestId('wh-row-copy-status')).toHaveText('Copied.');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${server.url}${created.url}`);
  await expectAccessible(page, 'the configuration list');
  await screenshot(page, 'webhooks-list');

  // Send test: no signature to make; the code's outcome comes back.
  await row.getByTestId('wh-test').click();
  await page.getByTestId('wht-payload').fill('{"hello": "world",}');
  await page.getByTestId('wht-send').click();
  await expect(page.getByTestId('wht-payload-error')).toContainText('a trailing comma');
  await page.getByTestId('wht-payload').fill('{"hello": "world"}');
  await page.getByTestId('wht-send').click();
  await expect(page.getByTestId('wht-result-title')).toContainText('HTTP 200: accepted.');
  await expect(page.getByTestId('wht-result')).toContainText('"hello": "world"');
  await page.getByTestId('wht-see').click();
  await expect(page.getByRole('tab', { name: 'Requests' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('whr-row')).toHaveCount(1);
  await expect(page.getByTestId('whr-row').first()).toHaveAttribute('data-verdict', 'accepted');
  await page.getByRole('tab', { name: 'Configurations' }).click();

  // Its code is in the code editor when it is opened.
  await row.getByTestId('wh-edit').click();
  await expect(page.getByTestId('whe-type')).toHaveValue('2');
  await expect(page.getByTestId('whe-code')).toContainText('request.body');
  await expect(page.getByTestId('whe-unverified-note')).toBeVisible();
  await page.getByTestId('whe-cancel').click();

  await row.getByTestId('wh-toggle').click();
  await expect(row.getByTestId('wh-state')).toHaveText('Inactive');
  expect((await post(`${server.url}${created.url}`, '{}')).status).toBe(404);
  await row.getByTestId('wh-toggle').click();
  await expect(row.getByTestId('wh-state')).toHaveText('Active');
  expect((await post(`${server.url}${created.url}`, '{}')).status).toBe(200);

  await row.getByTestId('wh-delete').click();
  await expect(page.getByTestId('wh-delete-confirm')).toBeVisible();
  await page.getByTestId('wh-delete-confirm-no').click();
  await expect(row).toBeVisible();
  await row.getByTestId('wh-delete').click();
  await page.getByTestId('wh-delete-confirm-yes').click();
  await expect(row).toHaveCount(0);
  expect((await post(`${server.url}${created.url}`, '{}')).status).toBe(404);
});

test('the inspector pages through the log one page at a time', async ({ page, openUi, server }) => {
  const missing = `/webhook/nowhere/${unique('x')}`;
  for (let i = 0; i < 45; i++) await post(`${server.url}${missing}`, `{"n": ${i}}`);
  const total = (await must(server, 'GetWebhookRequestListQuery', { pageSize: 1 })).totalCount as number;
  const asked: number[] = [];
  page.on('request', (r) => {
    if (!r.url().endsWith('/api/v1/execute')) return;
    const sent = r.postDataJSON() as { cmd: string; data: { pageSize?: number } };
    if (sent.cmd === 'GetWebhookRequestListQuery') asked.push(sent.data.pageSize ?? -1);
  });
  await openUi('#/webhooks');
  // The tabs answer the arrow keys.
  await page.getByRole('tab', { name: 'Configurations' }).focus();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByRole('tab', { name: 'Requests' })).toBeFocused();
  await expect(page.getByRole('tab', { name: 'Requests' })).toHaveAttribute('aria-selected', 'true');
  await expect(page).toHaveURL(/#\/webhooks\?tab=requests$/);
  await expect(page.getByTestId('whr-row')).toHaveCount(20);
  await expect(page.getByTestId('whr-summary')).toHaveText(`Showing 1–20 of ${total}`);
  await expect(page.getByTestId('whr-row').first()).toHaveAttribute('data-verdict', 'notFound');
  await page.getByTestId('whr-next').click();
  await expect(page.getByTestId('whr-page')).toHaveText(`Page 2 of ${Math.ceil(total / 20)}`);
  await expect(page).toHaveURL(/page=2/);
  await page.getByTestId('whr-last').click();
  await expect(page.getByTestId('whr-row')).toHaveCount(total % 20 || 20);
  expect(asked.every((n) => n === 20)).toBe(true);
  await page.getByTestId('whr-first').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('whr-page')).toHaveText(`Page 1 of ${Math.ceil(total / 20)}`);
  await expectAccessible(page, 'the paged inspector');
  await page.getByTestId('whr-row').first().getByTestId('whr-toggle').click();
  await page.getByTestId('theme-toggle').click();
  await expectAccessible(page, 'the inspector in the dark theme');
  await screenshot(page, 'webhooks-inspector-dark');
  await page.getByTestId('theme-toggle').click();

  // Requests the rate limit refused are not in the log: the inspector says how many there were.
  await expect(page.getByTestId('whr-rate-limited')).toBeHidden();
  await must(server, 'SetSecuritySettingsCommand', { rateLimitPerMinute: 1, rateLimitBurst: 1 });
  try {
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) codes.push((await post(`${server.url}${missing}`, '{}')).status);
    expect(codes).toContain(429);
  } finally {
    await must(server, 'SetSecuritySettingsCommand', { rateLimitPerMinute: 600, rateLimitBurst: 100 });
  }
  await page.getByTestId('whr-refresh').click();
  await expect(page.getByTestId('whr-rate-limited')).toContainText('refused by the rate limit since Baton started');
});

test('requests appear in the inspector as they arrive, without moving a later page or the keyboard', async ({ page, openUi, server }) => {
  const path = `/webhook/live/${unique('x')}`;
  for (let i = 0; i < 25; i++) await post(`${server.url}${path}`, `{"n": ${i}}`);
  await openUi('#/webhooks?tab=requests');
  await expect(page.getByTestId('whr-row')).toHaveCount(20);
  const firstId = Number(await page.getByTestId('whr-row').first().getAttribute('data-id'));
  // Open the newest row and leave the keyboard on its button.
  const toggle = page.locator(`[data-testid="whr-row"][data-id="${firstId}"] [data-testid="whr-toggle"]`);
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  await expect(toggle).toBeFocused();

  // A request sent now is on top without a click on Refresh; the open row stays open and focused.
  const arriving = `${path}/now`;
  expect((await post(`${server.url}${arriving}`, '{"n": "live"}')).status).toBe(404);
  await expect(page.getByTestId('whr-row').first().locator('.wh-path')).toHaveText(arriving);
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  await expect(toggle).toBeFocused();
  await expect(page.getByTestId('whr-newer')).toBeHidden();

  // On a later page the rows stay put; a button counts what arrived and leads to the newest.
  await page.getByTestId('whr-next').click();
  await expect(page.getByTestId('whr-page')).toHaveText(/^Page 2 of/);
  const shown = await page.getByTestId('whr-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
  for (const n of [1, 2]) expect((await post(`${server.url}${path}/later-${n}`, '{}')).status).toBe(404);
  await expect(page.getByTestId('whr-newer')).toHaveText('2 new requests: show the newest');
  expect(await page.getByTestId('whr-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')))).toEqual(shown);
  await expectAccessible(page, 'the inspector with new requests waiting');
  await screenshot(page, 'webhooks-inspector-new-requests');
  await page.getByTestId('whr-newer').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('whr-page')).toHaveText(/^Page 1 of/);
  await expect(page.getByTestId('whr-row').first().locator('.wh-path')).toHaveText(`${path}/later-2`);
  await expect(page.getByTestId('whr-newer')).toBeHidden();
  await expect(page.getByTestId('whr-refresh')).toBeFocused();
});

test('a list filtered to one configuration counts only the requests that reached it', async ({ page, openUi, server }) => {
  const hook = await must(server, 'CreateWebHookConfigCommand', { name: unique('filtered'), url: `/webhook/${unique('filtered')}`, executionType: 2, executionCode: '1' });
  for (let i = 0; i < 21; i++) expect((await post(`${server.url}${hook.url}`, `{"n": ${i}}`)).status).toBe(200);
  await openUi(`#/webhooks?tab=requests&config=${hook.id}&page=2`);
  await expect(page.getByTestId('whr-page')).toHaveText(/^Page 2 of 2/);
  await expect(page.getByTestId('whr-row')).toHaveCount(1);

  // A request elsewhere is not this list's; the next one to this configuration is counted alone.
  expect((await post(`${server.url}/webhook/${unique('elsewhere')}`, '{}')).status).toBe(404);
  expect((await post(`${server.url}${hook.url}`, '{"n": "late"}')).status).toBe(200);
  await expect(page.getByTestId('whr-newer')).toHaveText('1 new request: show the newest');
  await page.getByTestId('whr-newer').scrollIntoViewIfNeeded();
  await expectAccessible(page, 'the filtered inspector with a new request waiting');
  await screenshot(page, 'webhooks-inspector-filtered-new-request');
  await page.getByTestId('whr-newer').click();
  await expect(page.getByTestId('whr-page')).toHaveText(/^Page 1 of 2/);
  await expect(page.getByTestId('whr-row')).toHaveCount(20);
});

test('a list filtered to one verdict counts only the requests recorded with it', async ({ page, openUi, server }) => {
  const hook = await must(server, 'CreateWebHookConfigCommand', {
    name: unique('verdicts'),
    url: `/webhook/${unique('verdicts')}`,
    executionType: 2,
    executionCode: '1',
    verification: { scheme: 'paystack', secret: SECRET },
  });
  const signed = async (body: string) => post(`${server.url}${hook.url}`, body, { 'x-paystack-signature': createHmac('sha512', SECRET).update(body).digest('hex') });
  // 21 refused for a missing signature: two pages of the refused ones.
  for (let i = 0; i < 21; i++) expect((await post(`${server.url}${hook.url}`, `{"n": ${i}}`)).status).toBe(401);
  await openUi(`#/webhooks?tab=requests&config=${hook.id}&verdict=badSignature&page=2`);
  await expect(page.getByTestId('whr-page')).toHaveText(/^Page 2 of 2/);
  await expect(page.getByTestId('whr-row')).toHaveCount(1);
  await expect(page.getByLabel('Verdict')).toHaveValue('badSignature');

  // A signed request to the same configuration is accepted: not this list's. The next refused one is.
  expect((await signed('{"n": "signed"}')).status).toBe(200);
  expect((await post(`${server.url}${hook.url}`, '{"n": "late"}')).status).toBe(401);
  await expect(page.getByTestId('whr-newer')).toHaveText('1 new request: show the newest');
  await page.getByTestId('whr-newer').scrollIntoViewIfNeeded();
  await expectAccessible(page, 'the inspector filtered to one verdict with a new request waiting');
  await screenshot(page, 'webhooks-inspector-verdict-new-request');
  await page.getByTestId('whr-newer').click();
  await expect(page.getByTestId('whr-page')).toHaveText(/^Page 1 of 2/);
  await expect(page.getByTestId('whr-row')).toHaveCount(20);
  await expect(page.locator('[data-testid="whr-row"][data-verdict="badSignature"]')).toHaveCount(20);
  await expect(page.getByTestId('whr-summary')).toHaveText('Showing 1–20 of 22');
});

test('the inspector pages through 100,000 requests, asking the server for one page at a time', async ({ page }) => {
  const big = await startServer();
  try {
    // Written straight into the server's SQLite file, as refused requests are logged (no body):
    // every tenth a bad signature, the others not found.
    const sql = `.timeout 20000
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO webhook_requests (id, received_at, method, path, remote_addr, verdict, status_code, error, size)
SELECT i, '2026-11-30T00:00:00.000000Z', 'POST', printf('/webhook/bulk/%06d', i), '127.0.0.1',
       CASE i % 10 WHEN 0 THEN 'badSignature' ELSE 'notFound' END, CASE i % 10 WHEN 0 THEN 401 ELSE 404 END,
       'bulk', 2
FROM n;`;
    execFileSync('sqlite3', [join(big.dir, 'baton.db')], { input: sql });
    const asked: number[] = [];
    page.on('request', (r) => {
      if (!r.url().endsWith('/api/v1/execute')) return;
      const sent = r.postDataJSON() as { cmd: string; data: { pageSize?: number } };
      if (sent.cmd === 'GetWebhookRequestListQuery') asked.push(sent.data.pageSize ?? -1);
    });
    await page.goto(`${big.url}/?token=${encodeURIComponent(big.token)}#/webhooks?tab=requests&size=100`);
    await expect(page.getByTestId('whr-summary')).toHaveText('Showing 1–100 of 100,000');
    await expect(page.getByTestId('whr-row')).toHaveCount(100);
    await expect(page.getByTestId('whr-row').first()).toHaveAttribute('data-id', '100000');
    await page.getByTestId('whr-last').click();
    await expect(page.getByTestId('whr-page')).toHaveText('Page 1,000 of 1,000');
    await expect(page.getByTestId('whr-row').last()).toHaveAttribute('data-id', '1');
    // The verdict filter is the server's: a tenth of them.
    await page.getByLabel('Verdict').selectOption('badSignature');
    await expect(page.getByTestId('whr-summary')).toHaveText('Showing 1–100 of 10,000');
    await expect(page.getByTestId('whr-row').first()).toHaveAttribute('data-verdict', 'badSignature');
    await expectAccessible(page, 'a page of 100,000 requests');
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((n) => n <= 100)).toBe(true);
  } finally {
    await big.stop();
  }
});

test('incoming webhook applications: the token URL is shown once, copied, and replaced by a new one', async ({ page, openUi, server, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  const name = unique('CRM');
  await openUi('#/webhooks?tab=apps');
  await expect(page.getByRole('tab', { name: 'Applications' })).toHaveAttribute('aria-selected', 'true');
  await page.getByTestId('wha-create').click();
  await expect(page.getByTestId('wha-name-error')).toHaveText('Give the application a name.');
  await page.getByTestId('wha-name').fill(name);
  await page.getByTestId('wha-user').fill('nobody-by-this-name');
  await page.getByTestId('wha-create').click();
  await expect(page.getByTestId('wha-user-error')).toContainText("no user named 'nobody-by-this-name'");
  await expect(page.getByTestId('wha-name')).toHaveValue(name);
  await page.getByTestId('wha-user').fill('');
  await page.getByTestId('wha-description').fill('Requests from the CRM');
  await page.getByTestId('wha-create').click();
  const url = page.getByTestId('wha-token-url');
  await expect(url).toHaveText(new RegExp(`^${server.url}/hooks/wh_[0-9a-f]+$`));
  const first = (await url.textContent())!;
  await page.getByTestId('wha-token-copy').click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(first);
  const row = page.locator(`[data-testid="wha-row"][data-name="${name}"]`);
  await expect(row).toContainText('Requests from the CRM');
  await expect(row).not.toContainText('wh_');
  await expectAccessible(page, 'the applications');
  await screenshot(page, 'webhooks-apps');
  await page.getByTestId('wha-reveal-done').click();
  await expect(url).toHaveCount(0);

  const id = await row.getAttribute('data-id');
  expect(id).toMatch(/^\d+$/);
  await row.getByTestId('wha-regenerate').click();
  await page.getByTestId('wha-regenerate-confirm-yes').click();
  await expect(url).toHaveText(/\/hooks\/wh_/);
  const second = (await url.textContent())!;
  expect(second).not.toBe(first);
  // The same application, changed in place: one row, the same id, its description kept.
  await expect(page.locator(`[data-testid="wha-row"][data-name="${name}"]`)).toHaveCount(1);
  await expect(row).toHaveAttribute('data-id', id!);
  await expect(row).toContainText('Requests from the CRM');
  // The old URL no longer answers; the new one does.
  expect((await post(first, '{"operation": "nothing"}')).status).toBe(404);
  expect((await post(second, '{"operation": "nothing"}')).status).not.toBe(404);
});
