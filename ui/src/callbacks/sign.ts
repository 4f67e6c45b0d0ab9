/**
 * Signing a test webhook request in the browser, as a gateway would, so that Baton's own check
 * (crates/runtime/src/webhooks/verify.rs, docs/webhooks.md "Verification schemes") accepts it.
 * WebCrypto HMAC only: the secret is typed by the user for one request and never stored.
 *
 * | scheme             | headers                                                          |
 * |--------------------|------------------------------------------------------------------|
 * | `paystack`         | `x-paystack-signature`: hex HMAC-SHA512(secret, body)            |
 * | `stripe`           | `stripe-signature`: `t=<ts>,v1=<hex HMAC-SHA256(secret, "ts.body")>` |
 * | `standardWebhooks` | `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` over `"id.ts.body"`, key = base64 after `whsec_` |
 * | `flutterwave`      | `verif-hash`: the secret itself                                  |
 * | `hmacSha256`       | the configured header (default `x-signature`): hex HMAC-SHA256(secret, body) |
 * | `none`             | nothing                                                          |
 */

export const SCHEMES = ['paystack', 'stripe', 'standardWebhooks', 'flutterwave', 'hmacSha256', 'none'] as const;
export type Scheme = (typeof SCHEMES)[number];

export interface SignInput {
  scheme: string;
  secret: string;
  /** The exact body that will be sent (its UTF-8 bytes are signed). */
  body: string;
  /** Unix seconds (Stripe, Standard Webhooks). */
  timestamp: number;
  /** The message id (Standard Webhooks `webhook-id`). */
  messageId?: string;
  /** The header of the `hmacSha256` scheme (default `x-signature`). */
  header?: string | null;
}

/** A refusal to sign, with the field it concerns (shown beside that field). */
export class SignError extends Error {
  constructor(
    message: string,
    readonly field: 'secret' | 'scheme',
  ) {
    super(message);
    this.name = 'SignError';
  }
}

const utf8 = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function base64(bytes: ArrayBuffer): string {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

/** The key bytes of a Standard Webhooks secret `whsec_<base64>`, or a SignError saying why not. */
export function standardKey(secret: string): Uint8Array {
  const trimmed = secret.trim();
  if (!trimmed.startsWith('whsec_')) {
    throw new SignError('A Standard Webhooks secret starts with whsec_ followed by base64.', 'secret');
  }
  let raw: string;
  try {
    raw = atob(trimmed.slice('whsec_'.length));
  } catch {
    throw new SignError('The part of the secret after whsec_ is not base64.', 'secret');
  }
  if (raw.length === 0) throw new SignError('The part of the secret after whsec_ is empty.', 'secret');
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

async function hmac(hash: 'SHA-256' | 'SHA-512', key: Uint8Array, message: string): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey('raw', key as BufferSource, { name: 'HMAC', hash }, false, ['sign']);
  return crypto.subtle.sign('HMAC', k, utf8.encode(message));
}

/** The headers that make Baton accept `body` under `scheme` with `secret`. */
export async function signatureHeaders(input: SignInput): Promise<Record<string, string>> {
  const { scheme, secret, body, timestamp } = input;
  if (scheme === 'none') return {};
  if (!SCHEMES.includes(scheme as Scheme)) {
    throw new SignError(`Baton does not know the verification scheme '${scheme}'.`, 'scheme');
  }
  if (secret.length === 0) {
    throw new SignError(`Enter the configuration's secret: the ${scheme} scheme signs with it.`, 'secret');
  }
  const key = utf8.encode(secret);
  switch (scheme as Scheme) {
    case 'paystack':
      return { 'x-paystack-signature': hex(await hmac('SHA-512', key, body)) };
    case 'stripe': {
      const t = String(Math.floor(timestamp));
      return { 'stripe-signature': `t=${t},v1=${hex(await hmac('SHA-256', key, `${t}.${body}`))}` };
    }
    case 'standardWebhooks': {
      const id = input.messageId ?? `msg_${crypto.randomUUID().replace(/-/g, '')}`;
      const t = String(Math.floor(timestamp));
      const sig = base64(await hmac('SHA-256', standardKey(secret), `${id}.${t}.${body}`));
      return { 'webhook-id': id, 'webhook-timestamp': t, 'webhook-signature': `v1,${sig}` };
    }
    case 'flutterwave':
      return { 'verif-hash': secret };
    case 'hmacSha256': {
      const name = (input.header ?? '').trim().toLowerCase() || 'x-signature';
      return { [name]: hex(await hmac('SHA-256', key, body)) };
    }
    default:
      return {};
  }
}

/** Headers whose value is a secret (shown as `[redacted]` when the request is displayed). */
export function isSecretHeader(name: string): boolean {
  return name.toLowerCase() === 'verif-hash';
}
