import { describe, expect, it } from 'vitest';
import { findJsonMistake, lineColumn, parseJson } from './json';

/** The failure of `parseJson`, or a test failure when it parsed. */
function refused(text: string, options: Parameters<typeof parseJson>[1] = {}) {
  const r = parseJson(text, options);
  if (r.ok) throw new Error(`expected ${JSON.stringify(text)} to be refused, got ${JSON.stringify(r.value)}`);
  return r;
}

const vars = { what: 'The variables', object: true, empty: {} } as const;

describe('parseJson', () => {
  it('parses valid JSON of every kind', () => {
    expect(parseJson('{"a": [1, 2]}')).toEqual({ ok: true, value: { a: [1, 2] } });
    expect(parseJson(' [true, null, -1.5e3, "x\\u0041"] ')).toEqual({ ok: true, value: [true, null, -1500, 'xA'] });
    expect(parseJson('"just a string"')).toEqual({ ok: true, value: 'just a string' });
    expect(parseJson('{"amount": 5, "who": "ann"}', vars)).toEqual({ ok: true, value: { amount: 5, who: 'ann' } });
  });

  it('takes an empty box as the default when there is one, and refuses it otherwise', () => {
    expect(parseJson('   \n ', vars)).toEqual({ ok: true, value: {} });
    expect(parseJson('', { empty: null })).toEqual({ ok: true, value: null });
    const r = refused('  ', { what: 'The result' });
    expect(r.message).toBe('The result is empty: enter JSON (for nothing, type {}).');
    expect(r).toMatchObject({ line: 1, column: 1, offset: 0 });
  });

  it('points at a trailing comma', () => {
    const r = refused('{"a": 1,}', vars);
    expect(r.message).toBe(
      "The variables are not valid JSON: a trailing comma at line 1, column 8 (remove it, or add another entry before the '}').",
    );
    expect(r.offset).toBe(7);
    expect(refused('[1, 2, ]').message).toMatch(/a trailing comma at line 1, column 6 .*before the '\]'/);
  });

  it('says JSON needs double quotes for single-quoted strings and names', () => {
    expect(refused("{'a': 1}", vars).message).toBe(
      'The variables are not valid JSON: a single quote at line 1, column 2 (JSON needs double quotes).',
    );
    expect(refused(`{"a": 'x'}`).message).toMatch(/a single quote at line 1, column 7/);
    expect(refused('{\n  "a": 1,\n  b: 2\n}').message).toMatch(/an unquoted property name "b" at line 3, column 3 \(property names need double quotes\)/);
  });

  it('says which brace is not closed when the text ends', () => {
    const r = refused('{"a": 1', vars);
    expect(r.message).toBe(
      "The variables are not valid JSON: the text ends, expected ',' or '}' at line 1, column 8 (the '{' at line 1, column 1 is not closed).",
    );
    const nested = refused('{\n  "list": [1, 2\n}');
    expect(nested.message).toMatch(/unexpected "}", expected ',' or '\]' at line 3, column 1/);
    expect(refused('{"a": {"b": 1}').message).toMatch(/the '\{' at line 1, column 1 is not closed/);
    expect(refused('[').message).toMatch(/the text ends, expected a value at line 1, column 2 \(the '\[' at line 1, column 1 is not closed\)/);
  });

  it('points at the opening quote of an unterminated string', () => {
    const r = refused('{"status": "succ', { what: 'The result' });
    expect(r.message).toBe('The result is not valid JSON: an unclosed string at line 1, column 12 (the closing " is missing).');
    expect(r.offset).toBe(11);
    expect(refused('{"a": "one\ntwo"}').message).toMatch(/a line break inside a string at line 1, column 11/);
    expect(refused('"\\q"').message).toMatch(/an invalid escape \\q at line 1, column 2/);
    expect(refused('"\\u12"').message).toMatch(/an incomplete \\u escape/);
  });

  it('refuses text after the value', () => {
    expect(refused('{"a": 1} x').message).toMatch(/^The text is not valid JSON: "x" after the end of the JSON value at line 1, column 10 \(only one value/);
    expect(refused('1 2').message).toMatch(/"2" after the end of the JSON value at line 1, column 3/);
    expect(refused('{} // note').message).toMatch(/a comment at line 1, column 4 \(JSON has no comments\)/);
  });

  it('names words that are not JSON', () => {
    const r = refused('{\n  "amount": 5,\n  "who": ann\n}', vars);
    expect(r).toMatchObject({ line: 3, column: 10, offset: 26 });
    expect(r.message).toMatch(/unquoted text "ann" at line 3, column 10 \(strings need double quotes\)\.$/);
    expect(refused('{"a": tru}').message).toMatch(/the word "tru" at line 1, column 7 \(did you mean true\?\)/);
    expect(refused('{"a": True}').message).toMatch(/"True" at line 1, column 7 \(JSON writes true in lower case\)/);
    expect(refused('{"a": 01}').message).toMatch(/a number with a leading zero at line 1, column 7/);
    expect(refused('[-]').message).toMatch(/a "-" without a number after it at line 1, column 2/);
  });

  it('wants an object when one is required, naming what it got', () => {
    expect(refused('[1, 2]', vars).message).toBe('The variables must be a JSON object such as {"name": "value"}, not an array.');
    expect(refused('null', vars).message).toMatch(/not null\.$/);
    expect(refused('42', vars).message).toMatch(/not a number\.$/);
    expect(refused('"x"', vars).message).toMatch(/not a string\.$/);
    expect(refused('\n  [1]', vars)).toMatchObject({ line: 2, column: 3, offset: 3 });
    expect(parseJson('[1]')).toEqual({ ok: true, value: [1] });
  });

  it('counts lines and columns over several lines', () => {
    const text = '{\n  "a": 1,\n  "b": [\n    1,\n    2\n    3\n  ]\n}';
    const r = refused(text);
    expect(r).toMatchObject({ line: 6, column: 5 });
    expect(text[r.offset]).toBe('3');
    expect(r.message).toMatch(/unexpected "3", expected ',' or '\]' at line 6, column 5\./);
    // Windows line ends count once
    expect(refused('{\r\n"a" 1}')).toMatchObject({ line: 2, column: 5 });
  });

  it('counts a character as the user sees it, whatever its encoding', () => {
    // é is one UTF-16 unit, 😀 is two: the column counts both as one character
    const text = '{"name": "é😀", x}';
    const r = refused(text);
    expect(text.slice(r.offset, r.offset + 1)).toBe('x');
    expect(r.offset).toBe(16);
    expect(r.column).toBe(16); // not 17: the emoji is one character
    // a non-breaking space pasted from a web page is shown by its code, not invisibly
    expect(refused('{"a":\u00a01}').message).toMatch(/unexpected U\+00A0, expected a value at line 1, column 6/);
  });

  it('says "is" or "are" after what the text is', () => {
    expect(refused('x', { what: 'The variables' }).message).toMatch(/^The variables are not/);
    expect(refused('x', { what: 'The task data' }).message).toMatch(/^The task data is not/);
    expect(refused('x', { what: 'The status' }).message).toMatch(/^The status is not/);
    expect(refused('x', { what: 'This' }).message).toMatch(/^This is not/);
  });
});

describe('lineColumn', () => {
  it('counts from 1', () => {
    expect(lineColumn('ab\ncd', 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
    expect(lineColumn('ab', 99)).toEqual({ line: 1, column: 3 });
  });
});

describe('the scanner agrees with JSON.parse', () => {
  const parses = (text: string) => {
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  };
  const samples = [
    '{}', '[]', '[1,2]', '{"a":[true,false,null,-1.5e3,"x\\u0041"]}', '{"a":1,}', '{a:1}', "{'a':1}", '{"a" 1}', '[1 2]',
    '"unterminated', '{"a":01}', '{"a":"\n"}', '1 2', '', ' ', '{"a":tru}', '-0', '0.5e-3', '1.', '.5', '+1', '"\\/"', '[[[]]]',
    '{"a":{"b":{}}}', '\ufeff{}', '{"a":1}\n', '"\\u00e9"', '1e', '[,1]', '{,}', '{"a":1,,"b":2}', 'nul', 'true false',
  ];
  it.each(samples)('%j', (text) => {
    expect(findJsonMistake(text) === null).toBe(parses(text));
  });

  it('on many mutations of valid JSON', () => {
    // a seeded generator: the same cases every run
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const base = '{"id": "P-1", "amount": -12.5e2, "tags": ["a", "b\\n"], "ok": true, "none": null, "nested": {"x": [0, {}]}}';
    const pieces = ['{', '}', '[', ']', ',', ':', '"', "'", '\\', ' ', '\n', '0', '1', '-', '.', 'e', 't', 'x', '/', 'é'];
    const disagreements: string[] = [];
    for (let n = 0; n < 3000; n++) {
      let text = base;
      for (let k = 1 + rand(3); k > 0; k--) {
        const at = rand(text.length + 1);
        const op = rand(3);
        if (op === 0) text = text.slice(0, at) + text.slice(at + 1);
        else if (op === 1) text = text.slice(0, at) + pieces[rand(pieces.length)] + text.slice(at);
        else text = text.slice(0, at) + pieces[rand(pieces.length)] + text.slice(at + 1);
      }
      const mistake = findJsonMistake(text);
      if ((mistake === null) !== parses(text)) disagreements.push(text);
      else if (mistake) expect(mistake.offset).toBeLessThanOrEqual(text.length);
    }
    expect(disagreements).toEqual([]);
  });

  it('does not overflow on deep nesting', () => {
    const deep = '['.repeat(100_000);
    expect(findJsonMistake(deep)).toMatchObject({ offset: 100_000, reason: 'the text ends, expected a value' });
    expect(refused(deep).line).toBe(1);
  });
});
