import { describe, expect, it } from 'vitest';
import { signatureHeaders, SignError, standardKey } from './sign';
import {
  keyPathOf,
  lastPayload,
  presetText,
  PRESETS,
  readRegistryFilters,
  registryQuery,
  rememberPayload,
  returnsCallbacks,
  withKeyAt,
  type HookConfig,
} from './model';

// Vectors computed independently (Python's hmac module) for these exact inputs.
const BODY = '{"event":"charge.success","data":{"reference":"REF1","amount":50000}}';

describe('signing a webhook request', () => {
  it('Paystack: hex HMAC-SHA512 of the body in x-paystack-signature', async () => {
    const h = await signatureHeaders({ scheme: 'paystack', secret: 'sk_test_secret', body: BODY, timestamp: 0 });
    expect(h).toEqual({
      'x-paystack-signature':
        '96c8a5500ee049bdee8c978b4e692213d40299305b1cf5bb6442d05883fcff686bb00e2200bf4b17e25b798c2d101e3829546154bbf7e19ce1683ef6b1abbafc',
    });
  });

  it('Stripe: t=<ts>,v1=<hex HMAC-SHA256 of "ts.body">', async () => {
    const h = await signatureHeaders({ scheme: 'stripe', secret: 'whsec_stripe', body: BODY, timestamp: 1700000000.9 });
    expect(h).toEqual({ 'stripe-signature': 't=1700000000,v1=e61ec0f294530cb2efc4dd3193d59971e25f6c0a500174b0d1d4f8afec39ad34' });
  });

  it('Standard Webhooks: base64 HMAC-SHA256 of "id.ts.body" with the key after whsec_', async () => {
    const h = await signatureHeaders({
      scheme: 'standardWebhooks',
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      body: '{"test": 2432232314}',
      timestamp: 1614265330,
      messageId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    });
    expect(h).toEqual({
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
  });

  it('hmacSha256: the configured header, hex, over the UTF-8 bytes of the body', async () => {
    const h = await signatureHeaders({ scheme: 'hmacSha256', secret: 'k', body: 'é{"a":1}', timestamp: 0, header: 'X-Hub' });
    expect(h).toEqual({ 'x-hub': '534cbd15554612dbc0c47872e0178f47ffe70476efeb651ca94b05cad342b33c' });
    const d = await signatureHeaders({ scheme: 'hmacSha256', secret: 'k', body: 'é{"a":1}', timestamp: 0 });
    expect(Object.keys(d)).toEqual(['x-signature']);
  });

  it('Flutterwave sends the secret hash; none sends nothing', async () => {
    expect(await signatureHeaders({ scheme: 'flutterwave', secret: 'hash', body: BODY, timestamp: 0 })).toEqual({ 'verif-hash': 'hash' });
    expect(await signatureHeaders({ scheme: 'none', secret: '', body: BODY, timestamp: 0 })).toEqual({});
  });

  it('refuses an empty secret, a bad Standard Webhooks secret and an unknown scheme, naming the field', async () => {
    await expect(signatureHeaders({ scheme: 'paystack', secret: '', body: BODY, timestamp: 0 })).rejects.toMatchObject({
      field: 'secret',
      message: expect.stringContaining('Enter the configuration'),
    });
    expect(() => standardKey('abc')).toThrow(SignError);
    expect(() => standardKey('whsec_%%%')).toThrow(/not base64/);
    await expect(signatureHeaders({ scheme: 'rot13', secret: 's', body: BODY, timestamp: 0 })).rejects.toMatchObject({ field: 'scheme' });
  });
});

const hook = (over: Partial<HookConfig>): HookConfig => ({
  id: 1,
  name: 'h',
  url: '/webhook/x',
  executionType: 0,
  isActive: true,
  verification: { scheme: 'paystack', secretSet: true },
  ...over,
});

describe('configurations that return callbacks', () => {
  it('finds ReturnCallbackCommand in a command or a chain, and a plain key path', () => {
    const c = hook({ commandName: 'ReturnCallbackCommand', commandData: { correlationKey: 'body.data.reference', result: 'body' } });
    expect(returnsCallbacks(c)).toBe(true);
    expect(keyPathOf(c)).toEqual(['data', 'reference']);
    const chain = hook({ executionType: 1, commandChain: [{ commandName: 'X' }, { commandName: 'ReturnCallbackCommand', commandData: { correlationKey: '$request.body.ref' } }] });
    expect(keyPathOf(chain)).toEqual(['ref']);
    expect(returnsCallbacks(hook({ commandName: 'StartProcessInstanceCommand' }))).toBe(false);
    expect(returnsCallbacks(hook({ executionType: 3 }))).toBe(false);
    expect(keyPathOf(hook({ commandName: 'ReturnCallbackCommand', commandData: { correlationKey: 'join(`-`, [body.a, body.b])' } }))).toBeNull();
    expect(keyPathOf(hook({ commandName: 'ReturnCallbackCommand', commandData: { correlationKey: 'headers.ref' } }))).toBeNull();
  });

  it('puts the key where the preset and the mapping read it', () => {
    const paystack = PRESETS.find((p) => p.id === 'paystack')!;
    const v = JSON.parse(presetText(paystack, 'PAY-1', ['meta', 'key']));
    expect(v.event).toBe('charge.success');
    expect(v.data.reference).toBe('PAY-1');
    expect(v.meta.key).toBe('PAY-1');
    expect(withKeyAt({ a: 1 }, ['b', 'c'], 'K')).toEqual({ a: 1, b: { c: 'K' } });
    for (const p of PRESETS) {
      let at: unknown = p.make('K');
      for (const s of p.keyPath) at = (at as Record<string, unknown>)[s];
      expect(at, p.id).toBe('K');
    }
    // Each Paystack payload has its own transaction id (deliveries are deduplicated by it).
    expect(JSON.parse(presetText(paystack, 'K', null)).data.id).not.toBe(JSON.parse(presetText(paystack, 'K', null)).data.id);
  });
});

describe('the registry list', () => {
  it('keeps the filters in the address', () => {
    const f = readRegistryFilters('#/callbacks?status=Completed&process=P&key=a%20b');
    expect(f).toEqual({ status: 'Completed', process: 'P', key: 'a b' });
    expect(readRegistryFilters('#/callbacks?status=Nope').status).toBe('');
    expect(registryQuery(f)).toBe('status=Completed&process=P&key=a+b');
  });

  it('remembers the last payload per process', () => {
    localStorage.clear();
    expect(lastPayload('P')).toBeNull();
    rememberPayload('P', '{"a":1}', 'K1');
    rememberPayload('Q', '{"data":{"reference":"K1","note":"K1 paid"}}', 'K1');
    expect(lastPayload('P')).toBe('{"a":1}');
    // For another callback, the old key is replaced where it was a value (not inside other text).
    expect(JSON.parse(lastPayload('Q', 'K2')!)).toEqual({ data: { reference: 'K2', note: 'K1 paid' } });
    expect(lastPayload('Q')).toBe('{"data":{"reference":"K1","note":"K1 paid"}}');
    // A gateway's delivery id is new each time, or the webhook would take it for a repeat.
    rememberPayload('S', JSON.stringify({ id: 'evt_1', data: { object: { id: 'pi_1' } } }), 'K1');
    rememberPayload('T', JSON.stringify({ event: 'charge.success', data: { id: 42, reference: 'K1' } }), 'K1');
    const s = JSON.parse(lastPayload('S', 'K1')!);
    expect(s.id).toMatch(/^evt_/);
    expect(s.id).not.toBe('evt_1');
    expect(s.data.object.id).toBe('pi_1');
    expect(JSON.parse(lastPayload('T', 'K3')!).data).toMatchObject({ reference: 'K3' });
    expect(JSON.parse(lastPayload('T', 'K3')!).data.id).not.toBe(42);
  });
});
