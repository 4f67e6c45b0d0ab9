import { beforeEach, describe, expect, it } from 'vitest';
import {
  checkList,
  actionFor,
  waitDetail,
  allVisits,
  changedNames,
  coverageText,
  describeStep,
  forgetScenario,
  keepScenario,
  loadScenarios,
  neverTaken,
  playback,
  refusalText,
  scenarioFileName,
  scenarioToSave,
  startRequest,
  statusText,
  stepFor,
  storageKey,
  unionCoverage,
  type Scenario,
  type SimView,
  type Waiting,
} from './model';
import { collectForm, simpleFields } from './form';

/** A session of the loan template after the manager approved (shaped as the contract says). */
function approvedView(): SimView {
  return {
    sessionId: 's-1',
    instanceGuid: 'g-1',
    status: 'COMPLETED',
    clock: '2026-01-01T00:00:00Z',
    nextTimer: null,
    variables: { applicant: 'Bo', approved: true },
    waiting: [],
    incidents: [],
    start: {
      visited: [
        { kind: 'element', id: 'Start' },
        { kind: 'flow', id: 'Flow_1' },
        { kind: 'element', id: 'Task_ManagerReview' },
      ],
      variables: { applicant: 'Bo' },
    },
    steps: [
      {
        index: 1,
        step: { complete: 'Task_ManagerReview', data: { decision: 'approve', approvedAmount: 5 } },
        visited: [
          { kind: 'flow', id: 'Flow_2' },
          { kind: 'element', id: 'Gateway_Decision' },
          { kind: 'flow', id: 'Flow_Approved' },
          { kind: 'element', id: 'End_Approved' },
        ],
        changed: { approved: true },
        removed: [],
      },
    ],
    scenario: {
      process: 'LoanApprovalProcess',
      variables: { applicant: 'Bo' },
      clock: '2026-01-01T00:00:00Z',
      steps: [{ complete: 'Task_ManagerReview', data: { decision: 'approve', approvedAmount: 5 } }],
    },
    taken: {
      elements: ['Start', 'Task_ManagerReview', 'Gateway_Decision', 'End_Approved'],
      flows: ['Flow_1', 'Flow_2', 'Flow_Approved'],
    },
  };
}

const wait = (w: Partial<Waiting>): Waiting => ({ elementId: 'X', taskType: 'userTask', ...w });

describe('waiting elements', () => {
  it('offer the action of their kind, sent as the scenario step of API.md', () => {
    expect(actionFor(wait({ taskType: 'userTask', formKey: 'f' }))).toBe('complete');
    expect(stepFor(wait({ elementId: 'Review' }), { a: 1 })).toEqual({ complete: 'Review', data: { a: 1 } });
    const callback = wait({ taskType: 'receiveTask', correlationKey: 'PAY-1' });
    expect(actionFor(callback)).toBe('callback');
    expect(stepFor(callback, { status: 'ok' })).toEqual({ callback: 'PAY-1', data: { status: 'ok' } });
    const message = wait({ taskType: 'intermediateCatchEvent', messageName: 'Paid', correlationKey: 'K' });
    expect(stepFor(message, {})).toEqual({ message: 'Paid', correlationKey: 'K', data: {} });
    expect(stepFor(wait({ taskType: 'intermediateCatchEvent', signalName: 'Go' }), {})).toEqual({ signal: 'Go', data: {} });
    expect(stepFor(wait({ taskType: 'intermediateCatchEvent', timerDue: '2026-01-02T00:00:00Z' }), {})).toEqual({ advance: 'nextTimer' });
    // A task waiting for its next attempt after a failed run: the clock moves to that attempt.
    const retry = wait({ taskType: 'retry', timerDue: '2026-01-01T00:10:00Z' });
    expect(actionFor(retry)).toBe('timer');
    expect(stepFor(retry, {})).toEqual({ advance: 'nextTimer' });
    expect(waitDetail(retry, 'timer')).toBe('its last run failed; next attempt due 2026-01-01T00:10:00Z');
    expect(waitDetail(wait({ taskType: 'timer', timerDue: '2026-01-02T00:00:00Z' }), 'timer')).toBe('timer due 2026-01-02T00:00:00Z');
  });

  it('a receive task in form mode is completed like a user task; one with a key and a message name returns its callback', () => {
    expect(actionFor(wait({ taskType: 'receiveTask' }))).toBe('complete');
    expect(actionFor(wait({ taskType: 'receiveTask', formKey: 'payment-review-form', correlationKey: 'PAY-1' }))).toBe('complete');
    expect(actionFor(wait({ taskType: 'receiveTask', correlationKey: 'INV-1', messageName: 'InvoicePaid' }))).toBe('callback');
    expect(actionFor(wait({ taskType: 'intermediateCatchEvent', messageName: 'Paid' }))).toBe('message');
  });
});

describe('steps and playback', () => {
  it('describes steps in words with the element names', () => {
    const names = (id: string) => (id === 'Task_ManagerReview' ? 'Manager Review' : null);
    expect(describeStep({ complete: 'Task_ManagerReview', data: { decision: 'decline' } }, names)).toBe(
      'Completed Manager Review with {"decision":"decline"}',
    );
    expect(describeStep({ advance: 'nextTimer' })).toBe('Advanced the clock to the next timer');
    expect(describeStep({ advance: 'PT1H' })).toBe('Advanced the clock by PT1H');
    expect(describeStep({ callback: 'K', data: {} })).toBe('Returned callback K');
  });

  it('queues exactly the last step’s visits after a step, and draws everything after going back', () => {
    const view = approvedView();
    const animated = playback(view, true);
    expect(animated.queue.map((v) => v.id)).toEqual(['Flow_2', 'Gateway_Decision', 'Flow_Approved', 'End_Approved']);
    expect(animated.drawn.map((v) => v.id)).toEqual(['Start', 'Flow_1', 'Task_ManagerReview']);
    const back = playback(view, false);
    expect(back.queue).toEqual([]);
    expect(back.drawn).toEqual(allVisits(view));
  });

  it('after the start, the start’s visits are queued', () => {
    const view = { ...approvedView(), steps: [] };
    expect(playback(view, true).queue.map((v) => v.id)).toEqual(['Start', 'Flow_1', 'Task_ManagerReview']);
    expect(changedNames(view)).toEqual(new Set(['applicant']));
  });

  it('highlights the variables the last step changed or removed', () => {
    const view = approvedView();
    view.steps[0]!.removed = ['old'];
    expect(changedNames(view)).toEqual(new Set(['approved', 'old']));
  });

  it('says the status in words', () => {
    expect(statusText(approvedView())).toBe('Completed — clock 2026-01-01 00:00:00 UTC');
    const waiting = { ...approvedView(), status: 'WAITING', waiting: [wait({})] };
    expect(statusText(waiting)).toMatch(/^Waiting at 1 element —/);
  });
});

describe('scenario files', () => {
  it('are named beside the diagram so `baton test` finds the model by its stem', () => {
    expect(scenarioFileName('LoanApprovalProcess.bpmn', 'Declined by the manager')).toBe('LoanApprovalProcess.declined-by-the-manager.scenario.json');
    expect(scenarioFileName('my diagram.bpmn', '')).toBe('my-diagram.simulated.scenario.json');
  });

  it('carry the recorded steps and an expectation of what the run showed', () => {
    const saved = scenarioToSave(approvedView(), 'approved');
    expect(saved.name).toBe('approved');
    expect(saved.process).toBe('LoanApprovalProcess');
    expect(saved.steps).toEqual([{ complete: 'Task_ManagerReview', data: { decision: 'approve', approvedAmount: 5 } }]);
    expect(saved.expect).toEqual({ state: 'COMPLETED', visits: ['Start', 'Task_ManagerReview', 'Gateway_Decision', 'End_Approved'] });
  });

  describe('kept per diagram', () => {
    beforeEach(() => localStorage.clear());
    it('keeps, replaces by name and forgets', () => {
      const s = scenarioToSave(approvedView(), 'a');
      keepScenario(localStorage, 'Loan', { name: 'a', scenario: s });
      keepScenario(localStorage, 'Loan', { name: 'b', scenario: s });
      keepScenario(localStorage, 'Loan', { name: 'a', scenario: { ...s, steps: [] } });
      expect(loadScenarios(localStorage, 'Loan').map((k) => [k.name, k.scenario.steps.length])).toEqual([
        ['b', 1],
        ['a', 0],
      ]);
      expect(loadScenarios(localStorage, 'Other')).toEqual([]);
      expect(forgetScenario(localStorage, 'Loan', 'b').map((k) => k.name)).toEqual(['a']);
    });
    it('ignores what is not a list of scenarios', () => {
      localStorage.setItem(storageKey('Loan'), '{not json');
      expect(loadScenarios(localStorage, 'Loan')).toEqual([]);
      localStorage.setItem(storageKey('Loan'), JSON.stringify([{ name: 'x' }, { name: 'y', scenario: { steps: [] } }]));
      expect(loadScenarios(localStorage, 'Loan').map((k) => k.name)).toEqual(['y']);
    });
  });
});

describe('starting a session', () => {
  it('starts from the panel as the user typed, trimmed, and as the owner when it is blank', () => {
    expect(startRequest('<x/>', { variables: { a: 1 }, startedBy: '  mary ' })).toEqual({ bpmnXml: '<x/>', variables: { a: 1 }, startedBy: 'mary' });
    expect(startRequest('<x/>', { variables: {}, startedBy: '   ' })).toEqual({ bpmnXml: '<x/>', variables: {} });
    expect(startRequest('<x/>', {})).toEqual({ bpmnXml: '<x/>', variables: {} });
  });
  it('replays a scenario with everything its start names', () => {
    const users = { mary: { teams: ['MANAGERS'], role: 'MANAGER' }, bob: ['CLERKS'] };
    const scenario: Scenario = { process: 'Authorized', variables: { n: 1 }, clock: '2026-03-01T09:00:00Z', startedBy: 'mary', users, steps: [{ complete: 'Review', data: {} }] };
    expect(startRequest('<x/>', scenario)).toEqual({
      bpmnXml: '<x/>',
      variables: { n: 1 },
      clock: '2026-03-01T09:00:00Z',
      processKey: 'Authorized',
      startedBy: 'mary',
      users,
    });
  });
  it('completes a task as the user chosen, and says so in the step list', () => {
    const review = { elementId: 'Review', taskType: 'userTask' } as Waiting;
    const step = stepFor(review, { ok: true }, 'mary');
    expect(step).toEqual({ complete: 'Review', data: { ok: true }, user: 'mary' });
    expect(stepFor(review, {})).toEqual({ complete: 'Review', data: {} });
    expect(describeStep(step)).toBe('Completed Review as mary with {"ok":true}');
  });
  it('saves who started the session and its users with the scenario', () => {
    const view = approvedView();
    view.scenario = { ...view.scenario!, startedBy: 'mary', users: { mary: ['MANAGERS'] } };
    const saved = scenarioToSave(view, 'as mary');
    expect(saved.startedBy).toBe('mary');
    expect(saved.users).toEqual({ mary: ['MANAGERS'] });
  });
});

describe('the scenario files beside a diagram', () => {
  const happy = { variables: { amount: 5 }, steps: [{ complete: 'Review', data: {} }] } as unknown as Scenario;
  const late = { steps: [{ advance: 'PT1H' }] } as unknown as Scenario;

  it('runs each file under its name, then the template, then kept scenarios no file holds', () => {
    const files = [{ name: 'Order.happy.scenario.json', text: JSON.stringify(happy, null, 2) }];
    const template = [{ name: 'Order.template.scenario.json', scenario: late }];
    const kept = [
      { name: 'happy', scenario: happy },
      { name: 'only here', scenario: late },
    ];
    const list = checkList(files, template, kept);
    expect(list.runs.map((r) => r.name)).toEqual(['Order.happy.scenario.json', 'Order.template.scenario.json', 'only here']);
    expect(list.runs[0]!.scenario).toEqual(happy);
    expect(list.unreadable).toEqual([]);
  });

  it('says why a file is left out: not read, not JSON, not a scenario', () => {
    const list = checkList(
      [
        { name: 'a.scenario.json', error: 'not UTF-8 text' },
        { name: 'b.scenario.json', text: '{"steps": [' },
        { name: 'c.scenario.json', text: '{"steps": {}}' },
        { name: 'd.scenario.json', text: '[1, 2]' },
      ],
      [],
      [],
    );
    expect(list.runs).toEqual([]);
    expect(list.unreadable.map((u) => u.error)).toEqual([
      'a.scenario.json was not read: not UTF-8 text',
      expect.stringMatching(/^b\.scenario\.json is not valid JSON: /),
      'c.scenario.json is not a scenario: its "steps" is not a list.',
      'd.scenario.json is not a scenario: it is not a JSON object.',
    ]);
  });

  it('reads a scenario without steps as one that only starts (as baton test does)', () => {
    const list = checkList([{ name: 'e.scenario.json', text: '{"expect": {"state": "COMPLETED"}}' }], [], []);
    expect(list.runs).toEqual([{ name: 'e.scenario.json', scenario: { expect: { state: 'COMPLETED' }, steps: [] } }]);
  });
});

describe('coverage', () => {
  const all = {
    elements: ['Start', 'Task_ManagerReview', 'Gateway_Decision', 'End_Approved', 'End_Declined'],
    flows: ['Flow_1', 'Flow_2', 'Flow_Approved', 'Flow_Declined'],
  };
  it('is the union of every run, and names what was never taken', () => {
    const one = unionCoverage([{ coverage: approvedView().taken }]);
    expect(neverTaken(all, one)).toEqual({ elements: ['End_Declined'], flows: ['Flow_Declined'] });
    expect(coverageText(all, one)).toBe('4 of 5 elements and 3 of 4 flows taken; never taken: End_Declined, Flow_Declined.');
    expect(coverageText(all, one, (id) => (id === 'End_Declined' ? 'Loan declined' : null))).toMatch(/never taken: Loan declined \(End_Declined\), Flow_Declined\.$/);
    const both = unionCoverage([
      { coverage: approvedView().taken },
      { coverage: { elements: ['Start', 'End_Declined'], flows: ['Flow_Declined'] } },
    ]);
    expect(coverageText(all, both)).toBe('5 of 5 elements and 4 of 4 flows taken: everything is covered.');
  });
});

describe('refusals', () => {
  it('keep the runtime’s own words', () => {
    expect(refusalText({ message: 'Step refused', errors: [{ field: 'step', message: 'Approved amount is required' }] })).toBe(
      'Step refused: Approved amount is required',
    );
    expect(refusalText({ message: 'Not found', errors: [] })).toBe('Not found');
  });
});

describe('simple forms', () => {
  const loanForm = {
    components: [
      { type: 'textfield', key: 'applicant', label: 'Applicant', readonly: true },
      { type: 'radio', key: 'decision', label: 'Decision', validate: { required: true }, values: [{ label: 'Approve', value: 'approve' }, { label: 'Decline', value: 'decline' }] },
      { type: 'number', key: 'approvedAmount', label: 'Approved amount' },
      { type: 'checkbox', key: 'urgent', label: 'Urgent' },
      { type: 'text', text: '# heading' },
    ],
  };

  it('draw the editable fields of a simple form and skip read-only ones', () => {
    const fields = simpleFields(loanForm)!;
    expect(fields.map((f) => [f.key, f.type, f.required])).toEqual([
      ['decision', 'choice', true],
      ['approvedAmount', 'number', false],
      ['urgent', 'checkbox', false],
    ]);
    expect(fields[0]!.options).toEqual([
      { label: 'Approve', value: 'approve' },
      { label: 'Decline', value: 'decline' },
    ]);
  });

  it('fall back to JSON for anything else', () => {
    expect(simpleFields({ components: [{ type: 'dynamiclist', key: 'rows' }] })).toBeNull();
    expect(simpleFields(null)).toBeNull();
    expect(simpleFields({ components: [{ type: 'textfield' }] })).toBeNull();
  });

  it('collect numbers as numbers, leave empty optional fields out, refuse a missing required one', () => {
    const fields = simpleFields(loanForm)!;
    expect(collectForm(fields, { decision: 'approve', approvedAmount: ' 1200 ', urgent: true })).toEqual({
      ok: true,
      data: { decision: 'approve', approvedAmount: 1200, urgent: true },
    });
    expect(collectForm(fields, { decision: 'decline', approvedAmount: '' })).toEqual({ ok: true, data: { decision: 'decline', urgent: false } });
    expect(collectForm(fields, {})).toEqual({ ok: false, key: 'decision', message: 'Decision is required.' });
    expect(collectForm(fields, { decision: 'approve', approvedAmount: '12x' })).toEqual({
      ok: false,
      key: 'approvedAmount',
      message: 'Approved amount must be a number, not "12x".',
    });
  });
});

describe('template scenarios', () => {
  it('are the files named after the process id', async () => {
    const { templateScenarioFiles } = await import('./templates');
    const paths = [
      '../../../../bpmn-templates/loan-approval/LoanApprovalProcess.scenario.json',
      '../../../../bpmn-templates/loan-approval/LoanApprovalProcess.declined.scenario.json',
      '../../../../bpmn-templates/loan-approval/LoanApprovalProcessX.scenario.json',
      '../../../../bpmn-templates/payment-approval/PaymentApprovalProcess.scenario.json',
    ];
    expect(templateScenarioFiles('LoanApprovalProcess', paths).map((p) => p.split('/').pop())).toEqual([
      'LoanApprovalProcess.declined.scenario.json',
      'LoanApprovalProcess.scenario.json',
    ]);
  });
  it('come with the loan template', async () => {
    const { templateScenarios } = await import('./templates');
    const list = await templateScenarios('LoanApprovalProcess');
    expect(list.map((k) => k.name)).toContain('LoanApprovalProcess.declined.scenario.json');
    expect(list.every((k) => Array.isArray(k.scenario.steps))).toBe(true);
  });
});
