/**
 * The JMESPath library (npm `jmespath`, the reference implementation of the same specification
 * the runtime's Rust crate follows). Its types declare `search` only; `compile` is there too.
 */
import * as jmespath from 'jmespath';

const lib = jmespath as unknown as { compile(expr: string): unknown; search(data: unknown, expr: string): unknown };

/** Parses an expression; throws the library's error (with its words) when it does not compile. */
export function compile(expr: string): unknown {
  return lib.compile(expr);
}

/** Evaluates an expression on `data`. */
export function search(data: unknown, expr: string): unknown {
  return lib.search(data, expr);
}
