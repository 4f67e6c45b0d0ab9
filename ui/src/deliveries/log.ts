/**
 * The delivery log (GetDeliveryListQuery), newest first, one page at a time: only the page
 * shown is asked for, so the log pages through any number of rows (First / Last / Go to page).
 * Filters (status, event, instance) are kept in the address. Each row shows status, event,
 * sequence, instance, URL, attempts, next attempt and the last response; Details opens its
 * payload; Redeliver (RedeliverCommand) sends it again now and says what came of it.
 *
 * The page is read again when an instance changes (its steps write deliveries) and, while it
 * shows a pending delivery, every few seconds (the sender's attempts are not pushed).
 */
import { announce } from '../app/announce';
import { latestReads } from '../app/latest';
import { execute, query } from '../transport';
import { el, errorText, setError, statusBadge } from '../runner/dom';
import { pageInfo, pageText, throttle } from '../runner/model';
import { focusKey, restoreFocus } from './forms';
import {
  DEFAULT_LOG_FILTERS,
  DELIVERY_STATUSES,
  lastResponse,
  LOG_EVENT_NAMES,
  LOG_PAGE_SIZES,
  logQueryString,
  logRequest,
  nextAttemptText,
  pageJump,
  readLogFilters,
  receiverText,
  redeliverSentence,
  responseFailed,
  utc,
  type Delivery,
  type LogFilters,
} from './model';

/** How often a page with pending deliveries is read again. */
const PENDING_POLL_MS = 3000;

export interface Log {
  root: HTMLElement;
  load(): Promise<void>;
  /** Reads the page again soon (many calls, one read). */
  poke(): void;
  stop(): void;
}

interface Result {
  ok: boolean;
  text: string;
}

/**
 * A long id shortened to its first 8 and last 6 characters: Baton's instance GUIDs are time
 * ordered (UUIDv7), so instances started together share their first characters.
 */
const short = (id: string) => (id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id);

export function deliveryLog(): Log {
  let filters: LogFilters = readLogFilters(window.location.hash);
  let items: Delivery[] = [];
  let total = 0;
  let gone = false;
  let loadedOnce = false;
  let poll: ReturnType<typeof setTimeout> | null = null;
  /** The rows on screen, as the server answered them (to skip redrawing an unchanged page). */
  let shown = '';
  const expanded = new Set<string>();
  const results = new Map<string, Result>();
  const busy = new Set<string>();
  const reads = latestReads();
  /**
   * Rows as a redelivery answered them. A read that began before the redelivery answers with
   * the row as it was; a row never goes back to fewer attempts than one known here.
   */
  const redelivered = new Map<string, Delivery>();

  // ---- filters --------------------------------------------------------------------------------
  const statusSelect = el(
    'select',
    { id: 'dl-status', 'data-testid': 'dl-status' },
    el('option', { value: '' }, 'All statuses'),
    ...DELIVERY_STATUSES.map((s) => el('option', { value: s }, s)),
  );
  const eventSelect = el(
    'select',
    { id: 'dl-event', 'data-testid': 'dl-event' },
    el('option', { value: '' }, 'All events'),
    ...LOG_EVENT_NAMES.map((n) => el('option', { value: n }, n)),
  );
  const instanceInput = el('input', {
    id: 'dl-instance',
    type: 'search',
    autocomplete: 'off',
    spellcheck: false,
    placeholder: 'instance GUID',
    className: 'mono',
    'data-testid': 'dl-instance',
  });
  const sizeSelect = el('select', { id: 'dl-size', 'data-testid': 'dl-size' }, ...LOG_PAGE_SIZES.map((n) => el('option', { value: String(n) }, String(n))));
  const clearButton = el('button', { type: 'button', 'data-testid': 'dl-clear' }, 'Clear filters');
  const refresh = el('button', { type: 'button', 'data-testid': 'dl-refresh' }, 'Refresh');

  const summary = el('p', { className: 'list-summary', 'aria-live': 'polite', 'data-testid': 'dl-summary' });
  const listError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'dl-error' });
  const lastResult = el('div', { className: 'dl-result', role: 'status', hidden: true, 'data-testid': 'redeliver-result' });

  const tbody = el('tbody');
  const table = el(
    'table',
    { className: 'runner-table dl-table dl-log', 'data-testid': 'delivery-list' },
    el('caption', { className: 'sr-only' }, 'Delivery log, newest first'),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        ...['Status', 'Event', 'Seq.', 'Instance', 'URL', 'Attempts', 'Next attempt', 'Last response', 'Created (UTC)'].map((t) =>
          el('th', { scope: 'col' }, t),
        ),
        el('th', { scope: 'col' }, el('span', { className: 'sr-only' }, 'Actions')),
      ),
    ),
    tbody,
  );
  const empty = el('div', { className: 'empty-state', hidden: true, 'data-testid': 'dl-empty' });

  // ---- pager ----------------------------------------------------------------------------------
  const first = el('button', { type: 'button', 'data-testid': 'dl-first' }, 'First');
  const prev = el('button', { type: 'button', 'data-testid': 'dl-previous' }, 'Previous');
  const next = el('button', { type: 'button', 'data-testid': 'dl-next' }, 'Next');
  const last = el('button', { type: 'button', 'data-testid': 'dl-last' }, 'Last');
  const pageLabel = el('span', { className: 'page-label', 'data-testid': 'dl-page-label' });
  const jumpInput = el('input', { id: 'dl-jump', type: 'text', inputMode: 'numeric', autocomplete: 'off', size: 7, 'data-testid': 'dl-jump' });
  const jumpError = el('p', { className: 'field-error', id: 'dl-jump-error', role: 'alert', hidden: true, 'data-testid': 'dl-jump-error' });
  jumpInput.setAttribute('aria-describedby', 'dl-jump-error');
  const jump = el(
    'form',
    { className: 'dl-jump', noValidate: true, 'aria-label': 'Go to a page' },
    el('label', { for: 'dl-jump' }, 'Go to page'),
    jumpInput,
    el('button', { type: 'submit', 'data-testid': 'dl-go' }, 'Go'),
    jumpError,
  );
  const pager = el('nav', { className: 'pager dl-pager', 'aria-label': 'Pages of the delivery log' }, first, prev, pageLabel, next, last, jump);

  const root = el(
    'section',
    { className: 'panel dl-panel', 'aria-labelledby': 'dl-title', 'data-testid': 'delivery-log' },
    el('div', { className: 'dl-panel-head' }, el('h2', { id: 'dl-title' }, 'Delivery log'), summary, el('span', { className: 'spacer' }), refresh),
    el(
      'div',
      { className: 'filters', role: 'group', 'aria-label': 'Filters of the delivery log' },
      el('label', { for: 'dl-status' }, 'Status'),
      statusSelect,
      el('label', { for: 'dl-event' }, 'Event'),
      eventSelect,
      el('label', { for: 'dl-instance' }, 'Instance'),
      instanceInput,
      el('label', { for: 'dl-size' }, 'Per page'),
      sizeSelect,
      clearButton,
    ),
    listError,
    lastResult,
    el('div', { className: 'table-wrap' }, table, empty),
    pager,
  );

  // ---- rendering ------------------------------------------------------------------------------
  function paintFilters(): void {
    statusSelect.value = filters.status;
    eventSelect.value = filters.event;
    if (document.activeElement !== instanceInput) instanceInput.value = filters.instance;
    sizeSelect.value = String(filters.size);
  }

  function remember(): void {
    const q = logQueryString(filters);
    const hash = q ? `#/deliveries?${q}` : '#/deliveries';
    // replaceState, not a hash change: the router would mount the view again.
    if (window.location.hash !== hash) history.replaceState(history.state, '', hash);
  }

  function resultLine(r: Result): HTMLElement {
    return el('p', { className: r.ok ? 'dl-ok' : 'dl-bad', 'data-testid': 'row-result' }, r.text);
  }

  function rows(d: Delivery): HTMLTableRowElement[] {
    const detailsId = `dl-details-${d.id}`;
    const open = expanded.has(d.id);
    const detailsButton = el(
      'button',
      {
        type: 'button',
        'aria-expanded': String(open),
        'aria-controls': detailsId,
        'data-testid': 'dl-details',
        'data-focus': `details-${d.id}`,
        'aria-label': `Details of delivery ${short(d.id)}`,
      },
      'Details',
    );
    detailsButton.addEventListener('click', () => {
      if (expanded.has(d.id)) expanded.delete(d.id);
      else expanded.add(d.id);
      render();
    });
    const redeliver = el(
      'button',
      {
        type: 'button',
        'data-testid': 'dl-redeliver',
        'data-focus': `redeliver-${d.id}`,
        'aria-label': `Redeliver delivery ${short(d.id)}`,
        disabled: busy.has(d.id),
      },
      busy.has(d.id) ? 'Sending…' : 'Redeliver',
    );
    redeliver.addEventListener('click', () => void redeliverOne(d));
    const instance = d.instanceGuid
      ? el(
          'a',
          { href: `#/instances/${encodeURIComponent(d.instanceGuid)}`, className: 'mono', 'data-testid': 'dl-instance-link', title: d.instanceGuid },
          el('span', { 'aria-hidden': 'true' }, short(d.instanceGuid)),
          el('span', { className: 'sr-only' }, `Instance ${d.instanceGuid}`),
        )
      : el('span', { className: 'muted' }, 'none');
    const next = nextAttemptText(d);
    const main = el(
      'tr',
      { 'data-testid': 'delivery-row', 'data-id': d.id, 'data-status': d.status, 'data-event': d.eventName },
      el('td', {}, statusBadge(d.status, 'dl-row-status')),
      el('td', { className: 'mono small' }, d.eventName),
      el('td', { 'data-testid': 'dl-row-sequence' }, d.sequence === null ? '' : String(d.sequence)),
      el('td', { className: 'nowrap' }, instance),
      el('td', { className: 'mono small dl-url', title: d.url }, d.url),
      el('td', { 'data-testid': 'dl-row-attempts' }, String(d.attempts)),
      el('td', { className: 'nowrap', title: d.nextAttemptAt ? `${utc(d.nextAttemptAt)} UTC` : '', 'data-next': d.id }, next),
      el('td', { className: responseFailed(d) ? 'dl-bad' : '', 'data-testid': 'dl-row-response' }, lastResponse(d)),
      el('td', { className: 'nowrap' }, utc(d.createdAt)),
      el('td', { className: 'dl-actions nowrap' }, detailsButton, redeliver),
    );
    const out = [main];
    const r = results.get(d.id);
    if (r) out.push(el('tr', { className: 'dl-subrow' }, el('td', { colSpan: 10 }, resultLine(r))));
    if (open) {
      let payload: string;
      try {
        payload = JSON.stringify(d.payload, null, 2);
      } catch {
        payload = String(d.payload);
      }
      out.push(
        el(
          'tr',
          { className: 'dl-subrow', id: detailsId, 'data-testid': 'dl-details-row' },
          el(
            'td',
            { colSpan: 10 },
            el(
              'dl',
              { className: 'meta' },
              el('dt', {}, 'Delivery'),
              el('dd', {}, d.id),
              el('dt', {}, 'For'),
              el('dd', {}, receiverText(d)),
              el('dt', {}, 'Delivered at'),
              el('dd', {}, d.deliveredAt ? `${utc(d.deliveredAt)} UTC` : '—'),
              el('dt', {}, 'Next attempt'),
              el('dd', {}, d.nextAttemptAt ? `${utc(d.nextAttemptAt)} UTC` : '—'),
              el('dt', {}, 'Last error'),
              el('dd', {}, d.lastError ?? '—'),
              ...(d.lastResponseBody === undefined
                ? []
                : [el('dt', {}, 'Last response body'), el('dd', { className: 'dl-preserve' }, d.lastResponseBody ?? '—')]),
            ),
            el('h3', { className: 'small' }, 'Payload'),
            el('pre', { className: 'variables', tabindex: 0, 'aria-label': `Payload of delivery ${short(d.id)}` }, payload),
          ),
        ),
      );
    }
    return out;
  }

  function render(): void {
    const keep = focusKey();
    tbody.replaceChildren(...items.flatMap(rows));
    restoreFocus(tbody, keep);
  }

  function refreshCountdowns(): void {
    for (const d of items) {
      const cell = tbody.querySelector<HTMLElement>(`td[data-next="${CSS.escape(d.id)}"]`);
      if (cell) cell.textContent = nextAttemptText(d);
    }
  }

  function paintPage(): void {
    const info = pageInfo(filters.page, filters.size, total);
    summary.textContent = total === 0 ? '' : `Showing ${pageText(info, total)} deliveries`;
    pageLabel.textContent = `Page ${info.page.toLocaleString('en')} of ${info.pages.toLocaleString('en')}`;
    first.disabled = prev.disabled = !info.hasPrevious;
    next.disabled = last.disabled = !info.hasNext;
    jumpInput.setAttribute('aria-label', `Go to page (1 to ${info.pages.toLocaleString('en')})`);
    pager.hidden = info.pages <= 1;
    const filtered = !!(filters.status || filters.event || filters.instance);
    table.hidden = total === 0;
    empty.hidden = total !== 0;
    if (total === 0) {
      empty.replaceChildren(
        ...(filtered
          ? [el('p', {}, 'No deliveries match these filters.'), el('button', { type: 'button', onclick: clearFilters }, 'Show all deliveries')]
          : [el('p', {}, 'No deliveries yet: events appear here when an instance runs with a subscription or custom webhook above.')]),
      );
    }
  }

  function schedulePoll(): void {
    if (poll !== null) clearTimeout(poll);
    poll = null;
    if (gone || !items.some((d) => d.status === 'Pending')) return;
    poll = setTimeout(() => {
      poll = null;
      void load();
    }, PENDING_POLL_MS);
  }

  async function load(): Promise<void> {
    if (gone) return;
    table.setAttribute('aria-busy', 'true');
    if (!loadedOnce) summary.textContent = 'Loading deliveries…';
    const ticket = reads.take();
    try {
      const r = await query<{ items: Delivery[]; totalCount: number }>('GetDeliveryListQuery', logRequest(filters));
      if (gone || !ticket.current()) return;
      total = r.totalCount;
      const info = pageInfo(filters.page, filters.size, total);
      if (info.page !== filters.page && total > 0) {
        filters = { ...filters, page: info.page };
        remember();
        return load();
      }
      const fresh = r.items.map(newest);
      const signature = JSON.stringify(fresh);
      const same = signature === shown;
      shown = signature;
      items = fresh;
      // An unchanged page keeps its rows (an open payload keeps its scroll and selection);
      // only the "next attempt" countdowns move.
      if (same) refreshCountdowns();
      else render();
      paintPage();
      setError(listError, null);
      loadedOnce = true;
    } catch (err) {
      if (gone || !ticket.current()) return;
      setError(listError, `The delivery log could not be loaded: ${errorText(err)}`);
      if (!loadedOnce) summary.textContent = '';
    } finally {
      if (ticket.current()) {
        table.removeAttribute('aria-busy');
        schedulePoll();
      }
    }
  }

  /** The server's row, or the redelivery's answer where that one has more attempts. */
  function newest(d: Delivery): Delivery {
    const known = redelivered.get(d.id);
    if (!known) return d;
    if (known.attempts > d.attempts) return known;
    redelivered.delete(d.id);
    return d;
  }

  async function redeliverOne(d: Delivery): Promise<void> {
    busy.add(d.id);
    render();
    let result: Result;
    try {
      const a = await execute<Delivery>('RedeliverCommand', { id: d.id });
      if (a.ok) {
        redelivered.set(d.id, a.data);
        items = items.map((x) => (x.id === d.id ? a.data : x));
        shown = '';
        result = { ok: a.data.status === 'Delivered', text: redeliverSentence(a.data) };
      } else {
        const why = a.errors.map((e) => e.message).join(' ') || a.message;
        result = { ok: false, text: `Redeliver was refused: ${why}` };
      }
    } catch (err) {
      result = { ok: false, text: `Redeliver failed: ${errorText(err)}` };
    }
    busy.delete(d.id);
    if (gone) return;
    results.set(d.id, result);
    render();
    lastResult.replaceChildren(
      el('strong', {}, `Delivery ${short(d.id)} (${d.eventName}${d.sequence === null ? '' : ` #${d.sequence}`}): `),
      result.text,
    );
    lastResult.className = `dl-result ${result.ok ? 'dl-result-ok' : 'dl-result-bad'}`;
    lastResult.hidden = false;
    announce(result.text);
    schedulePoll();
  }

  // ---- events ---------------------------------------------------------------------------------
  const apply = (change: Partial<LogFilters>) => {
    filters = { ...filters, ...change };
    remember();
    void load();
  };
  function clearFilters(): void {
    filters = { ...DEFAULT_LOG_FILTERS, size: filters.size };
    paintFilters();
    remember();
    void load();
  }
  statusSelect.addEventListener('change', () => apply({ status: statusSelect.value, page: 1 }));
  eventSelect.addEventListener('change', () => apply({ event: eventSelect.value, page: 1 }));
  instanceInput.addEventListener('change', () => apply({ instance: instanceInput.value.trim(), page: 1 }));
  sizeSelect.addEventListener('change', () => apply({ size: Number(sizeSelect.value), page: 1 }));
  clearButton.addEventListener('click', clearFilters);
  refresh.addEventListener('click', () => void load());
  const go = (page: number) => {
    filters = { ...filters, page };
    remember();
    void load().then(() => announce(pageLabel.textContent ?? ''));
  };
  first.addEventListener('click', () => go(1));
  prev.addEventListener('click', () => go(Math.max(1, filters.page - 1)));
  next.addEventListener('click', () => go(filters.page + 1));
  last.addEventListener('click', () => go(pageInfo(filters.page, filters.size, total).pages));
  jump.addEventListener('submit', (e) => {
    e.preventDefault();
    const j = pageJump(jumpInput.value, pageInfo(1, filters.size, total).pages);
    if (!j.ok) {
      setError(jumpError, j.message, jumpInput);
      jumpInput.focus();
      return;
    }
    setError(jumpError, null, jumpInput);
    go(j.page);
  });

  const live = throttle(load, 250);
  paintFilters();
  remember();

  return {
    root,
    load,
    poke: () => live.call(),
    stop() {
      gone = true;
      live.cancel();
      if (poll !== null) clearTimeout(poll);
    },
  };
}
