import type { Page } from '@playwright/test';
import { test, expect, expectAccessible, screenshot, startServer } from './harness';
import { actAsSupported, deployTemplate, deployXml, FLAKY_BPMN, must, RETRYING_BPMN, unique } from './runner-data';
import { inARow } from './models';

/** The element's `.djs-element` group on the instance canvas. */
const shape = (page: Page, id: string) => page.locator(`[data-testid="instance-canvas"] .djs-element[data-element-id="${id}"]`);

/** Marks the page so a test can prove it was never reloaded. */
async function markPage(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { __notReloaded: boolean }).__notReloaded = true));
}
async function expectNotReloaded(page: Page): Promise<void> {
  expect(await page.evaluate(() => (window as unknown as { __notReloaded?: boolean }).__notReloaded)).toBe(true);
}

test.describe.configure({ mode: 'serial' });

test('the instance list starts empty, shows an instance started elsewhere live, and filters by status', async ({ page, openUi, server }) => {
  await openUi('#/instances');
  await expect(page.getByTestId('instances-empty')).toContainText('No instances yet: deploy and start one from the designer');
  await expectAccessible(page, 'the empty instance list');
  await markPage(page);

  await deployTemplate(server, 'payment-approval', 'PaymentApprovalProcess');
  const started = await must(server, 'StartProcessInstanceCommand', {
    processKey: 'PaymentApprovalProcess',
    variables: { paymentId: unique('PAY'), amount: 120 },
  });
  const row = page.locator(`[data-testid="instance-row"][data-guid="${started.instanceGuid}"]`);
  await expect(row).toBeVisible();
  await expect(row).toContainText('PaymentApprovalProcess');
  await expect(row).toContainText('WAITING');
  await expectNotReloaded(page);

  // The process filter offers the deployed key.
  await expect(page.getByTestId('process-filter').locator('option', { hasText: 'PaymentApprovalProcess' })).toHaveCount(1);

  await page.getByTestId('status-filter').selectOption('COMPLETED');
  await expect(page.getByTestId('instance-row')).toHaveCount(0);
  await expect(page.getByTestId('instances-empty')).toContainText('No instances match these filters');
  await expect(page).toHaveURL(/#\/instances\?status=COMPLETED$/);

  await page.getByTestId('status-filter').selectOption('WAITING');
  await expect(row).toBeVisible();
  await page.getByTestId('process-filter').selectOption('PaymentApprovalProcess');
  await expect(row).toBeVisible();
  await expect(page).toHaveURL(/status=WAITING&process=PaymentApprovalProcess/);

  // The filters survive a reload (they are in the address).
  await page.reload();
  await expect(page.getByTestId('status-filter')).toHaveValue('WAITING');
  await expect(row).toBeVisible();
  await screenshot(page, 'runner-instances');
  await expectAccessible(page, 'the instance list');

  await page.getByTestId('status-filter').selectOption('');
  await page.getByTestId('process-filter').selectOption('');
});

test('the list pages through the store', async ({ page, openUi, server }) => {
  await deployTemplate(server, 'payment-approval', 'PaymentApprovalProcess');
  const before = (await must(server, 'GetProcessInstanceListQuery', { pageSize: 1 })).totalCount as number;
  const need = Math.max(0, 23 - before);
  await Promise.all(
    Array.from({ length: need }, () =>
      must(server, 'StartProcessInstanceCommand', { processKey: 'PaymentApprovalProcess', variables: { paymentId: unique('PAGE'), amount: 1 } }),
    ),
  );
  const total = before + need;
  await openUi('#/instances?size=10');
  await expect(page.getByTestId('instance-row')).toHaveCount(10);
  await expect(page.getByTestId('instance-summary')).toHaveText(`Showing 1–10 of ${total}`);
  await expect(page.getByTestId('page-previous')).toBeDisabled();
  await page.getByTestId('page-next').click();
  await expect(page.getByTestId('instance-summary')).toHaveText(`Showing 11–20 of ${total}`);
  await page.getByTestId('page-next').click();
  await expect(page.getByTestId('instance-summary')).toHaveText(`Showing 21–${total} of ${total}`);
  await expect(page.getByTestId('page-next')).toBeDisabled();
  await expect(page).toHaveURL(/page=3&size=10/);
});

test('an instance follows its callback live, and the inbox completes its form', async ({ page, openUi, server }) => {
  await deployTemplate(server, 'payment-approval', 'PaymentApprovalProcess');
  await server.execute('CreateUserCommand', { userName: 'mary', teams: ['MANAGERS'] });
  const paymentId = unique('PAY');
  const { instanceGuid } = await must(server, 'StartProcessInstanceCommand', {
    processKey: 'PaymentApprovalProcess',
    variables: { paymentId, amount: 50000 },
  });

  await openUi('#/instances');
  await page.locator(`[data-testid="instance-row"][data-guid="${instanceGuid}"] a`).click();
  await expect(page).toHaveURL(new RegExp(`#/instances/${instanceGuid}$`));
  await expect(page.getByTestId('instance-view')).toBeVisible();
  await expect(page.getByTestId('instance-status')).toHaveText('WAITING');
  await expect(shape(page, 'Task_WaitForPayment')).toHaveClass(/baton-active/);
  await expect(shape(page, 'Start')).toHaveClass(/baton-completed/);
  await expect(page.getByTestId('history')).toContainText('Wait for Payment Gateway (Task_WaitForPayment)');
  await expect(page.getByTestId('variables')).toContainText(paymentId);
  await screenshot(page, 'runner-instance-waiting');
  await expectAccessible(page, 'the instance view');
  await markPage(page);

  // Return the webhook callback from the UI; invalid JSON is refused first, in words.
  await page.getByTestId('return-callback').click();
  const payload = page.getByTestId('callback-payload');
  await expect(payload).toHaveValue('{"status": "success"}');
  await payload.fill('{"status": "success", "gatewayReference": }');
  await page.getByTestId('callback-submit').click();
  await expect(page.getByTestId('callback-error')).toHaveText('The result is not valid JSON: unexpected "}", expected a value at line 1, column 43.');
  await expect(payload).toHaveAttribute('aria-invalid', 'true');
  await payload.fill('{"status": "success", "gatewayReference": "PSK-778"}');
  await page.getByTestId('callback-submit').click();

  // The marker moves without a reload.
  await expect(shape(page, 'Task_ReviewPayment')).toHaveClass(/baton-active/);
  await expect(shape(page, 'Task_WaitForPayment')).toHaveClass(/baton-completed/);
  await expect(shape(page, 'Task_WaitForPayment')).not.toHaveClass(/baton-active/);
  await expect(page.getByTestId('return-callback')).toHaveCount(0);
  await expectNotReloaded(page);

  // The form task links to the inbox.
  await page.getByTestId('open-task').click();
  await expect(page.getByTestId('task-inbox')).toBeVisible();
  await page.getByTestId('acting-user').selectOption('mary');
  const item = page.locator(`[data-testid="task-item"][data-instance="${instanceGuid}"]`);
  await item.getByRole('button').click();
  const form = page.getByTestId('task-form');
  await expect(form.getByLabel('Gateway reference')).toHaveValue('PSK-778');
  await expectAccessible(page, 'the task inbox with a form');
  await screenshot(page, 'runner-task-form');

  // form-js validates first: the decision is required.
  await page.getByTestId('task-submit').click();
  await expect(form).toContainText(/required/i);
  await form.getByRole('radio', { name: 'Approve', exact: true }).check();
  await form.getByLabel('Comments').fill('matches invoice');
  await page.getByTestId('task-submit').click();
  await expect(page.getByTestId('task-done')).toContainText('COMPLETED');
  await expect(item).toHaveCount(0);

  await page.getByTestId('task-instance-link').click();
  await expect(page.getByTestId('instance-status')).toHaveText('COMPLETED');
  for (const id of ['Start', 'Task_WaitForPayment', 'Task_ReviewPayment', 'Gateway_Approved', 'Task_ProcessPayment', 'End', 'Flow_Approved']) {
    await expect(shape(page, id)).toHaveClass(/baton-completed/);
  }
  await expect(shape(page, 'End_Rejected')).not.toHaveClass(/baton-completed/);
  await expect(shape(page, 'Flow_Rejected')).not.toHaveClass(/baton-completed/);
  await expect(page.getByTestId('cancel-instance')).toBeHidden();
  await expect(page.getByTestId('variables')).toContainText('"paymentStatus": "POSTED"');
  // The submission ran as mary (the ServerScript's currentUser) where the server honours actAs.
  if (await actAsSupported(server)) await expect(page.getByTestId('variables')).toContainText('"reviewedBy": "mary"');
  await screenshot(page, 'runner-instance-completed');
});

test('a ServerScript rejection is shown beside the form and the typed values stay', async ({ page, openUi, server }) => {
  await deployTemplate(server, 'loan-approval', 'LoanApprovalProcess');
  await server.execute('CreateUserCommand', { userName: 'mary', teams: ['MANAGERS'] });
  const { instanceGuid } = await must(server, 'StartProcessInstanceCommand', {
    processKey: 'LoanApprovalProcess',
    variables: { applicant: 'Ada', requestedAmount: 250000 },
  });
  await openUi('#/tasks');
  await page.getByTestId('acting-user').selectOption('mary');
  const item = page.locator(`[data-testid="task-item"][data-instance="${instanceGuid}"]`);
  await item.getByRole('button').click();
  const form = page.getByTestId('task-form');
  await expect(form.getByLabel('Applicant')).toHaveValue('Ada');
  await form.getByRole('radio', { name: 'Approve', exact: true }).check();
  await form.getByLabel('Comments').fill('good history');
  await page.getByTestId('task-submit').click();
  await expect(page.getByTestId('task-error')).toContainText('Approved amount is required');
  await expect(form.getByLabel('Comments')).toHaveValue('good history');
  await expect(form.getByRole('radio', { name: 'Approve', exact: true })).toBeChecked();
  await screenshot(page, 'runner-task-rejected');
  await expectAccessible(page, 'a rejected form');

  await form.getByLabel('Approved amount').fill('200000');
  await page.getByTestId('task-submit').click();
  await expect(page.getByTestId('task-done')).toContainText('COMPLETED');
  await expect(page.getByTestId('task-error')).toBeHidden();
  const after = await must(server, 'GetProcessInstanceByIdQuery', { instanceGuid });
  expect(after.variables.lastUserTaskResult).toMatchObject({ approved: true, approvedAmount: 200000 });
});

test('an incident is retried with variables; invalid JSON is refused in words', async ({ page, openUi, server }) => {
  await deployXml(server, 'Flaky', FLAKY_BPMN);
  const { instanceGuid, status } = await must(server, 'StartProcessInstanceCommand', { processKey: 'Flaky', variables: { fail: true } });
  expect(status).toBe('FAILED');
  await openUi(`#/instances/${instanceGuid}`);
  await expect(page.getByTestId('instance-status')).toHaveText('FAILED');
  await expect(shape(page, 'Work')).toHaveClass(/baton-incident/);
  await expect(page.getByTestId('incidents')).toContainText('the ledger is closed');
  await screenshot(page, 'runner-instance-incident');
  await expectAccessible(page, 'an instance with an incident');

  const box = page.getByTestId('retry-variables');
  await box.fill('{"fail": fals}');
  await page.getByTestId('retry').click();
  await expect(page.getByTestId('retry-error')).toHaveText('The variables are not valid JSON: the word "fals" at line 1, column 10 (did you mean false?).');
  await box.fill('[1, 2]');
  await page.getByTestId('retry').click();
  await expect(page.getByTestId('retry-error')).toContainText('must be a JSON object');
  await box.fill('{"fail": false}');
  await page.getByTestId('retry').click();
  await expect(page.getByTestId('instance-status')).toHaveText('COMPLETED');
  await expect(shape(page, 'Work')).toHaveClass(/baton-completed/);
  await expect(shape(page, 'End')).toHaveClass(/baton-completed/);
  await expect(page.getByTestId('incidents')).toBeHidden();
  // Work was entered once; the retry resumed it rather than entering it again.
  await expect(page.locator('.baton-count[data-element="Work"]')).toHaveText(/^\d+$/);
});

test('a task with a retry cycle waits for its next attempt instead of failing', async ({ page, openUi, server }) => {
  await deployXml(server, 'Retrying', RETRYING_BPMN);
  const { instanceGuid, status } = await must(server, 'StartProcessInstanceCommand', { processKey: 'Retrying', variables: { fail: true } });
  expect(status).toBe('WAITING');
  await openUi(`#/instances/${instanceGuid}`);
  await expect(page.getByTestId('instance-status')).toHaveText('WAITING');
  await expect(page.getByTestId('incidents')).toBeHidden();
  await expect(page.getByTestId('waiting').locator('li[data-task="Work"]')).toContainText(/its last run failed; the next attempt is due \d{4}-\d\d-\d\d \d\d:\d\d/);
  await expect(page.getByTestId('history')).toContainText(/attempt 1 of 3 failed: .*the ledger is closed.*; next attempt \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
  await screenshot(page, 'runner-instance-retrying');
  await expectAccessible(page, 'an instance whose task waits for a retry');

  // Run it now instead of waiting: it fails again, as the second of three attempts.
  await page.getByTestId('retry-now').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('history')).toContainText(/attempt 2 of 3 failed: .*the ledger is closed/);
  await expect(page.getByTestId('instance-status')).toHaveText('WAITING');
  await expect(page.getByTestId('retry-now-error')).toBeHidden();
});

test('an instance is cancelled after a confirmation', async ({ page, openUi, server }) => {
  await deployTemplate(server, 'payment-approval', 'PaymentApprovalProcess');
  const { instanceGuid } = await must(server, 'StartProcessInstanceCommand', {
    processKey: 'PaymentApprovalProcess',
    variables: { paymentId: unique('CANCEL'), amount: 3 },
  });
  await openUi(`#/instances/${instanceGuid}`);
  await expect(shape(page, 'Task_WaitForPayment')).toHaveClass(/baton-active/);
  await page.getByTestId('cancel-instance').click();
  await page.getByTestId('cancel-keep').click();
  await expect(page.getByTestId('instance-status')).toHaveText('WAITING');
  await page.getByTestId('cancel-instance').click();
  await page.getByLabel('Reason').fill('customer withdrew');
  await page.getByTestId('cancel-confirm').click();
  await expect(page.getByTestId('instance-status')).toHaveText('CANCELLED');
  await expect(shape(page, 'Task_WaitForPayment')).not.toHaveClass(/baton-active/);
  await expect(page.getByTestId('cancel-instance')).toBeHidden();
  await expect(page.getByTestId('history')).toContainText('cancelled');

  // The list's status filter finds it.
  await openUi('#/instances?status=CANCELLED');
  await expect(page.locator(`[data-testid="instance-row"][data-guid="${instanceGuid}"]`)).toBeVisible();
  for (const s of await page.getByTestId('instance-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')))) {
    expect(s).toBe('CANCELLED');
  }
});

test('the instance view and the inbox in the dark theme', async ({ page, openUi, server }) => {
  await deployTemplate(server, 'payment-approval', 'PaymentApprovalProcess');
  const { instanceGuid } = await must(server, 'StartProcessInstanceCommand', {
    processKey: 'PaymentApprovalProcess',
    variables: { paymentId: unique('DARK'), amount: 9 },
  });
  await openUi(`#/instances/${instanceGuid}`);
  await expect(shape(page, 'Task_WaitForPayment')).toHaveClass(/baton-active/);
  await page.getByTestId('theme-toggle').click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  // The diagram is drawn again in the theme's colours, markers kept.
  await expect(shape(page, 'Task_WaitForPayment')).toHaveClass(/baton-active/);
  await expectAccessible(page, 'the dark instance view');
  await screenshot(page, 'runner-instance-dark');
  await deployTemplate(server, 'loan-approval', 'LoanApprovalProcess');
  const loan = await must(server, 'StartProcessInstanceCommand', {
    processKey: 'LoanApprovalProcess',
    variables: { applicant: 'Linus', requestedAmount: 4200 },
  });
  await openUi(`#/tasks?instance=${loan.instanceGuid}&task=Task_ManagerReview`);
  await page.getByTestId('acting-user').selectOption('admin');
  await page.locator(`[data-testid="task-item"][data-instance="${loan.instanceGuid}"]`).getByRole('button').click();
  await expect(page.getByTestId('task-form').getByLabel('Applicant')).toHaveValue('Linus');
  await expectAccessible(page, 'the dark task inbox');
  await screenshot(page, 'runner-tasks-dark');
  await page.getByTestId('theme-toggle').click();
});

test('an instance that does not exist is said so in words', async ({ page, openUi }) => {
  await openUi('#/instances/00000000-0000-0000-0000-000000000000');
  await expect(page.getByTestId('instance-error')).toContainText('This instance could not be loaded');
  await expect(page.getByTestId('instance-error')).toContainText('00000000-0000-0000-0000-000000000000');
  await expectAccessible(page, 'a missing instance');
});

test('a task with no form takes JSON', async ({ page, openUi, server }) => {
  await deployXml(
    server,
    'OneTaskNoForm',
    inARow({ id: 'NoForm', name: 'No form', middle: { type: 'userTask', id: 'Work', name: 'Check by hand' } }),
  );
  const { instanceGuid } = await must(server, 'StartProcessInstanceCommand', { processKey: 'NoForm' });
  await openUi(`#/tasks?instance=${instanceGuid}&task=Work`);
  await page.getByTestId('acting-user').selectOption('admin');
  await page.locator(`[data-testid="task-item"][data-instance="${instanceGuid}"]`).getByRole('button').click();
  const box = page.getByTestId('task-json');
  await expect(box).toBeVisible();
  await box.fill('{"checked": yes}');
  await page.getByTestId('task-submit').click();
  await expect(page.getByTestId('task-json-error')).toContainText('The task data is not valid JSON: unquoted text "yes" at line 1, column 13');
  await expect(box).toBeFocused();
  expect(await box.evaluate((b: HTMLTextAreaElement) => b.selectionStart)).toBe(12);
  await box.fill('{"checked": true}');
  await page.getByTestId('task-submit').click();
  await expect(page.getByTestId('task-done')).toContainText('COMPLETED');
});

test("the instance view shows a waiting task's input parameters", async ({ page, openUi, server }) => {
  const io =
    '<bpmn:extensionElements><camunda:inputOutput xmlns:camunda="http://camunda.org/schema/1.0/bpmn">' +
    '<camunda:inputParameter name="net">${price * qty}</camunda:inputParameter>' +
    '</camunda:inputOutput></bpmn:extensionElements>';
  await deployXml(server, 'QuoteInputs', inARow({ id: 'QuoteInputs', name: 'Quote inputs', middle: { type: 'userTask', id: 'Approve', name: 'Approve the quote', body: io } }));
  const { instanceGuid } = await must(server, 'StartProcessInstanceCommand', { processKey: 'QuoteInputs', variables: { price: 20, qty: 3 } });
  await openUi(`#/instances/${instanceGuid}`);
  const locals = page.getByTestId('waiting').locator('li[data-task="Approve"]').getByTestId('locals-Approve');
  await expect(locals.locator('[data-local="net"] td')).toHaveText('60');
  await expect(page.getByRole('table', { name: 'Input parameters (local variables)' })).toBeVisible();
  await expectAccessible(page, 'the instance view with input parameters');
  await screenshot(page, 'runner-instance-inputs');
});

test('a task completed elsewhere is said so beside its open form', async ({ page, openUi, server }) => {
  await deployTemplate(server, 'loan-approval', 'LoanApprovalProcess');
  const { instanceGuid } = await must(server, 'StartProcessInstanceCommand', {
    processKey: 'LoanApprovalProcess',
    variables: { applicant: 'Edsger', requestedAmount: 10 },
  });
  await openUi(`#/tasks?instance=${instanceGuid}&task=Task_ManagerReview`);
  await page.getByTestId('acting-user').selectOption('admin');
  await page.locator(`[data-testid="task-item"][data-instance="${instanceGuid}"]`).getByRole('button').click();
  await expect(page.getByTestId('task-form').getByLabel('Applicant')).toHaveValue('Edsger');
  await must(server, 'SignalProcessInstanceCommand', { instanceGuid, taskId: 'Task_ManagerReview', callbackData: { decision: 'decline' } });
  await expect(page.getByTestId('task-error')).toContainText('no longer open');
  await expect(page.locator(`[data-testid="task-item"][data-instance="${instanceGuid}"]`)).toHaveCount(0);
  await expect(page.getByTestId('task-submit')).toBeDisabled();
});

test('a server that went away is shown in words and the form keeps its values', async ({ page, consoleErrors }) => {
  const own = await startServer();
  try {
    await deployTemplate(own, 'loan-approval', 'LoanApprovalProcess');
    const { instanceGuid } = await must(own, 'StartProcessInstanceCommand', {
      processKey: 'LoanApprovalProcess',
      variables: { applicant: 'Grace', requestedAmount: 1000 },
    });
    await page.goto(`${own.url}/?token=${encodeURIComponent(own.token)}#/tasks`);
    await page.getByTestId('acting-user').selectOption('admin');
    await page.locator(`[data-testid="task-item"][data-instance="${instanceGuid}"]`).getByRole('button').click();
    const form = page.getByTestId('task-form');
    await form.getByLabel('Comments').fill('typed before the server stopped');
    await own.stop();
    await expect(page.getByTestId('connection-error')).toBeVisible();
    await expect(page.getByTestId('connection-error')).toContainText(/Baton server/);
    await form.getByRole('radio', { name: 'Decline', exact: true }).check();
    await page.getByTestId('task-submit').click();
    await expect(page.getByTestId('task-error')).toContainText(/Cannot reach the Baton server/);
    await expect(form.getByLabel('Comments')).toHaveValue('typed before the server stopped');
    await screenshot(page, 'runner-server-gone');
  } finally {
    await own.stop();
    // The browser reports the refused connections itself; those are the point of this test.
    const expected = /ERR_CONNECTION_REFUSED|Failed to load resource|net::ERR_/;
    consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter((e) => !expected.test(e)));
  }
});
