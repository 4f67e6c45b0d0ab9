/**
 * The runner's pure logic: what the server's answers mean for the screen (markers, counts,
 * pages, filters, JSON typed by the user). No DOM here, so all of it is unit-tested.
 */

export const STATUSES = ['WAITING', 'COMPLETED', 'FAILED', 'CANCELLED', 'RUNNING'] as const;

/** A waiting entry of GetProcessInstanceByIdQuery (API.md). */
export interface WaitingEntry {
  taskId: string;
  elementId?: string;
  taskType: string;
  name?: string | null;
  correlationKey?: string;
  formKey?: string;
  message?: string;
  signal?: string;
  due?: string;
  responsibleUser?: string;
  responsibleTeam?: string;
  /** The activity's input parameters (its local variables), when it has any. */
  localVariables?: Record<string, unknown>;
}

export interface IncidentEntry {
  elementId: string;
  message: string;
}

export interface InstanceDetail {
  instanceGuid: string;
  processDefinitionId: number;
  processKey: string | null;
  status: string;
  businessKey?: string | null;
  correlationId?: string | null;
  variables: Record<string, unknown>;
  waiting: WaitingEntry[];
  incidents: IncidentEntry[];
  path?: string[];
  startedAt: string;
  endedAt: string | null;
}

/** One event of GetInstanceHistoryQuery; `data` is a JSON text (or null) as stored. */
export interface HistoryEvent {
  seq: number;
  at: string;
  kind: string;
  elementId: string | null;
  data: unknown;
}

export interface InstanceListItem {
  instanceGuid: string;
  processDefinitionId: number;
  status: string;
  businessKey: string | null;
  correlationId: string | null;
  startedAt: string;
  endedAt: string | null;
}

export interface Markers {
  /** Elements waiting now. */
  active: string[];
  /** Elements completed at least once (and neither waiting nor failed now). */
  completed: string[];
  /** Elements with an open incident. */
  incident: string[];
  /** How many times each element was entered. */
  counts: Record<string, number>;
  /** Every element completed at least once, whatever it shows now. */
  finished: string[];
}

/**
 * Markers for an instance: one class per element, an open incident first, then waiting, then
 * completed (an `elementCompleted` event, or entered and left behind, as gateways are).
 * Counts come from `elementEntered` events.
 */
export function computeMarkers(instance: Pick<InstanceDetail, 'waiting' | 'incidents'>, history: HistoryEvent[]): Markers {
  const incident = unique(instance.incidents.map((i) => i.elementId));
  const active = unique(instance.waiting.map((w) => w.elementId ?? w.taskId)).filter((id) => !incident.includes(id));
  const counts: Record<string, number> = {};
  const completedSet = new Set<string>();
  const last = new Map<string, string>();
  for (const e of history) {
    if (!e.elementId) continue;
    if (e.kind === 'elementEntered') counts[e.elementId] = (counts[e.elementId] ?? 0) + 1;
    else if (e.kind === 'elementCompleted') completedSet.add(e.elementId);
    if (e.kind === 'elementEntered' || e.kind === 'elementCompleted' || e.kind === 'elementCancelled') last.set(e.elementId, e.kind);
  }
  // Pass-through elements (gateways) are only entered: once the instance is past them, that
  // is their completion. Elements still waiting or failed are not past.
  for (const [id, kind] of last) {
    if (kind === 'elementEntered' && !active.includes(id) && !incident.includes(id)) completedSet.add(id);
  }
  const completed = [...completedSet].filter((id) => !incident.includes(id) && !active.includes(id));
  return { active, completed, incident, counts, finished: [...completedSet] };
}

export interface FlowRef {
  id: string;
  source: string;
  target: string;
}

/** Sequence flows taken: the source completed and the target was entered. */
export function takenFlows(flows: FlowRef[], markers: Markers): string[] {
  const finished = new Set(markers.finished);
  return flows.filter((f) => finished.has(f.source) && (markers.counts[f.target] ?? 0) > 0).map((f) => f.id);
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

/** Webhook-mode receiveTasks: completed only by ReturnCallbackCommand (seed 002). */
export function callbackTasks(waiting: WaitingEntry[]): WaitingEntry[] {
  return waiting.filter((w) => w.taskType === 'receiveTask' && !!w.correlationKey && !w.formKey);
}

/** Form tasks (userTask, form-mode receiveTask): completed from the task inbox. */
export function formTasks(waiting: WaitingEntry[]): WaitingEntry[] {
  return waiting.filter((w) => w.taskType === 'userTask' || (w.taskType === 'receiveTask' && !!w.formKey));
}

// ---------------------------------------------------------------------------------------------
// Paging

export interface PageInfo {
  page: number;
  pages: number;
  /** 1-based index of the first row shown, 0 when there are none. */
  from: number;
  to: number;
  hasPrevious: boolean;
  hasNext: boolean;
}

export function pageCount(total: number, size: number): number {
  if (size <= 0) return 1;
  return Math.max(1, Math.ceil(total / size));
}

/** Where page `page` of `size` rows stands in `total` rows (the page clamped into range). */
export function pageInfo(page: number, size: number, total: number): PageInfo {
  const pages = pageCount(total, size);
  const p = Math.min(Math.max(1, Math.floor(page) || 1), pages);
  const from = total === 0 ? 0 : (p - 1) * size + 1;
  const to = Math.min(total, p * size);
  return { page: p, pages, from, to, hasPrevious: p > 1, hasNext: p < pages };
}

/** "21–40 of 53" */
export function pageText(info: PageInfo, total: number): string {
  if (total === 0) return 'none';
  const n = (x: number) => x.toLocaleString('en');
  return `${n(info.from)}–${n(info.to)} of ${n(total)}`;
}

// ---------------------------------------------------------------------------------------------
// Filters in the address (`#/instances?status=WAITING&process=Key&page=2`)

export interface ListFilters {
  status: string;
  process: string;
  page: number;
  size: number;
}

export const DEFAULT_FILTERS: ListFilters = { status: '', process: '', page: 1, size: 20 };
export const PAGE_SIZES = [10, 20, 50, 100];

export function readFilters(hash: string, fallback: string | null = null): ListFilters {
  const q = hash.includes('?') ? hash.slice(hash.indexOf('?') + 1) : (fallback ?? '');
  const params = new URLSearchParams(q);
  const status = (params.get('status') ?? '').toUpperCase();
  const page = Number(params.get('page') ?? '1');
  const size = Number(params.get('size') ?? String(DEFAULT_FILTERS.size));
  return {
    status: (STATUSES as readonly string[]).includes(status) ? status : '',
    process: params.get('process') ?? '',
    page: Number.isInteger(page) && page >= 1 ? page : 1,
    size: PAGE_SIZES.includes(size) ? size : DEFAULT_FILTERS.size,
  };
}

/** The query part (without `?`); defaults are left out. */
export function filtersQuery(f: ListFilters): string {
  const params = new URLSearchParams();
  if (f.status) params.set('status', f.status);
  if (f.process) params.set('process', f.process);
  if (f.page > 1) params.set('page', String(f.page));
  if (f.size !== DEFAULT_FILTERS.size) params.set('size', String(f.size));
  return params.toString();
}

// ---------------------------------------------------------------------------------------------
// Live refresh

/**
 * Calls `fn` at most once per `ms`: the first call runs at once, calls inside the window
 * collapse into one run at its end. `fn` may be async; a run never overlaps the previous one.
 */
export function throttle(fn: () => unknown, ms: number): { call(): void; cancel(): void } {
  let last = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running = false;
  let again = false;
  let cancelled = false;
  const run = async () => {
    if (cancelled) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    last = Date.now();
    try {
      await fn();
    } finally {
      running = false;
      if (again && !cancelled) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = () => {
    if (timer !== null || cancelled) return;
    const wait = Math.max(0, last + ms - Date.now());
    if (wait === 0) void run();
    else
      timer = setTimeout(() => {
        timer = null;
        void run();
      }, wait);
  };
  return {
    call: schedule,
    cancel() {
      cancelled = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// History in words

function parsed(data: unknown): Record<string, unknown> | null {
  if (typeof data === 'string') {
    try {
      const v = JSON.parse(data) as unknown;
      return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }
  return data && typeof data === 'object' ? (data as Record<string, unknown>) : null;
}

/** What a history event means, in a few words. */
export function describeEvent(e: HistoryEvent): string {
  const d = parsed(e.data);
  switch (e.kind) {
    case 'elementEntered':
      return 'entered';
    case 'elementCompleted':
      return 'completed';
    case 'elementCancelled':
      return 'cancelled';
    case 'variablesChanged': {
      const changed = Object.keys((d?.changed as object | undefined) ?? {});
      const removed = Array.isArray(d?.removed) ? (d.removed as string[]) : [];
      const parts = [];
      if (changed.length) parts.push(`set ${changed.join(', ')}`);
      if (removed.length) parts.push(`removed ${removed.join(', ')}`);
      return `variables: ${parts.join('; ') || 'unchanged'}`;
    }
    case 'callbackRegistered':
      return d?.form
        ? `waits for form ${String(d.form)}`
        : `waits for callback${d?.correlationKey ? ` ${String(d.correlationKey)}` : ''}`;
    case 'callbackCompleted':
      return `callback returned${d?.correlationKey ? ` for ${String(d.correlationKey)}` : ''}`;
    case 'taskWaiting':
      return `task waiting${d?.formKey ? ` (form ${String(d.formKey)})` : ''}`;
    case 'timerScheduled':
      return d?.due ? `timer due ${shortTime(String(d.due))} UTC` : 'timer scheduled';
    case 'incidentRaised':
      return `incident: ${d?.message ? String(d.message) : 'failed'}`;
    case 'incidentResolved':
      return 'incident resolved';
    case 'attemptFailed': {
      const next = d?.retryAt ? `; next attempt ${shortTime(String(d.retryAt))} UTC` : '';
      const count = d?.attempt && d?.attempts ? ` ${String(d.attempt)} of ${String(d.attempts)}` : '';
      return `attempt${count} failed: ${d?.message ? String(d.message) : 'failed'}${next}`;
    }
    default: {
      // camelCase kinds read as words: "messageCorrelated" -> "message correlated"
      return e.kind.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
    }
  }
}

/** `2026-11-29T18:29:53.973Z` -> `2026-11-29 18:29:53` (UTC, as stored). */
export function shortTime(at: string | null | undefined): string {
  if (!at) return '';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(at);
  return m ? `${m[1]} ${m[2]}` : at;
}
