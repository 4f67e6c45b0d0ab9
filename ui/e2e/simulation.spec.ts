/**
 * Simulation in the designer against a real `baton serve`: the loan template (a user task, then
 * an exclusive gateway) simulated step by step, a refused step said beside the task with what was
 * typed kept, the token reaching the end, going back and taking the other branch, the scenario
 * saved (the downloaded file run with `baton test` from the command line), and Check scenarios
 * green with the coverage drawn. A session started as a user (InitiatedBy), and a scenario with
 * users replayed as they are. The travel template's transaction cancelled by a declined card,
 * stepped through. A task's input parameters shown while it waits.
 */
import type { Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, expect, expectAccessible, screenshot, repoDir, templatesDir } from './harness';
import { inARow } from './models';

const canvas = (page: Page) => page.locator('.designer-modeler:not(.inactive)');
const shape = (page: Page, id: string) => canvas(page).locator(`.djs-element[data-element-id="${id}"]`);
const panel = (page: Page) => page.getByTestId('simulation-panel');
const TASK = 'Task_ManagerReview';

async function openLoanTemplate(page: Page): Promise<void> {
  await page.getByTestId('open-template').click();
  await page.getByTestId('template-LoanApprovalProcess').click();
  await expect(page.getByTestId('tab-active')).toContainText('LoanApprovalProcess.bpmn');
  await expect(shape(page, 'Gateway_Decision')).toBeVisible();
}

async function completeReview(page: Page, decision: 'approve' | 'decline', amount?: string): Promise<void> {
  await page.getByTestId(`sim-field-${TASK}-decision`).selectOption(decision);
  if (amount !== undefined) await page.getByTestId(`sim-field-${TASK}-approvedAmount`).fill(amount);
  await page.getByTestId(`sim-act-${TASK}`).click();
}

test('simulate the loan template: both branches, a saved scenario that `baton test` passes, coverage', async ({ page, openUi }) => {
  await openUi();
  await openLoanTemplate(page);

  // The Simulate control is a labelled toolbar button that opens the side panel.
  const simulate = page.getByRole('button', { name: 'Simulate' });
  await expect(simulate).toHaveAttribute('aria-expanded', 'false');
  await simulate.focus();
  await page.keyboard.press('Enter');
  await expect(panel(page)).toBeVisible();
  await expect(simulate).toHaveAttribute('aria-expanded', 'true');
  await expect(page.getByTestId('properties-panel')).toBeHidden();

  // Start variables that are not JSON are refused beside the field, nothing is started.
  const vars = page.getByLabel('Start variables (JSON)');
  await vars.fill('{"applicant": "Bo", requestedAmount: 1000}');
  await page.getByTestId('sim-start').click();
  await expect(page.getByTestId('sim-start-error')).toContainText('not valid JSON');
  await expect(page.getByTestId('sim-status')).toHaveCount(0);
  await vars.fill('{"applicant": "Bo", "requestedAmount": 1000}');
  await page.getByTestId('sim-start').click();
  await expect(page.getByTestId('sim-status')).toContainText('Waiting at 1 element');
  await expect(page.getByTestId('sim-start-error')).toHaveText('');

  // The start's visits are played one at a time (Step), then the rest (Run to wait).
  await expect(page.getByTestId('sim-queue')).toHaveText('3 to play');
  await page.getByTestId('sim-step-next').click();
  await expect(page.getByTestId('sim-queue')).toHaveText('2 to play');
  await expect(page.getByTestId('sim-token')).toHaveAttribute('data-at', 'Start');
  await expect(shape(page, 'Start')).toHaveClass(/baton-sim-taken/);
  // From the keyboard: Run to wait, then the focus is on the waiting task's first field.
  await page.getByTestId('sim-run').press('Enter');
  await expect(page.getByTestId('sim-queue')).toHaveText('Token at the wait');
  await expect(page.getByTestId(`sim-field-${TASK}-decision`)).toBeFocused();
  await expect(shape(page, TASK)).toHaveClass(/baton-sim-waiting/);
  await expect(shape(page, 'Flow_1')).toHaveClass(/baton-sim-taken/);
  await expect(page.getByTestId('sim-token')).toHaveAttribute('data-at', TASK);
  await expectAccessible(page, 'the simulation panel at a wait');
  await screenshot(page, 'simulation-waiting');

  // The task's own script refuses an approval without an amount: said beside the task, the choice kept.
  await completeReview(page, 'approve');
  await expect(page.getByTestId(`sim-error-${TASK}`)).toContainText('Approved amount is required');
  await expect(page.getByTestId(`sim-field-${TASK}-decision`)).toHaveValue('approve');
  await expect(page.getByTestId('sim-status')).toContainText('Waiting');

  await completeReview(page, 'approve', '800');
  await expect(page.getByTestId('sim-status')).toContainText('Completed');
  await expect(page.getByTestId('sim-queue')).toHaveText('4 to play');
  await page.getByTestId('sim-run').click();
  await expect(page.getByTestId('sim-token')).toHaveAttribute('data-at', 'End_Approved');
  await expect(shape(page, 'End_Approved')).toHaveClass(/baton-sim-taken/);
  await expect(shape(page, 'Flow_Approved')).toHaveClass(/baton-sim-taken/);
  await expect(shape(page, 'End_Declined')).not.toHaveClass(/baton-sim-taken/);
  // The variables the step changed are highlighted.
  await expect(page.locator('[data-variable="lastUserTaskResult"], [data-variable="approved"]').first()).toHaveClass(/changed/);
  await expect(page.getByTestId('sim-steps').getByRole('button')).toHaveCount(2);
  await screenshot(page, 'simulation-approved');

  // Back to the start, then the other branch.
  await page.getByTestId('sim-back-0').click();
  await expect(page.getByTestId('sim-status')).toContainText('Waiting at 1 element');
  await expect(shape(page, 'End_Approved')).not.toHaveClass(/baton-sim-taken/);
  await expect(page.getByTestId('sim-steps').getByRole('button')).toHaveCount(1);
  await completeReview(page, 'decline');
  await page.getByTestId('sim-run').click();
  await expect(page.getByTestId('sim-token')).toHaveAttribute('data-at', 'End_Declined');
  await expect(shape(page, 'Flow_Declined')).toHaveClass(/baton-sim-taken/);
  await expect(shape(page, 'End_Approved')).not.toHaveClass(/baton-sim-taken/);

  // Save scenario downloads NAME.scenario.json with the recorded steps and what the run showed.
  await page.getByLabel('Scenario name').fill('declined by manager');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('sim-save').click()]);
  expect(download.suggestedFilename()).toBe('LoanApprovalProcess.declined-by-manager.scenario.json');
  const dir = mkdtempSync(join(tmpdir(), 'baton-sim-e2e-'));
  try {
    const file = join(dir, download.suggestedFilename());
    await download.saveAs(file);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.steps).toEqual([{ complete: TASK, data: { decision: 'decline' } }]);
    expect(saved.variables).toEqual({ applicant: 'Bo', requestedAmount: 1000 });
    expect(saved.expect.state).toBe('COMPLETED');
    expect(saved.expect.visits).toContain('End_Declined');
    // The file runs with `baton test` beside the model, as a user would from the command line.
    copyFileSync(join(templatesDir, 'loan-approval', 'LoanApprovalProcess.bpmn'), join(dir, 'LoanApprovalProcess.bpmn'));
    const bin = process.env.BATON_BIN ?? join(repoDir, 'target', 'debug', 'baton');
    const run = spawnSync(bin, ['test', dir], { encoding: 'utf8' });
    expect(run.stdout + run.stderr, 'baton test of the saved scenario').toContain('1 passed, 0 failed');
    expect(run.status).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // Check scenarios with the template's own scenario files: all green, every path covered.
  await page.getByTestId('sim-check').click();
  await expect(page.getByTestId('sim-result')).toHaveCount(4);
  await expect(page.locator('[data-testid="sim-result"].failed')).toHaveCount(0);
  await expect(page.getByTestId('sim-results')).toContainText('LoanApprovalProcess.declined.scenario.json');
  await expect(page.getByTestId('sim-coverage')).toContainText('everything is covered');
  await expect(shape(page, 'End_Approved')).toHaveClass(/baton-sim-covered/);

  // Only the saved one: it passes; the approved branch stands out as never taken.
  await page.getByLabel(/Check the template's 3 scenario files too/).uncheck();
  await page.getByTestId('sim-check').click();
  await expect(page.getByTestId('sim-result')).toHaveCount(1);
  await expect(page.getByTestId('sim-result').first()).toHaveClass(/passed/);
  await expect(page.getByTestId('sim-result').first()).toContainText('Passed declined by manager');
  await expect(page.getByTestId('sim-coverage')).toContainText('never taken: Loan approved (End_Approved), approved (Flow_Approved)');
  await expect(shape(page, 'End_Approved')).toHaveClass(/baton-sim-never/);
  await expect(shape(page, 'Flow_Approved')).toHaveClass(/baton-sim-never/);
  await expect(shape(page, 'End_Declined')).toHaveClass(/baton-sim-covered/);
  await expectAccessible(page, 'the simulation panel with scenario results');
  await screenshot(page, 'simulation-coverage');

  // Replay puts the saved scenario back into the panel: its steps, its end, the step to go back to.
  await page.getByRole('button', { name: 'Replay declined by manager in the panel' }).click();
  await expect(page.getByTestId('sim-steps')).toContainText('1. Completed Manager Review with {"decision":"decline"}');
  await expect(page.getByTestId('sim-status')).toContainText('Completed');
  await expect(shape(page, 'End_Declined')).toHaveClass(/baton-sim-taken/);
  await expect(page.getByTestId('sim-back-1')).toBeFocused();

  // Closing the panel gives the properties back and the focus to Simulate.
  await page.getByTestId('sim-close').click();
  await expect(panel(page)).toHaveCount(0);
  await expect(page.getByTestId('properties-panel')).toBeVisible();
  await expect(simulate).toBeFocused();
  await expect(shape(page, 'End_Approved')).not.toHaveClass(/baton-sim-never/);
});

test('a scenario that no longer fits the diagram shows red with its failure in words', async ({ page, openUi }) => {
  await openUi();
  await openLoanTemplate(page);
  await page.evaluate(() => {
    const scenario = {
      name: 'wrong',
      variables: {},
      steps: [{ complete: 'Task_ManagerReview', data: { decision: 'decline' } }],
      expect: { state: 'COMPLETED', visits: ['End_Approved'] },
    };
    localStorage.setItem('baton.simulation.scenarios.LoanApprovalProcess', JSON.stringify([{ name: 'wrong', scenario }]));
  });
  await page.getByTestId('simulate').click();
  await page.getByTestId('sim-with-template').uncheck();
  await page.getByTestId('sim-check').click();
  const result = page.getByTestId('sim-result');
  await expect(result).toHaveCount(1);
  await expect(result).toHaveClass(/failed/);
  await expect(result).toContainText('Failed wrong');
  await expect(result.locator('li')).not.toHaveCount(0);
  await expectAccessible(page, 'a failed scenario');
  await screenshot(page, 'simulation-failed-scenario');
});

test('timers and callbacks: advance the virtual clock, return a callback, bad input said beside its field', async ({ page, openUi }) => {
  await openUi();
  await page.getByTestId('open-template').click();
  await page.getByTestId('template-InvoiceReminderProcess').click();
  await expect(shape(page, 'Task_WaitForPayment')).toBeVisible();
  await page.getByTestId('simulate').click();
  await page.getByLabel('Start variables (JSON)').fill('{"invoiceId": "INV-7", "reminders": 0}');
  await page.getByTestId('sim-start').click();
  await expect(page.getByTestId('sim-status')).toContainText('Waiting at 1 element');
  await page.getByTestId('sim-run').click();

  // A duration the engine does not read is refused beside the clock, the text kept.
  await page.getByLabel('Advance by (ISO 8601)').fill('soon');
  await page.getByTestId('sim-advance').click();
  await expect(page.getByTestId('sim-clock-error')).toContainText('Refused');
  await expect(page.getByLabel('Advance by (ISO 8601)')).toHaveValue('soon');

  // The next timer is the daily reminder: its path is played, the counter highlighted.
  await page.getByTestId('sim-next-timer').click();
  await expect(page.getByTestId('sim-steps')).toContainText('Advanced the clock by');
  await expect(page.getByTestId('sim-clock-error')).toHaveText('');
  await page.getByTestId('sim-run').click();
  await expect(shape(page, 'End_Reminded')).toHaveClass(/baton-sim-taken/);
  await expect(page.locator('[data-variable="reminders"]')).toHaveClass(/changed/);
  await expect(page.locator('[data-variable="reminders"] td')).toHaveText('1');
  await expect(shape(page, 'Task_WaitForPayment')).toHaveClass(/baton-sim-waiting/);

  // The receive task returns its callback: JSON that is not JSON is refused in words, kept.
  const payload = page.getByLabel('Callback payload (JSON)');
  await payload.fill('{amount: 1200}');
  await page.getByRole('button', { name: 'Return callback: Wait for Payment' }).click();
  await expect(page.getByTestId('sim-error-Task_WaitForPayment')).toContainText('not valid JSON');
  await expect(payload).toHaveValue('{amount: 1200}');
  await expect(payload).toHaveAttribute('aria-invalid', 'true');
  await payload.fill('{"amount": 1200}');
  await page.getByRole('button', { name: 'Return callback: Wait for Payment' }).click();
  await expect(page.getByTestId('sim-status')).toContainText('Completed');
  await page.getByTestId('sim-run').click();
  await expect(page.getByTestId('sim-token')).toHaveAttribute('data-at', 'End_Paid');
  await expect(page.getByTestId('sim-steps')).toContainText('Returned callback INV-7 with {"amount":1200}');
  await expectAccessible(page, 'the simulation of timers and callbacks');
  await screenshot(page, 'simulation-timer-callback');
});

test('a declined card cancels the travel transaction: stepped through, the flight is undone before the hotel', async ({ page, openUi }) => {
  await openUi();
  await page.getByTestId('open-template').click();
  await page.getByTestId('template-TravelBookingProcess').click();
  await expect(shape(page, 'Tx_BookTrip')).toBeVisible();
  // Cancel events inside a transaction are fine to both the drawing rules and the engine.
  await expect(page.getByTestId('problems-panel')).toContainText('No problems found');
  await page.getByTestId('simulate').click();
  await page.getByLabel('Start variables (JSON)').fill('{"tripId": "TRIP-7"}');
  await page.getByTestId('sim-start').click();
  await expect(page.getByTestId('sim-status')).toContainText('Waiting at 1 element');
  await page.getByTestId('sim-run').click();
  await expect(shape(page, 'Task_WaitForPayment')).toHaveClass(/baton-sim-waiting/);

  // The gateway declines the card: the transaction is cancelled.
  await page.getByLabel('Callback payload (JSON)').fill('{"status": "failed", "reason": "insufficient funds"}');
  await page.getByRole('button', { name: 'Return callback: Wait for the card payment' }).click();
  await expect(page.getByTestId('sim-status')).toContainText('Waiting at 1 element');

  // Stepped one visit at a time, as a trainer would in front of a class.
  // Each Step is awaited until it was played (the count left to play changes): a click while the
  // token still moves along a flow is ignored, and a slow machine must not skip or miscount one.
  const played: string[] = [];
  const queue = page.getByTestId('sim-queue');
  for (let i = 0; i < 40; i++) {
    const before = (await queue.textContent()) ?? '';
    if (!/to play$/.test(before)) break;
    await page.getByTestId('sim-step-next').click();
    await expect(queue).not.toHaveText(before);
    const at = await page.getByTestId('sim-token').getAttribute('data-at');
    if (at && played[played.length - 1] !== at) played.push(at);
  }
  await expect(queue).toHaveText('Token at the wait');
  const order = ['End_CancelTrip', 'Task_CancelFlight', 'Task_CancelHotel', 'Boundary_Cancelled', 'Task_TellCustomer'];
  expect(played.filter((id) => order.includes(id)), `played: ${played.join(', ')}`).toEqual(order);
  for (const id of ['End_CancelTrip', 'Task_CancelFlight', 'Task_CancelHotel', 'Boundary_Cancelled', 'Flow_Cancelled']) {
    await expect(shape(page, id)).toHaveClass(/baton-sim-taken/);
  }
  await expect(shape(page, 'Task_TellCustomer')).toHaveClass(/baton-sim-waiting/);
  await expect(shape(page, 'End_Paid')).not.toHaveClass(/baton-sim-taken/);
  await expect(shape(page, 'Task_SendItinerary')).not.toHaveClass(/baton-sim-taken/);
  await expectAccessible(page, 'the simulation of a cancelled transaction');
  await screenshot(page, 'simulation-transaction-cancelled');

  // This run and the template's own scenarios, paid and declined, all pass.
  await page.getByTestId('sim-check').click();
  await expect(page.getByTestId('sim-result')).toHaveCount(3);
  await expect(page.locator('[data-testid="sim-result"].failed')).toHaveCount(0);
  await expect(page.getByTestId('sim-results')).toContainText('TravelBookingProcess.declined.scenario.json');
});

test('the panel belongs to its diagram: another tab shows its own properties, an edit asks for a restart', async ({ page, openUi }) => {
  await openUi();
  await openLoanTemplate(page);
  await page.getByTestId('simulate').click();
  await page.getByTestId('sim-start').click();
  await expect(page.getByTestId('sim-status')).toContainText('Waiting');
  await page.getByTestId('tab-1').click();
  await expect(panel(page)).toBeHidden();
  await expect(page.getByTestId('properties-panel')).toBeVisible();
  await expect(page.getByTestId('simulate')).toHaveAttribute('aria-expanded', 'false');
  await page.getByTestId('tab-2').click();
  await expect(panel(page)).toBeVisible();
  await expect(page.getByTestId('sim-status')).toContainText('Waiting');
  // Keys typed in the panel stay in the panel: a selected shape is not deleted by Backspace or Delete there.
  await shape(page, 'Gateway_Decision').click();
  const vars = page.getByLabel('Start variables (JSON)');
  await vars.focus();
  await page.keyboard.press('End');
  await page.keyboard.press('Backspace');
  await page.keyboard.press('Delete');
  await expect(vars).toHaveValue('{');
  await expect(shape(page, 'Gateway_Decision')).toHaveCount(1);
  await vars.fill('{}');
  await expectAccessible(page, 'the simulation panel of a second tab');
  // Editing the diagram (here: a new element from the palette by keyboard) marks the run stale.
  await canvas(page).locator('.djs-palette .entry[data-action="create.task"]').focus();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('sim-stale')).toContainText('Restart');
  // The designer's own undo still works with the panel open.
  await page.getByTestId('undo').click();
  await page.getByTestId('sim-start').click();
  await expect(page.getByTestId('sim-stale')).toHaveCount(0);
  await page.getByTestId('sim-run').click();
  await expect(shape(page, TASK)).toHaveClass(/baton-sim-waiting/);
  // The dark theme: the panel and the drawing stay readable.
  await page.getByRole('button', { name: 'Dark theme' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expectAccessible(page, 'the simulation panel in the dark theme');
  await screenshot(page, 'simulation-dark');
});

test("a waiting task's input parameters are shown beside it, and its output lands on the process", async ({ page, openUi }) => {
  const io =
    '<bpmn:extensionElements><camunda:inputOutput xmlns:camunda="http://camunda.org/schema/1.0/bpmn">' +
    '<camunda:inputParameter name="net">${price * qty}</camunda:inputParameter>' +
    '<camunda:inputParameter name="label">Quote ${quoteId}</camunda:inputParameter>' +
    '<camunda:outputParameter name="approvedTotal">${net + lastUserTaskResult.fee}</camunda:outputParameter>' +
    '</camunda:inputOutput></bpmn:extensionElements>';
  const xml = inARow({ id: 'QuoteIo', name: 'Quote', middle: { type: 'userTask', id: 'Approve', name: 'Approve the quote', body: io } });
  await openUi();
  await page.getByTestId('open-file-input').setInputFiles({ name: 'QuoteIo.bpmn', mimeType: 'application/xml', buffer: Buffer.from(xml) });
  await expect(shape(page, 'Approve')).toBeVisible();
  await page.getByTestId('simulate').click();
  await page.getByLabel('Start variables (JSON)').fill('{"price": 20, "qty": 3, "quoteId": "Q-9"}');
  await page.getByTestId('sim-start').click();
  await expect(page.getByTestId('sim-status')).toContainText('Waiting at 1 element');

  // The inputs are the task's own: shown with it, not among the process variables.
  const locals = page.getByTestId('sim-locals-Approve');
  await expect(locals.locator('[data-local="net"] td')).toHaveText('60');
  await expect(locals.locator('[data-local="label"] td')).toHaveText('"Quote Q-9"');
  await expect(page.locator('[data-variable="net"]')).toHaveCount(0);
  await expectAccessible(page, 'a waiting task with input parameters');
  await screenshot(page, 'simulation-input-parameters');

  // Completed with a fee: the output is set on the process, the inputs go.
  await page.getByTestId('sim-data-Approve').fill('{"fee": 5}');
  await page.getByTestId('sim-act-Approve').click();
  await expect(page.getByTestId('sim-status')).toContainText('Completed');
  await expect(page.locator('[data-variable="approvedTotal"] td')).toHaveText('65');
  await expect(page.locator('[data-variable="net"]')).toHaveCount(0);
  await expect(page.getByTestId('sim-locals-Approve')).toHaveCount(0);
});

test('start as a user: scripts see them as InitiatedBy, and a replayed scenario keeps its users', async ({ page, openUi }) => {
  const xml = inARow({
    id: 'WhoStarted',
    name: 'Who started',
    middle: { type: 'scriptTask', id: 'Note', name: 'Note the initiator', attrs: 'scriptFormat="javascript"', body: "<bpmn:script>execution.setVariable('approver', execution.getVariable('InitiatedBy') || 'nobody');</bpmn:script>" },
  });
  await openUi();
  await page.getByTestId('open-file-input').setInputFiles({ name: 'WhoStarted.bpmn', mimeType: 'application/xml', buffer: Buffer.from(xml) });
  await expect(shape(page, 'Note')).toBeVisible();
  await page.getByTestId('simulate').click();

  // As mary: the script reads her name.
  await page.getByLabel('Start as (user; InitiatedBy in scripts)').fill('mary');
  await page.getByTestId('sim-start').click();
  await expect(page.getByTestId('sim-status')).toContainText('Completed');
  await expect(page.locator('[data-variable="InitiatedBy"] td')).toHaveText('"mary"');
  await expect(page.locator('[data-variable="approver"] td')).toHaveText('"mary"');

  // Blank: the owner starts it, who is no user.
  await page.getByLabel('Start as (user; InitiatedBy in scripts)').fill('');
  await page.getByTestId('sim-start').click();
  await expect(page.locator('[data-variable="approver"] td')).toHaveText('"nobody"');
  await expect(page.locator('[data-variable="InitiatedBy"]')).toHaveCount(0);

  // A kept scenario with users and startedBy replays as it says, and Restart keeps its users until told not to.
  await page.evaluate(() => {
    const scenario = { name: 'as ann', startedBy: 'ann', users: { ann: ['CLERKS'] }, variables: {}, steps: [], expect: { state: 'COMPLETED' } };
    localStorage.setItem('baton.simulation.scenarios.WhoStarted', JSON.stringify([{ name: 'as ann', scenario }]));
  });
  await page.getByTestId('sim-check').click();
  await expect(page.getByTestId('sim-result')).toContainText('Passed as ann');
  await page.getByRole('button', { name: 'Replay as ann in the panel' }).click();
  await expect(page.getByLabel('Start as (user; InitiatedBy in scripts)')).toHaveValue('ann');
  await expect(page.locator('[data-variable="approver"] td')).toHaveText('"ann"');
  await expect(page.getByTestId('sim-users-note')).toContainText("Steps are held to the replayed scenario's users (ann)");
  await page.getByTestId('sim-users-note').scrollIntoViewIfNeeded();
  await expectAccessible(page, 'a session replayed as a user with its users');
  await screenshot(page, 'simulation-started-by');
  await page.getByTestId('sim-forget-users').click();
  await expect(page.getByTestId('sim-users-note')).toHaveCount(0);
  await expect(page.getByTestId('sim-start')).toBeFocused();
});

test("while a replayed scenario's users are in force, a task is completed as one of them", async ({ page, openUi }) => {
  await openUi();
  await openLoanTemplate(page);
  await page.evaluate(() => {
    const scenario = { name: 'clerk starts', startedBy: 'bob', users: { mary: ['MANAGERS'], bob: ['CLERKS'] }, variables: { amount: 5 }, steps: [], expect: { state: 'WAITING' } };
    localStorage.setItem('baton.simulation.scenarios.LoanApprovalProcess', JSON.stringify([{ name: 'clerk starts', scenario }]));
  });
  await page.getByTestId('simulate').click();
  await page.getByTestId('sim-with-template').uncheck();
  await page.getByTestId('sim-check').click();
  await page.getByRole('button', { name: 'Replay clerk starts in the panel' }).click();
  await expect(page.getByTestId('sim-status')).toContainText('Waiting at 1 element');

  // Bob started it and is the first choice; the review is the managers' own, so his try is refused beside the task.
  const as = page.getByLabel('Complete as');
  await expect(as).toHaveValue('bob');
  await completeReview(page, 'approve', '5');
  await expect(page.getByTestId(`sim-error-${TASK}`)).not.toHaveText('');
  await expect(page.getByTestId('sim-status')).toContainText('Waiting at 1 element');

  // Mary is a manager: her approval goes through and the task's script records her.
  await as.selectOption('mary');
  await page.getByTestId(`sim-act-${TASK}`).click();
  await expect(page.getByTestId('sim-steps')).toContainText('Completed Manager Review as mary with');
  await expect(page.locator('[data-variable="lastUserTaskResult"] td')).toContainText('"approvedBy":"mary"');
  await expectAccessible(page, 'a task completed as one of the replayed users');
  await screenshot(page, 'simulation-complete-as');
});
