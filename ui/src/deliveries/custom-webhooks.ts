/**
 * Custom webhooks (CreateCustomWebhookCommand, GetCustomWebhookListQuery,
 * DeleteCustomWebhookCommand): a request of the webhook's own method, headers and (JMESPath
 * transformed) body when an instance enters one of its states. Headers are typed as JSON and
 * checked here (the mistake selected); the mapping is compiled by the runtime, whose message
 * is shown beside it.
 */
import { latestReads } from '../app/latest';
import { announce } from '../app/announce';
import { execute, query } from '../transport';
import { el, errorText, selectMistake, setError } from '../runner/dom';
import { breakable, confirmInCell, field } from './forms';
import { METHODS, placeErrors, webhookRequest, type CustomWebhook, type FieldErrors } from './model';
import type { Panel } from './subscriptions';

const FIELDS = ['name', 'url', 'method', 'stateNames', 'headers', 'mapping', 'processKey'] as const;

export function customWebhooksPanel(processList: string): Panel {
  const tbody = el('tbody');
  const table = el(
    'table',
    { className: 'runner-table dl-table', 'data-testid': 'webhook-list' },
    el('caption', { className: 'sr-only' }, 'Custom webhooks'),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, 'ID'),
        el('th', { scope: 'col' }, 'Name'),
        el('th', { scope: 'col' }, 'Request'),
        el('th', { scope: 'col' }, 'When entering'),
        el('th', { scope: 'col' }, 'Scope'),
        el('th', { scope: 'col' }, el('span', { className: 'sr-only' }, 'Actions')),
      ),
    ),
    tbody,
  );
  const empty = el('p', { className: 'muted', 'data-testid': 'webhooks-empty', hidden: true }, 'No custom webhooks yet.');
  const listError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'webhooks-error' });

  const name = field('cw-name', 'Name', el('input', { type: 'text', autocomplete: 'off', 'data-testid': 'cw-name' }));
  const url = field(
    'cw-url',
    'URL',
    el('input', { type: 'text', inputMode: 'url', autocomplete: 'off', spellcheck: false, placeholder: 'https://example.com/update', 'data-testid': 'cw-url' }),
  );
  const method = field('cw-method', 'Method', el('select', { 'data-testid': 'cw-method' }, ...METHODS.map((m) => el('option', { value: m }, m))));
  const states = field(
    'cw-states',
    'States',
    el('input', { type: 'text', autocomplete: 'off', spellcheck: false, placeholder: 'manual_review, Manager review', 'data-testid': 'cw-states' }),
    'Element ids or names, separated by commas: the request is sent when an instance enters one.',
  );
  const headers = field(
    'cw-headers',
    'Headers (optional JSON object)',
    el('textarea', { rows: 3, spellcheck: false, placeholder: '{"authorization": "Bearer {secret.VENDOR_API_KEY}"}', 'data-testid': 'cw-headers' }),
    '{secret.NAME} is replaced by a secret set with SetSecretCommand when the request is sent.',
  );
  const mapping = field(
    'cw-mapping',
    'Body mapping (optional JMESPath)',
    el('input', { type: 'text', autocomplete: 'off', spellcheck: false, placeholder: '{success_result: @}', className: 'mono', 'data-testid': 'cw-mapping' }),
    'Applied to the event payload; empty sends the payload as it is.',
  );
  mapping.error.classList.add('dl-preserve');
  const processKey = field(
    'cw-process',
    'Process (optional)',
    el('input', { type: 'text', autocomplete: 'off', spellcheck: false, 'data-testid': 'cw-process' }),
  );
  processKey.control.setAttribute('list', processList);
  const formError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'cw-form-error' });
  const submit = el('button', { type: 'submit', className: 'primary', 'data-testid': 'cw-create' }, 'Create webhook');
  const close = el('button', { type: 'button', 'data-testid': 'cw-cancel' }, 'Close');
  const form = el(
    'form',
    { className: 'dl-form', id: 'cw-form', noValidate: true, hidden: true, 'aria-label': 'New custom webhook', 'data-testid': 'cw-form' },
    el('div', { className: 'dl-row' }, name.wrap, method.wrap),
    url.wrap,
    states.wrap,
    headers.wrap,
    mapping.wrap,
    processKey.wrap,
    formError,
    el('div', { className: 'form-actions' }, submit, close),
  );
  const newButton = el(
    'button',
    { type: 'button', 'aria-expanded': 'false', 'aria-controls': 'cw-form', 'data-testid': 'cw-new' },
    'New custom webhook',
  );
  const note = el('p', { className: 'dl-note', role: 'status', hidden: true, 'data-testid': 'cw-created' });

  const root = el(
    'section',
    { className: 'panel dl-panel', 'aria-labelledby': 'cw-title', 'data-testid': 'custom-webhooks' },
    el('div', { className: 'dl-panel-head' }, el('h2', { id: 'cw-title' }, 'Custom webhooks'), newButton),
    note,
    form,
    listError,
    el('div', { className: 'table-wrap' }, table),
    empty,
  );

  const showForm = (open: boolean) => {
    form.hidden = !open;
    newButton.setAttribute('aria-expanded', String(open));
    if (open) name.control.focus();
  };
  newButton.addEventListener('click', () => showForm(form.hidden));
  close.addEventListener('click', () => {
    showForm(false);
    newButton.focus();
  });

  const fields = { name, url, method, stateNames: states, headers, mapping, processKey };
  function mark(errors: FieldErrors, mistakes: Record<string, number> = {}): void {
    for (const [k, f] of Object.entries(fields)) f.set(errors[k] ?? null);
    setError(formError, errors.form ?? null);
    const first = FIELDS.find((f) => errors[f]);
    if (!first) return;
    const control = fields[first].control;
    if (first === 'headers' && mistakes.headers !== undefined) selectMistake(headers.control, mistakes.headers);
    else control.focus();
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const request = webhookRequest({
      name: name.control.value,
      url: url.control.value,
      method: method.control.value,
      stateNames: states.control.value,
      headers: headers.control.value,
      mapping: mapping.control.value,
      processKey: processKey.control.value,
    });
    if (!request.ok) {
      mark(request.errors, request.mistakes);
      return;
    }
    mark({});
    submit.disabled = true;
    void (async () => {
      try {
        const answer = await execute<{ id: number; name: string }>('CreateCustomWebhookCommand', request.data);
        if (!answer.ok) {
          mark(placeErrors(answer.errors, FIELDS, answer.message || 'The webhook was not created.', { request: 'mapping' }));
          return;
        }
        for (const f of [name, url, states, headers, mapping, processKey]) f.control.value = '';
        method.control.value = 'POST';
        showForm(false);
        note.textContent = `Custom webhook ${answer.data.id} (${answer.data.name}) created.`;
        note.hidden = false;
        announce(note.textContent);
        await load();
        newButton.focus();
      } catch (err) {
        mark({ form: `The webhook was not created: ${errorText(err)}` });
      } finally {
        submit.disabled = false;
      }
    })();
  });

  function row(w: CustomWebhook): HTMLTableRowElement {
    const actions = el('td', { className: 'dl-actions' });
    const del = el('button', { type: 'button', className: 'danger', 'data-testid': 'cw-delete', 'aria-label': `Delete custom webhook ${w.name}` }, 'Delete');
    del.addEventListener('click', () =>
      confirmInCell(
        actions,
        `Delete custom webhook ${w.name}? Deliveries already in the log stay.`,
        'Delete',
        async () => {
          try {
            const a = await execute('DeleteCustomWebhookCommand', { id: w.id });
            if (!a.ok) return a.errors[0]?.message ?? a.message;
            note.hidden = true;
            announce(`Custom webhook ${w.name} deleted.`);
            await load();
            (root.querySelector<HTMLElement>('[data-testid="cw-delete"]') ?? newButton).focus();
            return null;
          } catch (err) {
            return errorText(err);
          }
        },
        'cw-delete',
      ),
    );
    actions.append(del);
    const mapped = w.request?.transform?.mapping;
    const headerNames = Object.keys(w.headers ?? {});
    return el(
      'tr',
      { 'data-testid': 'webhook-row', 'data-id': String(w.id) },
      el('td', {}, String(w.id)),
      el('td', { className: 'dl-name' }, breakable(w.name)),
      el(
        'td',
        { className: 'dl-wrap' },
        el('span', { className: 'mono' }, `${w.method} `, breakable(w.url)),
        headerNames.length ? el('div', { className: 'muted small' }, `headers: ${headerNames.join(', ')}`) : null,
        mapped ? el('div', { className: 'muted small' }, 'body: ', el('code', {}, mapped)) : null,
      ),
      el('td', {}, (w.stateNames ?? []).join(', ')),
      el('td', {}, w.processKey ? `process ${w.processKey}` : 'every process'),
      actions,
    );
  }

  const reads = latestReads();
  async function load(): Promise<void> {
    const ticket = reads.take();
    try {
      const r = await query<{ items: CustomWebhook[] }>('GetCustomWebhookListQuery', {});
      if (!ticket.current()) return;
      tbody.replaceChildren(...r.items.map(row));
      table.hidden = r.items.length === 0;
      empty.hidden = r.items.length !== 0;
      setError(listError, null);
    } catch (err) {
      if (ticket.current()) setError(listError, `The custom webhooks could not be loaded: ${errorText(err)}`);
    }
  }

  return { root, load };
}
