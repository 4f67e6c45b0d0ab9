/**
 * The Configurations tab: every webhook configuration (GetWebHookConfigListQuery, paged) with
 * its full URL to copy, an "unverified" badge where `verified` is false, activate / deactivate,
 * edit (./editor.ts), its requests in the inspector, and delete after a confirmation.
 */
import { latestReads } from '../app/latest';
import { announce } from '../app/announce';
import { execute, query } from '../transport';
import { el, errorText, setError } from '../runner/dom';
import { pageInfo, pageText } from '../runner/model';
import { editorPanel } from './editor';
import { fullUrl, typeLabel, type HookConfig } from './model';
import { confirmBox, urlBox, type Panel, type Shared } from './shared';
import { testPanel } from './test-send';

const PAGE_SIZE = 25;

export function configsPanel(shared: Shared): Panel {
  let page = 1;
  let items: HookConfig[] = [];
  let loaded = false;
  let gone = false;

  const newButton = el('button', { type: 'button', className: 'primary', 'data-testid': 'wh-new' }, 'New webhook');
  const refresh = el('button', { type: 'button', 'data-testid': 'wh-refresh' }, 'Refresh');
  const summary = el('p', { className: 'list-summary', 'aria-live': 'polite', 'data-testid': 'wh-summary' });
  const listError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'wh-list-error' });
  const saved = el('div', { className: 'wh-saved', hidden: true, 'data-testid': 'wh-saved', tabindex: -1 });
  const tbody = el('tbody');
  const table = el(
    'table',
    { className: 'runner-table wh-table', 'data-testid': 'wh-list' },
    el('caption', { className: 'sr-only' }, 'Webhook configurations'),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, 'Name'),
        el('th', { scope: 'col' }, 'Address senders call'),
        el('th', { scope: 'col' }, 'Runs'),
        el('th', { scope: 'col' }, 'Verification'),
        el('th', { scope: 'col' }, 'State'),
        el('th', { scope: 'col' }, el('span', { className: 'sr-only' }, 'Actions')),
      ),
    ),
    tbody,
  );
  const empty = el(
    'div',
    { className: 'empty-state', hidden: true, 'data-testid': 'wh-empty' },
    el('p', {}, 'No webhook configurations yet. A configuration gives a payment gateway or any other service an address to call.'),
  );
  const prev = el('button', { type: 'button' }, 'Previous');
  const next = el('button', { type: 'button' }, 'Next');
  const pageLabel = el('span', { className: 'page-label' });
  const pager = el('nav', { className: 'pager', 'aria-label': 'Pages of configurations', hidden: true }, prev, pageLabel, next);
  const list = el(
    'div',
    { className: 'wh-list-part' },
    el('div', { className: 'filters' }, newButton, refresh, summary),
    listError,
    saved,
    el('div', { className: 'table-wrap' }, table, empty),
    pager,
  );
  const editorHost = el('div', { hidden: true });
  const root = el('div', { 'data-testid': 'wh-configs' }, list, editorHost);

  let editor: ReturnType<typeof editorPanel> | null = null;

  function openEditor(config: HookConfig | null): void {
    editor?.destroy();
    editor = editorPanel(config, {
      base: shared.base,
      close(result) {
        editor?.destroy();
        editor = null;
        editorHost.replaceChildren();
        editorHost.hidden = true;
        list.hidden = false;
        if (result) showSaved(result.message, result.config);
        void load();
        if (!result) (config ? tbody.querySelector<HTMLElement>(`[data-edit="${config.id}"]`) : newButton)?.focus();
      },
    });
    editorHost.replaceChildren(editor.root);
    list.hidden = true;
    editorHost.hidden = false;
    editor.focus();
  }

  function showSaved(message: string, config: HookConfig): void {
    const box = urlBox('wh-saved-url', fullUrl(shared.base(), config.url), `the address of ${config.name}`, 'wh-saved');
    saved.replaceChildren(el('p', {}, el('strong', {}, `${message}: ${config.name}. `), 'Senders call this address (POST):'), box.root);
    if (!config.verified) {
      saved.append(el('p', { className: 'wh-warning', 'data-testid': 'wh-saved-warning' }, config.warning ?? 'Unverified: anyone who knows its URL can call it.'));
    }
    saved.append(el('button', { type: 'button', onclick: () => (saved.hidden = true) }, 'Dismiss'));
    saved.hidden = false;
    saved.focus();
    announce(`${message}: ${config.name}`);
  }

  function row(c: HookConfig): HTMLTableRowElement[] {
    const box = urlBox(`wh-url-${c.id}`, fullUrl(shared.base(), c.url), `the address of ${c.name}`, 'wh-row');
    const verification = c.verified
      ? el('span', { className: 'wh-scheme' }, c.verification.scheme)
      : el(
          'span',
          { className: 'wh-badge wh-unverified', title: c.warning ?? '', 'data-testid': 'wh-unverified' },
          'Unverified',
          el('span', { className: 'sr-only' }, `: ${c.warning ?? 'anyone who knows its URL can call it'}`),
        );
    const state = el('span', { className: `status ${c.isActive ? 'status-completed' : 'status-cancelled'}`, 'data-testid': 'wh-state' }, c.isActive ? 'Active' : 'Inactive');
    const edit = el('button', { type: 'button', 'data-edit': String(c.id), 'data-testid': 'wh-edit', 'aria-label': `Edit ${c.name}` }, 'Edit');
    const toggle = el(
      'button',
      { type: 'button', 'data-testid': 'wh-toggle', 'aria-label': `${c.isActive ? 'Deactivate' : 'Activate'} ${c.name}` },
      c.isActive ? 'Deactivate' : 'Activate',
    );
    const requests = el('button', { type: 'button', 'data-testid': 'wh-requests', 'aria-label': `Requests of ${c.name}` }, 'Requests');
    const test = el('button', { type: 'button', 'data-testid': 'wh-test', 'aria-label': `Send a test request to ${c.name}`, 'aria-expanded': 'false' }, 'Send test');
    const del = el('button', { type: 'button', className: 'danger', 'data-testid': 'wh-delete', 'aria-label': `Delete ${c.name}` }, 'Delete');
    const rowError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'wh-row-error' });
    const confirmCell = el('td', { colSpan: 6 });
    const confirmRow = el('tr', { className: 'wh-confirm-row', hidden: true }, confirmCell);
    const tr = el(
      'tr',
      { 'data-testid': 'wh-row', 'data-id': String(c.id), 'data-name': c.name },
      el('td', {}, el('strong', {}, c.name), el('div', { className: 'muted small' }, `#${c.id}`)),
      el('td', { className: 'wh-url-cell' }, box.root),
      el('td', {}, typeLabel(c.executionType), c.commandName ? el('div', { className: 'muted small mono' }, c.commandName) : null, c.processKey ? el('div', { className: 'muted small mono' }, c.processKey) : null),
      el('td', {}, verification, c.allowedIPs.length ? el('div', { className: 'muted small' }, `${c.allowedIPs.length} allowed address${c.allowedIPs.length === 1 ? '' : 'es'}`) : null),
      el('td', {}, state),
      el('td', { className: 'wh-actions' }, el('div', { className: 'wh-buttons' }, edit, toggle, test, requests, del), rowError),
    );
    edit.addEventListener('click', () => {
      void (async () => {
        try {
          openEditor(await query<HookConfig>('GetWebHookConfigByIdQuery', { id: c.id }));
        } catch (e) {
          setError(rowError, `This configuration could not be opened: ${errorText(e)}`);
        }
      })();
    });
    toggle.addEventListener('click', () => {
      void (async () => {
        toggle.disabled = true;
        try {
          const r = await execute(c.isActive ? 'DeactivateWebHookConfigCommand' : 'ActivateWebHookConfigCommand', { id: c.id });
          if (!r.ok) setError(rowError, r.message);
          else {
            announce(r.message);
            await load();
            tbody.querySelector<HTMLElement>(`tr[data-id="${c.id}"] [data-testid="wh-toggle"]`)?.focus();
          }
        } catch (e) {
          setError(rowError, errorText(e));
        } finally {
          toggle.disabled = false;
        }
      })();
    });
    requests.addEventListener('click', () => shared.showRequests(c.id));
    const testCell = el('td', { colSpan: 6 });
    const testRow = el('tr', { className: 'wh-confirm-row', hidden: true }, testCell);
    const closeTest = () => {
      testRow.hidden = true;
      testCell.replaceChildren();
      test.setAttribute('aria-expanded', 'false');
      test.focus();
    };
    test.addEventListener('click', () => {
      if (!testRow.hidden) return closeTest();
      testCell.replaceChildren(testPanel(c, { close: closeTest, showRequests: () => shared.showRequests(c.id) }));
      testRow.hidden = false;
      test.setAttribute('aria-expanded', 'true');
    });
    del.addEventListener('click', () => {
      const ask = confirmBox(
        `Delete "${c.name}"? Senders calling ${c.url} get 404 from now on; its requests stay in the log.`,
        'Delete',
        'wh-delete-confirm',
      );
      confirmCell.replaceChildren(ask.root);
      confirmRow.hidden = false;
      void ask.answer.then(async (yes) => {
        confirmRow.hidden = true;
        confirmCell.replaceChildren();
        if (!yes) return del.focus();
        try {
          const r = await execute('DeleteWebHookConfigCommand', { id: c.id });
          if (!r.ok) return setError(rowError, r.message);
          announce(`Deleted ${c.name}`);
          await load();
          newButton.focus();
        } catch (e) {
          setError(rowError, errorText(e));
        }
      });
    });
    return [tr, testRow, confirmRow];
  }

  const reads = latestReads();
  async function load(): Promise<void> {
    if (gone) return;
    if (!loaded) summary.textContent = 'Loading…';
    const ticket = reads.take();
    try {
      const r = await query<{ items: HookConfig[]; totalCount: number }>('GetWebHookConfigListQuery', { pageNumber: page, pageSize: PAGE_SIZE });
      if (gone || !ticket.current()) return;
      const info = pageInfo(page, PAGE_SIZE, r.totalCount);
      if (info.page !== page && r.totalCount > 0) {
        page = info.page;
        return load();
      }
      items = r.items;
      tbody.replaceChildren(...items.flatMap(row));
      table.hidden = r.totalCount === 0;
      empty.hidden = r.totalCount !== 0;
      summary.textContent = r.totalCount === 0 ? '' : `${pageText(info, r.totalCount)} configurations`;
      pageLabel.textContent = `Page ${info.page} of ${info.pages}`;
      prev.disabled = !info.hasPrevious;
      next.disabled = !info.hasNext;
      pager.hidden = info.pages <= 1;
      setError(listError, null);
      loaded = true;
    } catch (e) {
      if (!gone && ticket.current()) setError(listError, `The configurations could not be loaded: ${errorText(e)}`);
      if (!loaded) summary.textContent = '';
    }
  }

  newButton.addEventListener('click', () => openEditor(null));
  refresh.addEventListener('click', () => void load());
  prev.addEventListener('click', () => {
    page = Math.max(1, page - 1);
    void load();
  });
  next.addEventListener('click', () => {
    page += 1;
    void load();
  });
  shared.onBase(() => {
    if (loaded) tbody.replaceChildren(...items.flatMap(row));
  });

  return {
    root,
    shown() {
      if (!editor) void load();
    },
    unmount() {
      gone = true;
      editor?.destroy();
    },
  };
}
