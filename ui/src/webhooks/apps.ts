/**
 * The Applications tab: incoming webhook applications (docs/webhook-apps.md). Their URL holds
 * the token, which the runtime shows once, when the application is made: it is shown here
 * then, with a Copy button, and never again. "New URL" gives the same application (same id,
 * name, description and user) a new token (RegenerateIncomingWebhookApplicationTokenCommand),
 * so the old URL stops answering at once.
 */
import { latestReads } from '../app/latest';
import { announce } from '../app/announce';
import { execute, query } from '../transport';
import { el, errorText, setError } from '../runner/dom';
import { shortTime } from '../runner/model';
import { fullUrl } from './model';
import { confirmBox, urlBox, type Panel, type Shared } from './shared';

interface App {
  id: number;
  name: string;
  description: string | null;
  impersonateUserName: string | null;
  createdAt: string;
  isActive: boolean;
}

interface Created {
  id: number;
  name: string;
  token: string;
  url: string;
}

export function appsPanel(shared: Shared): Panel {
  let gone = false;
  let loaded = false;

  // ---- the new-application form -------------------------------------------------------------------
  const nameInput = el('input', { id: 'wha-name', type: 'text', autocomplete: 'off', 'data-testid': 'wha-name' });
  const descInput = el('input', { id: 'wha-description', type: 'text', autocomplete: 'off', 'data-testid': 'wha-description' });
  const userInput = el('input', { id: 'wha-user', type: 'text', autocomplete: 'off', 'data-testid': 'wha-user', 'aria-describedby': 'wha-user-hint' });
  const nameError = el('p', { className: 'field-error', id: 'wha-name-error', role: 'alert', hidden: true, 'data-testid': 'wha-name-error' });
  const userError = el('p', { className: 'field-error', id: 'wha-user-error', role: 'alert', hidden: true, 'data-testid': 'wha-user-error' });
  const formError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'wha-form-error' });
  nameInput.setAttribute('aria-describedby', 'wha-name-error');
  userInput.setAttribute('aria-describedby', 'wha-user-hint wha-user-error');
  const create = el('button', { type: 'submit', className: 'primary', 'data-testid': 'wha-create' }, 'Create application');
  const form = el(
    'form',
    { className: 'wh-app-form', 'aria-labelledby': 'wha-title', noValidate: true },
    el('h2', { id: 'wha-title' }, 'New application'),
    el('div', { className: 'wh-field' }, el('label', { for: 'wha-name' }, 'Name'), nameInput, nameError),
    el('div', { className: 'wh-field' }, el('label', { for: 'wha-description' }, 'Description (optional)'), descInput),
    el(
      'div',
      { className: 'wh-field' },
      el('label', { for: 'wha-user' }, 'Acts as user (optional)'),
      userInput,
      el('p', { id: 'wha-user-hint', className: 'muted small' }, 'An existing user the application acts for; empty: the application itself.'),
      userError,
    ),
    el('div', { className: 'wh-form-actions' }, create, formError),
  );

  /** The one-time URL of an application just made. */
  const reveal = el('div', { className: 'wh-saved', hidden: true, tabindex: -1, 'data-testid': 'wha-reveal' });
  function showToken(c: Created, what: string): void {
    const box = urlBox('wha-token-url', fullUrl(shared.base(), c.url), `the URL of ${c.name}`, 'wha-token');
    reveal.replaceChildren(
      el('p', {}, el('strong', {}, `${what}: ${c.name}. `), 'Copy its URL now: it holds the application\'s token, which is shown only this once. Treat it like a password.'),
      box.root,
      el('button', { type: 'button', 'data-testid': 'wha-reveal-done', onclick: () => {
        reveal.replaceChildren();
        reveal.hidden = true;
      } }, 'I have copied it'),
    );
    reveal.hidden = false;
    reveal.focus();
    announce(`${what}: ${c.name}. Copy its URL now; it is shown only once.`);
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setError(nameError, null, nameInput);
    setError(userError, null, userInput);
    setError(formError, null);
    const name = nameInput.value.trim();
    if (!name) {
      setError(nameError, 'Give the application a name.', nameInput);
      nameInput.focus();
      return;
    }
    const data: Record<string, unknown> = { name };
    if (descInput.value.trim()) data.description = descInput.value.trim();
    if (userInput.value.trim()) data.impersonateUserName = userInput.value.trim();
    create.disabled = true;
    void (async () => {
      try {
        const r = await execute<Created>('CreateIncomingWebhookApplicationCommand', data);
        if (!r.ok) {
          const named = r.errors.find((x) => x.field === 'impersonateUserName' || x.field === 'name');
          if (named?.field === 'impersonateUserName') {
            setError(userError, named.message, userInput);
            userInput.focus();
          } else if (named) {
            setError(nameError, named.message, nameInput);
            nameInput.focus();
          } else setError(formError, r.message);
          return;
        }
        nameInput.value = descInput.value = userInput.value = '';
        showToken(r.data, 'Application created');
        await load();
      } catch (err) {
        setError(formError, `Not created: ${errorText(err)}`);
      } finally {
        create.disabled = false;
      }
    })();
  });

  // ---- the list ---------------------------------------------------------------------------------
  const listError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'wha-error' });
  const tbody = el('tbody');
  const table = el(
    'table',
    { className: 'runner-table', 'data-testid': 'wha-list' },
    el('caption', { className: 'sr-only' }, 'Incoming webhook applications'),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, 'Name'),
        el('th', { scope: 'col' }, 'Description'),
        el('th', { scope: 'col' }, 'Acts as'),
        el('th', { scope: 'col' }, 'Created (UTC)'),
        el('th', { scope: 'col' }, el('span', { className: 'sr-only' }, 'Actions')),
      ),
    ),
    tbody,
  );
  const empty = el('div', { className: 'empty-state', hidden: true }, el('p', {}, 'No applications yet. An application lets another system start and drive processes by posting to its private URL.'));

  function row(a: App): HTMLTableRowElement[] {
    const regenerate = el('button', { type: 'button', 'data-testid': 'wha-regenerate', 'aria-label': `New URL for ${a.name}` }, 'New URL');
    const del = el('button', { type: 'button', className: 'danger', 'data-testid': 'wha-delete', 'aria-label': `Delete ${a.name}` }, 'Delete');
    const rowError = el('p', { className: 'field-error', role: 'alert', hidden: true });
    const confirmCell = el('td', { colSpan: 5 });
    const confirmRow = el('tr', { hidden: true }, confirmCell);
    const tr = el(
      'tr',
      { 'data-testid': 'wha-row', 'data-id': String(a.id), 'data-name': a.name },
      el('td', {}, el('strong', {}, a.name)),
      el('td', {}, a.description ?? ''),
      el('td', {}, a.impersonateUserName ?? el('span', { className: 'muted' }, 'the application')),
      el('td', { className: 'nowrap' }, shortTime(a.createdAt)),
      el('td', { className: 'wh-actions' }, el('div', { className: 'wh-buttons' }, regenerate, del), rowError),
    );
    const ask = (question: string, label: string, testid: string, then: () => Promise<void>, back: HTMLElement) => {
      const box = confirmBox(question, label, testid);
      confirmCell.replaceChildren(box.root);
      confirmRow.hidden = false;
      void box.answer.then(async (yes) => {
        confirmRow.hidden = true;
        confirmCell.replaceChildren();
        if (!yes) return back.focus();
        try {
          await then();
        } catch (e) {
          setError(rowError, errorText(e));
        }
      });
    };
    regenerate.addEventListener('click', () =>
      ask(
        `Give "${a.name}" a new URL? The current URL stops answering at once; the application keeps its name, description and user.`,
        'Make a new URL',
        'wha-regenerate-confirm',
        async () => {
          const made = await execute<Omit<Created, 'name'>>('RegenerateIncomingWebhookApplicationTokenCommand', { id: a.id });
          if (!made.ok) return setError(rowError, made.errors[0]?.message ?? made.message);
          showToken({ ...made.data, name: a.name }, 'New URL made');
          await load();
        },
        regenerate,
      ),
    );
    del.addEventListener('click', () =>
      ask(
        `Delete "${a.name}"? Its URL answers 404 from now on.`,
        'Delete',
        'wha-delete-confirm',
        async () => {
          const r = await execute('DeleteIncomingWebhookApplicationCommand', { id: a.id });
          if (!r.ok) return setError(rowError, r.message);
          announce(`Deleted ${a.name}`);
          await load();
          nameInput.focus();
        },
        del,
      ),
    );
    return [tr, confirmRow];
  }

  const reads = latestReads();
  async function load(): Promise<void> {
    if (gone) return;
    const ticket = reads.take();
    try {
      const r = await query<{ items: App[]; totalCount: number }>('GetIncomingWebhookApplicationListQuery', {});
      if (gone || !ticket.current()) return;
      tbody.replaceChildren(...r.items.flatMap(row));
      table.hidden = r.items.length === 0;
      empty.hidden = r.items.length !== 0;
      setError(listError, null);
      loaded = true;
    } catch (e) {
      if (!gone && ticket.current()) setError(listError, `The applications could not be loaded: ${errorText(e)}`);
    }
  }

  const root = el(
    'div',
    { className: 'wh-apps', 'data-testid': 'wh-apps' },
    el('div', {}, reveal, listError, el('div', { className: 'table-wrap' }, table, empty)),
    form,
  );
  return {
    root,
    shown() {
      if (!loaded) void load();
    },
    unmount() {
      gone = true;
    },
  };
}
