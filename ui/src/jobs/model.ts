/**
 * The jobs view's pure logic: the editor's values and what they become on the bus
 * (CreateRecurringJobCommand / UpdateRecurringJobCommand), the runtime's field errors placed on
 * the editor's fields, and times and durations in words. No DOM here, so all of it is
 * unit-tested (model.test.ts).
 */
import { parseJson } from '../app/json';

/** A job as GetRecurringJobListQuery / GetRecurringJobByIdQuery answer it (docs/scheduling.md). */
export interface Job {
  id: number;
  name: string;
  cronExpression: string;
  timeZone: string;
  executionType: number;
  isActive: boolean;
  misfirePolicy: string;
  overlapPolicy: string;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  lastRunAt: string | null;
  nextRunAt: string | null;
  commandName?: string;
  commandData?: unknown;
  commandChain?: unknown;
  executionCode?: string;
  processDefinitionId?: number;
  processKey?: string;
  variables?: unknown;
}

/** One run of GetRecurringJobRunListQuery. */
export interface JobRun {
  id: number;
  jobId: number;
  trigger: string;
  scheduledFor: string | null;
  startedAt: string;
  finishedAt: string | null;
  status: string;
  result: unknown;
  error: string | null;
}

export const EXECUTION_TYPES: { value: number; label: string }[] = [
  { value: 3, label: 'Start a process' },
  { value: 0, label: 'Run a command' },
  { value: 1, label: 'Run a chain of commands' },
  { value: 2, label: 'Run a script' },
];

export function executionLabel(type: number): string {
  return EXECUTION_TYPES.find((t) => t.value === type)?.label ?? `execution type ${type}`;
}

/** Commands a job commonly runs, offered as suggestions (any bus command is accepted). */
export const COMMAND_SUGGESTIONS = [
  'StartProcessInstanceCommand',
  'CorrelateMessageCommand',
  'BroadcastSignalCommand',
  'ReturnCallbackCommand',
  'CancelProcessInstanceCommand',
  'RetryIncidentCommand',
  'GetProcessInstanceListQuery',
];

/** Expressions offered as examples under the cron field. */
export const CRON_EXAMPLES: { label: string; expression: string }[] = [
  { label: 'Weekdays at 09:00', expression: '0 9 * * 1-5' },
  { label: 'Every 15 minutes', expression: '*/15 * * * *' },
  { label: 'Daily at midnight', expression: '@daily' },
  { label: 'Last day of the month, 23:00', expression: '0 23 L * *' },
  { label: 'Second Monday, 08:30', expression: '30 8 * * MON#2' },
];

/** What the editor holds: text as typed, so nothing is lost when something is refused. */
export interface JobDraft {
  name: string;
  cronExpression: string;
  timeZone: string;
  isActive: boolean;
  executionType: number;
  commandName: string;
  commandData: string;
  commandChain: string;
  executionCode: string;
  processKey: string;
  /** A stored job that names its definition by id keeps it while the process key is empty. */
  processDefinitionId: number | null;
  variables: string;
  misfirePolicy: string;
  overlapPolicy: string;
}

export type DraftField = keyof JobDraft;

/** A refusal placed on a field; `offset` is where typed JSON went wrong. */
export interface FieldProblem {
  message: string;
  offset?: number;
}
export type FieldErrors = Partial<Record<DraftField, FieldProblem>>;

export function emptyDraft(timeZone = 'UTC'): JobDraft {
  return {
    name: '',
    cronExpression: '',
    timeZone,
    isActive: true,
    executionType: 3,
    commandName: '',
    commandData: '{}',
    commandChain: '[\n  {"commandName": "", "commandData": {}}\n]',
    executionCode: '',
    processKey: '',
    processDefinitionId: null,
    variables: '{}',
    misfirePolicy: 'fireOnce',
    overlapPolicy: 'skip',
  };
}

const pretty = (v: unknown, fallback: string) => (v === undefined || v === null ? fallback : JSON.stringify(v, null, 2));

/** The editor's values for a stored job (GetRecurringJobByIdQuery, with its code). */
export function draftFromJob(job: Job): JobDraft {
  const base = emptyDraft(job.timeZone);
  return {
    ...base,
    name: job.name,
    cronExpression: job.cronExpression,
    isActive: job.isActive,
    executionType: job.executionType,
    commandName: job.commandName ?? '',
    commandData: pretty(job.commandData, base.commandData),
    commandChain: pretty(job.commandChain, base.commandChain),
    executionCode: job.executionCode ?? '',
    processKey: job.processKey ?? '',
    processDefinitionId: job.processKey ? null : (job.processDefinitionId ?? null),
    variables: pretty(job.variables, base.variables),
    misfirePolicy: job.misfirePolicy,
    overlapPolicy: job.overlapPolicy,
  };
}

export function sameDraft(a: JobDraft, b: JobDraft): boolean {
  return (Object.keys(a) as DraftField[]).every((k) => a[k] === b[k]);
}

export type Built = { ok: true; data: Record<string, unknown> } | { ok: false; errors: FieldErrors };

/**
 * The `data` of CreateRecurringJobCommand (UpdateRecurringJobCommand adds `id`), or what is
 * wrong with the draft. Missing fields are refused in the runtime's own words ("name is
 * required"); typed JSON with the line and column of the mistake. The cron expression and the
 * time zone are checked by the runtime (GetCronPreviewQuery), not here.
 */
export function buildJobData(d: JobDraft): Built {
  const errors: FieldErrors = {};
  const required = (field: DraftField, value: string) => {
    if (value.trim() === '') errors[field] = { message: `${field} is required` };
  };
  required('name', d.name);
  required('cronExpression', d.cronExpression);
  const data: Record<string, unknown> = {
    name: d.name.trim(),
    cronExpression: d.cronExpression.trim(),
    timeZone: d.timeZone.trim() || 'UTC',
    isActive: d.isActive,
    executionType: d.executionType,
    misfirePolicy: d.misfirePolicy,
    overlapPolicy: d.overlapPolicy,
  };
  const json = (field: 'commandData' | 'variables', what: string) => {
    const r = parseJson(d[field], { what, object: true, empty: {} });
    if (r.ok) data[field] = r.value;
    else errors[field] = { message: r.message, offset: r.offset };
  };
  switch (d.executionType) {
    case 0:
      required('commandName', d.commandName);
      data.commandName = d.commandName.trim();
      json('commandData', 'The command data');
      break;
    case 1: {
      const r = parseJson(d.commandChain, { what: 'The command chain' });
      if (!r.ok) errors.commandChain = { message: r.message, offset: r.offset };
      else if (!Array.isArray(r.value)) {
        errors.commandChain = { message: 'commandChain must be a list of {commandName, commandData} steps' };
      } else data.commandChain = r.value;
      break;
    }
    case 2:
      required('executionCode', d.executionCode);
      data.executionCode = d.executionCode;
      break;
    default:
      if (d.processKey.trim() !== '') data.processKey = d.processKey.trim();
      else if (d.processDefinitionId !== null) data.processDefinitionId = d.processDefinitionId;
      else errors.processKey = { message: 'processDefinitionId or processKey is required to start a process' };
      json('variables', 'The variables');
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, data };
}

/** The editor field a runtime error names (its `field`), or null when none fits. */
export function draftFieldOf(field: string): DraftField | null {
  const map: Record<string, DraftField> = {
    name: 'name',
    cronExpression: 'cronExpression',
    timeZone: 'timeZone',
    isActive: 'isActive',
    executionType: 'executionType',
    commandName: 'commandName',
    commandData: 'commandData',
    commandChain: 'commandChain',
    executionCode: 'executionCode',
    processKey: 'processKey',
    processDefinitionId: 'processKey',
    variables: 'variables',
    misfirePolicy: 'misfirePolicy',
    overlapPolicy: 'overlapPolicy',
  };
  return map[field] ?? null;
}

/** Splits a refusal's field errors into those shown beside a field and the rest (in words). */
export function placeErrors(errors: { field: string; message: string }[]): { fields: FieldErrors; rest: string[] } {
  const fields: FieldErrors = {};
  const rest: string[] = [];
  for (const e of errors) {
    const f = e.field ? draftFieldOf(e.field) : null;
    if (f && !fields[f]) fields[f] = { message: e.message };
    else rest.push(e.field ? `${e.field}: ${e.message}` : e.message);
  }
  return { fields, rest };
}

// ---- times ----------------------------------------------------------------------------------

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A wall-clock time with its offset, as GetCronPreviewQuery's `localTimes` give it
 * ("2026-12-31T00:00:00+01:00"), in words: "Thu 31 Dec 2026, 00:00 (UTC+01:00)". The time is
 * the one written, not converted to the reader's zone.
 */
export function localText(iso: string): string {
  const m = LOCAL.exec(iso);
  if (!m) return iso;
  const [, y, mo, d, h, mi, s, off] = m as unknown as string[];
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d))).getUTCDay();
  const seconds = s === '00' ? '' : `:${s}`;
  const offset = off === 'Z' || off === '+00:00' ? 'UTC' : `UTC${off}`;
  return `${WEEKDAYS[day]} ${Number(d)} ${MONTHS[Number(mo) - 1]} ${y}, ${h}:${mi}${seconds} (${offset})`;
}

/** Milliseconds since the epoch of an RFC 3339 time (microseconds are cut to milliseconds). */
export function instant(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const cut = iso.replace(/(\.\d{3})\d+/, '$1');
  const t = Date.parse(cut);
  return Number.isNaN(t) ? null : t;
}

/**
 * A stored UTC time shown in a job's zone: "Mon 1 Dec 2026, 09:00 (UTC+01:00)"; "" for none.
 * Without `offset`, the part in brackets is left out (a column that names the zone).
 */
export function inZone(iso: string | null | undefined, zone: string, offset = true): string {
  const text = inZoneFull(iso, zone);
  return offset ? text : text.replace(/ \(UTC[^)]*\)$/, '');
}

/** The run a job's result names: a started instance (execution type 3, or a command that starts one). */
export function startedInstance(result: unknown): string | null {
  if (result && typeof result === 'object' && !Array.isArray(result)) {
    const guid = (result as Record<string, unknown>).instanceGuid;
    if (typeof guid === 'string' && guid) return guid;
  }
  return null;
}

function inZoneFull(iso: string | null | undefined, zone: string): string {
  const t = instant(iso);
  if (t === null) return '';
  try {
    const parts = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    }).formatToParts(new Date(t));
    const p = (type: string) => parts.find((x) => x.type === type)?.value ?? '';
    const name = p('timeZoneName').replace(/^GMT/, '');
    const offset = name === '' ? 'Z' : name;
    return localText(`${p('year')}-${p('month')}-${p('day')}T${p('hour')}:${p('minute')}:${p('second')}${offset}`);
  } catch {
    // a zone the browser does not know: say it in UTC
    return localText(new Date(t).toISOString().replace(/\.\d+Z$/, 'Z'));
  }
}

/** How long a run took, in words: "0.4 ms", "12 ms", "1.5 s", "2 min 5 s"; "" when not finished. */
export function durationText(startedAt: string, finishedAt: string | null): string {
  if (!finishedAt) return '';
  const micro = (iso: string): number | null => {
    const t = instant(iso);
    if (t === null) return null;
    const frac = /\.(\d+)/.exec(iso)?.[1] ?? '';
    const extra = Number((frac.slice(3) + '000').slice(0, 3));
    return t * 1000 + extra;
  };
  const a = micro(startedAt);
  const b = micro(finishedAt);
  if (a === null || b === null) return '';
  const us = Math.max(0, b - a);
  if (us < 1000) return `${(us / 1000).toFixed(1)} ms`;
  const ms = us / 1000;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  const h = Math.floor(whole / 3600);
  const min = Math.floor((whole % 3600) / 60);
  const sec = whole % 60;
  return h > 0 ? `${h} h ${min} min` : `${min} min ${sec} s`;
}

/** A run's result or error in one line, cut to `max` characters. */
export function runOutcomeText(run: Pick<JobRun, 'status' | 'result' | 'error'>, max = 140): string {
  let text: string;
  if (run.error) text = run.error;
  else if (run.result === null || run.result === undefined) text = '';
  else text = typeof run.result === 'string' ? run.result : JSON.stringify(run.result);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export const TRIGGER_WORDS: Record<string, string> = {
  schedule: 'on schedule',
  misfire: 'late (missed)',
  manual: 'run now',
  queued: 'queued',
};

/** The sentence after Run now: "Run 4 succeeded in 3 ms." */
export function runSentence(run: JobRun): string {
  const took = durationText(run.startedAt, run.finishedAt);
  const verb = run.status === 'Succeeded' ? 'succeeded' : run.status === 'Failed' ? 'failed' : run.status.toLowerCase();
  return `Run ${run.id} ${verb}${took ? ` in ${took}` : ''}.`;
}

/** Calls `fn` once `ms` after the last call; `flush` runs a pending call now. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number) {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending: A | null = null;
  return {
    call(...args: A) {
      pending = args;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        const a = pending!;
        pending = null;
        fn(...a);
      }, ms);
    },
    flush() {
      if (!timer) return;
      clearTimeout(timer);
      timer = null;
      const a = pending!;
      pending = null;
      fn(...a);
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
      pending = null;
    },
  };
}

/** IANA zone names for the time zone field's suggestions (the browser's list, else a few). */
export function zoneSuggestions(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  try {
    const all = intl.supportedValuesOf?.('timeZone');
    if (all && all.length > 0) return all.includes('UTC') ? all : ['UTC', ...all];
  } catch {
    /* older engines */
  }
  return ['UTC', 'Europe/London', 'Europe/Berlin', 'Africa/Lagos', 'America/New_York', 'Asia/Tokyo'];
}

/** The reader's own zone, for a new job (UTC when the browser does not say). */
export function localZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}
