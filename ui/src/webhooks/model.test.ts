import { describe, expect, it } from 'vitest';
import {
  buildMapping,
  concernsList,
  commandData,
  emptyForm,
  formOf,
  fullUrl,
  jmespathProblem,
  mappingRows,
  parseIps,
  placeOf,
  previewMapping,
  rateLimitedText,
  sampleRequest,
  type HookConfig,
} from './model';
import { readState, stateQuery } from './state';

const stored: HookConfig = {
  id: 7,
  name: 'Paystack',
  key: null,
  url: '/webhook/paystack/payment',
  customUrl: true,
  executionType: 0,
  allowedIPs: ['52.31.139.75'],
  verification: { scheme: 'paystack', secretSet: true },
  verified: true,
  warning: null,
  isActive: true,
  commandName: 'ReturnCallbackCommand',
  commandData: { correlationKey: 'body.data.reference', result: { amount: 'body.data.amount', n: 3 } },
};

describe('the commandData mapping', () => {
  it('nests dotted fields and marks a line whose expression does not compile', () => {
    const { data, problems } = buildMapping([
      { field: 'correlationKey', expr: 'body.data.reference' },
      { field: 'result.amount', expr: 'body.data.amount' },
      { field: 'result.bad', expr: 'body.[[' },
    ]);
    expect(data).toEqual({ correlationKey: 'body.data.reference', result: { amount: 'body.data.amount', bad: 'body.[[' } });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.at).toBe('mapping.2.expr');
    expect(problems[0]!.message).toMatch(/^Not a JMESPath expression: /);
  });

  it('refuses empty, repeated and overlapping field names', () => {
    const { problems } = buildMapping([
      { field: '', expr: 'a' },
      { field: 'x', expr: 'a' },
      { field: 'x', expr: 'b' },
      { field: 'x.y', expr: 'c' },
      { field: 'a b', expr: 'c' },
    ]);
    expect(problems.map((p) => p.at)).toEqual(['mapping.0.field', 'mapping.2.field', 'mapping.3.field', 'mapping.4.field']);
    expect(problems[1]!.message).toContain('mapped twice (line 2)');
    expect(problems[2]!.message).toContain('overlap');
  });

  it('flattens a stored mapping into lines, literals as JMESPath literals', () => {
    expect(mappingRows(stored.commandData)).toEqual([
      { field: 'correlationKey', expr: 'body.data.reference' },
      { field: 'result.amount', expr: 'body.data.amount' },
      { field: 'result.n', expr: '`3`' },
    ]);
  });

  it('previews every line on the sample and the whole commandData', () => {
    const request = sampleRequest({ data: { reference: 'R1', amount: 5 } }, '/webhook/x');
    const rows = [
      { field: 'correlationKey', expr: 'body.data.reference' },
      { field: 'result.amount', expr: 'body.data.amount' },
      { field: 'result.n', expr: '`3`' },
      { field: 'missing', expr: 'body.nothing' },
    ];
    const p = previewMapping(rows, request);
    expect(p.lines).toEqual([
      { ok: true, value: 'R1' },
      { ok: true, value: 5 },
      { ok: true, value: 3 },
      { ok: true, value: null },
    ]);
    expect(p.commandData).toEqual({ correlationKey: 'R1', result: { amount: 5, n: 3 }, missing: null });
    const bad = previewMapping([{ field: 'k', expr: 'foo[' }], request);
    expect(bad.lines[0]!.ok).toBe(false);
    expect(bad.commandData).toBeNull();
  });

  it('says why an expression does not compile', () => {
    expect(jmespathProblem('body.data.reference')).toBeNull();
    expect(jmespathProblem('')).toMatch(/Enter a JMESPath expression/);
    expect(jmespathProblem('{a: b')).toMatch(/Not a JMESPath expression/);
  });
});

describe('the command data of a form', () => {
  it('builds CreateWebHookConfigCommand data', () => {
    const form = { ...emptyForm(), name: ' Pay ', path: '/webhook/pay', secret: 's3cret', allowedIPs: '52.31.139.75\n 2001:db8::1, ' };
    const { data, problems } = commandData(form, null);
    expect(problems).toEqual([]);
    expect(data).toEqual({
      name: 'Pay',
      url: '/webhook/pay',
      executionType: 0,
      commandName: 'ReturnCallbackCommand',
      commandData: { correlationKey: 'body.data.reference', result: '{status: body.data.status, amount: body.data.amount}' },
      verification: { scheme: 'paystack', secret: 's3cret' },
      allowedIPs: ['52.31.139.75', '2001:db8::1'],
      isActive: true,
    });
  });

  it('refuses an empty secret for a scheme that signs, and sends nothing', () => {
    const { data, problems } = commandData({ ...emptyForm(), name: 'x', scheme: 'stripe' }, null);
    expect(data).toBeNull();
    expect(problems).toEqual([{ at: 'secret', message: expect.stringContaining('the stripe scheme signs with it') }]);
    expect(commandData({ ...emptyForm(), name: 'x', scheme: 'none' }, null).problems).toEqual([]);
  });

  it('keeps the stored secret when the scheme stays and none is typed', () => {
    const form = formOf(stored);
    expect(form.secret).toBe('');
    const { data, problems } = commandData(form, stored);
    expect(problems).toEqual([]);
    expect(data!.id).toBe(7);
    expect(data!.verification).toEqual({ scheme: 'paystack' });
    // another scheme needs its own secret
    expect(commandData({ ...form, scheme: 'stripe' }, stored).problems.map((p) => p.at)).toEqual(['secret']);
  });

  it('marks bad JSON, addresses, paths and missing names beside their fields', () => {
    const chain = commandData({ ...emptyForm(), executionType: 1, commandChain: '[{"commandName": }]', scheme: 'none' }, null);
    expect(chain.problems.map((p) => p.at)).toEqual(['name', 'commandChain']);
    expect(chain.problems[1]!.message).toMatch(/The command chain is not valid JSON: .* at line 1, column 18/);
    const process = commandData({ ...emptyForm(), name: 'p', executionType: 3, processKey: 'Pay', variables: '[1]', scheme: 'none', path: 'hooks/x', allowedIPs: '1.2.3' }, null);
    expect(process.problems.map((p) => p.at)).toEqual(['path', 'variables', 'allowedIPs']);
    const byId = commandData({ ...emptyForm(), name: 'p', executionType: 3, processKey: '12', scheme: 'none' }, null);
    expect(byId.data).toMatchObject({ processDefinitionId: 12, variables: {} });
  });

  it('parses allowed addresses one a line or with commas', () => {
    expect(parseIps('')).toEqual({ ips: [], problem: null });
    expect(parseIps('10.0.0.1, ::1').ips).toEqual(['10.0.0.1', '::1']);
    expect(parseIps('300.1.1.1').problem).toContain('"300.1.1.1" is not an IP address');
  });
});

describe('where the runtime\'s field errors go', () => {
  const rows = [{ field: 'result.amount', expr: 'x' }];
  it('places them beside the field they name', () => {
    expect(placeOf('verification', 'verification.secret is required for the paystack scheme', rows)).toBe('secret');
    expect(placeOf('verification', "verification.header 'x y' is not a valid header name", rows)).toBe('header');
    expect(placeOf('verification', 'verification.scheme must be one of ...', rows)).toBe('scheme');
    expect(placeOf('commandData', "commandData.result.amount: 'x[' is not a JMESPath expression: ...", rows)).toBe('mapping.0.expr');
    expect(placeOf('commandData', 'commandData must be an object', rows)).toBe('mapping');
    expect(placeOf('url', 'another webhook configuration already uses url', rows)).toBe('path');
    expect(placeOf('processDefinitionId', 'no process definition 9', rows)).toBe('processKey');
    expect(placeOf('somethingElse', '?', rows)).toBe('form');
  });
});

describe('the rate limit line', () => {
  it('says how many were refused and from where, or nothing', () => {
    expect(rateLimitedText(undefined)).toBe('');
    expect(rateLimitedText({ total: 0, addresses: [] })).toBe('');
    expect(rateLimitedText({ total: 1200, addresses: [{ address: '10.0.0.9', count: 1100 }] })).toBe(
      '1,200 requests were refused by the rate limit since Baton started (answered 429, not in the log); the most from 10.0.0.9 (1,100).',
    );
  });
});

describe('addresses and the view state', () => {
  it('joins the base address and the path', () => {
    expect(fullUrl('http://127.0.0.1:7410/', '/webhook/k/abc')).toBe('http://127.0.0.1:7410/webhook/k/abc');
  });

  it('reads and writes the tab, filters and page from the address', () => {
    expect(readState('#/webhooks')).toEqual({ tab: 'configs', config: null, verdict: null, page: 1, size: 20 });
    const s = readState('#/webhooks?tab=requests&config=3&verdict=duplicate&page=4&size=50');
    expect(s).toEqual({ tab: 'requests', config: 3, verdict: 'duplicate', page: 4, size: 50 });
    expect(stateQuery(s)).toBe('tab=requests&config=3&verdict=duplicate&page=4&size=50');
    expect(readState('#/webhooks?tab=nope&config=x&verdict=refused&page=-1&size=7')).toEqual({
      tab: 'configs',
      config: null,
      verdict: null,
      page: 1,
      size: 20,
    });
  });
});

describe('concernsList', () => {
  const all = { config: null, verdict: null };
  it('lets every request through to an unfiltered list, and missed events to any list', () => {
    expect(concernsList({ configId: 3, verdict: 'accepted' }, all)).toBe(true);
    expect(concernsList({ configId: null, verdict: null }, all)).toBe(true);
    expect(concernsList(null, { config: 3, verdict: 'badSignature' })).toBe(true);
  });
  it('keeps a list filtered to one configuration still when another is reached', () => {
    const three = { config: 3, verdict: null };
    expect(concernsList({ configId: 3, verdict: 'accepted' }, three)).toBe(true);
    expect(concernsList({ configId: 4, verdict: 'accepted' }, three)).toBe(false);
    expect(concernsList({ configId: null, verdict: 'notFound' }, three)).toBe(false);
  });
  it('keeps a list filtered to one verdict still when a request is recorded with another or not at all', () => {
    const refused = { config: null, verdict: 'badSignature' };
    expect(concernsList({ configId: 3, verdict: 'badSignature' }, refused)).toBe(true);
    expect(concernsList({ configId: 3, verdict: 'accepted' }, refused)).toBe(false);
    expect(concernsList({ configId: 3, verdict: null }, refused)).toBe(false);
    // Both filters at once: the request must pass each.
    const both = { config: 3, verdict: 'duplicate' };
    expect(concernsList({ configId: 3, verdict: 'duplicate' }, both)).toBe(true);
    expect(concernsList({ configId: 4, verdict: 'duplicate' }, both)).toBe(false);
    expect(concernsList({ configId: 3, verdict: 'accepted' }, both)).toBe(false);
  });
  it('lets an event that does not say its verdict through to a list filtered by verdict', () => {
    expect(concernsList({ configId: 3 }, { config: null, verdict: 'accepted' })).toBe(true);
  });
});
