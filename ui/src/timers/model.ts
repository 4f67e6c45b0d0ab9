/**
 * Timer start events and their incidents (docs/scheduling.md "When a timer start event fails"),
 * the pure part: the rows GetTimerListQuery (`kind: "start"`) and GetIncidentListQuery answer,
 * what the section says about them, and what RetryIncidentCommand is sent and answers. No DOM
 * here, so all of it is unit-tested (model.test.ts).
 */

/** How many attempts a timer start event has before it stops (fixed in the runtime). */
export const START_ATTEMPTS = 3;

/** One row of GetTimerListQuery with `kind: "start"`. */
export interface StartTimerRow {
  kind: string;
  instanceGuid: string | null;
  processDefinitionId: number;
  elementId: string;
  jobId: number | null;
  dueAt: string;
  fired: number;
  /** Attempts left: 3 when nothing failed. */
  retries: number;
  /** The last failed attempt's error, in words; null when nothing failed. */
  lastError: string | null;
}

/** The incident of a timer start event as GetIncidentListQuery lists it (no instance). */
export interface StartIncident {
  id: number;
  instanceGuid: null;
  kind: 'timerStart';
  processDefinitionId: number;
  processKey: string;
  elementId: string;
  message: string;
  attempts: number;
  /** `retried`, `replaced`; null while open. */
  resolution: string | null;
  createdAt: string;
  resolvedAt: string | null;
}

/** What the section knows of a deployed definition (GetProcessDefinitionListQuery). */
export interface DefinitionInfo {
  processKey: string;
  version: number;
  name: string | null;
}

/** The incidents of timer start events among all of GetIncidentListQuery's items. */
export function startIncidentsOf(items: unknown[]): StartIncident[] {
  return items.filter((i): i is StartIncident => {
    if (!i || typeof i !== 'object') return false;
    const r = i as Record<string, unknown>;
    return r.kind === 'timerStart' && typeof r.processDefinitionId === 'number' && typeof r.elementId === 'string';
  });
}

/** Open incidents, newest first; resolved ones, most recently resolved first. */
export function splitIncidents(list: StartIncident[]): { open: StartIncident[]; resolved: StartIncident[] } {
  const open = list.filter((i) => i.resolvedAt === null).sort((a, b) => b.id - a.id);
  const resolved = list
    .filter((i) => i.resolvedAt !== null)
    .sort((a, b) => (b.resolvedAt ?? '').localeCompare(a.resolvedAt ?? '') || b.id - a.id);
  return { open, resolved };
}

/** One start event, whichever incident or row names it. */
export function startKey(processDefinitionId: number, elementId: string): string {
  return `${processDefinitionId}/${elementId}`;
}

/** The `data` of RetryIncidentCommand for a start event's incident. */
export function retryRequest(incident: Pick<StartIncident, 'processDefinitionId' | 'elementId'>): {
  processDefinitionId: number;
  elementId: string;
} {
  return { processDefinitionId: incident.processDefinitionId, elementId: incident.elementId };
}

/** "Nightly v3" (or "definition 7" when the definition is not known). */
export function processLabel(id: number, defs: Map<number, DefinitionInfo>, key?: string | null): string {
  const d = defs.get(id);
  if (d) return `${d.processKey} v${d.version}`;
  return key ? `${key} (definition ${id})` : `definition ${id}`;
}

/** The attempts column of a start timer: "3 of 3" when nothing failed. */
export function attemptsLeftText(retries: number): string {
  const left = Math.max(0, Math.min(START_ATTEMPTS, retries));
  return `${left} of ${START_ATTEMPTS}`;
}

/** Whether a start timer's last attempt failed (it is waiting for another). */
export function isRetrying(row: Pick<StartTimerRow, 'retries' | 'lastError'>): boolean {
  return row.lastError !== null || row.retries < START_ATTEMPTS;
}

/** What the next due time of a start timer stands for, in words. */
export function nextAttemptWord(row: Pick<StartTimerRow, 'retries' | 'lastError'>): string {
  if (!isRetrying(row)) return 'next start';
  const attempt = START_ATTEMPTS - row.retries + 1;
  return `attempt ${Math.min(attempt, START_ATTEMPTS)} of ${START_ATTEMPTS}`;
}

/** How an incident was resolved, in words. */
export function resolutionText(resolution: string | null): string {
  switch (resolution) {
    case null:
      return 'open';
    case 'retried':
      return 'retried';
    case 'replaced':
      return 'replaced by a new version';
    default:
      return resolution;
  }
}

/** "in 4 min", "12 s ago", "now": how far `iso` is from `nowMs` (microseconds ignored). */
export function relativeText(iso: string, nowMs: number): string {
  const t = Date.parse(iso.replace(/(\.\d{3})\d+/, '$1'));
  if (Number.isNaN(t)) return '';
  const diff = t - nowMs;
  const abs = Math.abs(diff);
  if (abs < 1000) return 'now';
  let amount: string;
  const minutes = Math.round(abs / 60_000);
  if (abs < 59_500) amount = `${Math.round(abs / 1000)} s`;
  else if (minutes < 60) amount = `${minutes} min`;
  else if (minutes < 24 * 60) {
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    amount = m === 0 ? `${h} h` : `${h} h ${m} min`;
  } else {
    const d = Math.round(abs / 86_400_000);
    amount = `${d} day${d === 1 ? '' : 's'}`;
  }
  return diff > 0 ? `in ${amount}` : `${amount} ago`;
}

/** What RetryIncidentCommand answered for a start event's incident. */
export interface RetryAnswer {
  instanceGuid: string;
  status: string;
  incidents?: unknown[];
}

/**
 * What is said after a successful retry, around the link to the instance it started:
 * "Retried Nightly / tick: it started instance " LINK " (completed). The start event fires on
 * schedule again."
 */
export function retriedWords(processKey: string, elementId: string, answer: RetryAnswer): { before: string; after: string } {
  const open = Array.isArray(answer.incidents) ? answer.incidents.length : 0;
  const state = answer.status.toLowerCase();
  const how = open > 0 ? `${state}, ${open} open incident${open === 1 ? '' : 's'}` : state;
  return {
    before: `Retried ${processKey} / ${elementId}: it started instance `,
    after: ` (${how}). The start event fires on schedule again.`,
  };
}

/** A refusal or failure of RetryIncidentCommand, in the server's words (with its field errors). */
export function notRetriedText(message: string, errors: { field?: string; message: string }[] = []): string {
  const detail = errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
  const words = message || 'the server refused it';
  return `Not retried: ${words}${detail && !words.includes(detail) ? ` (${detail})` : ''}`;
}

/** The summary line of the section. */
export function summaryText(timers: number, open: number): string {
  const t = `${timers} timer start event${timers === 1 ? '' : 's'} scheduled`;
  if (open === 0) return `${t}, none stopped`;
  return `${t}, ${open} stopped with an incident`;
}
