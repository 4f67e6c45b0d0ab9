/**
 * Event subscriptions (CreateEventSubscriptionCommand, GetEventSubscriptionListQuery,
 * DeleteEventSubscriptionCommand): the list, the form that creates one (its secret shown once)
 * Send test event (SendTestEventCommand: one `webhook.test` event now, its result in words
 * beside the row) and Delete with a confirmation. Bad input is marked beside its field and nothing is sent; a
 * refusal puts the runtime's own words beside the field it names. The form keeps what was
 * typed until a subscription is created.
 */
import { latestReads } from '../app/latest';
import { announce } from '../app/announce';
import { execute, query } from '../transport';
import { el, errorText, setError } from '../runner/dom';
import { breakable, checkGroup, confirmInCell, field } from './forms';
import {
  EVENT_NAMES,
  eventsText,
  placeErrors,
  redeliverSentence,
  scopeText,
  subscriptionRequest,
  utc,
  type Delivery,
  type FieldErrors,
  type Subscription,
} from './model';

/** One event a line (`All events` for `*`). */
function eventList(events: string[] | null): HTMLElement {
  if (!events || events.includes('*')) return el('span', {}, eventsText(events));
  return el('ul', { className: 'dl-event-list' }, ...events.map((e) => el('li', { className: 'mono small' }, e)));
}

export interface Panel {
  root: HTMLElement;
  load(): Promise<void>;
}

const FIELDS = ['url', 'events', 'secret', 'processKey'] as const;

export function subscriptionsPanel(processList: string): Panel {
  const tbody = el('tbody');
  const table = el(
    'table',
    { className: 'runner-table dl-table', 'data-testid': 'subscription-list' },
    el('caption', { className: 'sr-only' }, 'Event subscriptions'),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, 'ID'),
        el('th', { scope: 'col' }, 'URL'),
        el('th', { scope: 'col' }, 'Events'),
        el('th', { scope: 'col' }, 'Scope'),
        el('th', { scope: 'col' }, el('span', { className: 'sr-only' }, 'Actions')),
      ),
    ),
    tbody,
  );
  const empty = el('p', { className: 'muted', 'data-testid': 'subscriptions-empty', hidden: true }, 'No event subscriptions yet.');
  const listError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'subscriptions-error' });

  // ---- the form -------------------------------------------------------------------------------
  const url = field(
    'sub-url',
    'URL',
    el('input', { type: 'text', inputMode: 'url', autocomplete: 'off', spellcheck: false, placeholder: 'https://example.com/baton-events', 'data-testid': 'sub-url' }),
  );
  const events = checkGroup(
    'sub-events',
    'Events',
    [['*', 'All events'], ...EVENT_NAMES.map((n): [string, string] => [n, n])],
    'sub-events',
  );
  const secret = field(
    'sub-secret',
    'Secret (optional)',
    el('input', { type: 'text', autocomplete: 'off', spellcheck: false, placeholder: 'whsec_…', 'data-testid': 'sub-secret' }),
    'whsec_ followed by base64. Left empty, Baton makes one and shows it once.',
  );
  const processKey = field(
    'sub-process',
    'Process (optional)',
    el('input', { type: 'text', autocomplete: 'off', spellcheck: false, 'data-testid': 'sub-process' }),
    'Only instances of this process key; empty for every process.',
  );
  processKey.control.setAttribute('list', processList);
  const formError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'sub-form-error' });
  const submit = el('button', { type: 'submit', className: 'primary', 'data-testid': 'sub-create' }, 'Create subscription');
  const cancel = el('button', { type: 'button', 'data-testid': 'sub-cancel' }, 'Close');
  const form = el(
    'form',
    { className: 'dl-form', id: 'sub-form', noValidate: true, hidden: true, 'aria-label': 'New event subscription', 'data-testid': 'sub-form' },
    url.wrap,
    events.wrap,
    secret.wrap,
    processKey.wrap,
    formError,
    el('div', { className: 'form-actions' }, submit, cancel),
  );
  const created = el('div', { className: 'dl-created', role: 'status', hidden: true, 'data-testid': 'sub-created' });
  const newButton = el(
    'button',
    { type: 'button', 'aria-expanded': 'false', 'aria-controls': 'sub-form', 'data-testid': 'sub-new' },
    'New subscription',
  );

  const root = el(
    'section',
    { className: 'panel dl-panel', 'aria-labelledby': 'subs-title', 'data-testid': 'subscriptions' },
    el('div', { className: 'dl-panel-head' }, el('h2', { id: 'subs-title' }, 'Event subscriptions'), newButton),
    created,
    form,
    listError,
    el('div', { className: 'table-wrap' }, table),
    empty,
  );

  const showForm = (open: boolean) => {
    form.hidden = !open;
    newButton.setAttribute('aria-expanded', String(open));
    if (open) url.control.focus();
  };
  newButton.addEventListener('click', () => showForm(form.hidden));
  cancel.addEventListener('click', () => {
    showForm(false);
    newButton.focus();
  });

  const marks: Record<string, (m: string | null) => void> = {
    url: url.set,
    events: events.set,
    secret: secret.set,
    processKey: processKey.set,
    form: (m) => setError(formError, m),
  };
  const focusOf: Record<string, () => void> = {
    url: () => url.control.focus(),
    events: () => events.boxes[0]?.focus(),
    secret: () => secret.control.focus(),
    processKey: () => processKey.control.focus(),
  };
  function mark(errors: FieldErrors): void {
    for (const [k, set] of Object.entries(marks)) set(errors[k] ?? null);
    const first = FIELDS.find((f) => errors[f]);
    if (first) focusOf[first]?.();
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const request = subscriptionRequest({
      url: url.control.value,
      events: events.checked(),
      secret: secret.control.value,
      processKey: processKey.control.value,
    });
    if (!request.ok) {
      mark(request.errors);
      return;
    }
    mark({});
    submit.disabled = true;
    void (async () => {
      try {
        const answer = await execute<{ id: number; secret: string; url: string }>('CreateEventSubscriptionCommand', request.data);
        if (!answer.ok) {
          mark(placeErrors(answer.errors, FIELDS, answer.message || 'The subscription was not created.'));
          return;
        }
        showCreated(answer.data.id, answer.data.secret);
        url.control.value = '';
        secret.control.value = '';
        processKey.control.value = '';
        events.clear();
        showForm(false);
        announce(`Subscription ${answer.data.id} created.`);
        await load();
      } catch (err) {
        mark({ form: `The subscription was not created: ${errorText(err)}` });
      } finally {
        submit.disabled = false;
      }
    })();
  });

  function showCreated(id: number, value: string): void {
    const copy = el('button', { type: 'button', 'data-testid': 'sub-secret-copy' }, 'Copy secret');
    const done = el('button', { type: 'button', 'data-testid': 'sub-created-close' }, 'Done');
    const copied = el('span', { className: 'muted small', 'aria-live': 'polite' });
    copy.addEventListener('click', () => {
      void navigator.clipboard
        ?.writeText(value)
        .then(() => (copied.textContent = 'Copied.'))
        .catch(() => (copied.textContent = 'Copying was refused: select the secret and copy it.'));
    });
    done.addEventListener('click', () => {
      created.hidden = true;
      created.replaceChildren();
      newButton.focus();
    });
    created.replaceChildren(
      el('p', {}, el('strong', {}, `Subscription ${id} created.`), ' Its signing secret is shown this once; keep it for the receiver:'),
      el('code', { className: 'dl-secret', 'data-testid': 'sub-secret-value' }, value),
      el('div', { className: 'form-actions' }, copy, done, copied),
    );
    created.hidden = false;
  }

  function row(s: Subscription): HTMLTableRowElement {
    const actions = el('td', { className: 'dl-actions dl-sub-actions' });
    const del = el('button', { type: 'button', className: 'danger', 'data-testid': 'sub-delete', 'data-focus': `sub-del-${s.id}`, 'aria-label': `Delete subscription ${s.id}` }, 'Delete');
    del.addEventListener('click', () =>
      confirmInCell(
        actions,
        `Delete subscription ${s.id}? Deliveries already in the log stay.`,
        'Delete',
        async () => {
          try {
            const a = await execute('DeleteEventSubscriptionCommand', { id: s.id });
            if (!a.ok) return a.errors[0]?.message ?? a.message;
            announce(`Subscription ${s.id} deleted.`);
            await load();
            (root.querySelector<HTMLElement>('[data-testid="sub-delete"]') ?? newButton).focus();
            return null;
          } catch (err) {
            return errorText(err);
          }
        },
        'sub-delete',
      ),
    );
    const test = el(
      'button',
      { type: 'button', 'data-testid': 'sub-test', 'aria-label': `Send a test event to subscription ${s.id}` },
      'Send test event',
    );
    const tested = el('p', { className: 'dl-result', role: 'status', 'data-testid': 'sub-test-result', hidden: true });
    test.addEventListener('click', () => {
      test.disabled = true;
      tested.hidden = false;
      tested.classList.remove('field-error');
      tested.textContent = 'Sending a test event…';
      void execute<Delivery>('SendTestEventCommand', { subscriptionId: s.id })
        .then((a) => {
          const text = a.ok ? `Test event: ${redeliverSentence(a.data)}` : (a.errors[0]?.message ?? a.message);
          tested.textContent = text;
          tested.classList.toggle('field-error', !a.ok || a.data.status !== 'Delivered');
          announce(text);
        })
        .catch((err) => {
          tested.textContent = `The test event could not be sent: ${errorText(err)}`;
          tested.classList.add('field-error');
        })
        .finally(() => {
          test.disabled = false;
        });
    });
    actions.append(test, del, tested);
    return el(
      'tr',
      { 'data-testid': 'subscription-row', 'data-id': String(s.id) },
      el('td', {}, String(s.id)),
      el('td', { className: 'mono dl-wrap', title: `created ${utc(s.createdAt)} UTC` }, breakable(s.url)),
      el('td', { className: 'dl-events' }, eventList(s.events)),
      el('td', {}, s.instanceGuid ? el('a', { href: `#/instances/${encodeURIComponent(s.instanceGuid)}` }, 'one instance') : scopeText(s)),
      actions,
    );
  }

  const reads = latestReads();
  async function load(): Promise<void> {
    const ticket = reads.take();
    try {
      const r = await query<{ items: Subscription[] }>('GetEventSubscriptionListQuery', {});
      if (!ticket.current()) return;
      tbody.replaceChildren(...r.items.map(row));
      table.hidden = r.items.length === 0;
      empty.hidden = r.items.length !== 0;
      setError(listError, null);
    } catch (err) {
      if (ticket.current()) setError(listError, `The subscriptions could not be loaded: ${errorText(err)}`);
    }
  }

  return { root, load };
}
