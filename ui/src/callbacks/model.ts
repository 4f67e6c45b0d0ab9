/**
 * The callbacks view's logic without the DOM: provider presets, which webhook configurations
 * return callbacks and where their mapping reads the correlation key, the last payload used
 * for a process, and the registry's filters.
 */
import type { CallbackRegistryEntry, CallbackStatus } from '../generated/commands';

export const CALLBACK_STATUSES: CallbackStatus[] = ['Pending', 'Completed', 'Failed', 'Expired'];

export interface Preset {
  id: string;
  label: string;
  /** The verification scheme a configuration for this provider usually has. */
  scheme: string;
  /** Where the provider puts the merchant's reference (our correlation key). */
  keyPath: string[];
  /** A payload of the provider's shape carrying `key`. */
  make(key: string): unknown;
}

/** A number for the provider's own transaction id: Paystack and Stripe deliveries are
 * deduplicated by it (docs/webhooks.md "Repeated deliveries"), so each payload gets a new one. */
function freshNumber(): number {
  return 1_000_000 + Math.floor(Math.random() * 8_999_999_999);
}

function freshToken(): string {
  return crypto.randomUUID().replace(/-/g, '').slice(0, 24);
}

export const PRESETS: Preset[] = [
  {
    id: 'paystack',
    label: 'Paystack charge.success',
    scheme: 'paystack',
    keyPath: ['data', 'reference'],
    make: (key) => ({
      event: 'charge.success',
      data: {
        id: freshNumber(),
        domain: 'test',
        status: 'success',
        reference: key,
        amount: 50000,
        currency: 'NGN',
        channel: 'card',
        gateway_response: 'Successful',
        paid_at: new Date().toISOString(),
        customer: { email: 'customer@example.com' },
      },
    }),
  },
  {
    id: 'flutterwave',
    label: 'Flutterwave charge.completed',
    scheme: 'flutterwave',
    keyPath: ['data', 'tx_ref'],
    make: (key) => ({
      event: 'charge.completed',
      data: {
        id: freshNumber(),
        tx_ref: key,
        flw_ref: `FLW-${freshToken().toUpperCase()}`,
        amount: 500,
        currency: 'NGN',
        charged_amount: 500,
        status: 'successful',
        payment_type: 'card',
        created_at: new Date().toISOString(),
        customer: { email: 'customer@example.com' },
      },
    }),
  },
  {
    id: 'stripe',
    label: 'Stripe payment_intent.succeeded',
    scheme: 'stripe',
    keyPath: ['data', 'object', 'metadata', 'correlationKey'],
    make: (key) => ({
      id: `evt_${freshToken()}`,
      object: 'event',
      type: 'payment_intent.succeeded',
      created: Math.floor(Date.now() / 1000),
      data: {
        object: {
          id: `pi_${freshToken()}`,
          object: 'payment_intent',
          amount: 5000,
          currency: 'usd',
          status: 'succeeded',
          metadata: { correlationKey: key },
        },
      },
    }),
  },
];

export const LAST_PRESET = 'last';

// ---------------------------------------------------------------------------------------------
// The last payload used for a process (kept in localStorage)

const LAST_KEY = 'baton.callbacks.last';

interface Remembered {
  text: string;
  /** The correlation key it was sent for. */
  key: string;
}

function readLast(storage: Storage): Record<string, Remembered> {
  try {
    const v = JSON.parse(storage.getItem(LAST_KEY) ?? '{}') as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, Remembered>) : {};
  } catch {
    return {};
  }
}

/** `value` with every string equal to `from` replaced by `to`. */
function replaceKey(value: unknown, from: string, to: string): unknown {
  if (typeof value === 'string') return value === from ? to : value;
  if (Array.isArray(value)) return value.map((v) => replaceKey(v, from, to));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceKey(v, from, to)]));
  }
  return value;
}

/**
 * A payload sent before, made a new delivery: gateways' idempotency ids (a Stripe event's `id`,
 * Paystack's and Flutterwave's `data.id`) get new values, or Baton would answer the request as
 * a repeat and run nothing (docs/webhooks.md "Repeated deliveries").
 */
export function freshIds(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const out = { ...(value as Record<string, unknown>) };
  if (typeof out.id === 'string' && out.id.startsWith('evt_')) out.id = `evt_${freshToken()}`;
  const data = out.data;
  if (data && typeof data === 'object' && !Array.isArray(data) && typeof (data as Record<string, unknown>).id === 'number') {
    out.data = { ...(data as Record<string, unknown>), id: freshNumber() };
  }
  return out;
}

/**
 * The payload text last sent for a callback of `processKey`, or null. Given `key`, the old
 * correlation key is replaced by it wherever the payload held it as a value.
 */
export function lastPayload(processKey: string, key?: string, storage: Storage = localStorage): string | null {
  const found = readLast(storage)[processKey];
  if (!found || typeof found.text !== 'string') return null;
  if (key === undefined) return found.text;
  try {
    const value = JSON.parse(found.text) as unknown;
    const keyed = found.key && found.key !== key ? replaceKey(value, found.key, key) : value;
    return JSON.stringify(freshIds(keyed), null, 2);
  } catch {
    return found.text;
  }
}

/** Remembers `text` as the last payload for `processKey` (at most 50 processes are kept). */
export function rememberPayload(processKey: string, text: string, key: string, storage: Storage = localStorage): void {
  const all = readLast(storage);
  delete all[processKey];
  all[processKey] = { text, key };
  const keys = Object.keys(all);
  for (const k of keys.slice(0, Math.max(0, keys.length - 50))) delete all[k];
  try {
    storage.setItem(LAST_KEY, JSON.stringify(all));
  } catch {
    /* storage full or denied: the payload is simply not remembered */
  }
}

// ---------------------------------------------------------------------------------------------
// Webhook configurations that return callbacks

/** A configuration as GetWebHookConfigListQuery answers it (the fields this view reads). */
export interface HookConfig {
  id: number;
  name: string;
  url: string;
  executionType: number;
  isActive: boolean;
  verified?: boolean;
  warning?: string | null;
  verification: { scheme?: string; secretSet?: boolean; header?: string | null };
  commandName?: string;
  commandData?: unknown;
  commandChain?: { commandName?: string; commandData?: unknown }[];
}

/** The `commandData` mapping of the ReturnCallbackCommand a configuration runs, or undefined. */
function callbackMapping(c: HookConfig): Record<string, unknown> | undefined {
  const asMap = (d: unknown) => (d && typeof d === 'object' && !Array.isArray(d) ? (d as Record<string, unknown>) : {});
  if (c.executionType === 0 && c.commandName === 'ReturnCallbackCommand') return asMap(c.commandData);
  if (c.executionType === 1 && Array.isArray(c.commandChain)) {
    const step = c.commandChain.find((s) => s?.commandName === 'ReturnCallbackCommand');
    if (step) return asMap(step.commandData);
  }
  return undefined;
}

/** Whether a configuration runs ReturnCallbackCommand (so it can return a pending callback). */
export function returnsCallbacks(c: HookConfig): boolean {
  return callbackMapping(c) !== undefined;
}

const SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Where the configuration's mapping reads the correlation key in the request body, when it is
 * a plain path such as `body.data.reference` (`["data", "reference"]`); null for anything else
 * (a JMESPath function, a literal, `$request...` in a chain).
 */
export function keyPathOf(c: HookConfig): string[] | null {
  const expr = callbackMapping(c)?.correlationKey;
  if (typeof expr !== 'string') return null;
  const parts = expr.trim().split('.');
  if (parts[0] === '$request') parts.shift();
  if (parts.length < 2 || parts[0] !== 'body' || !parts.every((p) => SEGMENT.test(p))) return null;
  return parts.slice(1);
}

/** A copy of `value` with `path` set to `key`, creating objects on the way. */
export function withKeyAt(value: unknown, path: string[], key: string): unknown {
  if (path.length === 0) return key;
  const obj = value && typeof value === 'object' && !Array.isArray(value) ? { ...(value as Record<string, unknown>) } : {};
  const [head, ...rest] = path as [string, ...string[]];
  obj[head] = withKeyAt(obj[head], rest, key);
  return obj;
}

/** The value at `path` in `value`, or undefined. */
export function valueAt(value: unknown, path: string[]): unknown {
  let at = value;
  for (const p of path) {
    if (!at || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[p];
  }
  return at;
}

/** The payload text of a preset for `key`, with the key also where `mappingPath` reads it. */
export function presetText(preset: Preset, key: string, mappingPath: string[] | null): string {
  let value = preset.make(key);
  if (mappingPath) value = withKeyAt(value, mappingPath, key);
  return JSON.stringify(value, null, 2);
}

// ---------------------------------------------------------------------------------------------
// The registry list

export interface RegistryFilters {
  status: string;
  process: string;
  key: string;
}

export function readRegistryFilters(hash: string): RegistryFilters {
  const q = new URLSearchParams(hash.split('?')[1] ?? '');
  const status = q.get('status') ?? '';
  return {
    status: (CALLBACK_STATUSES as string[]).includes(status) ? status : '',
    process: q.get('process') ?? '',
    key: q.get('key') ?? '',
  };
}

export function registryQuery(f: RegistryFilters): string {
  const q = new URLSearchParams();
  if (f.status) q.set('status', f.status);
  if (f.process) q.set('process', f.process);
  if (f.key) q.set('key', f.key);
  return q.toString();
}

/** A stored JSON text (ResultData, ConflictingResult) indented, or as it is when not JSON. */
export function prettyJson(text: string | null | undefined): string {
  if (text === null || text === undefined) return '';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
