import { describe, expect, it } from 'vitest';
import {
  attemptsLeftText,
  isRetrying,
  nextAttemptWord,
  notRetriedText,
  processLabel,
  relativeText,
  resolutionText,
  retriedWords,
  retryRequest,
  splitIncidents,
  startIncidentsOf,
  startKey,
  summaryText,
  type DefinitionInfo,
  type StartIncident,
} from './model';

/** An incident of a timer start event exactly as docs/scheduling.md shows GetIncidentListQuery's item. */
const NIGHTLY_INCIDENT: StartIncident = {
  id: 12,
  instanceGuid: null,
  kind: 'timerStart',
  processDefinitionId: 3,
  processKey: 'Nightly',
  elementId: 'tick',
  attempts: 3,
  resolution: null,
  createdAt: '2026-03-01T02:06:00.000000Z',
  resolvedAt: null,
  message:
    "Timer start event 'tick' stopped after 3 failed attempts to start an instance; the last one failed with: internal error; reference 1a2b3c4d. RetryIncidentCommand with this processDefinitionId and elementId tries it again; deploying a new version replaces it",
};

/** An instance's incident, as the same query lists it. */
const INSTANCE_INCIDENT = {
  id: 11,
  instanceGuid: '5b0c3d0e-1111-4222-8333-944445555666',
  elementId: 'Work',
  message: 'the ledger is closed',
  createdAt: '2026-03-01T01:00:00.000000Z',
  resolvedAt: null,
};

describe('startIncidentsOf', () => {
  it('keeps only the incidents of timer start events', () => {
    expect(startIncidentsOf([INSTANCE_INCIDENT, NIGHTLY_INCIDENT, null, 'x'])).toEqual([NIGHTLY_INCIDENT]);
  });

  it('leaves out an item that claims the kind without naming its start event', () => {
    expect(startIncidentsOf([{ ...NIGHTLY_INCIDENT, processDefinitionId: undefined }])).toEqual([]);
    expect(startIncidentsOf([{ ...NIGHTLY_INCIDENT, elementId: null }])).toEqual([]);
  });
});

describe('splitIncidents', () => {
  it('puts open ones newest first and resolved ones by when they were resolved', () => {
    const older = { ...NIGHTLY_INCIDENT, id: 4, elementId: 'a' };
    const newer = { ...NIGHTLY_INCIDENT, id: 9, elementId: 'b' };
    const retried = { ...NIGHTLY_INCIDENT, id: 5, resolution: 'retried', resolvedAt: '2026-03-01T03:00:00.000000Z' };
    const replaced = { ...NIGHTLY_INCIDENT, id: 6, resolution: 'replaced', resolvedAt: '2026-03-02T00:00:00.000000Z' };
    const { open, resolved } = splitIncidents([older, retried, newer, replaced]);
    expect(open.map((i) => i.id)).toEqual([9, 4]);
    expect(resolved.map((i) => i.id)).toEqual([6, 5]);
  });
});

describe('retryRequest', () => {
  it('names the start event by its definition and element, not by an instance', () => {
    expect(retryRequest(NIGHTLY_INCIDENT)).toEqual({ processDefinitionId: 3, elementId: 'tick' });
  });
});

describe('words', () => {
  const defs = new Map<number, DefinitionInfo>([[3, { processKey: 'Nightly', version: 2, name: 'Nightly report' }]]);

  it('names a process by key and version, else by what is known', () => {
    expect(processLabel(3, defs)).toBe('Nightly v2');
    expect(processLabel(7, defs, 'Hourly')).toBe('Hourly (definition 7)');
    expect(processLabel(7, defs)).toBe('definition 7');
  });

  it('says the attempts left out of 3, and which attempt the next due time is', () => {
    expect(attemptsLeftText(3)).toBe('3 of 3');
    expect(attemptsLeftText(1)).toBe('1 of 3');
    expect(attemptsLeftText(-2)).toBe('0 of 3');
    expect(isRetrying({ retries: 3, lastError: null })).toBe(false);
    expect(nextAttemptWord({ retries: 3, lastError: null })).toBe('next start');
    expect(isRetrying({ retries: 2, lastError: 'internal error; reference 1a2b3c4d' })).toBe(true);
    expect(nextAttemptWord({ retries: 2, lastError: 'x' })).toBe('attempt 2 of 3');
    expect(nextAttemptWord({ retries: 1, lastError: 'x' })).toBe('attempt 3 of 3');
  });

  it('says how an incident was resolved', () => {
    expect(resolutionText(null)).toBe('open');
    expect(resolutionText('retried')).toBe('retried');
    expect(resolutionText('replaced')).toBe('replaced by a new version');
    expect(resolutionText('something new')).toBe('something new');
  });

  it('says how far a time is from now', () => {
    const now = Date.parse('2026-03-01T02:00:00Z');
    expect(relativeText('2026-03-01T02:00:00.000400Z', now)).toBe('now');
    expect(relativeText('2026-03-01T02:00:12.000000Z', now)).toBe('in 12 s');
    expect(relativeText('2026-03-01T01:56:00.000000Z', now)).toBe('4 min ago');
    expect(relativeText('2026-03-01T03:00:00.000000Z', now)).toBe('in 1 h');
    expect(relativeText('2026-03-01T04:30:00.000000Z', now)).toBe('in 2 h 30 min');
    expect(relativeText('2026-03-01T02:59:50.000000Z', now)).toBe('in 1 h');
    expect(relativeText('2026-03-01T02:00:59.800000Z', now)).toBe('in 1 min');
    expect(relativeText('2026-03-01T02:58:10.000000Z', now)).toBe('in 58 min');
    expect(relativeText('2026-03-04T02:00:00.000000Z', now)).toBe('in 3 days');
    expect(relativeText('2026-02-28T02:00:00.000000Z', now)).toBe('1 day ago');
    expect(relativeText('not a time', now)).toBe('');
  });

  it('says what a retry did, and what a refusal said', () => {
    expect(retriedWords('Nightly', 'tick', { instanceGuid: 'g', status: 'COMPLETED', incidents: [] })).toEqual({
      before: 'Retried Nightly / tick: it started instance ',
      after: ' (completed). The start event fires on schedule again.',
    });
    expect(retriedWords('Nightly', 'tick', { instanceGuid: 'g', status: 'FAILED', incidents: [{}] }).after).toBe(
      ' (failed, 1 open incident). The start event fires on schedule again.',
    );
    expect(notRetriedText('retrying the incident of a timer start event needs an administrator; viewer is not one')).toBe(
      'Not retried: retrying the incident of a timer start event needs an administrator; viewer is not one',
    );
    expect(notRetriedText('Invalid request', [{ field: 'elementId', message: 'no open incident' }])).toBe(
      'Not retried: Invalid request (elementId: no open incident)',
    );
    expect(notRetriedText('')).toBe('Not retried: the server refused it');
  });

  it('keys a start event and sums up the section', () => {
    expect(startKey(3, 'tick')).toBe('3/tick');
    expect(summaryText(0, 0)).toBe('0 timer start events scheduled, none stopped');
    expect(summaryText(1, 2)).toBe('1 timer start event scheduled, 2 stopped with an incident');
  });
});
