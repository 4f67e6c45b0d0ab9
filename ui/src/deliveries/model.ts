/**
 * The deliveries view's logic without the DOM (docs/events.md): the event names a subscription
 * may take, the checks made before anything is sent, the runtime's field errors placed on the
 * form's fields, the log's filters in the address, and a delivery's state in words.
 */
import { parseJson } from '../app/json';

/**
 * The events CreateEventSubscriptionCommand accepts besides `*` (crates/runtime/src/events.rs
 * `EVENTS`; the end-to-end test proves the runtime takes every one of them).
 */
export const EVENT_NAMES = [
  'workflow.state.changed',
  'workflow.context.changed',
  'workflow.completed',
  'workflow.context.document.changed',
  'workflow.context.document.updated',
  'workflow.context.document.completed',
] as const;

/**
 * Every name a delivery row may carry: custom webhooks send `workflow.state.entered`, a receive
 * task's WebhookUrl gets `callback.completed` (docs/callbacks.md).
 */
export const LOG_EVENT_NAMES = [...EVENT_NAMES, 'workflow.state.entered', 'callback.completed'];

export const DELIVERY_STATUSES = ['Pending', 'Delivered', 'Failed'] as const;
export const METHODS = ['POST', 'PUT', 'PATCH'] as const;
/** The sender's attempts before a delivery is Failed (events.rs MAX_ATTEMPTS). */
export const MAX_ATTEMPTS = 7;

export interface Subscription {
  id: number;
  url: string;
  events: string[] | null;
  processKey: string | null;
  instanceGuid: string | null;
  isActive: boolean;
  createdAt: string;
}

export interface CustomWebhook {
  id: number;
  name: string;
  url: string;
  method: string;
  stateNames: string[] | null;
  headers: Record<string, string> | null;
  request: { transform?: { transformer?: string; mapping?: string } } | null;
  processKey: string | null;
  createdAt: string;
}

export interface Delivery {
  id: string;
  subscriptionId: number | null;
  customWebhookId: number | null;
  eventName: string;
  payload: unknown;
  url: string;
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
  instanceGuid: string | null;
  sequence: number | null;
  /**
   * What the receiver answered last, when the runtime keeps it (GetDeliveryListQuery has no
   * such field yet: Details shows it once it does).
   */
  lastResponseBody?: string | null;
}

// ---------------------------------------------------------------------------------------------
// Checks made before sending (the runtime checks again and its words win)

/** Field name -> message; empty when the form may be sent. */
export type FieldErrors = Record<string, string>;

/** An http:// or https:// address with a host, as the runtime wants (events.rs `check_url`). */
export function checkUrl(text: string): string | null {
  const url = text.trim();
  if (!url) return 'Enter the address the events are sent to, such as https://example.com/baton-events.';
  if (/\s/.test(url)) return 'The address may not contain spaces.';
  if (!/^https?:\/\//i.test(url)) return 'The address must start with http:// or https://.';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `“${url}” is not a valid address.`;
  }
  if (!parsed.hostname) return 'The address needs a host after http:// or https://.';
  return null;
}

/** An empty secret lets Baton make one; a given one must be Standard Webhooks' `whsec_…`. */
export function checkSecret(text: string): string | null {
  const s = text.trim();
  if (!s) return null;
  if (!s.startsWith('whsec_')) return 'A secret starts with whsec_ followed by base64; leave it empty and Baton makes one.';
  if (s.length === 'whsec_'.length) return 'Add the base64 key after whsec_.';
  return null;
}

export interface SubscriptionDraft {
  url: string;
  events: string[];
  secret: string;
  processKey: string;
}

/** The command's data, or the fields to mark. */
export function subscriptionRequest(d: SubscriptionDraft): { ok: true; data: Record<string, unknown> } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const url = checkUrl(d.url);
  if (url) errors.url = url;
  if (d.events.length === 0) errors.events = 'Choose at least one event, or All events.';
  const secret = checkSecret(d.secret);
  if (secret) errors.secret = secret;
  if (Object.keys(errors).length) return { ok: false, errors };
  const data: Record<string, unknown> = {
    url: d.url.trim(),
    events: d.events.includes('*') ? ['*'] : d.events,
  };
  if (d.secret.trim()) data.secret = d.secret.trim();
  if (d.processKey.trim()) data.processKey = d.processKey.trim();
  return { ok: true, data };
}

export interface WebhookDraft {
  name: string;
  url: string;
  method: string;
  stateNames: string;
  headers: string;
  mapping: string;
  processKey: string;
}

/** `a, b` or one per line -> `['a', 'b']`. */
export function splitNames(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Where the JSON of a field went wrong: the offset to select. */
export type Mistakes = Record<string, number>;

export function webhookRequest(
  d: WebhookDraft,
): { ok: true; data: Record<string, unknown> } | { ok: false; errors: FieldErrors; mistakes: Mistakes } {
  const errors: FieldErrors = {};
  const mistakes: Mistakes = {};
  if (!d.name.trim()) errors.name = 'Give the webhook a name.';
  const url = checkUrl(d.url);
  if (url) errors.url = url;
  if (!(METHODS as readonly string[]).includes(d.method)) errors.method = 'Choose POST, PUT or PATCH.';
  const states = splitNames(d.stateNames);
  if (states.length === 0) errors.stateNames = 'Name at least one state: an element id or name, such as manual_review.';
  let headers: Record<string, unknown> | null = null;
  const h = parseJson(d.headers, { what: 'The headers', object: true, empty: {} });
  if (!h.ok) {
    errors.headers = h.message;
    mistakes.headers = h.offset;
  } else {
    headers = h.value as Record<string, unknown>;
    const bad = Object.entries(headers).find(([, v]) => typeof v !== 'string');
    if (bad) errors.headers = `The header “${bad[0]}” must be a string, such as "Bearer {secret.API_KEY}".`;
  }
  if (Object.keys(errors).length) return { ok: false, errors, mistakes };
  const data: Record<string, unknown> = {
    name: d.name.trim(),
    url: d.url.trim(),
    method: d.method,
    stateNames: states,
  };
  if (headers && Object.keys(headers).length) data.headers = headers;
  if (d.mapping.trim()) data.request = { transform: { transformer: 'jmespath', mapping: d.mapping.trim() } };
  if (d.processKey.trim()) data.processKey = d.processKey.trim();
  return { ok: true, data };
}

/**
 * The runtime's field errors placed on the form: a field the form has gets its message (the
 * first one wins), anything else goes to `form`. `aliases` maps the runtime's field to the
 * form's (`request` -> `mapping`).
 */
export function placeErrors(
  errors: { field: string; message: string }[],
  fields: readonly string[],
  fallback: string,
  aliases: Record<string, string> = {},
): FieldErrors {
  const out: FieldErrors = {};
  for (const e of errors) {
    const field = aliases[e.field] ?? e.field;
    const key = fields.includes(field) ? field : 'form';
    if (!out[key]) out[key] = e.message;
    else if (key === 'form') out.form += ` ${e.message}`;
  }
  if (Object.keys(out).length === 0) out.form = fallback;
  return out;
}

// ---------------------------------------------------------------------------------------------
// The log's filters, in the address: `#/deliveries?status=Failed&event=…&instance=…&page=2&size=50`

export interface LogFilters {
  status: string;
  event: string;
  instance: string;
  page: number;
  size: number;
}

export const LOG_PAGE_SIZES = [20, 50, 100];
export const DEFAULT_LOG_FILTERS: LogFilters = { status: '', event: '', instance: '', page: 1, size: 20 };

export function readLogFilters(hash: string): LogFilters {
  const q = hash.includes('?') ? hash.slice(hash.indexOf('?') + 1) : '';
  const p = new URLSearchParams(q);
  const status = p.get('status') ?? '';
  const event = p.get('event') ?? '';
  const page = Number(p.get('page') ?? '1');
  const size = Number(p.get('size') ?? String(DEFAULT_LOG_FILTERS.size));
  return {
    status: (DELIVERY_STATUSES as readonly string[]).includes(status) ? status : '',
    event: LOG_EVENT_NAMES.includes(event) ? event : '',
    instance: (p.get('instance') ?? '').trim(),
    page: Number.isInteger(page) && page >= 1 ? page : 1,
    size: LOG_PAGE_SIZES.includes(size) ? size : DEFAULT_LOG_FILTERS.size,
  };
}

export function logQueryString(f: LogFilters): string {
  const p = new URLSearchParams();
  if (f.status) p.set('status', f.status);
  if (f.event) p.set('event', f.event);
  if (f.instance) p.set('instance', f.instance);
  if (f.page > 1) p.set('page', String(f.page));
  if (f.size !== DEFAULT_LOG_FILTERS.size) p.set('size', String(f.size));
  return p.toString();
}

/** GetDeliveryListQuery's data for one page: only that page is asked for. */
export function logRequest(f: LogFilters): Record<string, unknown> {
  const data: Record<string, unknown> = { pageNumber: f.page, pageSize: f.size };
  if (f.status) data.status = f.status;
  if (f.event) data.eventName = f.event;
  if (f.instance) data.instanceGuid = f.instance;
  return data;
}

/** "Go to page" text -> a page, or why not. */
export function pageJump(text: string, pages: number): { ok: true; page: number } | { ok: false; message: string } {
  const t = text.trim().replace(/[,_\s]/g, '');
  const n = Number(t);
  if (!t || !Number.isInteger(n)) return { ok: false, message: `Enter a whole page number from 1 to ${pages.toLocaleString('en')}.` };
  if (n < 1 || n > pages) return { ok: false, message: `There are ${pages.toLocaleString('en')} pages: enter a number from 1 to ${pages.toLocaleString('en')}.` };
  return { ok: true, page: n };
}

// ---------------------------------------------------------------------------------------------
// A delivery in words

/** The last answer: `HTTP 200`, the connection error, or that it was not tried yet. */
export function lastResponse(d: Pick<Delivery, 'attempts' | 'lastStatusCode' | 'lastError'>): string {
  if (d.lastStatusCode !== null && d.lastStatusCode !== undefined) return `HTTP ${d.lastStatusCode}`;
  if (d.lastError) return d.lastError;
  return d.attempts === 0 ? 'not tried yet' : 'no answer';
}

/** A response that is not a success (for colour): no code at all, or not 2xx. */
export function responseFailed(d: Pick<Delivery, 'attempts' | 'lastStatusCode' | 'lastError'>): boolean {
  if (d.attempts === 0) return false;
  return d.lastStatusCode === null || d.lastStatusCode === undefined || d.lastStatusCode < 200 || d.lastStatusCode >= 300;
}

/** `2026-11-29T18:29:53.973Z` -> `2026-11-29 18:29:53` (UTC, as stored). */
export function utc(at: string | null | undefined): string {
  if (!at) return '';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(at);
  return m ? `${m[1]} ${m[2]}` : at;
}

/** When a pending delivery is tried again, relative to `now` ("in 10 s", "due now"). */
export function nextAttemptText(d: Pick<Delivery, 'status' | 'nextAttemptAt'>, now: Date = new Date()): string {
  if (d.status !== 'Pending' || !d.nextAttemptAt) return '';
  const at = Date.parse(d.nextAttemptAt);
  if (Number.isNaN(at)) return utc(d.nextAttemptAt);
  const secs = Math.round((at - now.getTime()) / 1000);
  if (secs <= 0) return 'due now';
  if (secs < 90) return `in ${secs} s`;
  if (secs < 90 * 60) return `in ${Math.round(secs / 60)} min`;
  return `in ${Math.round(secs / 3600)} h`;
}

/** What RedeliverCommand's answer (the row after the attempt) means, in one sentence. */
export function redeliverSentence(d: Pick<Delivery, 'status' | 'attempts' | 'lastStatusCode' | 'lastError' | 'nextAttemptAt'>): string {
  const answer =
    d.lastStatusCode !== null && d.lastStatusCode !== undefined
      ? `the receiver answered HTTP ${d.lastStatusCode}`
      : `it could not be sent: ${d.lastError ?? 'no answer'}`;
  if (d.status === 'Delivered') return `Delivered: ${answer} (attempt ${d.attempts}).`;
  if (d.status === 'Failed') return `Not delivered: ${answer}. The delivery is Failed after ${d.attempts} attempts.`;
  const next = d.nextAttemptAt ? ` Baton tries again at ${utc(d.nextAttemptAt)} UTC.` : '';
  return `Not delivered: ${answer} (attempt ${d.attempts} of ${MAX_ATTEMPTS}).${next}`;
}

/** Who a delivery is for: `subscription 3`, `custom webhook 2`, or a receive task's WebhookUrl. */
export function receiverText(d: Pick<Delivery, 'subscriptionId' | 'customWebhookId'>): string {
  if (d.subscriptionId !== null && d.subscriptionId !== undefined) return `subscription ${d.subscriptionId}`;
  if (d.customWebhookId !== null && d.customWebhookId !== undefined) return `custom webhook ${d.customWebhookId}`;
  return 'a receive task’s WebhookUrl';
}

/** A subscription's scope in words. */
export function scopeText(s: Pick<Subscription, 'processKey' | 'instanceGuid'>): string {
  if (s.instanceGuid) return 'one instance';
  if (s.processKey) return `process ${s.processKey}`;
  return 'every process';
}

export function eventsText(events: string[] | null): string {
  if (!events || events.length === 0) return '';
  if (events.includes('*')) return 'All events';
  return events.join(', ');
}
