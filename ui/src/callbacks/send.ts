/**
 * Send a message (CorrelateMessageCommand: name, correlation key, variables, how long to keep it
 * when nothing waits) and broadcast a signal (BroadcastSignalCommand: name, variables). Bad input
 * is refused beside its field before anything is sent; the runtime's refusal is shown beside
 * the form; the answer is said in words; what was typed stays.
 */
import { announce } from '../app/announce';
import { parseJson } from '../app/json';
import { execute } from '../transport';
import { el, errorText, selectMistake, setError } from '../runner/dom';
import { clearField, field, placeFieldErrors, refusalText, type Field } from './answer';

function answerBox(testid: string): HTMLDivElement {
  return el('div', { className: 'cb-result', hidden: true, 'data-testid': testid, 'aria-live': 'polite' });
}

/** `none`: accepted, but nothing happened (no instance waited, nobody listened). */
function showAnswer(box: HTMLElement, outcome: 'ok' | 'none', words: string, links: HTMLElement[] = []): void {
  box.hidden = false;
  box.className = `cb-result cb-${outcome}`;
  box.replaceChildren(el('p', { className: 'cb-result-title' }, words), ...(links.length ? [el('p', { className: 'small' }, ...links)] : []));
}

function instanceLinks(guids: string[]): HTMLElement[] {
  const out: HTMLElement[] = [];
  guids.slice(0, 20).forEach((g, i) => {
    if (i) out.push(el('span', {}, ', '));
    out.push(el('a', { href: `#/instances/${encodeURIComponent(g)}`, className: 'mono' }, g));
  });
  if (guids.length > 20) out.push(el('span', {}, ` and ${guids.length - 20} more`));
  return out;
}

/** Parses an optional JSON object box; on a mistake, marks it and returns undefined. */
function variablesOf(f: Field<HTMLTextAreaElement>): Record<string, unknown> | undefined | null {
  const parsed = parseJson(f.control.value, { what: 'The variables', object: true, empty: {} });
  if (!parsed.ok) {
    setError(f.error, parsed.message, f.control);
    selectMistake(f.control, parsed.offset);
    return null;
  }
  return Object.keys(parsed.value).length ? parsed.value : undefined;
}

function required(f: Field<HTMLInputElement>, what: string): string | null {
  const v = f.control.value.trim();
  if (!v) {
    setError(f.error, `Enter the ${what}.`, f.control);
    f.control.focus();
    return null;
  }
  return v;
}

export function messageForm(onSent: () => void): HTMLElement {
  const name = field('message-name', 'Message name', el('input', { type: 'text', autocomplete: 'off', 'data-testid': 'message-name' }) as HTMLInputElement);
  const key = field(
    'message-key',
    'Correlation key (optional)',
    el('input', { type: 'text', autocomplete: 'off', 'data-testid': 'message-key' }) as HTMLInputElement,
    'Without a key the message reaches the oldest instance waiting for this name.',
  );
  const vars = field(
    'message-variables',
    'Variables (JSON object, optional)',
    el('textarea', { rows: 4, spellcheck: false, placeholder: '{"approved": true}', 'data-testid': 'message-variables' }) as HTMLTextAreaElement,
  );
  const ttl = field(
    'message-ttl',
    'Keep it when nothing waits (seconds)',
    el('input', { type: 'number', min: '0', step: '1', value: '0', inputMode: 'numeric', 'data-testid': 'message-ttl' }) as HTMLInputElement,
    '0 discards a message nothing waits for.',
  );
  const send = el('button', { type: 'button', className: 'primary', 'data-testid': 'message-send' }, 'Send message');
  const error = el('p', { className: 'field-error cb-form-error', role: 'alert', hidden: true, 'data-testid': 'message-error' });
  const answer = answerBox('message-answer');
  const fields = { messageName: name, correlationKey: key, variables: vars, ttlSeconds: ttl } as Record<string, Field<HTMLElement>>;

  send.addEventListener('click', () => {
    for (const f of Object.values(fields)) clearField(f);
    setError(error, null);
    answer.hidden = true;
    const n = required(name, 'message name');
    if (n === null) return;
    const variables = variablesOf(vars);
    if (variables === null) return;
    const ttlText = ttl.control.value.trim();
    const ttlSeconds = ttlText === '' ? 0 : Number(ttlText);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 0) {
      setError(ttl.error, 'Enter a whole number of seconds, 0 or more.', ttl.control);
      ttl.control.focus();
      return;
    }
    const data: Record<string, unknown> = { messageName: n };
    if (key.control.value.trim()) data.correlationKey = key.control.value.trim();
    if (variables) data.variables = variables;
    if (ttlSeconds > 0) data.ttlSeconds = ttlSeconds;
    send.disabled = true;
    answer.hidden = true;
    void (async () => {
      try {
        const r = await execute('CorrelateMessageCommand', data as never);
        if (!r.ok) {
          placeFieldErrors(r.errors, fields);
          setError(error, refusalText(r));
          return;
        }
        const d = r.data;
        const guid = d.instanceGuid ? [d.instanceGuid] : [];
        const words = d.duplicate
          ? 'A duplicate message: nothing was delivered again.'
          : d.correlated
            ? `Correlated: ${d.started ? 'started' : 'resumed'} an instance${d.status ? `, now ${d.status}` : ''}.`
            : d.buffered
              ? `Nothing waits for it yet: kept until ${d.expiresAt ?? 'it expires'}.`
              : 'Nothing waits for this message: it was discarded (give it a time to keep it).';
        showAnswer(answer, d.correlated || d.buffered ? 'ok' : 'none', words, instanceLinks(guid));
        announce(words);
        onSent();
      } catch (e) {
        setError(error, errorText(e));
      } finally {
        send.disabled = false;
      }
    })();
  });

  return el(
    'section',
    { className: 'panel cb-send', 'aria-labelledby': 'h-message', 'data-testid': 'message-form' },
    el('h2', { id: 'h-message' }, 'Send a message'),
    name.wrap,
    key.wrap,
    vars.wrap,
    ttl.wrap,
    el('div', { className: 'form-actions' }, send),
    error,
    answer,
  );
}

export function signalForm(onSent: () => void): HTMLElement {
  const name = field('signal-name', 'Signal name', el('input', { type: 'text', autocomplete: 'off', 'data-testid': 'signal-name' }) as HTMLInputElement);
  const vars = field(
    'signal-variables',
    'Variables (JSON object, optional)',
    el('textarea', { rows: 3, spellcheck: false, placeholder: '{}', 'data-testid': 'signal-variables' }) as HTMLTextAreaElement,
  );
  const send = el('button', { type: 'button', className: 'primary', 'data-testid': 'signal-send' }, 'Broadcast signal');
  const error = el('p', { className: 'field-error cb-form-error', role: 'alert', hidden: true, 'data-testid': 'signal-error' });
  const answer = answerBox('signal-answer');
  const fields = { signalName: name, variables: vars } as Record<string, Field<HTMLElement>>;

  send.addEventListener('click', () => {
    for (const f of Object.values(fields)) clearField(f);
    setError(error, null);
    answer.hidden = true;
    const n = required(name, 'signal name');
    if (n === null) return;
    const variables = variablesOf(vars);
    if (variables === null) return;
    const data: Record<string, unknown> = { signalName: n };
    if (variables) data.variables = variables;
    send.disabled = true;
    answer.hidden = true;
    void (async () => {
      try {
        const r = await execute('BroadcastSignalCommand', data as never);
        if (!r.ok) {
          placeFieldErrors(r.errors, fields);
          setError(error, refusalText(r));
          return;
        }
        const { instances, started } = r.data;
        const plural = (n: number) => `${n} instance${n === 1 ? '' : 's'}`;
        const words =
          instances.length + started.length === 0
            ? `Broadcast: no instance listens for signal '${n}'.`
            : `Broadcast: resumed ${plural(instances.length)}, started ${plural(started.length)}.`;
        showAnswer(answer, instances.length + started.length ? 'ok' : 'none', words, instanceLinks([...instances, ...started]));
        announce(words);
        onSent();
      } catch (e) {
        setError(error, errorText(e));
      } finally {
        send.disabled = false;
      }
    })();
  });

  return el(
    'section',
    { className: 'panel cb-send', 'aria-labelledby': 'h-signal', 'data-testid': 'signal-form' },
    el('h2', { id: 'h-signal' }, 'Broadcast a signal'),
    name.wrap,
    vars.wrap,
    el('div', { className: 'form-actions' }, send),
    error,
    answer,
  );
}
