import { afterEach, describe, expect, it, vi } from 'vitest';

const { invoke } = vi.hoisted(() => ({ invoke: vi.fn() }));
vi.mock('@tauri-apps/api/core', () => ({ invoke }));

/** A fresh transport module, loaded inside the desktop app or in a browser. */
async function transport(desktop: boolean): Promise<typeof import('./transport')> {
  const w = window as unknown as Record<string, unknown>;
  if (desktop) w.__TAURI_INTERNALS__ = {};
  else delete w.__TAURI_INTERNALS__;
  vi.resetModules();
  return import('./transport');
}

afterEach(() => {
  invoke.mockReset();
  vi.unstubAllGlobals();
  delete (window as unknown as Record<string, unknown>).__TAURI_INTERNALS__;
});

describe('postWebhook', () => {
  it('in the desktop app, hands the path, headers and body to the webhook command', async () => {
    const { postWebhook } = await transport(true);
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    invoke.mockResolvedValue({ status: 401, body: { isSuccessful: false, message: 'the signature does not match' } });
    const r = await postWebhook('http://127.0.0.1:7410/webhook/k/abc?source=ui', { 'webhook-signature': 'v1,x' }, '{"a":1}');
    expect(invoke).toHaveBeenCalledWith('webhook', {
      request: {
        path: '/webhook/k/abc?source=ui',
        headers: { 'Content-Type': 'application/json', 'webhook-signature': 'v1,x' },
        body: '{"a":1}',
      },
    });
    expect(fetch).not.toHaveBeenCalled();
    expect(r).toEqual({ status: 401, ok: false, statusText: '', text: '{"isSuccessful":false,"message":"the signature does not match"}' });

    invoke.mockResolvedValue({ status: 200, body: { isSuccessful: true } });
    const ok = await postWebhook('/hooks/wh_1', {}, '{}');
    expect(invoke.mock.calls[1]?.[1]).toMatchObject({ request: { path: '/hooks/wh_1' } });
    expect(ok.ok).toBe(true);
  });

  it('in the desktop app, a failing command is a transport error', async () => {
    const { postWebhook, TransportError } = await transport(true);
    invoke.mockRejectedValue('no such command');
    await expect(postWebhook('/webhook/x', {}, '{}')).rejects.toBeInstanceOf(TransportError);
  });

  it('in a browser, posts with fetch and reads the answer as text', async () => {
    const { postWebhook } = await transport(false);
    const fetch = vi.fn(async () => new Response('{"isSuccessful":true}', { status: 200, statusText: 'OK' }));
    vi.stubGlobal('fetch', fetch);
    const r = await postWebhook('/webhook/k/abc', { 'x-paystack-signature': 'ff' }, '{}');
    expect(fetch).toHaveBeenCalledWith('/webhook/k/abc', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'x-paystack-signature': 'ff' },
      body: '{}',
    });
    expect(invoke).not.toHaveBeenCalled();
    expect(r).toEqual({ status: 200, ok: true, statusText: 'OK', text: '{"isSuccessful":true}' });
  });
});
