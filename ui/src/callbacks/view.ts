/**
 * #/callbacks: the CallbackRegistry (GetCallbackRegistryListQuery) with its status, process and
 * correlation-key filters (kept in the address), the payload of each completed callback and of
 * each conflicting duplicate; for a pending row, "Return callback" (./return.ts). Beside the
 * list: send a message and broadcast a signal (./send.ts). Changes pushed by the server reload
 * the list, at most every 250 ms; the open forms keep what was typed.
 */
import type { View, ViewContext } from '../app/view';
import { latestReads } from '../app/latest';
import type { CallbackRegistryEntry } from '../generated/commands';
import { announce } from '../app/announce';
import { query, subscribe } from '../transport';
import { el, errorText, setError, statusBadge } from '../runner/dom';
import { shortTime, throttle } from '../runner/model';
import {
  CALLBACK_STATUSES,
  prettyJson,
  readRegistryFilters,
  registryQuery,
  returnsCallbacks,
  type HookConfig,
  type RegistryFilters,
} from './model';
import { returnPanel } from './return';
import { messageForm, signalForm } from './send';
import '../runner/runner.css';
import './callbacks.css';

const PAGE_SIZE = 50;

type CallbackPage = { items: CallbackRegistryEntry[]; totalCount: number };

export function mount(root: HTMLElement, _ctx: ViewContext): View {
  let filters: RegistryFilters = readRegistryFilters(window.location.hash);
  let page = 1;
  let rows: CallbackRegistryEntry[] = [];
  let gone = false;
  /** Instance → process key, filled as rows are shown. */
  const processOf = new Map<string, string>();
  /** Definition id → process key. */
  const definitions = new Map<number, string>();

  // ---- layout ---------------------------------------------------------------------------------
  const statusSelect = el(
    'select',
    { id: 'cb-status', 'data-testid': 'cb-status-filter' },
    el('option', { value: '' }, 'All statuses'),
    ...CALLBACK_STATUSES.map((s) => el('option', { value: s }, s)),
  );
  const processSelect = el('select', { id: 'cb-process', 'data-testid': 'cb-process-filter' }, el('option', { value: '' }, 'All processes'));
  const keyInput = el('input', { id: 'cb-key', type: 'search', autocomplete: 'off', placeholder: 'part of a key', 'data-testid': 'cb-key-filter' });
  const refresh = el('button', { type: 'button', 'data-testid': 'cb-refresh' }, 'Refresh');
  const summary = el('p', { className: 'list-summary', 'data-testid': 'cb-summary', 'aria-live': 'polite' });
  const listError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'cb-error' });
  const tbody = el('tbody');
  const table = el(
    'table',
    { className: 'runner-table cb-table', 'data-testid': 'cb-list' },
    el('caption', { className: 'sr-only' }, 'Callback registry'),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        ...['Id', 'Correlation key', 'Process, task, instance', 'Status', 'Completed (UTC)', 'Payload', 'Action'].map((h) =>
          el('th', { scope: 'col' }, h),
        ),
      ),
    ),
    tbody,
  );
  const empty = el('div', { className: 'empty-state', hidden: true, 'data-testid': 'cb-empty' });
  const prev = el('button', { type: 'button', 'data-testid': 'cb-previous' }, 'Previous');
  const next = el('button', { type: 'button', 'data-testid': 'cb-next' }, 'Next');
  const pageLabel = el('span', { className: 'page-label' });
  const pager = el('nav', { className: 'pager', 'aria-label': 'Pages of callbacks' }, prev, pageLabel, next);

  const live = throttle(() => load(), 250);
  const panel = returnPanel(() => live.call());

  root.append(
    el(
      'div',
      { className: 'runner-page cb-page', 'data-testid': 'callbacks-view' },
      el('div', { className: 'runner-head' }, el('h1', {}, 'Callbacks'), summary),
      el(
        'div',
        { className: 'filters', role: 'group', 'aria-label': 'Filters' },
        el('label', { for: 'cb-status' }, 'Status'),
        statusSelect,
        el('label', { for: 'cb-process' }, 'Process'),
        processSelect,
        el('label', { for: 'cb-key' }, 'Correlation key'),
        keyInput,
        refresh,
      ),
      listError,
      el(
        'div',
        { className: 'cb-columns' },
        el('div', { className: 'cb-list-column' }, el('div', { className: 'table-wrap' }, table, empty), pager),
        el('div', { className: 'cb-side' }, panel.root, messageForm(() => live.call()), signalForm(() => live.call())),
      ),
    ),
  );

  // ---- filters ----------------------------------------------------------------------------------
  function remember(): void {
    const q = registryQuery(filters);
    const hash = q ? `#/callbacks?${q}` : '#/callbacks';
    // replaceState, not a hash change: the router would mount the view again.
    if (window.location.hash !== hash) history.replaceState(history.state, '', hash);
  }

  function paintFilters(): void {
    statusSelect.value = filters.status;
    keyInput.value = filters.key;
    const keys = [...new Set(definitions.values())].sort();
    if (filters.process && !keys.includes(filters.process)) keys.push(filters.process);
    processSelect.replaceChildren(el('option', { value: '' }, 'All processes'), ...keys.map((k) => el('option', { value: k }, k)));
    processSelect.value = filters.process;
  }

  async function loadDefinitions(): Promise<void> {
    for (let p = 1; p <= 20; p++) {
      const r = await query<{ items: { processDefinitionId: number; processKey: string }[]; totalCount: number }>(
        'GetProcessDefinitionListQuery',
        { pageNumber: p, pageSize: 500 },
      );
      for (const d of r.items) definitions.set(d.processDefinitionId, d.processKey);
      if (p * 500 >= r.totalCount) break;
    }
  }

  /** Learns the process of the instances behind `shown` that are not known yet. */
  async function learnShown(shown: CallbackRegistryEntry[]): Promise<void> {
    const unknown = [...new Set(shown.map((r) => r.ParentInstanceId))].filter((g) => !processOf.has(g));
    for (let i = 0; i < unknown.length; i += 8) {
      await Promise.all(
        unknown.slice(i, i + 8).map(async (guid) => {
          try {
            const inst = await query<{ processKey?: string | null; processDefinitionId: number }>('GetProcessInstanceByIdQuery', { instanceGuid: guid });
            processOf.set(guid, inst.processKey ?? definitions.get(inst.processDefinitionId) ?? '?');
          } catch {
            /* an instance that went away: the row shows "?" */
          }
        }),
      );
    }
  }

  // ---- rows -------------------------------------------------------------------------------------
  /** Rows whose payload is shown (kept across reloads). */
  const expanded = new Set<number>();
  const COLUMNS = 7;

  function payloadCell(r: CallbackRegistryEntry, detailId: string): HTMLElement {
    const cell = el('td', { className: 'cb-payload' });
    if (!r.ResultData && !r.ConflictCount) {
      cell.append(el('span', { className: 'muted' }, '—'));
      return cell;
    }
    const open = expanded.has(r.Id);
    const toggle = el(
      'button',
      { type: 'button', className: 'link-button', 'data-testid': 'cb-toggle', 'aria-expanded': String(open), 'aria-controls': detailId },
      open ? 'Hide payload' : 'Show payload',
    );
    toggle.addEventListener('click', () => {
      if (expanded.has(r.Id)) expanded.delete(r.Id);
      else expanded.add(r.Id);
      const tr = tbody.querySelector<HTMLTableRowElement>(`tr[data-testid="cb-row"][data-id="${r.Id}"]`);
      if (!tr) return;
      const rows = renderRow(r);
      const after = tr.nextElementSibling;
      if (after?.classList.contains('cb-detail')) after.remove();
      tr.replaceWith(...rows);
      rows[0]!.querySelector<HTMLElement>('[data-testid="cb-toggle"]')?.focus();
    });
    cell.append(toggle);
    if (r.ConflictCount) {
      cell.append(el('p', { className: 'cb-conflict-note', 'data-testid': 'cb-conflict' }, `${r.ConflictCount} conflicting duplicate${r.ConflictCount === 1 ? '' : 's'}`));
    }
    return cell;
  }

  function detailRow(r: CallbackRegistryEntry, detailId: string): HTMLTableRowElement {
    const parts: HTMLElement[] = [];
    if (r.ResultData) {
      parts.push(
        el(
          'div',
          { className: 'cb-detail-part' },
          el('h3', {}, r.Status === 'Completed' ? 'The payload applied' : 'The payload'),
          el('pre', { className: 'variables', tabindex: 0, 'aria-label': `Payload of callback ${r.Id}`, 'data-testid': 'cb-result' }, prettyJson(r.ResultData)),
        ),
      );
    }
    if (r.ConflictCount) {
      parts.push(
        el(
          'div',
          { className: 'cb-detail-part' },
          el('h3', { className: 'cb-conflict-note' }, `Conflicting duplicate, not applied (newest of ${r.ConflictCount}, ${shortTime(r.LastConflictAt)} UTC)`),
          el('pre', { className: 'variables', tabindex: 0, 'aria-label': `Conflicting payload of callback ${r.Id}`, 'data-testid': 'cb-conflicting' }, prettyJson(r.ConflictingResult)),
        ),
      );
    }
    return el('tr', { className: 'cb-detail', id: detailId, 'data-testid': 'cb-detail' }, el('td', { colSpan: COLUMNS }, el('div', { className: 'cb-detail-parts' }, ...parts)));
  }

  function renderRow(r: CallbackRegistryEntry): HTMLTableRowElement[] {
    const detailId = `cb-detail-${r.Id}`;
    const main = row(r, detailId);
    return expanded.has(r.Id) ? [main, detailRow(r, detailId)] : [main];
  }

  function actionCell(r: CallbackRegistryEntry): HTMLElement {
    if (r.Status !== 'Pending') return el('td', {});
    if (r.FormKey) {
      const href = `#/tasks?instance=${encodeURIComponent(r.ParentInstanceId)}&task=${encodeURIComponent(r.CallbackTaskId)}`;
      return el('td', {}, el('a', { href, title: 'A form task: it is completed by submitting its form' }, 'Open in the task inbox'));
    }
    const button = el(
      'button',
      {
        type: 'button',
        'data-testid': 'return-open',
        'data-id': String(r.Id),
        'aria-controls': 'cb-return',
      },
      'Return callback…',
      el('span', { className: 'sr-only' }, ` for ${r.CorrelationKey ?? `row ${r.Id}`}`),
    );
    button.addEventListener('click', () => panel.open(r, processOf.get(r.ParentInstanceId)));
    return el('td', {}, button);
  }

  function row(r: CallbackRegistryEntry, detailId: string): HTMLTableRowElement {
    const proc = processOf.get(r.ParentInstanceId) ?? '…';
    return el(
      'tr',
      {
        'data-testid': 'cb-row',
        'data-id': String(r.Id),
        'data-key': r.CorrelationKey ?? '',
        'data-status': r.Status,
        className: panel.current() === r.Id ? 'cb-selected' : '',
      },
      el('td', {}, String(r.Id)),
      el('td', { className: 'cb-key' }, el('code', {}, r.CorrelationKey ?? '—')),
      el(
        'td',
        {},
        el('div', {}, proc),
        el('div', {}, el('code', { className: 'nowrap' }, r.CallbackTaskId)),
        el('a', { href: `#/instances/${encodeURIComponent(r.ParentInstanceId)}`, className: 'mono small', title: r.ParentInstanceId, 'aria-label': `Instance ${r.ParentInstanceId}` }, `…${r.ParentInstanceId.slice(-12)}`),
      ),
      el('td', {}, statusBadge(r.Status, 'cb-status')),
      el('td', { className: 'nowrap' }, shortTime(r.CompletedAt)),
      payloadCell(r, detailId),
      actionCell(r),
    );
  }

  /**
   * Tells the return panel what became of its row. The row need not be on the page shown: then
   * its instance's rows are read (a handful), and a row gone from them is no longer pending.
   */
  async function refreshPanel(items: CallbackRegistryEntry[]): Promise<void> {
    const id = panel.current();
    const guid = panel.currentInstance();
    if (id === null || guid === null) return;
    if (items.some((r) => r.Id === id)) {
      panel.refreshed(items, filters.status);
      return;
    }
    try {
      const own = await query<CallbackRegistryEntry[]>('GetCallbackRegistryListQuery', { instanceGuid: guid });
      if (!gone) panel.refreshed(own, 'Pending');
    } catch {
      /* the list's own error says the server cannot be reached */
    }
  }

  let loadedOnce = false;
  const reads = latestReads();
  async function load(): Promise<void> {
    if (gone) return;
    table.setAttribute('aria-busy', 'true');
    if (!loadedOnce) summary.textContent = 'Loading callbacks…';
    const ticket = reads.take();
    try {
      // Filtered and paged by the server, newest first.
      const data: Record<string, unknown> = { pageNumber: page, pageSize: PAGE_SIZE };
      if (filters.status) data.status = filters.status;
      if (filters.process) data.processKey = filters.process;
      if (filters.key.trim()) data.correlationKey = filters.key.trim();
      let answer = await query<CallbackPage>('GetCallbackRegistryListQuery', data);
      const pages = Math.max(1, Math.ceil(answer.totalCount / PAGE_SIZE));
      if (page > pages) {
        // The list shrank under the page shown: show its last page.
        page = pages;
        answer = await query<CallbackPage>('GetCallbackRegistryListQuery', { ...data, pageNumber: page });
      }
      if (gone || !ticket.current()) return;
      await refreshPanel(answer.items);
      if (gone || !ticket.current()) return;
      rows = answer.items;
      const total = answer.totalCount;
      await learnShown(rows);
      if (gone || !ticket.current()) return;
      // Keep the focus where it was (a reload replaces the rows).
      const focused = document.activeElement as HTMLElement | null;
      const focusRow = focused && tbody.contains(focused) ? focused.closest<HTMLElement>('tr[data-id]')?.dataset.id : undefined;
      const focusTestid = focused?.dataset?.testid;
      tbody.replaceChildren(...rows.flatMap(renderRow));
      if (focusRow && focusTestid) {
        tbody.querySelector<HTMLElement>(`tr[data-id="${focusRow}"] [data-testid="${focusTestid}"]`)?.focus();
      }
      const filtered = !!(filters.status || filters.process || filters.key);
      const one = total === 1;
      summary.textContent = total === 0 ? '' : `${total.toLocaleString('en')} callback${one ? '' : 's'}${filtered ? (one ? ' matches' : ' match') : ''}`;
      pageLabel.textContent = `Page ${page} of ${pages}`;
      prev.disabled = page <= 1;
      next.disabled = page >= pages;
      pager.hidden = pages <= 1;
      table.hidden = rows.length === 0;
      empty.hidden = rows.length !== 0;
      empty.replaceChildren(
        ...(filtered
          ? [el('p', {}, 'No callbacks match these filters.'), el('button', { type: 'button', onclick: clearFilters }, 'Show all callbacks')]
          : [el('p', {}, 'No callbacks yet: a receive task with a correlation key registers one when an instance reaches it.')]),
      );
      setError(listError, null);
      loadedOnce = true;
    } catch (e) {
      if (gone || !ticket.current()) return;
      setError(listError, `The callbacks could not be loaded: ${errorText(e)}`);
      if (!loadedOnce) summary.textContent = '';
    } finally {
      if (ticket.current()) table.removeAttribute('aria-busy');
    }
  }

  async function loadConfigs(): Promise<void> {
    try {
      const found: HookConfig[] = [];
      for (let p = 1; p <= 10; p++) {
        const r = await query<{ items: HookConfig[]; totalCount: number }>('GetWebHookConfigListQuery', { pageNumber: p, pageSize: 100 });
        found.push(...r.items.filter(returnsCallbacks));
        if (p * 100 >= r.totalCount) break;
      }
      if (!gone) panel.setConfigs(found, null);
    } catch (e) {
      if (!gone) panel.setConfigs([], errorText(e));
    }
  }

  function clearFilters(): void {
    filters = { status: '', process: '', key: '' };
    page = 1;
    paintFilters();
    remember();
    void load();
  }

  statusSelect.addEventListener('change', () => {
    filters = { ...filters, status: statusSelect.value };
    page = 1;
    remember();
    void load();
  });
  processSelect.addEventListener('change', () => {
    filters = { ...filters, process: processSelect.value };
    page = 1;
    remember();
    void load();
  });
  let keyTimer: ReturnType<typeof setTimeout> | undefined;
  keyInput.addEventListener('input', () => {
    clearTimeout(keyTimer);
    keyTimer = setTimeout(() => {
      filters = { ...filters, key: keyInput.value };
      page = 1;
      remember();
      void load();
    }, 200);
  });
  prev.addEventListener('click', () => {
    page = Math.max(1, page - 1);
    void load().then(() => announce(pageLabel.textContent ?? ''));
  });
  next.addEventListener('click', () => {
    page += 1;
    void load().then(() => announce(pageLabel.textContent ?? ''));
  });
  refresh.addEventListener('click', () => {
    void loadConfigs();
    void load();
  });

  const unsubscribe = subscribe(() => live.call());

  paintFilters();
  panel.root.id = 'cb-return';
  void (async () => {
    try {
      await loadDefinitions();
      paintFilters();
    } catch (e) {
      setError(listError, `The process list could not be loaded: ${errorText(e)}`);
    }
    await Promise.all([load(), loadConfigs()]);
  })();

  return {
    unmount() {
      gone = true;
      clearTimeout(keyTimer);
      live.cancel();
      unsubscribe();
    },
  };
}
