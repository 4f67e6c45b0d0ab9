/**
 * The Requests tab: every request the webhook doors received (GetWebhookRequestListQuery),
 * newest first, one page at a time (the log may hold 100,000 rows: only the page shown is
 * loaded), filtered by configuration. Each row opens to its headers, body, verdict, outcome
 * or error; `duplicate` rows name the request that handled the sender's id first. Replay runs
 * an accepted request again (ReplayWebhookRequestCommand) and shows what it did beside it.
 *
 * New requests are pushed by the server (`webhook-request` events): on the first page the list
 * reloads itself, keeping what is open and where the keyboard focus was; on a later page a
 * button says how many arrived and leads to the newest, so the rows being read do not move.
 * While the list is filtered to one configuration, requests that reached another are ignored.
 */
import { announce } from '../app/announce';
import { latestReads } from '../app/latest';
import { execute, query, subscribeRequests, type WebhookRequestEvent } from '../transport';
import { el, errorText, setError } from '../runner/dom';
import { pageInfo, pageText, shortTime } from '../runner/model';
import { concernsList, pretty, rateLimitedText, VERDICTS, verdictText, type HookConfig, type HookRequest, type RateLimited } from './model';
import type { Panel, Shared } from './shared';
import { REQUEST_PAGE_SIZES, type WebhooksState } from './state';

interface Replayed {
  ok: boolean;
  text: string;
  outcome?: unknown;
}

export function inspectorPanel(
  _shared: Shared,
  initial: WebhooksState,
  remember: (patch: Partial<WebhooksState>) => void,
): Panel & { filterBy(configId: number | null): void } {
  let config = initial.config;
  let verdict = initial.verdict;
  let page = initial.page;
  let size = initial.size;
  let total = 0;
  let loaded = false;
  let gone = false;
  const names = new Map<number, string>();
  /** Rows opened, and what a replay answered, by request id (kept across reloads). */
  const open = new Set<number>();
  const replays = new Map<number, Replayed>();

  const configSelect = el('select', { id: 'whr-config', 'data-testid': 'whr-config' }, el('option', { value: '' }, 'All configurations'));
  const verdictSelect = el(
    'select',
    { id: 'whr-verdict', 'data-testid': 'whr-verdict-filter' },
    el('option', { value: '' }, 'All verdicts'),
    ...VERDICTS.map((v) => el('option', { value: v }, verdictText(v))),
  );
  verdictSelect.value = verdict ?? '';
  const sizeSelect = el('select', { id: 'whr-size', 'data-testid': 'whr-size' }, ...REQUEST_PAGE_SIZES.map((n) => el('option', { value: String(n) }, String(n))));
  sizeSelect.value = String(size);
  const refresh = el('button', { type: 'button', 'data-testid': 'whr-refresh' }, 'Refresh');
  const newer = el('button', { type: 'button', className: 'wh-newer', hidden: true, 'data-testid': 'whr-newer' });
  /** Requests pushed since the page shown was loaded, when it is not the first (-1: unknown). */
  let arrived = 0;
  let reloadTimer: ReturnType<typeof setTimeout> | undefined;
  let unsubscribe: (() => void) | null = null;
  const summary = el('p', { className: 'list-summary', 'aria-live': 'polite', 'data-testid': 'whr-summary' });
  const listError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'whr-error' });
  const limited = el('p', { className: 'wh-warning', hidden: true, 'data-testid': 'whr-rate-limited' });
  const tbody = el('tbody');
  const table = el(
    'table',
    { className: 'runner-table wh-requests', 'data-testid': 'whr-list' },
    el('caption', { className: 'sr-only' }, 'Received webhook requests, newest first'),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, 'Request'),
        el('th', { scope: 'col' }, 'Received (UTC)'),
        el('th', { scope: 'col' }, 'Configuration'),
        el('th', { scope: 'col' }, 'Path'),
        el('th', { scope: 'col' }, 'Verdict'),
        el('th', { scope: 'col' }, 'Status'),
        el('th', { scope: 'col' }, 'From'),
        el('th', { scope: 'col' }, el('span', { className: 'sr-only' }, 'Actions')),
      ),
    ),
    tbody,
  );
  const empty = el('div', { className: 'empty-state', hidden: true, 'data-testid': 'whr-empty' });
  const first = el('button', { type: 'button', 'data-testid': 'whr-first' }, 'First');
  const prev = el('button', { type: 'button', 'data-testid': 'whr-previous' }, 'Previous');
  const next = el('button', { type: 'button', 'data-testid': 'whr-next' }, 'Next');
  const last = el('button', { type: 'button', 'data-testid': 'whr-last' }, 'Last');
  const pageLabel = el('span', { className: 'page-label', 'data-testid': 'whr-page' });
  const pager = el('nav', { className: 'pager', 'aria-label': 'Pages of requests' }, first, prev, pageLabel, next, last);
  const root = el(
    'div',
    { 'data-testid': 'wh-inspector' },
    el(
      'div',
      { className: 'filters', role: 'group', 'aria-label': 'Filters' },
      el('label', { for: 'whr-config' }, 'Configuration'),
      configSelect,
      el('label', { for: 'whr-verdict' }, 'Verdict'),
      verdictSelect,
      el('label', { for: 'whr-size' }, 'Per page'),
      sizeSelect,
      refresh,
      newer,
      summary,
    ),
    listError,
    limited,
    el('div', { className: 'table-wrap' }, table, empty),
    pager,
  );

  async function loadNames(): Promise<void> {
    for (let p = 1; p <= 20; p++) {
      const r = await query<{ items: HookConfig[]; totalCount: number }>('GetWebHookConfigListQuery', { pageNumber: p, pageSize: 500 });
      for (const c of r.items) names.set(c.id, c.name);
      if (p * 500 >= r.totalCount) break;
    }
    const want = [...names.entries()].sort((a, b) => a[1].localeCompare(b[1]));
    configSelect.replaceChildren(el('option', { value: '' }, 'All configurations'), ...want.map(([id, name]) => el('option', { value: String(id) }, `${name} (#${id})`)));
    if (config !== null && !names.has(config)) configSelect.append(el('option', { value: String(config) }, `#${config} (deleted)`));
    configSelect.value = config === null ? '' : String(config);
  }

  function verdictBadge(r: HookRequest): HTMLElement {
    const kind = r.verdict === 'accepted' ? (r.statusCode < 300 ? 'ok' : 'failed') : r.verdict === 'duplicate' ? 'dup' : 'refused';
    return el('span', { className: `wh-badge wh-verdict-${kind}`, 'data-testid': 'whr-verdict', 'data-verdict': r.verdict }, verdictText(r.verdict));
  }

  function block(title: string, text: string, testid: string): HTMLElement {
    return el('div', { className: 'wh-block' }, el('h3', {}, title), el('pre', { className: 'variables', 'data-testid': testid, tabindex: 0, 'aria-label': title }, text));
  }

  function detail(r: HookRequest): HTMLElement {
    const parts: (HTMLElement | null)[] = [];
    const facts: [string, string][] = [
      ['Method', r.method],
      ['Size', `${r.size.toLocaleString('en')} bytes`],
      ['Trigger', r.trigger === 'replay' && r.replayOf ? `replay of request ${r.replayOf}` : r.trigger],
    ];
    if (r.senderId) facts.push(['Sender id', r.senderId]);
    if (r.duplicateOf) facts.push(['Duplicate of', `request ${r.duplicateOf} (it ran; this one ran nothing)`]);
    parts.push(el('dl', { className: 'meta' }, ...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])));
    if (r.error) parts.push(el('p', { className: 'wh-error-text', 'data-testid': 'whr-detail-error' }, r.error));
    parts.push(
      el(
        'div',
        { className: 'wh-detail-grid' },
        block('Headers', pretty(r.headers ?? {}), 'whr-headers'),
        block('Body', r.body ? pretty(r.body) : r.verdict === 'accepted' ? '(empty)' : 'Not kept: only accepted requests keep their body.', 'whr-body'),
        block('Outcome', r.outcome === null || r.outcome === undefined ? '—' : pretty(r.outcome), 'whr-outcome'),
      ),
    );
    if (r.query && Object.keys(r.query).length) parts.push(block('Query', pretty(r.query), 'whr-query'));
    return el('div', { className: 'wh-detail' }, ...parts);
  }

  function replayResult(id: number): HTMLElement | null {
    const done = replays.get(id);
    if (!done) return null;
    return el(
      'div',
      { className: done.ok ? 'wh-replayed' : 'wh-replayed wh-replay-failed', role: 'status', 'data-testid': 'whr-replayed' },
      el('p', {}, done.text),
      done.outcome !== undefined ? el('pre', { className: 'variables' }, pretty(done.outcome)) : null,
    );
  }

  function rows(r: HookRequest): HTMLTableRowElement[] {
    const isOpen = open.has(r.id);
    const detailId = `whr-detail-${r.id}`;
    const toggle = el(
      'button',
      { type: 'button', 'aria-expanded': String(isOpen), 'aria-controls': detailId, 'data-testid': 'whr-toggle', 'aria-label': `${isOpen ? 'Hide' : 'Show'} request ${r.id}` },
      isOpen ? 'Hide' : 'Details',
    );
    const replay = el('button', { type: 'button', 'data-testid': 'whr-replay', 'aria-label': `Replay request ${r.id}` }, 'Replay');
    const canReplay = r.verdict === 'accepted' && r.configId !== null;
    replay.disabled = !canReplay;
    if (!canReplay) {
      replay.title =
        r.verdict === 'duplicate' && r.duplicateOf ? `A duplicate ran nothing: replay request ${r.duplicateOf}` : 'Only accepted requests keep their body and can be replayed';
    }
    const tr = el(
      'tr',
      { 'data-testid': 'whr-row', 'data-id': String(r.id), 'data-verdict': r.verdict },
      el('td', { className: 'mono' }, String(r.id), r.trigger === 'replay' ? el('div', { className: 'muted small' }, `replay of ${r.replayOf ?? '?'}`) : null),
      el('td', { className: 'nowrap' }, shortTime(r.receivedAt)),
      el('td', {}, r.configId === null ? el('span', { className: 'muted' }, 'none') : (names.get(r.configId) ?? `#${r.configId}`)),
      el('td', { className: 'mono wh-path' }, r.path),
      el('td', {}, verdictBadge(r), r.duplicateOf ? el('div', { className: 'muted small', 'data-testid': 'whr-duplicate-of' }, `of request ${r.duplicateOf}`) : null),
      el('td', { className: 'mono' }, String(r.statusCode)),
      el('td', { className: 'mono small' }, r.remoteAddr ?? ''),
      el('td', { className: 'wh-actions' }, el('div', { className: 'wh-buttons' }, toggle, replay)),
    );
    const detailRow = el('tr', { id: detailId, className: 'wh-detail-row', hidden: !isOpen && !replays.has(r.id) }, el('td', { colSpan: 8 }, replayResult(r.id), isOpen ? detail(r) : null));
    toggle.addEventListener('click', () => {
      if (open.has(r.id)) open.delete(r.id);
      else open.add(r.id);
      const fresh = rows(r);
      detailRow.remove();
      tr.replaceWith(...fresh);
      fresh[0]!.querySelector<HTMLElement>('[data-testid="whr-toggle"]')!.focus();
    });
    replay.addEventListener('click', () => {
      replay.disabled = true;
      void (async () => {
        try {
          const a = await execute<{ requestId: number; statusCode: number; outcome: unknown }>('ReplayWebhookRequestCommand', { id: r.id });
          if (a.ok) replays.set(r.id, { ok: true, text: `Replayed as request ${a.data.requestId} (${a.data.statusCode}). Outcome:`, outcome: a.data.outcome });
          else replays.set(r.id, { ok: false, text: a.errors[0]?.message ?? a.message });
        } catch (e) {
          replays.set(r.id, { ok: false, text: `The replay could not be sent: ${errorText(e)}` });
        }
        announce(replays.get(r.id)!.text);
        await load();
        tbody.querySelector<HTMLElement>(`tr[data-id="${r.id}"] [data-testid="whr-replay"]`)?.focus();
        document.getElementById(detailId)?.querySelector('[data-testid="whr-replayed"]')?.scrollIntoView({ block: 'nearest' });
      })();
    });
    return [tr, detailRow];
  }

  const reads = latestReads();
  async function load(): Promise<void> {
    if (gone) return;
    table.setAttribute('aria-busy', 'true');
    if (!loaded) summary.textContent = 'Loading requests…';
    const ticket = reads.take();
    try {
      const data: Record<string, unknown> = { pageNumber: page, pageSize: size };
      if (config !== null) data.configId = config;
      if (verdict !== null) data.verdict = verdict;
      const r = await query<{ items: HookRequest[]; totalCount: number; rateLimited?: RateLimited }>('GetWebhookRequestListQuery', data);
      if (gone || !ticket.current()) return;
      total = r.totalCount;
      const info = pageInfo(page, size, total);
      if (info.page !== page && total > 0) {
        page = info.page;
        remember({ page });
        return load();
      }
      if (r.items.some((i) => i.configId !== null && !names.has(i.configId))) await loadNames().catch(() => undefined);
      // A reload keeps the keyboard where it was: the same control of the same row.
      const active = document.activeElement instanceof HTMLElement && tbody.contains(document.activeElement) ? document.activeElement : null;
      const activeRow = active?.closest('tr');
      const rowSelector = activeRow?.dataset.id ? `tr[data-id="${activeRow.dataset.id}"]` : activeRow?.id ? `tr[id="${activeRow.id}"]` : null;
      const control = active?.dataset.testid;
      tbody.replaceChildren(...r.items.flatMap(rows));
      if (rowSelector && control) tbody.querySelector(rowSelector)?.querySelector<HTMLElement>(`[data-testid="${control}"]`)?.focus();
      if (page === 1) arrived = 0;
      showArrived();
      limited.textContent = rateLimitedText(r.rateLimited);
      limited.hidden = !limited.textContent;
      table.hidden = total === 0;
      empty.hidden = total !== 0;
      empty.replaceChildren(
        el(
          'p',
          {},
          verdict !== null
            ? `No ${verdictText(verdict)} requests${config === null ? '' : ' for this configuration'}.`
            : config === null
              ? 'No requests yet. Requests appear here as senders call a webhook address.'
              : 'No requests reached this configuration yet.',
        ),
      );
      summary.textContent = total === 0 ? '' : `Showing ${pageText(info, total)}`;
      pageLabel.textContent = `Page ${info.page.toLocaleString('en')} of ${info.pages.toLocaleString('en')}`;
      first.disabled = prev.disabled = !info.hasPrevious;
      next.disabled = last.disabled = !info.hasNext;
      pager.hidden = info.pages <= 1;
      setError(listError, null);
      loaded = true;
    } catch (e) {
      if (!gone && ticket.current()) setError(listError, `The requests could not be loaded: ${errorText(e)}`);
      if (!loaded) summary.textContent = '';
    } finally {
      if (ticket.current()) table.removeAttribute('aria-busy');
    }
  }

  function showArrived(): void {
    newer.hidden = arrived === 0;
    newer.textContent =
      arrived < 0 ? 'Requests may have arrived: show the newest' : `${arrived.toLocaleString('en')} new ${arrived === 1 ? 'request' : 'requests'}: show the newest`;
  }

  /** A request was pushed (null: some may have been missed). */
  function pushed(request: WebhookRequestEvent | null): void {
    if (gone || !concernsList(request, { config, verdict })) return;
    if (page !== 1) {
      arrived = request === null || arrived < 0 ? -1 : arrived + 1;
      showArrived();
      return;
    }
    // A burst of requests is one reload.
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => void load(), 250);
  }

  newer.addEventListener('click', () => {
    arrived = 0;
    go(1);
    refresh.focus();
  });

  const go = (p: number) => {
    page = Math.max(1, p);
    remember({ page });
    void load().then(() => announce(pageLabel.textContent ?? ''));
  };
  first.addEventListener('click', () => go(1));
  prev.addEventListener('click', () => go(page - 1));
  next.addEventListener('click', () => go(page + 1));
  last.addEventListener('click', () => go(Math.ceil(total / size)));
  configSelect.addEventListener('change', () => {
    config = configSelect.value ? Number(configSelect.value) : null;
    page = 1;
    remember({ config, page });
    void load();
  });
  verdictSelect.addEventListener('change', () => {
    verdict = verdictSelect.value || null;
    page = 1;
    remember({ verdict, page });
    void load();
  });
  sizeSelect.addEventListener('change', () => {
    size = Number(sizeSelect.value);
    page = 1;
    remember({ size, page });
    void load();
  });
  refresh.addEventListener('click', () => {
    void loadNames()
      .catch(() => undefined)
      .then(load);
  });

  return {
    root,
    shown() {
      unsubscribe ??= subscribeRequests(pushed);
      void loadNames()
        .catch((e) => setError(listError, `The configurations could not be loaded: ${errorText(e)}`))
        .then(load);
    },
    unmount() {
      gone = true;
      clearTimeout(reloadTimer);
      unsubscribe?.();
      unsubscribe = null;
    },
    filterBy(id: number | null) {
      config = id;
      page = 1;
      remember({ config, page });
    },
  };
}
