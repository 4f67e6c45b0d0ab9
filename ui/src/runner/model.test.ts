import { describe, expect, it, vi } from 'vitest';
import {
  callbackTasks,
  computeMarkers,
  describeEvent,
  filtersQuery,
  formTasks,
  pageCount,
  pageInfo,
  pageText,
  readFilters,
  takenFlows,
  throttle,
  type HistoryEvent,
} from './model';

let seq = 0;
function ev(kind: string, elementId: string | null, data: unknown = null): HistoryEvent {
  seq += 1;
  return { seq, at: '2026-11-29T18:29:53.973Z', kind, elementId, data };
}

describe('markers', () => {
  const history = [
    ev('variablesChanged', null, '{"changed":{"a":1},"removed":[]}'),
    ev('elementEntered', 'Start'),
    ev('elementCompleted', 'Start'),
    ev('elementEntered', 'Wait'),
    ev('elementCompleted', 'Wait'),
    ev('elementEntered', 'Review'),
  ];

  it('marks waiting elements active, completed ones completed and counts entries', () => {
    const m = computeMarkers({ waiting: [{ taskId: 'Review', elementId: 'Review', taskType: 'userTask' }], incidents: [] }, history);
    expect(m.active).toEqual(['Review']);
    expect(m.completed.sort()).toEqual(['Start', 'Wait']);
    expect(m.incident).toEqual([]);
    expect(m.counts).toEqual({ Start: 1, Wait: 1, Review: 1 });
  });

  it('an incident wins over waiting and completed, and a loop counts every entry', () => {
    const loop = [...history, ev('elementCompleted', 'Review'), ev('elementEntered', 'Wait'), ev('elementEntered', 'Review')];
    const m = computeMarkers(
      { waiting: [{ taskId: 'Wait', elementId: 'Wait', taskType: 'receiveTask' }], incidents: [{ elementId: 'Review', message: 'boom' }] },
      loop,
    );
    expect(m.incident).toEqual(['Review']);
    expect(m.active).toEqual(['Wait']);
    expect(m.completed).toEqual(['Start']);
    expect(m.counts.Wait).toBe(2);
    expect(m.counts.Review).toBe(2);
    expect(m.finished.sort()).toEqual(['Review', 'Start', 'Wait']);
  });

  it('a gateway that was only entered counts as completed once the instance is past it', () => {
    const m = computeMarkers(
      { waiting: [], incidents: [] },
      [ev('elementEntered', 'Task'), ev('elementCompleted', 'Task'), ev('elementEntered', 'Gw'), ev('elementEntered', 'End'), ev('elementCompleted', 'End')],
    );
    expect(m.completed.sort()).toEqual(['End', 'Gw', 'Task']);
    const cancelled = computeMarkers({ waiting: [], incidents: [] }, [ev('elementEntered', 'Wait'), ev('elementCancelled', 'Wait')]);
    expect(cancelled.completed).toEqual([]);
  });

  it('a waiting entry without elementId uses its taskId', () => {
    const m = computeMarkers({ waiting: [{ taskId: 'T', taskType: 'timer' }], incidents: [] }, []);
    expect(m.active).toEqual(['T']);
  });

  it('a flow is taken when its source completed and its target was entered', () => {
    const m = computeMarkers({ waiting: [{ taskId: 'Review', elementId: 'Review', taskType: 'userTask' }], incidents: [] }, history);
    const flows = [
      { id: 'F1', source: 'Start', target: 'Wait' },
      { id: 'F2', source: 'Wait', target: 'Review' },
      { id: 'F3', source: 'Review', target: 'End' },
      { id: 'F4', source: 'Wait', target: 'Other' },
    ];
    expect(takenFlows(flows, m)).toEqual(['F1', 'F2']);
  });

  it('tells webhook-mode receive tasks from form tasks', () => {
    const waiting = [
      { taskId: 'A', taskType: 'receiveTask', correlationKey: 'K1' },
      { taskId: 'B', taskType: 'receiveTask', correlationKey: 'K1', formKey: 'f' },
      { taskId: 'C', taskType: 'userTask', formKey: 'g' },
      { taskId: 'D', taskType: 'messageCatch', correlationKey: 'K2' },
    ];
    expect(callbackTasks(waiting).map((w) => w.taskId)).toEqual(['A']);
    expect(formTasks(waiting).map((w) => w.taskId)).toEqual(['B', 'C']);
  });
});

describe('paging', () => {
  it('counts pages, never fewer than one', () => {
    expect(pageCount(0, 20)).toBe(1);
    expect(pageCount(20, 20)).toBe(1);
    expect(pageCount(21, 20)).toBe(2);
    expect(pageCount(100_000, 20)).toBe(5000);
  });

  it('clamps the page and says which rows are shown', () => {
    expect(pageInfo(1, 20, 53)).toEqual({ page: 1, pages: 3, from: 1, to: 20, hasPrevious: false, hasNext: true });
    expect(pageInfo(3, 20, 53)).toEqual({ page: 3, pages: 3, from: 41, to: 53, hasPrevious: true, hasNext: false });
    expect(pageInfo(9, 20, 53).page).toBe(3);
    expect(pageInfo(0, 20, 53).page).toBe(1);
    expect(pageInfo(1, 20, 0)).toEqual({ page: 1, pages: 1, from: 0, to: 0, hasPrevious: false, hasNext: false });
    expect(pageText(pageInfo(2, 20, 100_000), 100_000)).toBe('21–40 of 100,000');
    expect(pageText(pageInfo(2500, 20, 100_000), 100_000)).toBe('49,981–50,000 of 100,000');
    expect(pageText(pageInfo(1, 20, 0), 0)).toBe('none');
  });
});

describe('filters in the address', () => {
  it('reads status, process, page and size; ignores what is not valid', () => {
    expect(readFilters('#/instances?status=waiting&process=Pay&page=3&size=50')).toEqual({
      status: 'WAITING',
      process: 'Pay',
      page: 3,
      size: 50,
    });
    expect(readFilters('#/instances?status=NOPE&page=-2&size=7')).toEqual({ status: '', process: '', page: 1, size: 20 });
  });

  it('falls back to the stored query when the address has none, and writes only what differs', () => {
    expect(readFilters('#/instances', 'status=FAILED').status).toBe('FAILED');
    expect(filtersQuery({ status: '', process: '', page: 1, size: 20 })).toBe('');
    expect(filtersQuery({ status: 'COMPLETED', process: 'A B', page: 2, size: 50 })).toBe('status=COMPLETED&process=A+B&page=2&size=50');
    const round = readFilters('#/instances?' + filtersQuery({ status: 'CANCELLED', process: 'X&Y', page: 4, size: 10 }));
    expect(round).toEqual({ status: 'CANCELLED', process: 'X&Y', page: 4, size: 10 });
  });
});

describe('throttle', () => {
  it('runs at once, then collapses a burst into one trailing run', async () => {
    vi.useFakeTimers();
    try {
      const fn = vi.fn();
      const t = throttle(fn, 250);
      t.call();
      await vi.advanceTimersByTimeAsync(0);
      expect(fn).toHaveBeenCalledTimes(1);
      for (let i = 0; i < 10; i++) t.call();
      await vi.advanceTimersByTimeAsync(100);
      expect(fn).toHaveBeenCalledTimes(1);
      await vi.advanceTimersByTimeAsync(200);
      expect(fn).toHaveBeenCalledTimes(2);
      t.cancel();
      t.call();
      await vi.advanceTimersByTimeAsync(1000);
      expect(fn).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('history in words', () => {
  it('describes the kinds the runtime writes', () => {
    expect(describeEvent(ev('elementEntered', 'A'))).toBe('entered');
    expect(describeEvent(ev('variablesChanged', null, '{"changed":{"a":1,"b":2},"removed":["c"]}'))).toBe(
      'variables: set a, b; removed c',
    );
    expect(describeEvent(ev('callbackRegistered', 'W', '{"correlationKey":"P1","form":null}'))).toBe('waits for callback P1');
    expect(describeEvent(ev('incidentRaised', 'W', '{"message":"boom"}'))).toBe('incident: boom');
    expect(describeEvent(ev('attemptFailed', 'W', '{"message":"boom","attempt":1,"attempts":3,"retryAt":"2026-11-30T18:00:00Z"}'))).toBe(
      'attempt 1 of 3 failed: boom; next attempt 2026-11-30 18:00:00 UTC',
    );
    expect(describeEvent(ev('messageCorrelated', 'W'))).toBe('message correlated');
  });
});
