/** Start variables typed as JSON: parsed, or refused with the place of the mistake in words. */

export type VariablesResult =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; message: string; line?: number; column?: number; offset?: number };

/** Line and column (1-based) of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let column = 1;
  for (let i = 0; i < Math.min(offset, text.length); i++) {
    if (text[i] === '\n') {
      line++;
      column = 1;
    } else column++;
  }
  return { line, column };
}

/**
 * Where JSON text first goes wrong, and why: a small scanner, because browsers word (and
 * place) JSON.parse errors differently and some give no position at all.
 */
export function jsonError(text: string): { offset: number; reason: string } | null {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (reason: string): never => {
    throw { offset: i, reason };
  };
  const describe = () => (i >= text.length ? 'the text ends' : `unexpected ${JSON.stringify(text[i])}`);
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`${describe()}, expected a value`);
  };
  const string = () => {
    i++; // opening quote
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        const n = text[i + 1];
        if (n === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('a \\u escape needs four hex digits');
          i += 6;
        } else if (n !== undefined && '"\\/bfnrt'.includes(n)) i += 2;
        else fail('an invalid escape in a string');
      } else if (c < ' ') fail('a line break or control character inside a string (close the quote first)');
      else i++;
    }
    fail('a string is not closed');
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === '-' || m[0] === '') fail(`${describe()}, expected a number`);
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`${describe()}, expected a property name in double quotes`);
        string();
        ws();
        if (text[i] !== ':') fail(`${describe()}, expected ':' after the property name`);
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === '}') fail('a comma before } (remove the trailing comma)');
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`${describe()}, expected ',' or '}'`);
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === ']') fail('a comma before ] (remove the trailing comma)');
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`${describe()}, expected ',' or ']'`);
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
    else if (c === "'") fail("single quotes: JSON needs double quotes");
    else fail(`${describe()}, expected a value`);
  };
  try {
    value();
    ws();
    if (i < text.length) fail(`${describe()} after the end of the value`);
    return null;
  } catch (e) {
    if (e && typeof e === 'object' && 'offset' in e) return e as { offset: number; reason: string };
    throw e;
  }
}

/** Parses the variables of a start: an empty box is `{}`; anything else must be a JSON object. */
export function parseVariables(text: string): VariablesResult {
  if (text.trim() === '') return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const found = jsonError(text);
    if (!found) return { ok: false, message: `The variables are not valid JSON: ${(e as Error).message}` };
    const { line, column } = lineColumn(text, found.offset);
    return {
      ok: false,
      message: `The variables are not valid JSON: ${found.reason} at line ${line}, column ${column}.`,
      line,
      column,
      offset: found.offset,
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return { ok: false, message: `The variables must be a JSON object such as {"amount": 100}, not ${what}.` };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

const LAST_START_KEY = 'baton.designer.lastStart';

/** The variables of the last start of each process key, kept in localStorage. */
export function lastStartVariables(processKey: string, storage: Storage = localStorage): string | null {
  try {
    const all = JSON.parse(storage.getItem(LAST_START_KEY) ?? '{}') as Record<string, string>;
    return typeof all[processKey] === 'string' ? all[processKey]! : null;
  } catch {
    return null;
  }
}

export function rememberStartVariables(processKey: string, text: string, storage: Storage = localStorage): void {
  let all: Record<string, string> = {};
  try {
    all = JSON.parse(storage.getItem(LAST_START_KEY) ?? '{}') as Record<string, string>;
  } catch {
    all = {};
  }
  all[processKey] = text;
  try {
    storage.setItem(LAST_START_KEY, JSON.stringify(all));
  } catch {
    /* a full storage only loses the prefill */
  }
}
