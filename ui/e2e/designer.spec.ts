/**
 * The designer against a real `baton serve`: templates, the Baton properties with undo, the
 * Problems panel (bpmnlint and the engine), deploy and start, files that are not BPMN, tabs
 * that survive a reload, the dark theme and accessibility.
 */
import type { Page } from '@playwright/test';
import { test, expect, expectAccessible, screenshot } from './harness';
import { inARow } from './models';

/** The canvas of the active tab. */
const canvas = (page: Page) => page.locator('.designer-modeler:not(.inactive)');
const shape = (page: Page, id: string) => canvas(page).locator(`.djs-element[data-element-id="${id}"]`);
const props = (page: Page) => page.locator('.designer-props-host:not([hidden])');

/** A timer event with no timer: the engine refuses it. */
const BAD_TIMER = inARow({
  id: 'BadTimerProcess',
  name: 'Bad timer',
  start: { name: 'Start' },
  middle: { type: 'intermediateCatchEvent', id: 'Wait', name: 'Wait', body: '<bpmn:timerEventDefinition id="TD"/>' },
  end: { name: 'End' },
});

const CRON_START = inARow({
  id: 'CronProcess',
  name: 'Weekday mornings',
  start: {
    name: 'Weekdays',
    body: '<bpmn:timerEventDefinition id="TS"><bpmn:timeCycle>0 9 * * MON-FRI</bpmn:timeCycle></bpmn:timerEventDefinition>',
  },
  middle: {
    type: 'intermediateCatchEvent',
    id: 'Wait',
    name: 'Wait',
    body: '<bpmn:timerEventDefinition id="TD"><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition>',
  },
  end: { name: 'End' },
});

/** The XML of every tab as kept in localStorage. */
const storedXml = (page: Page) =>
  page.evaluate(() => {
    const raw = localStorage.getItem('baton.designer.tabs');
    return raw ? (JSON.parse(raw).tabs as { xml: string }[]).map((t) => t.xml).join('\n') : '';
  });

async function openTemplate(page: Page, id = 'PaymentApprovalProcess'): Promise<void> {
  await page.getByTestId('open-template').click();
  await expect(page.getByTestId('template-gallery')).toBeVisible();
  await page.getByTestId(`template-${id}`).click();
  await expect(page.getByTestId('tab-active')).toContainText(`${id}.bpmn`);
  await expect(canvas(page).locator('.djs-element').first()).toBeVisible();
}

async function openFile(page: Page, name: string, text: string): Promise<void> {
  await page.getByTestId('open-file-input').setInputFiles({ name, mimeType: 'application/xml', buffer: Buffer.from(text) });
}

async function openGroup(page: Page, groupId: string): Promise<void> {
  const header = props(page).locator(`[data-group-id="group-${groupId}"] .bio-properties-panel-group-header`);
  if (!(await header.getAttribute('class'))?.includes('open')) await header.click();
}

test('#/designer always shows a diagram: a new one with a start event the first time', async ({ page, openUi }) => {
  await openUi();
  await expect(page.getByTestId('designer-canvas')).toBeVisible();
  await expect(page.getByTestId('tab-active')).toContainText('diagram.bpmn');
  await expect(canvas(page).locator('.djs-element[data-element-id="StartEvent_1"]')).toBeVisible();
  await expect(canvas(page).locator('.djs-palette')).toBeVisible();
});

test('a template opens in a new tab with the canvas, the properties and no problems', async ({ page, openUi }) => {
  await openUi();
  await page.getByTestId('open-template').click();
  await expect(page.getByTestId('template-gallery')).toBeVisible();
  await expectAccessible(page, 'the template gallery');
  await screenshot(page, 'designer-gallery');
  await page.getByTestId('template-PaymentApprovalProcess').click();
  await expect(page.getByTestId('tab-active')).toContainText('PaymentApprovalProcess.bpmn');
  await expect(page.getByTestId('tab-1')).toContainText('diagram.bpmn');
  await expect(shape(page, 'Task_ReviewPayment')).toBeVisible();
  await shape(page, 'Task_ReviewPayment').click();
  await expect(props(page).locator('.bio-properties-panel-header')).toContainText('Review Payment Details');
  await openGroup(page, 'baton');
  await expect(props(page).locator('#bio-properties-panel-baton-responsible-team')).toHaveValue('MANAGERS');
  await expect(props(page).locator('#bio-properties-panel-baton-form')).toHaveValue('payment-review-form');
  await expect(page.getByTestId('problems-panel')).toContainText('No problems found');
  await screenshot(page, 'designer-template');
  await expectAccessible(page, 'the designer');
});

test("a Camunda model's input/output parameters are listed with the task and kept on save", async ({ page, openUi }) => {
  const io =
    '<bpmn:extensionElements><camunda:inputOutput xmlns:camunda="http://camunda.org/schema/1.0/bpmn">' +
    '<camunda:inputParameter name="net">${price * qty}</camunda:inputParameter>' +
    '<camunda:inputParameter name="lines"><camunda:list><camunda:value>a</camunda:value><camunda:value>b</camunda:value></camunda:list></camunda:inputParameter>' +
    '<camunda:outputParameter name="total">${net + 5}</camunda:outputParameter>' +
    '</camunda:inputOutput></bpmn:extensionElements>';
  await openUi();
  await openFile(page, 'Quote.bpmn', inARow({ id: 'Quote', name: 'Quote', start: { name: 'Asked' }, middle: { type: 'userTask', id: 'Approve', name: 'Approve', body: io }, end: { name: 'Done' } }));
  await expect(shape(page, 'Approve')).toBeVisible();
  await shape(page, 'Approve').click();
  await openGroup(page, 'baton-io');
  const list = props(page).getByTestId('baton-io');
  await expect(list.locator('[data-io="input:net"] td code')).toHaveText('${price * qty}');
  await expect(list.locator('[data-io="input:lines"] td code')).toHaveText('a list of 2 values');
  await expect(list.locator('[data-io="output:total"] td code')).toHaveText('${net + 5}');
  await expectAccessible(page, 'the input/output parameters of a task');
  await screenshot(page, 'designer-io-parameters');
  // An edit elsewhere and the stored diagram still hold every parameter.
  await shape(page, 'Approve').dblclick();
  await page.keyboard.type('Approve the quote');
  await page.keyboard.press('Enter');
  await expect.poll(() => storedXml(page)).toContain('Approve the quote');
  const stored = await storedXml(page);
  expect(stored).toContain('<camunda:inputParameter name="net">${price * qty}</camunda:inputParameter>');
  expect(stored).toContain('<camunda:value>b</camunda:value>');
  expect(stored).toContain('<camunda:outputParameter name="total">');
});

test('a Baton property edit goes through the command stack: undo takes it back', async ({ page, openUi }) => {
  await openUi();
  await openTemplate(page);
  await shape(page, 'Task_ReviewPayment').click();
  await openGroup(page, 'baton');
  const team = props(page).locator('#bio-properties-panel-baton-responsible-team');
  await team.fill('AUDITORS');
  await expect(page.getByTestId('tab-active')).toContainText('unsaved changes');
  await expect
    .poll(() => storedXml(page))
    .toContain('name="ResponsibleTeam" value="AUDITORS"');

  // An invalid timeout is shown beside the field and does not reach the model.
  const timeout = props(page).locator('#bio-properties-panel-baton-timeout-minutes');
  await timeout.fill('-5');
  await expect(props(page).locator('[data-entry-id="baton-timeout-minutes"]')).toContainText('must be a positive number');
  await timeout.fill('30');
  await expect(props(page).locator('[data-entry-id="baton-timeout-minutes"]')).not.toContainText('must be a positive number');

  // Undo from the keyboard on the canvas: first the timeout, then the team.
  await canvas(page).locator('.djs-container > svg').focus();
  await page.keyboard.press('Control+z');
  await page.keyboard.press('Control+z');
  // Undo selects what it changed (a click on a selected shape would deselect it).
  await expect(shape(page, 'Task_ReviewPayment')).toHaveClass(/selected/);
  await expect(props(page).locator('#bio-properties-panel-baton-responsible-team')).toHaveValue('MANAGERS');
  await expect(props(page).locator('#bio-properties-panel-baton-timeout-minutes')).toHaveValue('');
  await expect
    .poll(() => storedXml(page))
    .toContain('name="ResponsibleTeam" value="MANAGERS"');
  // Back at the state it was opened in: no longer unsaved.
  await expect(page.getByTestId('tab-active')).not.toContainText('unsaved changes');
  await expect(page.getByTestId('undo')).toBeDisabled();
  // The toolbar's Redo brings the team back.
  await page.getByTestId('redo').click();
  await expect(props(page).locator('#bio-properties-panel-baton-responsible-team')).toHaveValue('AUDITORS');
  await expect(page.getByTestId('undo')).toBeEnabled();
});

test('conditions and scripts have a labelled code editor whose edits undo on the canvas', async ({ page, openUi }) => {
  await openUi();
  await openTemplate(page);
  await shape(page, 'Flow_Approved').click({ force: true });
  await openGroup(page, 'baton-condition');
  const condition = props(page).getByRole('textbox', { name: 'Condition' });
  await expect(condition).toContainText('lastReceiveTaskResult.approved == true');
  await condition.click();
  await page.keyboard.press('Control+a');
  await page.keyboard.type('${amount > 10}');
  await expect.poll(() => storedXml(page)).toMatch(/\$\{amount (>|&gt;) 10\}/);
  await canvas(page).locator('.djs-container > svg').focus();
  await page.keyboard.press('Control+z');
  await expect(condition).toContainText('lastReceiveTaskResult.approved == true');

  // A default flow takes no condition.
  await shape(page, 'Flow_Rejected').click({ force: true });
  await expect(props(page).locator('[data-group-id="group-baton-condition"]')).toHaveCount(0);

  await shape(page, 'Task_ProcessPayment').click();
  await openGroup(page, 'baton-script');
  const script = props(page).getByRole('textbox', { name: 'Script', exact: true });
  await expect(script).toContainText('let paymentStatus = "POSTED";');
  await script.click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type('\nlet audited = true;');
  await expect.poll(() => storedXml(page)).toContain('let audited = true;');
  await screenshot(page, 'designer-script-editor');
});

test('drawing and walking the diagram from the keyboard', async ({ page, openUi }) => {
  await openUi();
  await expect(canvas(page).locator('.djs-element[data-element-id="StartEvent_1"]')).toBeVisible();
  // Alt+→ with nothing selected selects the start event.
  await canvas(page).locator('.djs-container > svg').focus();
  await page.keyboard.press('Alt+ArrowRight');
  await expect(canvas(page).locator('.djs-element.selected')).toHaveAttribute('data-element-id', 'StartEvent_1');

  // Enter on a palette entry appends after the selection and lets you name it at once.
  await canvas(page).locator('.djs-palette [data-action="create.task"]').focus();
  await page.keyboard.press('Enter');
  await expect(canvas(page).locator('.djs-shape[data-element-id^="Activity_"]')).toHaveCount(1);
  await page.keyboard.type('Check order');
  await page.keyboard.press('Enter');
  await expect(canvas(page).locator('.djs-shape[data-element-id^="Activity_"]')).toContainText('Check order');
  await canvas(page).locator('.djs-palette [data-action="create.end-event"]').focus();
  await page.keyboard.press('Enter');
  await page.keyboard.type('Done');
  await page.keyboard.press('Enter');
  await expect(canvas(page).locator('.djs-connection[data-element-id^="Flow_"]')).toHaveCount(2);
  await expect(page.getByTestId('problems-panel')).toContainText('No problems found');

  // Alt+← walks back along the flow; the properties follow.
  await canvas(page).locator('.djs-container > svg').focus();
  await page.keyboard.press('Alt+ArrowLeft');
  await expect(props(page).locator('.bio-properties-panel-header')).toContainText('Check order');
  await page.keyboard.press('Alt+ArrowLeft');
  await expect(canvas(page).locator('.djs-element.selected')).toHaveAttribute('data-element-id', 'StartEvent_1');
  await page.keyboard.press('Alt+ArrowRight');
  await page.keyboard.press('Alt+ArrowRight');
  await expect(props(page).locator('.bio-properties-panel-header')).toContainText('Done');
  await expect(page).toHaveURL(/#\/designer$/);
  await screenshot(page, 'designer-keyboard-drawing');
});

test('typing in the properties panel never reaches the canvas shortcuts', async ({ page, openUi }) => {
  await openUi();
  await openTemplate(page);
  await shape(page, 'Task_ProcessPayment').click();
  await openGroup(page, 'general');
  const name = props(page).locator('#bio-properties-panel-name');
  await name.fill('');
  // "e", "l", "s" and Delete are canvas shortcuts; here they are only text.
  await name.pressSequentially('Settle');
  await name.press('Delete');
  await expect(shape(page, 'Task_ProcessPayment')).toContainText('Settle');
  await expect(shape(page, 'Task_ProcessPayment')).toBeVisible();
});

test('the Problems panel merges bpmnlint and Baton problems; a click selects the element', async ({ page, openUi }) => {
  await openUi();
  await openFile(page, 'BadTimer.bpmn', BAD_TIMER);
  await expect(page.getByTestId('tab-active')).toContainText('BadTimer.bpmn');
  const panel = page.getByTestId('problems-panel');
  const baton = panel.locator('[data-testid="problem-item"][data-source="baton"]');
  await expect(baton).toHaveCount(1);
  await expect(baton).toContainText('has no timeDate, timeDuration or timeCycle');
  await expect(baton).toContainText('Baton');
  await expect(baton).toContainText(/line \d+, column \d+/);
  await expect(shape(page, 'Wait')).toHaveClass(/baton-problem/);

  await openUi();
  await page.getByTestId('new-diagram').click();
  const lint = panel.locator('[data-testid="problem-item"][data-source="bpmnlint"]', { hasText: 'not connected' });
  await expect(lint).toContainText('bpmnlint (no-disconnected)');
  await lint.click();
  await expect(canvas(page).locator('.djs-element.selected')).toHaveAttribute('data-element-id', /StartEvent_1/);
  await screenshot(page, 'designer-problems');
});

test('deploy: success says the version, a refused model marks its element', async ({ page, openUi }) => {
  await openUi();
  await openTemplate(page);
  await page.getByTestId('deploy').click();
  await expect(page.getByTestId('deploy-status')).toHaveText(/^Deployed PaymentApprovalProcess version \d+/);

  await openFile(page, 'BadTimer.bpmn', BAD_TIMER);
  await page.getByTestId('deploy').click();
  await expect(page.getByTestId('deploy-status')).toContainText('Not deployed');
  await expect(page.getByTestId('deploy-status')).toContainText("timer event 'Wait' has no timeDate");
  await expect(shape(page, 'Wait')).toHaveClass(/baton-problem/);
  await expect(page.getByTestId('problems-panel').locator('[data-source="baton"]').first()).toContainText('Wait');
  await screenshot(page, 'designer-deploy-refused');
});

test('start: invalid JSON is refused in words, valid JSON starts and opens the instance', async ({ page, openUi, server }) => {
  const starts: string[] = [];
  page.on('request', (r) => {
    if ((r.postData() ?? '').includes('StartProcessInstanceCommand')) starts.push(r.postData()!);
  });
  await openUi();
  await openTemplate(page);
  await page.getByTestId('deploy').click();
  await expect(page.getByTestId('deploy-status')).toContainText('Deployed PaymentApprovalProcess');
  await page.getByTestId('start').click();
  const box = page.getByTestId('start-variables');
  await expect(box).toBeVisible();
  await box.fill('{\n  "amount": 1200,\n  "paymentId": P-1\n}');
  await page.getByTestId('start-submit').click();
  await expect(page.getByTestId('start-panel')).toContainText(
    'The variables are not valid JSON: unquoted text "P-1" at line 3, column 16 (strings need double quotes).',
  );
  // the mistake is selected in the box, ready to retype
  expect(await box.evaluate((b: HTMLTextAreaElement) => [b.selectionStart, b.selectionEnd])).toEqual([35, 36]);
  await expect(box).toHaveAttribute('aria-invalid', 'true');
  await expect(page).toHaveURL(/#\/designer$/);
  expect(starts, 'nothing is sent for invalid JSON').toEqual([]);
  const before = await server.execute('GetProcessInstanceListQuery', {});
  await expectAccessible(page, 'the start panel');
  await screenshot(page, 'designer-start-invalid');

  await box.fill('{\n  "amount": 1200,\n  "paymentId": "P-1"\n}');
  await page.getByTestId('start-submit').click();
  await expect(page).toHaveURL(/#\/instances\/[0-9a-f-]{36}$/);
  expect(starts).toHaveLength(1);
  expect(JSON.parse(starts[0]!).data).toEqual({ processKey: 'PaymentApprovalProcess', variables: { amount: 1200, paymentId: 'P-1' } });
  const guid = decodeURIComponent(page.url().split('#/instances/')[1]!);
  const instance = await server.execute('GetProcessInstanceByIdQuery', { instanceGuid: guid });
  expect(instance.isSuccessful, JSON.stringify(instance)).toBe(true);
  if (before.isSuccessful) expect(JSON.stringify(before.data)).not.toContain(guid);

  // The variables are prefilled from the last start of this process.
  await page.goto(page.url().replace(/#.*$/, '#/designer'));
  await page.getByTestId('start').click();
  await expect(page.getByTestId('start-variables')).toHaveValue(/"paymentId": "P-1"/);
});

test('a file that is not BPMN, or not XML, is refused in words and the open diagram stays', async ({ page, openUi }) => {
  await openUi();
  await openTemplate(page);
  await openFile(page, 'notes.txt', 'just some notes');
  const notice = page.getByTestId('designer-notice');
  await expect(notice).toContainText('notes.txt is not a BPMN file');
  await openFile(page, 'broken.bpmn', '<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">\n  <bpmn:process id="P">\n</bpmn:definitions>');
  await expect(notice).toContainText(/broken.bpmn is not well-formed XML at line \d+, column \d+/);
  await openFile(page, 'picture.svg', '<svg xmlns="http://www.w3.org/2000/svg"></svg>');
  await expect(notice).toContainText('not BPMN 2.0');
  await expect(page.locator('.designer-tabs .tab')).toHaveCount(2);
  await expect(page.getByTestId('tab-active')).toContainText('PaymentApprovalProcess.bpmn');
  await expect(shape(page, 'Task_ReviewPayment')).toBeVisible();
});

test('the open tabs survive a reload and a trip to another view', async ({ page, openUi }) => {
  page.on('dialog', (d) => void d.accept());
  await openUi();
  await openTemplate(page);
  await shape(page, 'Task_ProcessPayment').click();
  await openGroup(page, 'general');
  await props(page).locator('#bio-properties-panel-name').fill('Post the payment');
  await expect(shape(page, 'Task_ProcessPayment')).toContainText('Post the payment');
  await expect
    .poll(() => storedXml(page))
    .toContain('Post the payment');

  await page.getByTestId('nav-instances').click();
  await expect(page).toHaveURL(/#\/instances$/);
  await page.getByTestId('nav-designer').click();
  await expect(shape(page, 'Task_ProcessPayment')).toContainText('Post the payment');

  await page.reload();
  await expect(page.getByTestId('tab-active')).toContainText('PaymentApprovalProcess.bpmn');
  await expect(page.getByTestId('tab-active')).toContainText('unsaved changes');
  await expect(page.locator('.designer-tabs .tab')).toHaveCount(2);
  await expect(shape(page, 'Task_ProcessPayment')).toContainText('Post the payment');
});

test('closing a tab with unsaved changes asks first', async ({ page, openUi }) => {
  await openUi();
  await openTemplate(page);
  await shape(page, 'Task_ProcessPayment').click();
  await openGroup(page, 'general');
  await props(page).locator('#bio-properties-panel-name').fill('Changed');
  await expect(page.getByTestId('tab-active')).toContainText('unsaved changes');
  await page.getByTestId('tab-close-2').click();
  await expect(page.getByRole('dialog', { name: 'Unsaved changes' })).toBeVisible();
  await page.getByTestId('close-cancel').click();
  await expect(page.locator('.designer-tabs .tab')).toHaveCount(2);
  await page.getByTestId('tab-close-2').click();
  await page.getByTestId('close-discard').click();
  await expect(page.locator('.designer-tabs .tab')).toHaveCount(1);
  // Closing the last tab leaves a new diagram, never an empty canvas.
  await page.getByTestId('tab-close-1').click();
  await expect(page.locator('.designer-tabs .tab')).toHaveCount(1);
  await expect(canvas(page).locator('.djs-element[data-element-id="StartEvent_1"]')).toBeVisible();
});

test('Save writes the diagram (a download where the browser has no file access), recent files reopen', async ({ page, openUi }) => {
  // Without the File System Access API, as in Firefox and Safari.
  await page.addInitScript(() => {
    delete (window as unknown as Record<string, unknown>).showOpenFilePicker;
    delete (window as unknown as Record<string, unknown>).showSaveFilePicker;
  });
  await openUi();
  await openTemplate(page);
  await shape(page, 'Task_ProcessPayment').click();
  await openGroup(page, 'general');
  await props(page).locator('#bio-properties-panel-name').fill('Book the payment');
  await expect(page.getByTestId('tab-active')).toContainText('unsaved changes');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('save-file').click()]);
  expect(download.suggestedFilename()).toBe('PaymentApprovalProcess.bpmn');
  const saved = Buffer.concat(await (await download.createReadStream()).toArray()).toString();
  expect(saved).toContain('name="Book the payment"');
  expect(saved).toContain('xmlns:custom="http://baton.dev/schema/custom"');
  await expect(page.getByTestId('tab-active')).not.toContainText('unsaved changes');

  // Ctrl+S saves too.
  await props(page).locator('#bio-properties-panel-name').fill('Book it');
  const [again] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Control+s')]);
  expect(Buffer.concat(await (await again.createReadStream()).toArray()).toString()).toContain('name="Book it"');

  // The saved file is a recent file; choosing it while open goes to its tab.
  await page.getByTestId('tab-1').click();
  await expect(page.getByTestId('tab-active')).toContainText('diagram.bpmn');
  await page.getByTestId('recent-files').click();
  const recent = page.getByRole('list', { name: 'Recent files' });
  await expect(recent).toBeVisible();
  await recent.getByRole('button', { name: 'PaymentApprovalProcess.bpmn' }).click();
  await expect(page.getByTestId('tab-active')).toContainText('PaymentApprovalProcess.bpmn');
});

test('a receive task names where it notifies and the secret that signs it', async ({ page, openUi }) => {
  await openUi();
  await openTemplate(page);
  await shape(page, 'Task_WaitForPayment').click();
  await openGroup(page, 'baton');
  const url = props(page).locator('#bio-properties-panel-baton-webhook-url');
  const urlEntry = props(page).locator('[data-entry-id="baton-webhook-url"]');
  await url.fill('shop.example.com/hooks/paid');
  await expect(urlEntry).toContainText("Give an http:// or https:// address, not 'shop.example.com/hooks/paid'.");
  await expect.poll(() => storedXml(page)).not.toContain('WebhookUrl');
  await url.fill('https://shop.example.com/hooks/paid');
  await expect(urlEntry).not.toContainText('Give an http');
  await expect
    .poll(() => storedXml(page))
    .toContain('name="WebhookUrl" value="https://shop.example.com/hooks/paid"');
  const secret = props(page).locator('#bio-properties-panel-baton-webhook-secret');
  const secretEntry = props(page).locator('[data-entry-id="baton-webhook-secret"]');
  await secret.fill('payment hook');
  await expect(secretEntry).toContainText("not 'payment hook'");
  await secretEntry.scrollIntoViewIfNeeded();
  await screenshot(page, 'designer-receive-notification');
  await secret.fill('paymentHook');
  await expect(secretEntry).not.toContainText('not ');
  await expect.poll(() => storedXml(page)).toContain('name="WebhookSecretName" value="paymentHook"');
  await expectAccessible(page, 'a receive task with its notification');
  // A service task has no such fields.
  await shape(page, 'Task_ProcessPayment').click();
  await expect(props(page).locator('[data-entry-id="baton-webhook-url"]')).toHaveCount(0);

  // Any task says how a failed run is tried again before an incident: a bad cycle is shown
  // beside the field and stays out of the model; a good one is the task's property.
  const retryEntry = props(page).locator('[data-entry-id="baton-task-retry-cycle"]');
  const retry = props(page).locator('#bio-properties-panel-baton-task-retry-cycle');
  await expect(retryEntry).toContainText('Retries when it fails');
  await retry.fill('R3/five minutes');
  await expect(retryEntry).toContainText('Write the retries as R5/PT5M');
  await expect.poll(() => storedXml(page)).not.toContain('failedJobRetryTimeCycle');
  await retry.fill('R3/PT1M,PT5M');
  await expect(retryEntry).not.toContainText('Write the retries');
  await expect.poll(() => storedXml(page)).toContain('name="failedJobRetryTimeCycle" value="R3/PT1M,PT5M"');
  await retryEntry.scrollIntoViewIfNeeded();
  await screenshot(page, 'designer-task-retries');
  await expectAccessible(page, 'a service task with its retries');
  // Or an expression, read from the instance's variables when the task fails; deploy takes it.
  await retry.fill('${retryCycle}');
  await expect(retryEntry).not.toContainText('Write the retries');
  await expect.poll(() => storedXml(page)).toContain('name="failedJobRetryTimeCycle" value="${retryCycle}"');
  await page.getByTestId('deploy').click();
  await expect(page.getByTestId('deploy-status')).toContainText('Deployed PaymentApprovalProcess');
});

test('a form key without a form gets a new empty form in the editor', async ({ page, openUi }) => {
  const deploys: string[] = [];
  page.on('request', (r) => {
    const body = r.postData() ?? '';
    if (body.includes('DeployProcessDefinitionCommand')) deploys.push(body);
  });
  await openUi();
  await openTemplate(page);
  await shape(page, 'Task_WaitForPayment').click();
  await openGroup(page, 'baton');
  await props(page).locator('#bio-properties-panel-baton-form').fill('gateway-check');
  await props(page).getByTestId('edit-form').click();
  await expect(page.getByTestId('form-key-select')).toHaveValue('gateway-check');
  await expect(page.getByRole('dialog', { name: 'Forms' })).toContainText('A new empty form for "gateway-check"');
  await expectAccessible(page, 'the form editor');
  await page.getByTestId('form-editor-done').click();
  await page.getByTestId('deploy').click();
  await expect(page.getByTestId('deploy-status')).toContainText('Deployed PaymentApprovalProcess');
  const forms = JSON.parse(deploys[0]!).data.forms;
  expect(Object.keys(forms).sort()).toEqual(['gateway-check', 'payment-review-form']);
  expect(forms['gateway-check']).toMatchObject({ id: 'gateway-check', components: [] });
});

test('a cron timer cycle previews its next runs', async ({ page, openUi }) => {
  await openUi();
  await openFile(page, 'Cron.bpmn', CRON_START);
  await shape(page, 'Start').click();
  await openGroup(page, 'timer');
  const preview = page.getByTestId('cron-preview');
  await expect(preview.locator('li')).toHaveCount(5);
  await expect(preview.locator('li').first()).toContainText(/T09:00:00/);

  // The same group says how a failing start is tried again: a bad cycle is shown beside the
  // field and stays out of the model; a good one is written as the start event's property.
  const retry = props(page).locator('#bio-properties-panel-baton-retry-cycle');
  const entry = props(page).locator('[data-entry-id="baton-retry-cycle"]');
  await expect(entry).toContainText('Retries when a start fails');
  await retry.fill('R5');
  await expect(entry).toContainText('Write the retries as R5/PT5M');
  await screenshot(page, 'designer-timer-retry-error');
  await expect.poll(() => storedXml(page)).not.toContain('failedJobRetryTimeCycle');
  await retry.fill('R4/PT1M,PT10M');
  await expect(entry).not.toContainText('Write the retries');
  await expect
    .poll(() => storedXml(page))
    .toContain('name="failedJobRetryTimeCycle" value="R4/PT1M,PT10M"');
  await expectAccessible(page, 'the timer group with its retry cycle');
  await page.getByTestId('deploy').click();
  await expect(page.getByTestId('deploy-status')).toContainText('Deployed');
});

test('SVG and PNG exports download the diagram', async ({ page, openUi }) => {
  await openUi();
  await openTemplate(page);
  const [svg] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-svg').click()]);
  expect(svg.suggestedFilename()).toBe('PaymentApprovalProcess.svg');
  const svgText = await (await svg.createReadStream()).toArray();
  expect(Buffer.concat(svgText).toString()).toContain('<svg');
  const [png] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-png').click()]);
  expect(png.suggestedFilename()).toBe('PaymentApprovalProcess.png');
  const pngBytes = Buffer.concat(await (await png.createReadStream()).toArray());
  expect(pngBytes.subarray(1, 4).toString()).toBe('PNG');
  expect(pngBytes.length).toBeGreaterThan(2000);
});

test('the form editor edits the forms a FormKey names and deploy sends them', async ({ page, openUi }) => {
  const deploys: string[] = [];
  page.on('request', (r) => {
    const body = r.postData() ?? '';
    if (r.url().endsWith('/api/v1/execute') && body.includes('DeployProcessDefinitionCommand')) deploys.push(body);
  });
  await openUi();
  await openTemplate(page);
  await shape(page, 'Task_ReviewPayment').click();
  await openGroup(page, 'baton');
  await props(page).getByTestId('edit-form').click();
  const editor = page.getByTestId('form-editor');
  await expect(editor.locator('.fjs-editor-container, .fjs-form-container').first()).toBeVisible();
  await expect(page.getByTestId('form-key-select')).toHaveValue('payment-review-form');
  await screenshot(page, 'designer-form-editor');
  await page.getByTestId('form-editor-done').click();
  await page.getByTestId('deploy').click();
  await expect(page.getByTestId('deploy-status')).toContainText('Deployed PaymentApprovalProcess');
  expect(deploys).toHaveLength(1);
  const sent = JSON.parse(deploys[0]!).data;
  expect(Object.keys(sent.forms)).toEqual(['payment-review-form']);
  expect(JSON.stringify(sent.forms['payment-review-form'])).toContain('"key":"decision"');
});

test('the dark theme keeps the canvas, palette and panels readable', async ({ page, openUi }) => {
  await openUi();
  await openTemplate(page);
  await page.getByTestId('theme-toggle').click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await shape(page, 'Task_ReviewPayment').click();
  await openGroup(page, 'baton');
  const bg = await props(page).locator('.bio-properties-panel').evaluate((e) => getComputedStyle(e).backgroundColor);
  expect(bg).not.toBe('rgb(255, 255, 255)');
  await screenshot(page, 'designer-dark');
  await expectAccessible(page, 'the designer in the dark theme');
});
