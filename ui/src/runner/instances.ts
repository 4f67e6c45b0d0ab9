/**
 * #/instances: every process instance, paged from the store (GetProcessInstanceListQuery), with
 * status and process filters kept in the address (and in sessionStorage for the next visit).
 * Changes pushed by the server refresh the page shown, at most every 250 ms.
 */
import type { View, ViewContext } from '../app/view';
import { latestReads } from '../app/latest';
import { announce } from '../app/announce';
import { query, subscribe } from '../transport';
import { el, errorText, statusBadge } from './dom';
import {
  filtersQuery,
  pageInfo,
  pageText,
  PAGE_SIZES,
  readFilters,
  shortTime,
  STATUSES,
  throttle,
  type InstanceListItem,
  type ListFilters,
} from './model';
import './runner.css';

const STORE_KEY = 'baton.instances.filters';

interface Definition {
  processDefinitionId: number;
  processKey: string;
  version: number;
  name: string | null;
}

/** Every deployed definition (ids -> key and version), read a page of 500 at a time. */
export async function loadDefinitions(): Promise<Map<number, Definition>> {
  const map = new Map<number, Definition>();
  for (let page = 1; page <= 20; page++) {
    const r = await query<{ items: Definition[]; totalCount: number }>('GetProcessDefinitionListQuery', {
      pageNumber: page,
      pageSize: 500,
    });
    for (const d of r.items) map.set(d.processDefinitionId, d);
    if (page * 500 >= r.totalCount) break;
  }
  return map;
}

export function mount(root: HTMLElement, _ctx: ViewContext): View {
  let filters: ListFilters = readFilters(window.location.hash, sessionStorage.getItem(STORE_KEY));
  let definitions = new Map<number, Definition>();
  let total = 0;
  let gone = false;

  const statusSelect = el(
    'select',
    { id: 'status-filter', 'data-testid': 'status-filter' },
    el('option', { value: '' }, 'All statuses'),
    ...STATUSES.map((s) => el('option', { value: s }, s)),
  );
  const processSelect = el('select', { id: 'process-filter', 'data-testid': 'process-filter' }, el('option', { value: '' }, 'All processes'));
  const sizeSelect = el('select', { id: 'page-size' }, ...PAGE_SIZES.map((n) => el('option', { value: String(n) }, String(n))));
  const refreshButton = el('button', { type: 'button', 'data-testid': 'instances-refresh' }, 'Refresh');
  const summary = el('p', { className: 'list-summary', 'data-testid': 'instance-summary', 'aria-live': 'polite' });
  const error = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'instances-error' });
  const tbody = el('tbody');
  const table = el(
    'table',
    { className: 'runner-table', 'data-testid': 'instance-list', 'aria-describedby': 'instances-caption' },
    el('caption', { id: 'instances-caption', className: 'sr-only' }, 'Process instances'),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, 'Instance'),
        el('th', { scope: 'col' }, 'Process'),
        el('th', { scope: 'col' }, 'Status'),
        el('th', { scope: 'col' }, 'Started (UTC)'),
        el('th', { scope: 'col' }, 'Ended (UTC)'),
        el('th', { scope: 'col' }, 'Business key'),
      ),
    ),
    tbody,
  );
  const empty = el('div', { className: 'empty-state', 'data-testid': 'instances-empty', hidden: true });
  const prev = el('button', { type: 'button', 'data-testid': 'page-previous' }, 'Previous');
  const next = el('button', { type: 'button', 'data-testid': 'page-next' }, 'Next');
  const pageLabel = el('span', { className: 'page-label', 'data-testid': 'page-label' });
  const pager = el('nav', { className: 'pager', 'aria-label': 'Pages of instances' }, prev, pageLabel, next);

  root.append(
    el(
      'div',
      { className: 'runner-page', 'data-testid': 'instances-view' },
      el('div', { className: 'runner-head' }, el('h1', {}, 'Instances'), summary),
      el(
        'div',
        { className: 'filters', role: 'group', 'aria-label': 'Filters' },
        el('label', { for: 'status-filter' }, 'Status'),
        statusSelect,
        el('label', { for: 'process-filter' }, 'Process'),
        processSelect,
        el('label', { for: 'page-size' }, 'Per page'),
        sizeSelect,
        refreshButton,
      ),
      error,
      el('div', { className: 'table-wrap' }, table, empty),
      pager,
    ),
  );

  const keyOf = (id: number) => definitions.get(id)?.processKey ?? `definition ${id}`;

  function paintFilters(): void {
    statusSelect.value = filters.status;
    sizeSelect.value = String(filters.size);
    const keys = [...new Set([...definitions.values()].map((d) => d.processKey))].sort();
    if (filters.process && !keys.includes(filters.process)) keys.push(filters.process);
    const want = ['', ...keys];
    const have = [...processSelect.options].map((o) => o.value);
    if (want.join('\n') !== have.join('\n')) {
      processSelect.replaceChildren(
        el('option', { value: '' }, 'All processes'),
        ...keys.map((k) => el('option', { value: k }, k)),
      );
    }
    processSelect.value = filters.process;
  }

  function remember(): void {
    const q = filtersQuery(filters);
    sessionStorage.setItem(STORE_KEY, q);
    // replaceState, not a hash change: the router would mount the view again.
    const hash = q ? `#/instances?${q}` : '#/instances';
    if (window.location.hash !== hash) history.replaceState(history.state, '', hash);
  }

  function row(item: InstanceListItem): HTMLTableRowElement {
    const href = `#/instances/${encodeURIComponent(item.instanceGuid)}`;
    const link = el('a', { href, className: 'mono', 'data-guid': item.instanceGuid }, item.instanceGuid);
    const tr = el(
      'tr',
      { 'data-testid': 'instance-row', 'data-guid': item.instanceGuid, 'data-status': item.status },
      el('td', {}, link),
      el('td', {}, keyOf(item.processDefinitionId)),
      el('td', {}, statusBadge(item.status)),
      el('td', {}, shortTime(item.startedAt)),
      el('td', {}, shortTime(item.endedAt)),
      el('td', {}, item.businessKey ?? ''),
    );
    // The whole row opens the instance for a mouse; the link is the keyboard's way in.
    tr.addEventListener('click', (e) => {
      if ((e.target as HTMLElement).closest('a')) return;
      window.location.hash = href;
    });
    return tr;
  }

  let loadedOnce = false;
  const reads = latestReads();
  async function load(): Promise<void> {
    if (gone) return;
    table.setAttribute('aria-busy', 'true');
    if (!loadedOnce) summary.textContent = 'Loading instances…';
    const ticket = reads.take();
    try {
      const data: Record<string, unknown> = { pageNumber: filters.page, pageSize: filters.size };
      if (filters.status) data.status = filters.status;
      if (filters.process) data.processKey = filters.process;
      const r = await query<{ items: InstanceListItem[]; totalCount: number }>('GetProcessInstanceListQuery', data);
      if (gone || !ticket.current()) return;
      total = r.totalCount;
      const info = pageInfo(filters.page, filters.size, total);
      if (info.page !== filters.page && total > 0) {
        // The page emptied (filters or deletions): show the last one there is.
        filters = { ...filters, page: info.page };
        remember();
        return load();
      }
      if (r.items.some((i) => !definitions.has(i.processDefinitionId))) {
        definitions = await loadDefinitions();
        paintFilters();
      }
      const focused = (document.activeElement as HTMLElement | null)?.dataset?.guid;
      tbody.replaceChildren(...r.items.map(row));
      if (focused) tbody.querySelector<HTMLElement>(`a[data-guid="${CSS.escape(focused)}"]`)?.focus();
      summary.textContent = total === 0 ? '' : `Showing ${pageText(info, total)}`;
      pageLabel.textContent = `Page ${info.page.toLocaleString('en')} of ${info.pages.toLocaleString('en')}`;
      prev.disabled = !info.hasPrevious;
      next.disabled = !info.hasNext;
      pager.hidden = total <= filters.size && info.page === 1;
      const filtered = !!(filters.status || filters.process);
      empty.hidden = total !== 0;
      table.hidden = total === 0;
      empty.replaceChildren(
        ...(filtered
          ? [el('p', {}, 'No instances match these filters.'), el('button', { type: 'button', onclick: clearFilters }, 'Show all instances')]
          : [
              el('p', {}, 'No instances yet: deploy and start one from the designer.'),
              el('a', { href: '#/designer', 'data-testid': 'instances-empty-designer' }, 'Draw and deploy a diagram'),
            ]),
      );
      error.hidden = true;
      loadedOnce = true;
    } catch (e) {
      if (gone || !ticket.current()) return;
      error.textContent = `The instances could not be loaded: ${errorText(e)}`;
      error.hidden = false;
      if (!loadedOnce) summary.textContent = '';
    } finally {
      if (ticket.current()) table.removeAttribute('aria-busy');
    }
  }

  function clearFilters(): void {
    filters = { ...filters, status: '', process: '', page: 1 };
    paintFilters();
    remember();
    void load();
  }

  statusSelect.addEventListener('change', () => {
    filters = { ...filters, status: statusSelect.value, page: 1 };
    remember();
    void load();
  });
  processSelect.addEventListener('change', () => {
    filters = { ...filters, process: processSelect.value, page: 1 };
    remember();
    void load();
  });
  sizeSelect.addEventListener('change', () => {
    filters = { ...filters, size: Number(sizeSelect.value), page: 1 };
    remember();
    void load();
  });
  prev.addEventListener('click', () => {
    filters = { ...filters, page: Math.max(1, filters.page - 1) };
    remember();
    void load().then(() => announce(pageLabel.textContent ?? ''));
  });
  next.addEventListener('click', () => {
    filters = { ...filters, page: filters.page + 1 };
    remember();
    void load().then(() => announce(pageLabel.textContent ?? ''));
  });
  refreshButton.addEventListener('click', () => {
    void (async () => {
      try {
        definitions = await loadDefinitions();
        paintFilters();
      } catch {
        /* shown by load() */
      }
      await load();
    })();
  });

  const live = throttle(load, 250);
  const unsubscribe = subscribe(() => live.call());

  paintFilters();
  remember();
  void (async () => {
    try {
      definitions = await loadDefinitions();
      paintFilters();
    } catch (e) {
      error.textContent = `The process list could not be loaded: ${errorText(e)}`;
      error.hidden = false;
    }
    await load();
  })();

  return {
    unmount() {
      gone = true;
      live.cancel();
      unsubscribe();
    },
  };
}
