/**
 * "Send test" on a configuration: a payload the user edits, signed in the browser as the
 * configuration's scheme requires (ui/src/callbacks/sign.ts, WebCrypto; the secret is typed
 * for this request and never stored), posted to the configuration's own path on this server,
 * so the signature check, the mapping and the request log run as for a real sender. The answer
 * is shown in words with the JSON; the request is then in the inspector.
 */
import { announce } from '../app/announce';
import { parseJson } from '../app/json';
import { postWebhook } from '../transport';
import { el, errorFor, errorText, selectMistake, setError } from '../runner/dom';
import { signatureHeaders, SignError } from '../callbacks/sign';
import { needsSecret, pretty, SAMPLE_PAYLOAD, type HookConfig } from './model';

const SAMPLE_KEY = 'baton.webhooks.sample';

export function testPanel(c: HookConfig, opts: { close(): void; showRequests(): void }): HTMLElement {
  const id = `wht-${c.id}`;
  const title = el('h3', { id: `${id}-title`, tabindex: -1 }, `Send a test request to ${c.name}`);
  const payload = el('textarea', { id: `${id}-payload`, rows: 10, spellcheck: false, className: 'mono', 'data-testid': 'wht-payload' });
  payload.value = sessionStorage.getItem(SAMPLE_KEY) ?? SAMPLE_PAYLOAD;
  const payloadError = errorFor(payload, `${id}-payload-error`, 'wht-payload-error');
  const scheme = c.verification.scheme;
  const secret = el('input', { id: `${id}-secret`, type: 'password', autocomplete: 'off', spellcheck: false, 'data-testid': 'wht-secret' });
  const secretError = errorFor(secret, `${id}-secret-error`, 'wht-secret-error');
  const send = el('button', { type: 'submit', className: 'primary', 'data-testid': 'wht-send' }, 'Sign and send');
  const close = el('button', { type: 'button', 'data-testid': 'wht-close' }, 'Close');
  const formError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'wht-error' });
  const result = el('div', { className: 'wh-replayed', hidden: true, role: 'status', 'data-testid': 'wht-result' });

  const form = el(
    'form',
    { className: 'wh-test', 'aria-labelledby': `${id}-title`, 'data-testid': 'wht-panel', noValidate: true },
    title,
    el('p', { className: 'muted small' }, `POST ${c.url} on this server, signed for the ${scheme} scheme${needsSecret(scheme) ? ' with the secret you type here (it is not stored)' : ' (this webhook checks no signature)'}.`),
    el('div', { className: 'wh-field wh-wide' }, el('label', { for: payload.id }, 'Payload (JSON)'), payload, payloadError),
    needsSecret(scheme) ? el('div', { className: 'wh-field' }, el('label', { for: secret.id }, 'Secret'), secret, secretError) : null,
    el('div', { className: 'wh-form-actions' }, send, close, formError),
    result,
  );
  payload.addEventListener('input', () => setError(payloadError, null, payload));
  secret.addEventListener('input', () => setError(secretError, null, secret));
  close.addEventListener('click', opts.close);
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') opts.close();
  });

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setError(formError, null);
    const parsed = parseJson(payload.value, { what: 'The payload' });
    if (!parsed.ok) {
      setError(payloadError, parsed.message, payload);
      selectMistake(payload, parsed.offset);
      return;
    }
    const text = payload.value;
    send.disabled = true;
    void (async () => {
      try {
        let headers: Record<string, string>;
        try {
          headers = await signatureHeaders({ scheme, secret: secret.value, body: text, timestamp: Math.floor(Date.now() / 1000), header: c.verification.header ?? null });
        } catch (err) {
          if (err instanceof SignError) {
            setError(secretError, err.message, secret);
            secret.focus();
            return;
          }
          throw err;
        }
        const response = await postWebhook(c.url, headers, text);
        const raw = response.text;
        let body: unknown = raw;
        try {
          body = JSON.parse(raw);
        } catch {
          /* shown as text */
        }
        const said = body && typeof body === 'object' ? ((body as { message?: string }).message ?? '') : raw;
        const duplicate = !!(body && typeof body === 'object' && (body as { duplicate?: boolean }).duplicate);
        const words = response.ok
          ? duplicate
            ? `HTTP ${response.status}: a repeated delivery; nothing ran again.`
            : `HTTP ${response.status}: accepted.`
          : `HTTP ${response.status}: ${said || response.statusText || 'refused'}`;
        if (response.status === 401 && needsSecret(scheme)) setError(secretError, `${said || 'The signature was refused'}. Check the secret.`, secret);
        result.className = response.ok ? 'wh-replayed' : 'wh-replayed wh-replay-failed';
        const see = el('button', { type: 'button', className: 'link-button', 'data-testid': 'wht-see', onclick: opts.showRequests }, 'See it in the request log');
        result.replaceChildren(el('p', { 'data-testid': 'wht-result-title' }, words, ' ', see), el('pre', { className: 'variables', tabindex: 0, 'aria-label': 'The answer' }, pretty(body)));
        result.hidden = false;
        announce(words);
      } catch (err) {
        setError(formError, `The webhook address could not be reached: ${errorText(err)}`);
      } finally {
        send.disabled = false;
      }
    })();
  });
  queueMicrotask(() => payload.focus());
  return form;
}
