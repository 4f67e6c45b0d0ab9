import { describe, expect, it, vi } from 'vitest';
import {
  buildJobData,
  debounce,
  draftFromJob,
  durationText,
  emptyDraft,
  inZone,
  instant,
  localText,
  placeErrors,
  runOutcomeText,
  runSentence,
  sameDraft,
  startedInstance,
  type Job,
} from './model';

const draft = (patch: Partial<ReturnType<typeof emptyDraft>> = {}) => ({
  ...emptyDraft('Africa/Lagos'),
  name: 'Month-end interest',
  cronExpression: '0 23 L * *',
  processKey: 'InterestPosting',
  variables: '{"rate": 0.025}',
  ...patch,
});

describe('buildJobData', () => {
  it('turns a start-a-process draft into the command data', () => {
    const r = buildJobData(draft());
    expect(r).toEqual({
      ok: true,
      data: {
        name: 'Month-end interest',
        cronExpression: '0 23 L * *',
        timeZone: 'Africa/Lagos',
        isActive: true,
        executionType: 3,
        misfirePolicy: 'fireOnce',
        overlapPolicy: 'skip',
        processKey: 'InterestPosting',
        variables: { rate: 0.025 },
      },
    });
  });

  it('trims, defaults the zone to UTC and an empty JSON box to {}', () => {
    const r = buildJobData(draft({ name: '  Nightly ', cronExpression: ' @daily ', timeZone: ' ', variables: '  ' }));
    expect(r.ok && r.data).toMatchObject({ name: 'Nightly', cronExpression: '@daily', timeZone: 'UTC', variables: {} });
  });

  it('refuses missing fields in the runtime’s own words', () => {
    const r = buildJobData(draft({ name: ' ', cronExpression: '', processKey: '' }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.name?.message).toBe('name is required');
    expect(r.errors.cronExpression?.message).toBe('cronExpression is required');
    expect(r.errors.processKey?.message).toBe('processDefinitionId or processKey is required to start a process');
  });

  it('refuses JSON that does not parse, with where, and JSON that is not an object', () => {
    const bad = buildJobData(draft({ variables: '{"a": }' }));
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.errors.variables?.message).toMatch(/^The variables are not valid JSON: .* at line 1, column 7\.$/);
    expect(bad.errors.variables?.offset).toBe(6);

    const list = buildJobData(draft({ variables: '[1]' }));
    expect(!list.ok && list.errors.variables?.message).toBe('The variables must be a JSON object such as {"name": "value"}, not an array.');
  });

  it('sends only the fields of the chosen kind', () => {
    const command = buildJobData(draft({ executionType: 0, commandName: 'BroadcastSignalCommand', commandData: '{"signalName": "tick"}' }));
    expect(command.ok && command.data).toMatchObject({ executionType: 0, commandName: 'BroadcastSignalCommand', commandData: { signalName: 'tick' } });
    expect(command.ok && 'processKey' in command.data).toBe(false);

    const code = buildJobData(draft({ executionType: 2, executionCode: '40 + 2' }));
    expect(code.ok && code.data).toMatchObject({ executionType: 2, executionCode: '40 + 2' });
    expect(code.ok && 'variables' in code.data).toBe(false);

    const noCode = buildJobData(draft({ executionType: 2, executionCode: '  ' }));
    expect(!noCode.ok && noCode.errors.executionCode?.message).toBe('executionCode is required');
  });

  it('wants a command chain to be a JSON list', () => {
    const chain = buildJobData(draft({ executionType: 1, commandChain: '[{"commandName": "GetUserListQuery", "commandData": {}}]' }));
    expect(chain.ok && chain.data.commandChain).toEqual([{ commandName: 'GetUserListQuery', commandData: {} }]);
    const notList = buildJobData(draft({ executionType: 1, commandChain: '{}' }));
    expect(!notList.ok && notList.errors.commandChain?.message).toBe('commandChain must be a list of {commandName, commandData} steps');
    const broken = buildJobData(draft({ executionType: 1, commandChain: '[{]' }));
    expect(!broken.ok && broken.errors.commandChain?.message).toMatch(/^The command chain is not valid JSON/);
  });

  it('keeps a definition id of a stored job while no process key is typed', () => {
    const r = buildJobData(draft({ processKey: '', processDefinitionId: 7 }));
    expect(r.ok && r.data.processDefinitionId).toBe(7);
    expect(r.ok && 'processKey' in r.data).toBe(false);
  });
});

describe('the editor and stored jobs', () => {
  const job: Job = {
    id: 3,
    name: 'Chain',
    cronExpression: '*/15 * * * *',
    timeZone: 'Europe/London',
    executionType: 1,
    isActive: false,
    misfirePolicy: 'skip',
    overlapPolicy: 'queue',
    createdBy: 'admin',
    createdAt: '2026-11-30T06:00:00.000000Z',
    updatedAt: '2026-11-30T06:00:00.000000Z',
    lastRunAt: null,
    nextRunAt: null,
    commandChain: [{ commandName: 'GetUserListQuery', commandData: {} }],
  };

  it('fills the editor from a stored job, and the draft builds back to it', () => {
    const d = draftFromJob(job);
    expect(d).toMatchObject({ name: 'Chain', timeZone: 'Europe/London', isActive: false, executionType: 1, misfirePolicy: 'skip', overlapPolicy: 'queue' });
    expect(JSON.parse(d.commandChain)).toEqual(job.commandChain);
    const r = buildJobData(d);
    expect(r.ok && r.data).toMatchObject({ commandChain: job.commandChain, isActive: false, timeZone: 'Europe/London' });
  });

  it('tells a changed draft from an unchanged one', () => {
    const d = draftFromJob(job);
    expect(sameDraft(d, { ...d })).toBe(true);
    expect(sameDraft(d, { ...d, cronExpression: '0 * * * *' })).toBe(false);
  });

  it('places the runtime’s field errors on the editor’s fields', () => {
    const { fields, rest } = placeErrors([
      { field: 'processDefinitionId', message: 'no process definition 9' },
      { field: 'cronExpression', message: "'x' has 1 fields" },
      { field: 'somethingElse', message: 'odd' },
      { field: '', message: 'no field' },
    ]);
    expect(fields.processKey?.message).toBe('no process definition 9');
    expect(fields.cronExpression?.message).toBe("'x' has 1 fields");
    expect(rest).toEqual(['somethingElse: odd', 'no field']);
  });
});

describe('times and durations', () => {
  it('writes a preview time as it is on the wall clock of its zone', () => {
    expect(localText('2026-12-31T00:00:00+01:00')).toBe('Thu 31 Dec 2026, 00:00 (UTC+01:00)');
    expect(localText('2026-03-08T03:00:00-04:00')).toBe('Sun 8 Mar 2026, 03:00 (UTC-04:00)');
    expect(localText('2027-01-01T09:00:30Z')).toBe('Fri 1 Jan 2027, 09:00:30 (UTC)');
    expect(localText('not a time')).toBe('not a time');
  });

  it('reads stored times with microseconds', () => {
    expect(instant('2026-11-30T09:00:00.123456Z')).toBe(Date.UTC(2026, 10, 30, 9, 0, 0, 123));
    expect(instant(null)).toBeNull();
    expect(instant('nonsense')).toBeNull();
  });

  it('shows a stored UTC time in the job’s zone', () => {
    expect(inZone('2026-11-30T08:00:00.000000Z', 'Africa/Lagos')).toBe('Mon 30 Nov 2026, 09:00 (UTC+01:00)');
    expect(inZone('2026-07-01T12:00:00Z', 'America/New_York')).toBe('Wed 1 Jul 2026, 08:00 (UTC-04:00)');
    expect(inZone('2026-07-01T12:00:00Z', 'UTC')).toBe('Wed 1 Jul 2026, 12:00 (UTC)');
    expect(inZone('2026-07-01T12:00:00Z', 'Africa/Lagos', false)).toBe('Wed 1 Jul 2026, 13:00');
    expect(inZone(null, 'UTC')).toBe('');
  });

  it('falls back to UTC for a zone the browser does not know', () => {
    expect(inZone('2026-07-01T12:00:00Z', 'Mars/Olympus')).toBe('Wed 1 Jul 2026, 12:00 (UTC)');
  });

  it('says how long a run took', () => {
    expect(durationText('2026-11-30T06:11:16.810683Z', '2026-11-30T06:11:16.811083Z')).toBe('0.4 ms');
    expect(durationText('2026-11-30T06:11:16.810683Z', '2026-11-30T06:11:16.813739Z')).toBe('3 ms');
    expect(durationText('2026-11-30T06:11:16Z', '2026-11-30T06:11:17.5Z')).toBe('1.5 s');
    expect(durationText('2026-11-30T06:11:00Z', '2026-11-30T06:13:05Z')).toBe('2 min 5 s');
    expect(durationText('2026-11-30T06:00:00Z', '2026-11-30T08:30:00Z')).toBe('2 h 30 min');
    expect(durationText('2026-11-30T06:00:00Z', null)).toBe('');
  });
});

describe('runs', () => {
  const run = {
    id: 4,
    jobId: 1,
    trigger: 'manual',
    scheduledFor: null,
    startedAt: '2026-11-30T06:11:16.810683Z',
    finishedAt: '2026-11-30T06:11:16.822683Z',
    status: 'Succeeded',
    result: { value: 42 },
    error: null,
  };

  it('puts a run in a sentence', () => {
    expect(runSentence(run)).toBe('Run 4 succeeded in 12 ms.');
    expect(runSentence({ ...run, status: 'Failed' })).toBe('Run 4 failed in 12 ms.');
    expect(runSentence({ ...run, status: 'Running', finishedAt: null })).toBe('Run 4 running.');
  });

  it('shows the error before the result, cut to a line', () => {
    expect(runOutcomeText(run)).toBe('{"value":42}');
    expect(runOutcomeText({ ...run, error: 'line 1, column 1: boom' })).toBe('line 1, column 1: boom');
    expect(runOutcomeText({ ...run, result: 'x'.repeat(300) }, 10)).toBe('xxxxxxxxx…');
    expect(runOutcomeText({ ...run, result: null })).toBe('');
  });

  it('finds the instance a run started', () => {
    expect(startedInstance({ instanceGuid: 'g-1', status: 'WAITING' })).toBe('g-1');
    expect(startedInstance({ value: 1 })).toBeNull();
    expect(startedInstance(['g'])).toBeNull();
    expect(startedInstance(null)).toBeNull();
  });
});

describe('debounce', () => {
  it('calls once, with the last arguments, after the pause', () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    const d = debounce((s: string) => seen.push(s), 300);
    d.call('0');
    d.call('0 9');
    vi.advanceTimersByTime(299);
    expect(seen).toEqual([]);
    d.call('0 9 * * 1-5');
    vi.advanceTimersByTime(300);
    expect(seen).toEqual(['0 9 * * 1-5']);
    d.call('x');
    d.flush();
    expect(seen).toEqual(['0 9 * * 1-5', 'x']);
    d.call('y');
    d.cancel();
    vi.advanceTimersByTime(1000);
    expect(seen).toEqual(['0 9 * * 1-5', 'x']);
    vi.useRealTimers();
  });
});
