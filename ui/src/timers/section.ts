/**
 * The "Timer start events" section of #/jobs (docs/scheduling.md "When a timer start event
 * fails"): the timer start events that are scheduled (GetTimerListQuery `kind: "start"`) with
 * their next due time, the attempts left and the last error; the start events that stopped
 * after 3 failed attempts (GetIncidentListQuery, `kind: "timerStart"`) with a Retry button
 * (RetryIncidentCommand `{processDefinitionId, elementId}`, administrators); and, on request,
 * the resolved ones. Pure logic is in ./model.ts.
 *
 * The host view calls `reload()` on its Refresh and when instances change; the section also
 * reads again a moment after the earliest start timer falls due (an attempt that failed
 * changes its row without any instance changing).
 */
import { announce } from '../app/announce';
import { el, errorText, setError } from '../runner/dom';
import { execute, query } from '../transport';
import { inZone, instant, localZone } from '../jobs/model';
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
  type RetryAnswer,
  type StartIncident,
  type StartTimerRow,
} from './model';
import './timers.css';

/** The longest wait setTimeout keeps (about 24 days). */
const MAX_TIMER_MS = 2_000_000_000;
/** How soon to look again when a start timer is already past due. */
const OVERDUE_RETRY_MS = 15_000;
/** How often the "in 4 min" words are brought up to date. */
const TICK_MS = 30_000;
const PAGE = 1000;

export interface TimerStarts {
  /** The section, placed by the host view. */
  root: HTMLElement;
  /** A line for the top of the page while a start event has stopped (hidden otherwise). */
  banner: HTMLElement;
  reload(): Promise<void>;
  destroy(): void;
}

/** One piece of text whose "in 4 min" follows the clock. */
function when(iso: string, zone: string, testid?: string): HTMLElement {
  const rel = el('span', { className: 'muted small rel-time', 'data-at': iso });
  const t = el('time', { dateTime: iso, title: `${iso} (UTC)`, 'data-testid': testid }, inZone(iso, zone, false));
  return el('span', { className: 'when' }, t, ' ', rel);
}

export function mountTimerStarts(): TimerStarts {
  let gone = false;
  let timers: StartTimerRow[] = [];
  let incidents: StartIncident[] = [];
  let total = 0;
  const defs = new Map<number, DefinitionInfo>();
  /** The refusal or failure shown beside each start event's Retry button, by start key. */
  const retryErrors = new Map<string, string>();
  let dueTimer: ReturnType<typeof setTimeout> | null = null;
  const zone = localZone();

  const title = el('h2', { id: 'timer-starts-title', tabindex: -1 }, 'Timer start events');
  const summary = el('p', { className: 'list-summary', 'aria-live': 'polite', 'data-testid': 'timer-starts-summary' }, 'Loading timer start events…');
  const loadError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'timer-starts-error' });
  const note = el('p', { className: 'job-note start-note', role: 'status', tabindex: -1, hidden: true, 'data-testid': 'start-retry-note' });

  // ---- stopped start events (open incidents) ---------------------------------------------------
  const openBody = el('tbody');
  const openTable = el(
    'table',
    { className: 'runner-table start-incidents', 'data-testid': 'start-incidents' },
    el('caption', { className: 'sr-only' }, 'Timer start events stopped with an incident, newest first'),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, 'Start event'),
        el('th', { scope: 'col' }, 'Process'),
        el('th', { scope: 'col' }, `Stopped (${zone})`),
        el('th', { scope: 'col' }, 'Failed attempts'),
        el('th', { scope: 'col' }, 'Message'),
        el('th', { scope: 'col' }, el('span', { className: 'sr-only' }, 'Action')),
      ),
    ),
    openBody,
  );
  const openEmpty = el(
    'p',
    { className: 'muted start-empty', 'data-testid': 'start-incidents-empty' },
    'No timer start event has stopped. One that fails to start an instance 3 times in a row stops and is listed here, to retry.',
  );

  // ---- scheduled start timers -----------------------------------------------------------------
  const timerBody = el('tbody');
  const timerTable = el(
    'table',
    { className: 'runner-table start-timers', 'data-testid': 'start-timers' },
    el('caption', { className: 'sr-only' }, 'Scheduled timer start events, earliest first'),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, 'Start event'),
        el('th', { scope: 'col' }, 'Process'),
        el('th', { scope: 'col' }, `Next due (${zone})`),
        el('th', { scope: 'col' }, 'Attempts left'),
        el('th', { scope: 'col' }, 'Last error'),
      ),
    ),
    timerBody,
  );
  const timerEmpty = el(
    'p',
    { className: 'muted start-empty', 'data-testid': 'start-timers-empty' },
    'No timer start events are scheduled. A deployed process whose start event has a timer is listed here with its next start.',
  );
  const timerMore = el('p', { className: 'muted small', hidden: true, 'data-testid': 'start-timers-more' });

  // ---- resolved incidents (on request) --------------------------------------------------------
  const showResolved = el('input', { type: 'checkbox', id: 'start-show-resolved', 'data-testid': 'start-show-resolved' });
  const resolvedBody = el('tbody');
  const resolvedTable = el(
    'table',
    { className: 'runner-table start-resolved', 'data-testid': 'start-resolved' },
    el('caption', { className: 'sr-only' }, 'Resolved incidents of timer start events, most recent first'),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, 'Start event'),
        el('th', { scope: 'col' }, 'Process'),
        el('th', { scope: 'col' }, `Stopped (${zone})`),
        el('th', { scope: 'col' }, `Resolved (${zone})`),
        el('th', { scope: 'col' }, 'How'),
        el('th', { scope: 'col' }, 'Message'),
      ),
    ),
    resolvedBody,
  );
  const resolvedEmpty = el('p', { className: 'muted start-empty', 'data-testid': 'start-resolved-empty' }, 'No resolved incidents.');
  const resolvedBox = el(
    'div',
    { className: 'start-resolved-box', hidden: true },
    el('h3', { id: 'start-resolved-title' }, 'Resolved incidents'),
    el('div', { className: 'table-wrap', role: 'region', 'aria-labelledby': 'start-resolved-title', tabindex: 0 }, resolvedTable),
    resolvedEmpty,
  );

  const root = el(
    'section',
    { className: 'panel timer-starts', 'aria-labelledby': 'timer-starts-title', 'data-testid': 'timer-starts' },
    el('div', { className: 'timer-starts-head' }, title, summary),
    el(
      'p',
      { className: 'muted small start-intro' },
      'A timer start event whose start fails is tried 3 times (1 minute, then 5 minutes apart), then stops and gets an incident. Retrying one (administrators) makes one attempt at once; deploying a new version of the process replaces it.',
    ),
    loadError,
    note,
    el('h3', { id: 'start-incidents-title' }, 'Stopped after failing'),
    el('div', { className: 'table-wrap', role: 'region', 'aria-labelledby': 'start-incidents-title', tabindex: 0 }, openTable),
    openEmpty,
    el('h3', { id: 'start-timers-title' }, 'Scheduled'),
    el('div', { className: 'table-wrap', role: 'region', 'aria-labelledby': 'start-timers-title', tabindex: 0 }, timerTable),
    timerEmpty,
    timerMore,
    el('div', { className: 'start-resolved-toggle' }, showResolved, el('label', { for: 'start-show-resolved' }, 'Show resolved incidents')),
    resolvedBox,
  );

  const bannerText = el('span', { 'data-testid': 'start-banner-text' });
  const bannerLink = el('button', { type: 'button', className: 'link-button', 'data-testid': 'start-banner-go' }, 'Show them');
  const banner = el('p', { className: 'start-banner', role: 'status', hidden: true, 'data-testid': 'start-banner' }, bannerText, ' ', bannerLink);
  bannerLink.addEventListener('click', () => {
    root.scrollIntoView({ block: 'start' });
    title.focus();
  });

  // ---- painting -------------------------------------------------------------------------------
  const startCell = (elementId: string) => el('td', {}, el('code', { className: 'mono' }, elementId));
  const processCell = (id: number, key?: string | null) => el('td', { className: 'nowrap' }, processLabel(id, defs, key));

  function timerRow(t: StartTimerRow): HTMLTableRowElement {
    const retrying = isRetrying(t);
    return el(
      'tr',
      {
        'data-testid': 'start-timer-row',
        'data-key': startKey(t.processDefinitionId, t.elementId),
        'data-retrying': String(retrying),
        className: retrying ? 'retrying' : '',
      },
      startCell(t.elementId),
      processCell(t.processDefinitionId),
      el('td', { 'data-testid': 'start-timer-due' }, when(t.dueAt, zone), el('div', { className: 'muted small' }, nextAttemptWord(t))),
      el('td', { 'data-testid': 'start-timer-retries', className: 'nowrap' }, attemptsLeftText(t.retries)),
      el(
        'td',
        { 'data-testid': 'start-timer-error', className: t.lastError ? 'start-error' : 'muted' },
        t.lastError ?? 'none',
      ),
    );
  }

  function incidentRow(i: StartIncident): HTMLTableRowElement {
    const key = startKey(i.processDefinitionId, i.elementId);
    const errorId = `start-retry-error-${i.id}`;
    const button = el(
      'button',
      {
        type: 'button',
        'data-testid': 'start-retry',
        'data-key': key,
        'aria-label': `Retry ${i.elementId} of ${i.processKey}`,
        'aria-describedby': errorId,
      },
      'Retry',
    );
    const error = el('p', { className: 'field-error', id: errorId, role: 'alert', hidden: true, 'data-testid': 'start-retry-error' });
    setError(error, retryErrors.get(key) ?? null);
    button.addEventListener('click', () => void retry(i, button, error));
    return el(
      'tr',
      { 'data-testid': 'start-incident-row', 'data-id': String(i.id), 'data-key': key },
      startCell(i.elementId),
      processCell(i.processDefinitionId, i.processKey),
      el('td', {}, when(i.createdAt, zone)),
      el('td', { className: 'nowrap' }, String(i.attempts)),
      el('td', { className: 'start-message', 'data-testid': 'start-incident-message' }, i.message),
      el('td', { className: 'start-action' }, button, error),
    );
  }

  function resolvedRow(i: StartIncident): HTMLTableRowElement {
    return el(
      'tr',
      { 'data-testid': 'start-resolved-row', 'data-id': String(i.id), 'data-resolution': i.resolution ?? '' },
      startCell(i.elementId),
      processCell(i.processDefinitionId, i.processKey),
      el('td', {}, when(i.createdAt, zone)),
      el('td', {}, i.resolvedAt ? when(i.resolvedAt, zone) : ''),
      el('td', {}, resolutionText(i.resolution)),
      el('td', { className: 'start-message' }, i.message),
    );
  }

  function retryButtonOf(key: string): HTMLButtonElement | undefined {
    return [...openBody.querySelectorAll<HTMLButtonElement>('[data-testid="start-retry"]')].find((b) => b.dataset.key === key);
  }

  function tick(): void {
    const now = Date.now();
    for (const span of root.querySelectorAll<HTMLElement>('.rel-time')) {
      span.textContent = `(${relativeText(span.dataset.at ?? '', now)})`;
    }
  }

  /** What the rows were last drawn from: a read that brings the same leaves them in place. */
  let painted = '';

  function paint(): void {
    // Rows drawn again are new elements: the one under the pointer, being scrolled to or read
    // by a screen reader would be lost for nothing (the host reloads on every instance change).
    const drawnFrom = JSON.stringify([timers, incidents, total, [...defs], [...retryErrors], showResolved.checked]);
    if (drawnFrom === painted) {
      tick();
      return;
    }
    painted = drawnFrom;
    const { open, resolved } = splitIncidents(incidents);
    // Keep the keyboard where it was: a Retry button of the same start event after the repaint.
    const focusedKey = (document.activeElement as HTMLElement | null)?.closest?.('[data-testid="start-retry"]')?.getAttribute('data-key');
    openBody.replaceChildren(...open.map(incidentRow));
    openTable.hidden = open.length === 0;
    openEmpty.hidden = open.length !== 0;
    timerBody.replaceChildren(...timers.map(timerRow));
    timerTable.hidden = timers.length === 0;
    timerEmpty.hidden = timers.length !== 0;
    timerMore.hidden = total <= timers.length;
    timerMore.textContent = `The earliest ${timers.length} of ${total} are shown.`;
    resolvedBody.replaceChildren(...resolved.map(resolvedRow));
    resolvedTable.hidden = resolved.length === 0;
    resolvedEmpty.hidden = resolved.length !== 0;
    summary.textContent = summaryText(total, open.length);
    banner.hidden = open.length === 0;
    bannerText.textContent =
      open.length === 1
        ? `A timer start event stopped after failing (${open[0]!.processKey} / ${open[0]!.elementId}) and needs attention.`
        : `${open.length} timer start events stopped after failing and need attention.`;
    if (focusedKey) retryButtonOf(focusedKey)?.focus();
    tick();
  }

  async function loadDefinitions(ids: number[]): Promise<void> {
    if (ids.every((id) => defs.has(id))) return;
    try {
      const r = await query<{ items: { processDefinitionId: number; processKey: string; version: number; name: string | null }[] }>(
        'GetProcessDefinitionListQuery',
        { pageNumber: 1, pageSize: PAGE },
      );
      for (const d of r.items) defs.set(d.processDefinitionId, { processKey: d.processKey, version: d.version, name: d.name });
    } catch {
      // Without names the rows say "definition 7": still usable.
    }
  }

  /** Reads the list again a moment after the earliest start timer falls due. */
  function wakeAtNextDue(): void {
    if (dueTimer) clearTimeout(dueTimer);
    dueTimer = null;
    const times = timers.map((t) => instant(t.dueAt)).filter((t): t is number => t !== null);
    if (times.length === 0) return;
    const until = Math.min(...times) - Date.now();
    const wait = until < 0 ? OVERDUE_RETRY_MS : Math.min(MAX_TIMER_MS, until + 1500);
    dueTimer = setTimeout(() => {
      dueTimer = null;
      void reload();
    }, wait);
  }

  let loading: Promise<void> | null = null;
  let again = false;
  /** One read at a time; a call during a read asks for one more after it. */
  function reload(): Promise<void> {
    if (loading) {
      again = true;
      return loading;
    }
    loading = (async () => {
      try {
        do {
          again = false;
          await readOnce();
        } while (again && !gone);
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  async function readOnce(): Promise<void> {
    if (gone) return;
    root.setAttribute('aria-busy', 'true');
    try {
      const [t, i] = await Promise.all([
        query<{ items: StartTimerRow[]; totalCount: number }>('GetTimerListQuery', { kind: 'start', pageNumber: 1, pageSize: PAGE }),
        query<{ items: unknown[] }>('GetIncidentListQuery', { openOnly: !showResolved.checked }),
      ]);
      if (gone) return;
      timers = t.items;
      total = t.totalCount;
      incidents = startIncidentsOf(i.items);
      await loadDefinitions([...timers.map((x) => x.processDefinitionId), ...incidents.map((x) => x.processDefinitionId)]);
      if (gone) return;
      setError(loadError, null);
      paint();
      wakeAtNextDue();
    } catch (e) {
      if (gone) return;
      setError(loadError, `The timer start events could not be loaded: ${errorText(e)}`);
      if (summary.textContent?.startsWith('Loading')) summary.textContent = '';
    } finally {
      root.removeAttribute('aria-busy');
    }
  }

  async function retry(incident: StartIncident, button: HTMLButtonElement, error: HTMLElement): Promise<void> {
    if (button.disabled) return;
    const key = startKey(incident.processDefinitionId, incident.elementId);
    button.disabled = true;
    button.textContent = 'Retrying…';
    retryErrors.delete(key);
    setError(error, null);
    try {
      const r = await execute<RetryAnswer>('RetryIncidentCommand', retryRequest(incident));
      if (gone) return;
      if (r.ok) {
        const guid = r.data.instanceGuid;
        const link = el('a', { href: `#/instances/${encodeURIComponent(guid)}`, className: 'mono', 'data-testid': 'start-retry-instance' }, guid);
        const words = retriedWords(incident.processKey, incident.elementId, r.data);
        note.replaceChildren(words.before, link, words.after);
        note.hidden = false;
        await reload();
        if (gone) return;
        note.focus();
        announce(`${words.before}${guid}${words.after}`);
        return;
      }
      await reload();
      if (gone) return;
      // A new open incident of the same start event: the attempt was made and failed again.
      const reopened = splitIncidents(incidents).open.find((i) => startKey(i.processDefinitionId, i.elementId) === key && i.id !== incident.id);
      const words = reopened
        ? `The attempt failed: ${r.message || 'the server gave no reason'}. The start event stopped again.`
        : notRetriedText(r.message, r.errors);
      retryErrors.set(key, words);
      note.hidden = true;
      paint();
      retryButtonOf(key)?.focus();
      announce(words);
    } catch (e) {
      if (gone) return;
      const words = `Not retried: ${errorText(e)}`;
      retryErrors.set(key, words);
      if (button.isConnected) setError(error, words);
    } finally {
      // A row the list did not draw again (its reading failed) gets its button back.
      if (button.isConnected) {
        button.disabled = false;
        button.textContent = 'Retry';
        if (!error.hidden) button.focus();
      }
    }
  }

  showResolved.addEventListener('change', () => {
    resolvedBox.hidden = !showResolved.checked;
    void reload();
  });
  openTable.hidden = true;
  timerTable.hidden = true;
  openEmpty.hidden = true;
  timerEmpty.hidden = true;
  const ticker = setInterval(tick, TICK_MS);

  return {
    root,
    banner,
    reload,
    destroy() {
      gone = true;
      clearInterval(ticker);
      if (dueTimer) clearTimeout(dueTimer);
    },
  };
}
