import { describe, expect, it } from 'vitest';
import { fromEngineProblems, fromLintIssues, lintConfig, mergeProblems, problemSource } from './lint';
import { elementIdsIn } from './deploy';

describe('problems', () => {
  it('bundles the recommended bpmnlint rules behind a static resolver', () => {
    const { config, resolver } = lintConfig();
    expect(config.rules['label-required']).toBe('error');
    expect(config.rules['no-inclusive-gateway']).toBe('off');
    const r = resolver as { resolveRule(pkg: string, name: string): unknown; resolveConfig(pkg: string, name: string): unknown };
    for (const name of Object.keys(config.rules)) expect(typeof r.resolveRule('bpmnlint', name)).toBe('function');
    expect(() => r.resolveRule('bpmnlint', 'no-such-rule')).toThrow(/unknown lint rule/);
    expect(() => r.resolveConfig('bpmnlint', 'all')).toThrow(/no lint configuration/);
  });

  it('merges bpmnlint and engine problems: errors first, Baton before bpmnlint, no duplicates', () => {
    const lint = fromLintIssues({
      Task_1: [{ id: 'Task_1', message: 'Element is missing label/name', category: 'error', rule: 'label-required' }],
      Gateway_1: [{ id: 'Gateway_1', message: 'Gateway is superfluous', category: 'warn', rule: 'superfluous-gateway' }],
      Process_1: [{ id: 'Process_1', message: 'Process has no end', category: 'error', rule: 'end-event-required', actualElementId: 'Sub_1' }],
    });
    const engine = fromEngineProblems([
      { severity: 'warning', elementId: 'Task_2', line: 4, column: 3, message: 'a warning' },
      { severity: 'error', elementId: 'Task_1', line: 9, column: 5, message: 'script does not compile' },
      { severity: 'error', elementId: null, line: 1, column: 1, message: 'no executable process' },
      'junk',
      { nothing: true },
    ]);
    expect(engine).toHaveLength(3);
    const merged = mergeProblems(engine, lint, lint);
    expect(merged.map((p) => `${p.severity}:${p.source}:${p.elementId}`)).toEqual([
      'error:baton:Task_1',
      'error:baton:null',
      'error:bpmnlint:Task_1',
      'error:bpmnlint:Sub_1',
      'warning:baton:Task_2',
      'warning:bpmnlint:Gateway_1',
    ]);
    expect(problemSource(merged[0]!)).toBe('Baton');
    expect(problemSource(merged[2]!)).toBe('bpmnlint (label-required)');
    expect(merged[0]).toMatchObject({ line: 9, column: 5 });
  });

  it('finds the element an engine sentence names', () => {
    expect(elementIdsIn("line 3, column 5: timer has no definition (element Timer_1)")).toEqual(['Timer_1']);
    expect(elementIdsIn('no element here')).toEqual([]);
  });
});
