/**
 * The section's rendering, with the transport answering exactly what `baton serve` answers
 * (the shapes of docs/scheduling.md): the scheduled start timers, a stopped start event with
 * its Retry button, a retry that starts an instance, a refusal and an attempt that fails again.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

type Envelope = { ok: true; message: string; data: unknown } | { ok: false; message: string; errors: { field: string; message: string }[]; data: unknown };
const calls: { cmd: string; data: unknown }[] = [];
let answer: (cmd: string, data: any) => Envelope;

vi.mock('../transport', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../transport')>()),
  execute: async (cmd: string, data: unknown) => {
    calls.push({ cmd, data });
    return answer(cmd, data);
  },
  query: async (cmd: string, data: unknown) => {
    calls.push({ cmd, data });
    const r = answer(cmd, data);
    if (!r.ok) throw new Error(r.message);
    return r.data;
  },
}));

import { mountTimerStarts, type TimerStarts } from './section';

const GUID = '0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';
const open = (id: number, error = 'internal error; reference 1a2b3c4d') => ({
  id,
  instanceGuid: null,
  elementId: 'tick',
  message: `Timer start event 'tick' stopped after 3 failed attempts to start an instance; the last one failed with: ${error}. RetryIncidentCommand with this processDefinitionId and elementId tries it again; deploying a new version replaces it`,
  createdAt: '2026-03-01T02:06:00.000000Z',
  resolvedAt: null,
  kind: 'timerStart',
  processDefinitionId: 3,
  processKey: 'Nightly',
  attempts: 3,
  resolution: null,
});
const instanceIncident = {
  id: 11,
  instanceGuid: '5b0c3d0e-1111-4222-8333-944445555666',
  elementId: 'Work',
  message: 'the ledger is closed',
  createdAt: '2026-03-01T01:00:00.000000Z',
  resolvedAt: null,
};
const startRow = (retries: number, lastError: string | null) => ({
  kind: 'start',
  instanceGuid: null,
  processDefinitionId: 4,
  elementId: 'beat',
  jobId: null,
  dueAt: '2099-01-01T00:07:00.000000Z',
  fired: 0,
  retries,
  lastError,
});
const definitions = {
  items: [
    { processDefinitionId: 3, processKey: 'Nightly', version: 1, name: 'Nightly', forms: {}, deployedAt: '2026-03-01T00:00:00.000000Z' },
    { processDefinitionId: 4, processKey: 'Good', version: 2, name: null, forms: {}, deployedAt: '2026-03-01T00:00:00.000000Z' },
  ],
  totalCount: 2,
};

let section: TimerStarts;
const $ = (testid: string) => section.root.querySelector<HTMLElement>(`[data-testid="${testid}"]`);
const $$ = (testid: string) => [...section.root.querySelectorAll<HTMLElement>(`[data-testid="${testid}"]`)];

function world(state: { incidents: unknown[]; timers: unknown[] }) {
  return (cmd: string, data: any): Envelope => {
    switch (cmd) {
      case 'GetTimerListQuery':
        expect(data).toEqual({ kind: 'start', pageNumber: 1, pageSize: 1000 });
        return { ok: true, message: 'OK', data: { items: state.timers, totalCount: state.timers.length } };
      case 'GetIncidentListQuery':
        return { ok: true, message: 'OK', data: { items: state.incidents, totalCount: state.incidents.length } };
      case 'GetProcessDefinitionListQuery':
        return { ok: true, message: 'OK', data: definitions };
      default:
        throw new Error(`unexpected ${cmd}`);
    }
  };
}

beforeEach(() => {
  calls.length = 0;
  section = mountTimerStarts();
  document.body.append(section.banner, section.root);
});
afterEach(() => {
  section.destroy();
  document.body.replaceChildren();
});

describe('the timer start events section', () => {
  it('says so when nothing is scheduled and nothing stopped', async () => {
    answer = world({ incidents: [instanceIncident], timers: [] });
    await section.reload();
    expect($('timer-starts-summary')!.textContent).toBe('0 timer start events scheduled, none stopped');
    expect($('start-incidents-empty')!.hidden).toBe(false);
    expect($('start-timers-empty')!.hidden).toBe(false);
    expect($('start-incidents')!.hidden).toBe(true);
    expect(section.banner.hidden).toBe(true);
  });

  it('lists a start timer with its attempts left and last error, and a stopped one with Retry', async () => {
    answer = world({ incidents: [instanceIncident, open(12)], timers: [startRow(2, 'internal error; reference 9f8e7d6c')] });
    await section.reload();
    const timer = $$('start-timer-row');
    expect(timer).toHaveLength(1);
    expect(timer[0]!.dataset.retrying).toBe('true');
    expect(timer[0]!.textContent).toContain('beat');
    expect(timer[0]!.textContent).toContain('Good v2');
    expect($('start-timer-retries')!.textContent).toBe('2 of 3');
    expect($('start-timer-error')!.textContent).toBe('internal error; reference 9f8e7d6c');
    expect($('start-timer-due')!.textContent).toContain('attempt 2 of 3');
    expect($('start-timer-due')!.querySelector('time')!.dateTime).toBe('2099-01-01T00:07:00.000000Z');

    const rows = $$('start-incident-row');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.textContent).toContain('Nightly v1');
    expect($('start-incident-message')!.textContent).toContain('internal error; reference 1a2b3c4d');
    const button = $('start-retry') as HTMLButtonElement;
    expect(button.textContent).toBe('Retry');
    expect(button.getAttribute('aria-label')).toBe('Retry tick of Nightly');
    expect(section.banner.hidden).toBe(false);
    expect(section.banner.textContent).toContain('(Nightly / tick)');
    expect($('timer-starts-summary')!.textContent).toBe('1 timer start event scheduled, 1 stopped with an incident');
  });

  it('leaves its rows in place when a read brings the same, and draws them again when it does not', async () => {
    const state = { incidents: [open(12)], timers: [startRow(2, null)] };
    answer = world(state);
    await section.reload();
    const [incident, timer] = [$('start-incident-row'), $('start-timer-row')];
    await section.reload();
    expect($('start-incident-row')).toBe(incident);
    expect($('start-timer-row')).toBe(timer);
    expect(incident!.isConnected).toBe(true);
    state.timers = [startRow(1, 'internal error; reference 9f8e7d6c')];
    await section.reload();
    expect($('start-timer-row')).not.toBe(timer);
    expect($('start-timer-retries')!.textContent).toBe('1 of 3');
    expect($('start-incident-row')).not.toBe(incident);
  });

  it('retries: sends the start event, links the instance it started, and the incident leaves the list', async () => {
    const state = { incidents: [open(12)] as unknown[], timers: [] as unknown[] };
    const base = world(state);
    answer = (cmd, data) => {
      if (cmd === 'RetryIncidentCommand') {
        state.incidents = [];
        state.timers = [{ ...startRow(3, null), processDefinitionId: 3, elementId: 'tick' }];
        return { ok: true, message: 'OK', data: { instanceGuid: GUID, status: 'COMPLETED', incidents: [] } };
      }
      return base(cmd, data);
    };
    await section.reload();
    ($('start-retry') as HTMLButtonElement).click();
    await vi.waitFor(() => expect($('start-retry-note')!.hidden).toBe(false));
    expect(calls.find((c) => c.cmd === 'RetryIncidentCommand')!.data).toEqual({ processDefinitionId: 3, elementId: 'tick' });
    const link = $('start-retry-instance') as HTMLAnchorElement;
    expect(link.getAttribute('href')).toBe(`#/instances/${GUID}`);
    expect(link.textContent).toBe(GUID);
    expect($('start-retry-note')!.textContent).toBe(
      `Retried Nightly / tick: it started instance ${GUID} (completed). The start event fires on schedule again.`,
    );
    expect(document.activeElement).toBe($('start-retry-note'));
    expect($$('start-incident-row')).toHaveLength(0);
    expect($$('start-timer-row')).toHaveLength(1);
    expect(section.banner.hidden).toBe(true);
  });

  it('shows a refusal in the server’s words beside the button, the incident kept', async () => {
    const base = world({ incidents: [open(12)], timers: [] });
    answer = (cmd, data) =>
      cmd === 'RetryIncidentCommand'
        ? { ok: false, message: 'retrying the incident of a timer start event needs an administrator; viewer is not one', errors: [], data: null }
        : base(cmd, data);
    await section.reload();
    ($('start-retry') as HTMLButtonElement).focus();
    ($('start-retry') as HTMLButtonElement).click();
    await vi.waitFor(() => expect($('start-retry-error')!.hidden).toBe(false));
    expect($('start-retry-error')!.textContent).toBe(
      'Not retried: retrying the incident of a timer start event needs an administrator; viewer is not one',
    );
    const button = $('start-retry') as HTMLButtonElement;
    expect(button.disabled).toBe(false);
    expect(button.getAttribute('aria-describedby')).toBe($('start-retry-error')!.id);
    expect(document.activeElement).toBe(button);
    expect($('start-retry-note')!.hidden).toBe(true);
  });

  it('says that the attempt failed when the start event stopped again', async () => {
    const state = { incidents: [open(12)] as unknown[], timers: [] as unknown[] };
    const base = world(state);
    answer = (cmd, data) => {
      if (cmd === 'RetryIncidentCommand') {
        state.incidents = [open(14, 'internal error; reference 77aa88bb')];
        return { ok: false, message: 'internal error; reference 77aa88bb', errors: [], data: null };
      }
      return base(cmd, data);
    };
    await section.reload();
    ($('start-retry') as HTMLButtonElement).click();
    await vi.waitFor(() => expect($('start-retry-error')!.hidden).toBe(false));
    expect($('start-retry-error')!.textContent).toBe('The attempt failed: internal error; reference 77aa88bb. The start event stopped again.');
    expect($$('start-incident-row').map((r) => r.dataset.id)).toEqual(['14']);
    expect($('start-incident-message')!.textContent).toContain('77aa88bb');
  });

  it('says beside the button when the server cannot be reached, and gives the button back', async () => {
    const base = world({ incidents: [open(12)], timers: [] });
    answer = (cmd, data) => {
      if (cmd === 'RetryIncidentCommand') throw new Error('Cannot reach the Baton server at http://127.0.0.1:7410: Failed to fetch');
      return base(cmd, data);
    };
    await section.reload();
    const button = $('start-retry') as HTMLButtonElement;
    button.click();
    await vi.waitFor(() => expect($('start-retry-error')!.hidden).toBe(false));
    expect($('start-retry-error')!.textContent).toBe('Not retried: Cannot reach the Baton server at http://127.0.0.1:7410: Failed to fetch');
    expect(button.disabled).toBe(false);
    expect(button.textContent).toBe('Retry');
    expect(document.activeElement).toBe(button);
  });

  it('lists resolved incidents on request, with how they were resolved', async () => {
    const resolved = { ...open(9), resolution: 'replaced', resolvedAt: '2026-03-02T00:00:00.000000Z' };
    answer = (cmd, data) => {
      if (cmd === 'GetIncidentListQuery') {
        return { ok: true, message: 'OK', data: { items: data.openOnly ? [] : [resolved], totalCount: data.openOnly ? 0 : 1 } };
      }
      return world({ incidents: [], timers: [] })(cmd, data);
    };
    await section.reload();
    expect(calls.filter((c) => c.cmd === 'GetIncidentListQuery').at(-1)!.data).toEqual({ openOnly: true });
    const toggle = $('start-show-resolved') as HTMLInputElement;
    toggle.click();
    await vi.waitFor(() => expect($$('start-resolved-row')).toHaveLength(1));
    expect(calls.filter((c) => c.cmd === 'GetIncidentListQuery').at(-1)!.data).toEqual({ openOnly: false });
    expect($('start-resolved-row')!.textContent).toContain('replaced by a new version');
    expect($$('start-incident-row')).toHaveLength(0);
  });

  it('says in words when the list cannot be read', async () => {
    answer = (cmd) => (cmd === 'GetTimerListQuery' ? { ok: false, message: 'the database is locked', errors: [], data: null } : world({ incidents: [], timers: [] })(cmd, {}));
    await section.reload();
    expect($('timer-starts-error')!.hidden).toBe(false);
    expect($('timer-starts-error')!.textContent).toBe('The timer start events could not be loaded: the database is locked');
  });
});
