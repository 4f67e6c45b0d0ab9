import { describe, expect, it } from 'vitest';
import { parseSse, unpack } from './transport';

describe('parseSse', () => {
  it('reads complete events and keeps the unfinished tail', () => {
    const seen: [string, string][] = [];
    const tail = parseSse(
      ': keep-alive\n\nevent: instance\ndata: {"a":1}\n\nevent: instance\ndata: {"a"',
      (e, d) => seen.push([e, d]),
    );
    expect(seen).toEqual([['instance', '{"a":1}']]);
    expect(tail).toBe('event: instance\ndata: {"a"');
  });

  it('joins multi-line data and accepts CRLF', () => {
    const seen: string[] = [];
    parseSse('data: one\r\ndata: two\r\n\r\n', (_e, d) => seen.push(d));
    expect(seen).toEqual(['one\ntwo']);
  });
});

describe('unpack', () => {
  it('turns the seed-000 envelope into an answer', () => {
    expect(unpack({ isSuccessful: true, message: 'ok', data: { x: 1 } })).toEqual({ ok: true, message: 'ok', data: { x: 1 } });
    const failed = unpack({ isSuccessful: false, message: 'Validation failed', errors: [{ field: 'bpmnXml', message: 'bad' }] });
    expect(failed.ok).toBe(false);
    if (!failed.ok) expect(failed.errors[0]?.field).toBe('bpmnXml');
  });

  it('treats a missing isSuccessful as a failure', () => {
    expect(unpack({ message: 'x' }).ok).toBe(false);
  });
});
