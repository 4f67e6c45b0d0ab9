/**
 * JSON typed by a user (start variables, a callback result, task data, retry variables):
 * parsed, or refused with the place of the mistake in words.
 *
 * The value comes from JSON.parse; when that fails, a small scanner of our own finds where and
 * why, because engines word (and place) their errors differently: WebKit, which the desktop app
 * runs in, often gives no position at all.
 */

export type JsonResult<T = unknown> =
  | { ok: true; value: T }
  | {
      ok: false;
      /** One sentence, ready to show: "The variables are not valid JSON: … at line 2, column 5." */
      message: string;
      /** 1-based line and column (in characters as the user sees them) of the mistake. */
      line: number;
      column: number;
      /** The mistake's offset in the text (UTF-16 units, as `setSelectionRange` wants). */
      offset: number;
    };

export interface JsonOptions {
  /** The value of an empty (or all-blank) text; without it, an empty text is refused. */
  empty?: unknown;
  /** What the text is, for the message: "The variables" (default "The text"). */
  what?: string;
  /** The value must be a JSON object (variables, form data), not an array, string, number… */
  object?: boolean;
}

/** Where JSON text first goes wrong: the offset, the mistake, and a hint at the fix. */
export interface JsonMistake {
  offset: number;
  reason: string;
  hint?: string;
}

/** Line and column (both 1-based) of an offset; a character outside the BMP counts once. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let column = 1;
  const end = Math.max(0, Math.min(offset, text.length));
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code === 10) {
      line++;
      column = 1;
    } else if (code === 13 && text.charCodeAt(i + 1) === 10) {
      // the \n of a \r\n ends the line
    } else if (code >= 0xdc00 && code <= 0xdfff && i > 0 && isHighSurrogate(text.charCodeAt(i - 1))) {
      // the second half of a surrogate pair: same character
    } else column++;
  }
  return { line, column };
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/** A character for a message: "x" when it can be seen, U+00A0 when it cannot. */
function showChar(text: string, i: number): string {
  const cp = text.codePointAt(i)!;
  const ch = String.fromCodePoint(cp);
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || /[\p{Z}\p{Cf}\p{Co}\p{Cn}\p{Cs}]/u.test(ch)) {
    return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return JSON.stringify(ch);
}

const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
/** Unquoted text: it starts like a word and runs to the next delimiter. */
const WORD_START = /[\p{L}_$]/uy;
const TOKEN = /[^\s,:{}[\]"']+/uy;

/**
 * Scans JSON text and returns its first mistake, or null when it is valid JSON. It keeps its
 * own stack (no recursion), so deeply nested text cannot overflow.
 */
export function findJsonMistake(text: string): JsonMistake | null {
  let i = 0;
  /** The open brackets and braces, with where each opened. */
  const open: { ch: '{' | '['; at: number }[] = [];

  class Mistake {
    constructor(readonly m: JsonMistake) {}
  }
  const fail = (reason: string, hint?: string, at = i): never => {
    throw new Mistake({ offset: at, reason, hint });
  };
  const where = (at: number) => {
    const { line, column } = lineColumn(text, at);
    return `line ${line}, column ${column}`;
  };
  const ws = () => {
    for (;;) {
      const c = text[i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
      else return;
    }
  };
  const wordAt = (at: number): string | null => {
    WORD_START.lastIndex = at;
    if (!WORD_START.test(text)) return null;
    TOKEN.lastIndex = at;
    const token = TOKEN.exec(text)![0];
    return token.length > 24 ? `${token.slice(0, 20)}…` : token;
  };
  /** Stops at whatever is at `i` where `expected` should be. */
  const unexpected = (expected: string): never => {
    if (i >= text.length) {
      const inner = open[open.length - 1];
      const hint = inner ? `the '${inner.ch}' at ${where(inner.at)} is not closed` : undefined;
      return fail(`the text ends, expected ${expected}`, hint);
    }
    if (text.startsWith('//', i) || text.startsWith('/*', i)) return fail('a comment', 'JSON has no comments');
    return fail(`unexpected ${showChar(text, i)}, expected ${expected}`);
  };
  const string = () => {
    const start = i;
    i++; // the opening quote
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        const n = text[i + 1];
        if (n === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('an incomplete \\u escape', 'it needs four hex digits, such as \\u00e9');
          i += 6;
        } else if (n !== undefined && '"\\/bfnrt'.includes(n)) i += 2;
        else if (n === undefined) i++;
        else fail(`an invalid escape \\${n === '\n' ? 'followed by a line break' : n}`, 'JSON knows \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX');
      } else if (c === '\n' || c === '\r') fail('a line break inside a string', 'close the quote first, or write \\n');
      else if (c < ' ') fail(`a control character (${showChar(text, i)}) inside a string`, 'write it as an escape such as \\t');
      else i++;
    }
    fail('an unclosed string', 'the closing " is missing', start);
  };
  /** A property name and its colon. */
  const key = () => {
    const c = text[i];
    if (c === '"') string();
    else if (c === "'") fail('a single quote', 'JSON needs double quotes');
    else {
      const word = wordAt(i);
      if (word) fail(`an unquoted property name "${word}"`, 'property names need double quotes');
      unexpected('a property name in double quotes');
    }
    ws();
    if (text[i] !== ':') unexpected("':' after the property name");
    i++;
  };
  /** A value; `true` when it opened an object or array whose entries follow. */
  const valueStart = (): boolean => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      open.push({ ch: c, at: i });
      i++;
      ws();
      if (text[i] === (c === '{' ? '}' : ']')) {
        i++;
        open.pop();
        return false;
      }
      if (c === '{') key();
      return true;
    }
    if (c === '"') string();
    else if (c === "'") fail('a single quote', 'JSON needs double quotes');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) return fail('a "-" without a number after it');
      const after = text[i + m[0].length];
      if (m[1] === '0' && m[2] === undefined && m[3] === undefined && after !== undefined && after >= '0' && after <= '9') {
        fail('a number with a leading zero', 'only 0 itself starts with 0');
      }
      i += m[0].length;
    } else {
      const word = wordAt(i);
      if (!word) return unexpected('a value');
      const lower = word.toLowerCase();
      const near = ['true', 'false', 'null'].find((w) => w === lower || (lower.length >= 2 && (w.startsWith(lower) || lower.startsWith(w))));
      if (word === near) i += word.length;
      else if (near === lower) fail(`"${word}"`, `JSON writes ${near} in lower case`);
      else if (near) fail(`the word "${word}"`, `did you mean ${near}?`);
      else fail(`unquoted text "${word}"`, 'strings need double quotes');
    }
    return false;
  };

  try {
    for (;;) {
      if (valueStart()) continue; // entries of a new object or array
      // after a value: a comma, the end of its container, or the end of the text
      for (;;) {
        ws();
        const inner = open[open.length - 1];
        if (!inner) {
          if (i < text.length) {
            if (text.startsWith('//', i) || text.startsWith('/*', i)) fail('a comment', 'JSON has no comments');
            fail(`${showChar(text, i)} after the end of the JSON value`, 'only one value is allowed: wrap several in [ ]');
          }
          return null;
        }
        const close = inner.ch === '{' ? '}' : ']';
        if (text[i] === ',') {
          const comma = i;
          i++;
          ws();
          if (text[i] === close) fail('a trailing comma', `remove it, or add another entry before the '${close}'`, comma);
          if (inner.ch === '{') key();
          break; // the next value
        }
        if (text[i] === close) {
          i++;
          open.pop();
          continue;
        }
        unexpected(`',' or '${close}'`);
      }
    }
  } catch (e) {
    if (e instanceof Mistake) return e.m;
    throw e;
  }
}

/** "The variables" are, "The result" is: a last word ending in one s (not ss, is, us) is plural. */
function verbFor(what: string): string {
  const last = what.trim().split(/\s+/).pop()!.toLowerCase();
  return /[^siu]s$/.test(last) ? 'are' : 'is';
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * Parses JSON typed by a user. A failure is one sentence that names the line and column of the
 * mistake, e.g. "The variables are not valid JSON: unexpected "}", expected a value at line 2,
 * column 5.", with the offset to select.
 */
export function parseJson(text: string, options: JsonOptions & { object: true }): JsonResult<Record<string, unknown>>;
export function parseJson(text: string, options?: JsonOptions): JsonResult;
export function parseJson(text: string, options: JsonOptions = {}): JsonResult {
  const what = options.what ?? 'The text';
  const verb = verbFor(what);
  if (text.trim() === '') {
    if (options.empty !== undefined) return { ok: true, value: options.empty };
    return { ok: false, message: `${what} ${verb} empty: enter JSON (for nothing, type {}).`, line: 1, column: 1, offset: 0 };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const found = findJsonMistake(text) ?? {
      // the scanner found nothing the engine refused: say what the engine said, at the end
      offset: text.length,
      reason: (e as Error).message.replace(/\.$/, ''),
    };
    const { line, column } = lineColumn(text, found.offset);
    const hint = found.hint ? ` (${found.hint})` : '';
    return {
      ok: false,
      message: `${what} ${verb} not valid JSON: ${found.reason} at line ${line}, column ${column}${hint}.`,
      line,
      column,
      offset: found.offset,
    };
  }
  if (options.object && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    const offset = text.length - text.trimStart().length;
    const { line, column } = lineColumn(text, offset);
    return {
      ok: false,
      message: `${what} must be a JSON object such as {"name": "value"}, not ${kindOf(value)}.`,
      line,
      column,
      offset,
    };
  }
  return { ok: true, value };
}
