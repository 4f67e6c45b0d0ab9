/**
 * The "Return callback" panel for one pending CallbackRegistry row: a payload prefilled from a
 * provider preset (or the last payload used for the process), sent either as
 * ReturnCallbackCommand or as a signed request through the real URL of a webhook configuration
 * that runs ReturnCallbackCommand, so signature, mapping and correlation are all exercised.
 * The secret is typed for the request and never stored; what was typed stays after a refusal.
 */
import type { CallbackRegistryEntry } from '../generated/commands';
import { announce } from '../app/announce';
import { parseJson } from '../app/json';
import { execute, postWebhook, type WebhookResponse } from '../transport';
import { el, errorText, selectMistake, setError } from '../runner/dom';
import { clearField, field, placeFieldErrors, refusalText } from './answer';
import {
  keyPathOf,
  LAST_PRESET,
  lastPayload,
  presetText,
  PRESETS,
  rememberPayload,
  withKeyAt,
  type HookConfig,
} from './model';
import { signatureHeaders, SignError } from './sign';

export interface ReturnPanel {
  root: HTMLElement;
  /** Opens the panel for a row (focuses the payload). */
  open(row: CallbackRegistryEntry, processKey: string | undefined): void;
  /** The configurations that return callbacks, as the list query answered them. */
  setConfigs(configs: HookConfig[], problem: string | null): void;
  /** The row shown, if any. */
  current(): number | null;
  /** The list reloaded: says so in the panel when the row shown is no longer pending. */
  refreshed(rows: CallbackRegistryEntry[], statusFilter: string): void;
  /** The instance of the row the panel is open for. */
  currentInstance(): string | null;
}

const SCHEME_WORDS: Record<string, string> = {
  paystack: 'Paystack (HMAC-SHA512 of the body, hex, in x-paystack-signature)',
  stripe: 'Stripe (t=…,v1=… in Stripe-Signature)',
  standardWebhooks: 'Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)',
  flutterwave: 'Flutterwave (the secret hash in verif-hash)',
  hmacSha256: 'HMAC-SHA256 of the body, hex',
  none: 'none: the configuration checks no signature',
};

export function returnPanel(onSent: () => void): ReturnPanel {
  let row: CallbackRegistryEntry | null = null;
  let processKey: string | undefined;
  let configs: HookConfig[] = [];

  const heading = el('h2', { id: 'h-return', tabindex: -1 }, 'Return callback');
  const target = el('p', { className: 'small', 'data-testid': 'return-target' });
  const moved = el('p', { className: 'cb-warn small', hidden: true, 'data-testid': 'return-moved', role: 'status' });
  const preset = field(
    'return-preset',
    'Payload preset',
    el('select', { 'data-testid': 'return-preset' }) as HTMLSelectElement,
  );
  const payload = field(
    'return-payload',
    'Payload (JSON)',
    el('textarea', { rows: 12, spellcheck: false, 'data-testid': 'return-payload' }) as HTMLTextAreaElement,
  );

  const viaCommand = el('input', { type: 'radio', name: 'return-via', id: 'return-via-command', value: 'command', checked: true, 'data-testid': 'return-via-command' });
  const viaWebhook = el('input', { type: 'radio', name: 'return-via', id: 'return-via-webhook', value: 'webhook', 'data-testid': 'return-via-webhook' });
  const viaNote = el('p', { className: 'muted small', hidden: true, id: 'return-via-note' });
  const via = el(
    'fieldset',
    { className: 'cb-via' },
    el('legend', {}, 'Send it as'),
    el('div', { className: 'cb-radio' }, viaCommand, el('label', { for: 'return-via-command' }, 'ReturnCallbackCommand (the command bus)')),
    el('div', { className: 'cb-radio' }, viaWebhook, el('label', { for: 'return-via-webhook' }, 'A signed request to a webhook configuration')),
    viaNote,
  );

  const config = field(
    'return-config',
    'Webhook configuration',
    el('select', { 'data-testid': 'return-config' }) as HTMLSelectElement,
  );
  const configInfo = el('div', { className: 'cb-config-info small', 'data-testid': 'return-config-info', 'aria-live': 'polite' });
  const secret = field(
    'return-secret',
    'Secret (used for this request only, never stored)',
    el('input', { type: 'password', autocomplete: 'off', spellcheck: false, 'data-testid': 'return-secret' }) as HTMLInputElement,
  );
  const webhookBox = el('div', { className: 'cb-webhook', hidden: true }, config.wrap, configInfo, secret.wrap);

  const send = el('button', { type: 'button', className: 'primary', 'data-testid': 'return-send' }, 'Send callback');
  const close = el('button', { type: 'button', 'data-testid': 'return-close' }, 'Close');
  const formError = el('p', { className: 'field-error cb-form-error', role: 'alert', hidden: true, 'data-testid': 'return-error' });
  const result = el('div', { className: 'cb-result', hidden: true, 'data-testid': 'return-answer' });

  const root = el(
    'section',
    { className: 'panel cb-return', 'aria-labelledby': 'h-return', hidden: true, 'data-testid': 'return-panel' },
    heading,
    target,
    moved,
    preset.wrap,
    payload.wrap,
    via,
    webhookBox,
    el('div', { className: 'form-actions' }, send, close),
    formError,
    result,
  );

  // ---- presets --------------------------------------------------------------------------------
  function chosenConfig(): HookConfig | undefined {
    return configs.find((c) => String(c.id) === config.control.value);
  }

  /** Where the chosen configuration's mapping reads the key (only when sending through it). */
  function mappingPath(): string[] | null {
    const c = viaWebhook.checked ? chosenConfig() : undefined;
    return c ? keyPathOf(c) : null;
  }

  function paintPresets(): void {
    const last = processKey ? lastPayload(processKey) : null;
    const options = [
      ...PRESETS.map((p) => el('option', { value: p.id }, p.label)),
      el('option', { value: LAST_PRESET, disabled: !last }, last ? `The last payload for ${processKey}` : 'The last payload for this process (none yet)'),
    ];
    preset.control.replaceChildren(...options);
    preset.control.value = last ? LAST_PRESET : 'paystack';
  }

  function fillFromPreset(): void {
    if (!row) return;
    const key = row.CorrelationKey ?? '';
    if (preset.control.value === LAST_PRESET && processKey) {
      const text = lastPayload(processKey, key) ?? '{}';
      const path = mappingPath();
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        value = undefined;
      }
      // Also where the chosen configuration's mapping reads the key.
      payload.control.value = path && value !== undefined ? JSON.stringify(withKeyAt(value, path, key), null, 2) : text;
    } else {
      const p = PRESETS.find((x) => x.id === preset.control.value) ?? PRESETS[0]!;
      payload.control.value = presetText(p, key, mappingPath());
    }
    clearField(payload);
    // Show the payload from its first line.
    payload.control.setSelectionRange(0, 0);
    payload.control.scrollTop = 0;
  }

  // ---- webhook configurations ----------------------------------------------------------------
  function paintConfigInfo(): void {
    const c = chosenConfig();
    if (!c) {
      configInfo.replaceChildren();
      return;
    }
    const scheme = c.verification?.scheme ?? 'none';
    const path = keyPathOf(c);
    const lines: (HTMLElement | string)[] = [
      el('p', {}, 'URL: ', el('code', { 'data-testid': 'return-config-url' }, `${window.location.origin}${c.url}`)),
      el('p', {}, `Verification: ${SCHEME_WORDS[scheme] ?? scheme}`),
      el(
        'p',
        {},
        path
          ? `Its mapping reads the correlation key at body.${path.join('.')}: the payload carries the key there.`
          : 'Its mapping does not read the correlation key from a plain body path: make sure the payload leads it to this key.',
      ),
    ];
    if (c.verified === false || scheme === 'none') {
      lines.push(el('p', { className: 'cb-warn' }, c.warning ?? 'Unverified: anyone who knows its URL can call it.'));
    }
    if (!c.isActive) lines.push(el('p', { className: 'cb-warn' }, 'This configuration is deactivated: Baton answers 404.'));
    configInfo.replaceChildren(...lines);
    secret.wrap.hidden = scheme === 'none';
  }

  function paintVia(): void {
    webhookBox.hidden = !viaWebhook.checked;
    send.textContent = viaWebhook.checked ? 'Send signed request' : 'Send callback';
    if (viaWebhook.checked) paintConfigInfo();
  }

  function setConfigs(list: HookConfig[], problem: string | null): void {
    configs = list;
    const had = config.control.value;
    config.control.replaceChildren(
      ...list.map((c) => el('option', { value: String(c.id) }, `${c.name} (${c.verification?.scheme ?? 'none'})`)),
    );
    if (list.some((c) => String(c.id) === had)) config.control.value = had;
    const unavailable = problem
      ? `The webhook configurations could not be read: ${problem}`
      : list.length === 0
        ? 'No webhook configuration runs ReturnCallbackCommand yet: create one (executionType 0, commandName ReturnCallbackCommand) to send signed requests.'
        : null;
    viaWebhook.disabled = unavailable !== null;
    viaNote.hidden = unavailable === null;
    viaNote.textContent = unavailable ?? '';
    if (viaWebhook.disabled && viaWebhook.checked) viaCommand.checked = true;
    if (viaWebhook.disabled) viaWebhook.setAttribute('aria-describedby', 'return-via-note');
    else viaWebhook.removeAttribute('aria-describedby');
    paintVia();
  }

  // ---- sending --------------------------------------------------------------------------------
  function showResult(ok: boolean, title: string, body: unknown): void {
    result.hidden = false;
    result.className = `cb-result ${ok ? 'cb-ok' : 'cb-refused'}`;
    result.replaceChildren(
      el('p', { className: 'cb-result-title', 'data-testid': 'return-answer-title' }, title),
      el('pre', { className: 'variables', tabindex: 0, 'aria-label': 'The answer' }, typeof body === 'string' ? body : JSON.stringify(body, null, 2)),
    );
    result.scrollIntoView?.({ block: 'nearest' });
  }

  async function sendCommand(value: unknown, text: string, key: string): Promise<void> {
    const r = await execute('ReturnCallbackCommand', { correlationKey: key, result: value });
    if (!r.ok) {
      if (!placeFieldErrors(r.errors, { result: payload, correlationKey: payload })) setError(formError, refusalText(r));
      else setError(formError, refusalText(r));
      showResult(false, 'Refused by Baton', { isSuccessful: false, message: r.message, errors: r.errors });
      return;
    }
    if (processKey) rememberPayload(processKey, text, key);
    const d = r.data;
    const words = d.duplicate
      ? d.conflict
        ? 'A duplicate with another result: not applied (kept as a conflict on the row).'
        : 'A duplicate: the callback had already completed; nothing ran again.'
      : d.callbackStatus === 'Buffered'
        ? 'Buffered until a task waits for this key.'
        : `Returned: the instance is ${d.status ?? 'moving on'}.`;
    showResult(true, words, { isSuccessful: true, message: r.message, data: d });
    announce(words);
    onSent();
  }

  async function sendWebhook(text: string): Promise<void> {
    const c = chosenConfig();
    if (!c) {
      setError(config.error, 'Choose a webhook configuration.', config.control);
      config.control.focus();
      return;
    }
    const scheme = c.verification?.scheme ?? 'none';
    let headers: Record<string, string>;
    try {
      headers = await signatureHeaders({
        scheme,
        secret: secret.control.value,
        body: text,
        timestamp: Math.floor(Date.now() / 1000),
        header: c.verification?.header ?? null,
      });
    } catch (e) {
      if (e instanceof SignError) {
        const target = e.field === 'secret' ? secret : config;
        setError(target.error, e.message, target.control);
        target.control.focus();
        return;
      }
      throw e;
    }
    let response: WebhookResponse;
    try {
      response = await postWebhook(c.url, headers, text);
    } catch (e) {
      setError(formError, `The webhook URL could not be reached: ${errorText(e)}`);
      return;
    }
    const raw = response.text;
    let body: { isSuccessful?: boolean; message?: string; duplicate?: boolean; errors?: { field: string; message: string }[] } | string;
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      body = raw;
    }
    const message = typeof body === 'object' && body ? body.message ?? '' : raw;
    const accepted = response.ok && typeof body === 'object' && body?.isSuccessful === true;
    if (!accepted) {
      const words = `HTTP ${response.status}: ${message || response.statusText || 'refused'}`;
      if (response.status === 401) setError(secret.error, `${message || 'The signature was refused'}. Check the secret.`, secret.control);
      setError(formError, `The webhook refused the request: ${words}`);
      showResult(false, words, body);
      return;
    }
    if (processKey) rememberPayload(processKey, text, row?.CorrelationKey ?? '');
    const words = typeof body === 'object' && body.duplicate
      ? `HTTP ${response.status}: a repeated delivery; nothing ran again.`
      : `HTTP ${response.status}: accepted by ${c.name}.`;
    showResult(true, words, body);
    announce(words);
    onSent();
  }

  send.addEventListener('click', () => {
    if (!row) return;
    for (const f of [payload, secret, config]) clearField(f);
    setError(formError, null);
    const text = payload.control.value;
    const parsed = parseJson(text, { what: 'The payload' });
    if (!parsed.ok) {
      setError(payload.error, parsed.message, payload.control);
      selectMistake(payload.control, parsed.offset);
      return;
    }
    const key = row.CorrelationKey ?? '';
    send.disabled = true;
    result.hidden = true;
    void (async () => {
      try {
        if (viaWebhook.checked) await sendWebhook(text);
        else await sendCommand(parsed.value, text, key);
      } catch (e) {
        setError(formError, errorText(e));
      } finally {
        send.disabled = false;
      }
    })();
  });

  preset.control.addEventListener('change', fillFromPreset);
  viaCommand.addEventListener('change', paintVia);
  viaWebhook.addEventListener('change', () => {
    paintVia();
    // The payload now has to carry the key where the configuration's mapping reads it.
    if (preset.control.value !== LAST_PRESET) fillFromPreset();
  });
  config.control.addEventListener('change', () => {
    clearField(config);
    paintConfigInfo();
    const c = chosenConfig();
    const p = PRESETS.find((x) => x.scheme === c?.verification?.scheme);
    if (p && preset.control.value !== LAST_PRESET) preset.control.value = p.id;
    fillFromPreset();
  });
  secret.control.addEventListener('input', () => clearField(secret));
  payload.control.addEventListener('input', () => clearField(payload));
  root.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !e.defaultPrevented) {
      e.preventDefault();
      close.click();
    }
  });
  close.addEventListener('click', () => {
    const id = row?.Id;
    root.hidden = true;
    row = null;
    if (id !== undefined) document.querySelector<HTMLElement>(`[data-testid="return-open"][data-id="${id}"]`)?.focus();
  });

  function open(r: CallbackRegistryEntry, key: string | undefined): void {
    const same = row?.Id === r.Id;
    row = r;
    processKey = key;
    root.hidden = false;
    heading.textContent = `Return callback ${r.CorrelationKey ?? ''}`;
    target.replaceChildren(
      'Task ',
      el('code', {}, r.CallbackTaskId),
      ' of instance ',
      el('a', { href: `#/instances/${encodeURIComponent(r.ParentInstanceId)}`, className: 'mono' }, r.ParentInstanceId),
      key ? ` (${key})` : '',
    );
    moved.hidden = true;
    if (!same) {
      paintPresets();
      // Sending through a configuration for this provider is the usual test: choose it.
      const c = chosenConfig();
      const p = viaWebhook.checked ? PRESETS.find((x) => x.scheme === c?.verification?.scheme) : undefined;
      if (p && preset.control.value !== LAST_PRESET) preset.control.value = p.id;
      fillFromPreset();
      result.hidden = true;
      setError(formError, null);
      for (const f of [payload, secret, config]) clearField(f);
    }
    payload.control.focus();
  }

  function refreshed(rows: CallbackRegistryEntry[], statusFilter: string): void {
    if (!row) return;
    const id = row.Id;
    const status = rows.find((r) => r.Id === id)?.Status;
    let words = '';
    if (status && status !== 'Pending') {
      words = `This callback is now ${status}${status === 'Completed' ? ': sending it again is answered as a duplicate (a conflict when the payload differs)' : ''}.`;
    } else if (!status && statusFilter === 'Pending') {
      words = 'This callback is no longer pending.';
    }
    moved.hidden = !words;
    moved.textContent = words;
  }

  return { root, open, setConfigs, refreshed, current: () => row?.Id ?? null, currentInstance: () => row?.ParentInstanceId ?? null };
}
