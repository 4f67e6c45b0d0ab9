import { describe, expect, it } from 'vitest';
import { lastStartVariables, lineColumn, parseVariables, rememberStartVariables } from './variables';

describe('start variables', () => {
  it('accepts a JSON object and an empty box', () => {
    expect(parseVariables('{"amount": 5, "who": "ann"}')).toEqual({ ok: true, value: { amount: 5, who: 'ann' } });
    expect(parseVariables('   ')).toEqual({ ok: true, value: {} });
  });

  it('refuses invalid JSON with the line and column of the mistake', () => {
    const text = '{\n  "amount": 5,\n  "who": ann\n}';
    const r = parseVariables(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.line).toBe(3);
    expect(r.column).toBe(10);
    expect(r.message).toMatch(/not valid JSON: .* at line 3, column 10\./);
    expect(text[r.offset!]).toBe('a');
  });

  it('refuses a trailing comma and an unfinished object', () => {
    const trailing = parseVariables('{"a": 1,}');
    expect(trailing.ok).toBe(false);
    if (!trailing.ok) expect(trailing.line).toBe(1);
    const unfinished = parseVariables('{"a": 1');
    expect(unfinished.ok).toBe(false);
    if (!unfinished.ok) expect(unfinished.message).toMatch(/line 1, column 8/);
  });

  it('refuses JSON that is not an object, naming what it is', () => {
    expect(parseVariables('[1, 2]')).toMatchObject({ ok: false, message: expect.stringMatching(/not an array/) });
    expect(parseVariables('null')).toMatchObject({ ok: false, message: expect.stringMatching(/not null/) });
    expect(parseVariables('42')).toMatchObject({ ok: false, message: expect.stringMatching(/not a number/) });
  });

  it('counts lines and columns from 1', () => {
    expect(lineColumn('ab\ncd', 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });

  it('remembers the last variables per process key', () => {
    localStorage.clear();
    expect(lastStartVariables('P')).toBeNull();
    rememberStartVariables('P', '{"a": 1}');
    rememberStartVariables('Q', '{"b": 2}');
    expect(lastStartVariables('P')).toBe('{"a": 1}');
    expect(lastStartVariables('Q')).toBe('{"b": 2}');
  });
});

describe('the JSON scanner agrees with JSON.parse', () => {
  const samples = ['{}', '[1,2]', '{"a":[true,false,null,-1.5e3,"x\\u0041"]}', '{"a":1,}', '{a:1}', "{'a':1}", '{"a" 1}', '[1 2]', '"unterminated', '{"a":01}', '{"a":"\n"}', '1 2', '', '{"a":tru}'];
  it.each(samples)('%s', (text) => {
    let parses = true;
    try {
      JSON.parse(text);
    } catch {
      parses = false;
    }
    const r = parseVariables(text.trim() === '' ? 'x' : text);
    if (parses && !(text.startsWith('['))) expect(r.ok || /must be a JSON object/.test((r as { message: string }).message)).toBe(true);
    if (!parses) expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/at line \d+, column \d+/) });
  });
});
