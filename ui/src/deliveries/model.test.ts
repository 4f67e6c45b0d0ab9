import { describe, expect, it } from 'vitest';
import {
  checkSecret,
  checkUrl,
  lastResponse,
  logQueryString,
  logRequest,
  nextAttemptText,
  pageJump,
  placeErrors,
  readLogFilters,
  receiverText,
  redeliverSentence,
  responseFailed,
  splitNames,
  subscriptionRequest,
  webhookRequest,
  type WebhookDraft,
} from './model';

describe('checks before sending', () => {
  it('takes http and https addresses with a host', () => {
    expect(checkUrl('https://example.com/hook')).toBeNull();
    expect(checkUrl(' http://127.0.0.1:8080/x ')).toBeNull();
  });

  it('refuses an empty, spaced, foreign or broken address with a sentence', () => {
    expect(checkUrl('')).toMatch(/Enter the address/);
    expect(checkUrl('ftp://example.com')).toMatch(/must start with http:\/\/ or https:\/\//);
    expect(checkUrl('example.com/hook')).toMatch(/must start with http/);
    expect(checkUrl('https://exa mple.com')).toMatch(/spaces/);
    expect(checkUrl('http://')).toMatch(/not a valid address|needs a host/);
  });

  it('lets the secret be empty (Baton makes one) or whsec_ with something after it', () => {
    expect(checkSecret('')).toBeNull();
    expect(checkSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).toBeNull();
    expect(checkSecret('secret')).toMatch(/starts with whsec_/);
    expect(checkSecret('whsec_')).toMatch(/after whsec_/);
  });

  it('builds a subscription only when URL and events are right, and leaves empty options out', () => {
    const bad = subscriptionRequest({ url: 'nope', events: [], secret: 'x', processKey: '' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(Object.keys(bad.errors).sort()).toEqual(['events', 'secret', 'url']);
    const good = subscriptionRequest({
      url: ' https://example.com/e ',
      events: ['workflow.completed'],
      secret: '',
      processKey: ' Loan ',
    });
    expect(good).toEqual({ ok: true, data: { url: 'https://example.com/e', events: ['workflow.completed'], processKey: 'Loan' } });
  });

  it('sends only * when All events is chosen with others', () => {
    const r = subscriptionRequest({ url: 'https://e.com', events: ['*', 'workflow.completed'], secret: '', processKey: '' });
    expect(r.ok && r.data.events).toEqual(['*']);
  });

  const draft = (over: Partial<WebhookDraft> = {}): WebhookDraft => ({
    name: 'backend',
    url: 'https://example.com/update',
    method: 'POST',
    stateNames: 'calculate_risk, Manager review',
    headers: '',
    mapping: '',
    processKey: '',
    ...over,
  });

  it('builds a custom webhook, splitting the states and keeping the mapping', () => {
    expect(splitNames('a, b\nc,,')).toEqual(['a', 'b', 'c']);
    const r = webhookRequest(draft({ headers: '{"authorization": "Bearer {secret.K}"}', mapping: '{r: @}' }));
    expect(r).toEqual({
      ok: true,
      data: {
        name: 'backend',
        url: 'https://example.com/update',
        method: 'POST',
        stateNames: ['calculate_risk', 'Manager review'],
        headers: { authorization: 'Bearer {secret.K}' },
        request: { transform: { transformer: 'jmespath', mapping: '{r: @}' } },
      },
    });
  });

  it('marks invalid header JSON with where it went wrong, and headers that are not strings', () => {
    const r = webhookRequest(draft({ headers: '{"a": 1,}' }));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.headers).toMatch(/^The headers are not valid JSON: .* at line 1, column \d+/);
      expect(typeof r.mistakes.headers).toBe('number');
    }
    const n = webhookRequest(draft({ headers: '{"a": 1}' }));
    expect(!n.ok && n.errors.headers).toMatch(/“a” must be a string/);
    const arr = webhookRequest(draft({ headers: '[]' }));
    expect(!arr.ok && arr.errors.headers).toMatch(/must be a JSON object/);
  });

  it('names every missing field of a custom webhook', () => {
    const r = webhookRequest(draft({ name: ' ', url: '', stateNames: ' , ', method: 'GET' }));
    expect(!r.ok && Object.keys(r.errors).sort()).toEqual(['method', 'name', 'stateNames', 'url']);
  });
});

describe("the runtime's errors on the form", () => {
  it('puts a known field beside its control and the rest at the form', () => {
    expect(
      placeErrors(
        [
          { field: 'request', message: "request.transform.mapping '{bad': Parse error" },
          { field: 'zzz', message: 'odd' },
        ],
        ['mapping', 'url'],
        'refused',
        { request: 'mapping' },
      ),
    ).toEqual({ mapping: "request.transform.mapping '{bad': Parse error", form: 'odd' });
  });

  it('falls back to the message when no field is named', () => {
    expect(placeErrors([], ['url'], 'Only administrators may do this')).toEqual({ form: 'Only administrators may do this' });
  });
});

describe('the log in the address', () => {
  it('reads known filters and drops unknown values', () => {
    expect(readLogFilters('#/deliveries?status=Failed&event=workflow.completed&instance=abc&page=3&size=50')).toEqual({
      status: 'Failed',
      event: 'workflow.completed',
      instance: 'abc',
      page: 3,
      size: 50,
    });
    expect(readLogFilters('#/deliveries?event=callback.completed').event).toBe('callback.completed');
    expect(readLogFilters('#/deliveries?status=failed&event=nope&page=-1&size=7')).toEqual({
      status: '',
      event: '',
      instance: '',
      page: 1,
      size: 20,
    });
  });

  it('writes only what differs from the defaults, and round-trips', () => {
    const f = { status: 'Pending', event: '', instance: 'g-1', page: 2, size: 20 };
    expect(logQueryString(f)).toBe('status=Pending&instance=g-1&page=2');
    expect(readLogFilters(`#/deliveries?${logQueryString(f)}`)).toEqual(f);
  });

  it('asks the runtime for one page only', () => {
    expect(logRequest({ status: 'Failed', event: 'workflow.completed', instance: 'g', page: 5000, size: 20 })).toEqual({
      pageNumber: 5000,
      pageSize: 20,
      status: 'Failed',
      eventName: 'workflow.completed',
      instanceGuid: 'g',
    });
  });

  it('goes to a page in range only', () => {
    expect(pageJump('5,000', 5000)).toEqual({ ok: true, page: 5000 });
    expect(pageJump('5001', 5000)).toMatchObject({ ok: false, message: expect.stringMatching(/There are 5,000 pages/) });
    expect(pageJump('two', 5000)).toMatchObject({ ok: false, message: expect.stringMatching(/whole page number/) });
    expect(pageJump('1.5', 3)).toMatchObject({ ok: false });
  });
});

describe('a delivery in words', () => {
  const base = { status: 'Pending', attempts: 0, lastStatusCode: null, lastError: null, nextAttemptAt: null };

  it('says what the receiver answered last', () => {
    expect(lastResponse(base)).toBe('not tried yet');
    expect(lastResponse({ ...base, attempts: 1, lastStatusCode: 500, lastError: 'the receiver answered HTTP 500' })).toBe('HTTP 500');
    expect(lastResponse({ ...base, attempts: 1, lastError: 'connection refused' })).toBe('connection refused');
    expect(responseFailed({ ...base, attempts: 1, lastStatusCode: 204 })).toBe(false);
    expect(responseFailed({ ...base, attempts: 1, lastStatusCode: 302 })).toBe(true);
    expect(responseFailed({ ...base, attempts: 1, lastError: 'timeout' })).toBe(true);
    expect(responseFailed(base)).toBe(false);
  });

  it('tells when a pending delivery is tried again', () => {
    const now = new Date('2026-11-30T06:00:00Z');
    expect(nextAttemptText({ status: 'Pending', nextAttemptAt: '2026-11-30T06:00:10.000000Z' }, now)).toBe('in 10 s');
    expect(nextAttemptText({ status: 'Pending', nextAttemptAt: '2026-11-30T06:05:00Z' }, now)).toBe('in 5 min');
    expect(nextAttemptText({ status: 'Pending', nextAttemptAt: '2026-11-30T12:00:00Z' }, now)).toBe('in 6 h');
    expect(nextAttemptText({ status: 'Pending', nextAttemptAt: '2026-11-30T05:59:00Z' }, now)).toBe('due now');
    expect(nextAttemptText({ status: 'Delivered', nextAttemptAt: null }, now)).toBe('');
  });

  it('words the answer of a redelivery', () => {
    expect(redeliverSentence({ ...base, status: 'Delivered', attempts: 2, lastStatusCode: 200 })).toBe(
      'Delivered: the receiver answered HTTP 200 (attempt 2).',
    );
    expect(
      redeliverSentence({ ...base, attempts: 3, lastStatusCode: 503, nextAttemptAt: '2026-11-30T06:05:00.000000Z' }),
    ).toBe('Not delivered: the receiver answered HTTP 503 (attempt 3 of 7). Baton tries again at 2026-11-30 06:05:00 UTC.');
    expect(redeliverSentence({ ...base, status: 'Failed', attempts: 7, lastError: 'connection refused' })).toBe(
      'Not delivered: it could not be sent: connection refused. The delivery is Failed after 7 attempts.',
    );
  });

  it('names who a delivery is for', () => {
    expect(receiverText({ subscriptionId: 3, customWebhookId: null })).toBe('subscription 3');
    expect(receiverText({ subscriptionId: null, customWebhookId: 2 })).toBe('custom webhook 2');
    expect(receiverText({ subscriptionId: null, customWebhookId: null })).toMatch(/WebhookUrl/);
  });
});

describe('the route', () => {
  it('opens the deliveries view with its filters in the address', async () => {
    const { match } = await import('../app/router');
    expect(match('#/deliveries')?.route.title).toBe('Deliveries');
    expect(match('#/deliveries?status=Failed&page=2')?.route.title).toBe('Deliveries');
  });
});
