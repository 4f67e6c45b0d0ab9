import { describe, expect, it } from 'vitest';
import { lastStartVariables, rememberStartVariables } from './variables';

describe('start variables', () => {
  it('remembers the last variables per process key', () => {
    localStorage.clear();
    expect(lastStartVariables('P')).toBeNull();
    rememberStartVariables('P', '{"a": 1}');
    rememberStartVariables('Q', '{"b": 2}');
    expect(lastStartVariables('P')).toBe('{"a": 1}');
    expect(lastStartVariables('Q')).toBe('{"b": 2}');
  });
});
