/**
 * Problems while drawing: bpmnlint's recommended rules (bundled statically: Vite has no
 * bpmnlint loader, so the rule modules are imported here and handed to bpmn-js-bpmnlint through
 * a resolver) and the engine's own validation (ValidateProcessDefinitionQuery, the same
 * problems `baton lint` reports), merged into one list.
 */
import adHocSubProcess from 'bpmnlint/rules/ad-hoc-sub-process';
import conditionalFlows from 'bpmnlint/rules/conditional-flows';
import endEventRequired from 'bpmnlint/rules/end-event-required';
import eventBasedGateway from 'bpmnlint/rules/event-based-gateway';
import eventSubProcessTypedStartEvent from 'bpmnlint/rules/event-sub-process-typed-start-event';
import fakeJoin from 'bpmnlint/rules/fake-join';
import global from 'bpmnlint/rules/global';
import labelRequired from 'bpmnlint/rules/label-required';
import linkEvent from 'bpmnlint/rules/link-event';
import noBpmndi from 'bpmnlint/rules/no-bpmndi';
import noComplexGateway from 'bpmnlint/rules/no-complex-gateway';
import noDisconnected from 'bpmnlint/rules/no-disconnected';
import noDuplicateSequenceFlows from 'bpmnlint/rules/no-duplicate-sequence-flows';
import noGatewayJoinFork from 'bpmnlint/rules/no-gateway-join-fork';
import noImplicitSplit from 'bpmnlint/rules/no-implicit-split';
import noImplicitEnd from 'bpmnlint/rules/no-implicit-end';
import noImplicitStart from 'bpmnlint/rules/no-implicit-start';
import noInclusiveGateway from 'bpmnlint/rules/no-inclusive-gateway';
import noOverlappingElements from 'bpmnlint/rules/no-overlapping-elements';
import singleBlankStartEvent from 'bpmnlint/rules/single-blank-start-event';
import singleEventDefinition from 'bpmnlint/rules/single-event-definition';
import startEventRequired from 'bpmnlint/rules/start-event-required';
import subProcessBlankStartEvent from 'bpmnlint/rules/sub-process-blank-start-event';
import superfluousGateway from 'bpmnlint/rules/superfluous-gateway';
import superfluousLabel from 'bpmnlint/rules/superfluous-label';
import superfluousTermination from 'bpmnlint/rules/superfluous-termination';

type Level = 'error' | 'warn' | 'off';

/** bpmnlint's `recommended` configuration, rule by rule (bpmnlint/config/recommended.js). */
const RULES: Record<string, [unknown, Level]> = {
  'ad-hoc-sub-process': [adHocSubProcess, 'error'],
  'conditional-flows': [conditionalFlows, 'error'],
  'end-event-required': [endEventRequired, 'error'],
  'event-based-gateway': [eventBasedGateway, 'error'],
  'event-sub-process-typed-start-event': [eventSubProcessTypedStartEvent, 'error'],
  'fake-join': [fakeJoin, 'warn'],
  global: [global, 'warn'],
  'label-required': [labelRequired, 'error'],
  'link-event': [linkEvent, 'error'],
  'no-bpmndi': [noBpmndi, 'error'],
  'no-complex-gateway': [noComplexGateway, 'error'],
  'no-disconnected': [noDisconnected, 'error'],
  'no-duplicate-sequence-flows': [noDuplicateSequenceFlows, 'error'],
  'no-gateway-join-fork': [noGatewayJoinFork, 'error'],
  'no-implicit-split': [noImplicitSplit, 'error'],
  'no-implicit-end': [noImplicitEnd, 'error'],
  'no-implicit-start': [noImplicitStart, 'error'],
  'no-inclusive-gateway': [noInclusiveGateway, 'warn'],
  'no-overlapping-elements': [noOverlappingElements, 'warn'],
  'single-blank-start-event': [singleBlankStartEvent, 'error'],
  'single-event-definition': [singleEventDefinition, 'error'],
  'start-event-required': [startEventRequired, 'error'],
  'sub-process-blank-start-event': [subProcessBlankStartEvent, 'error'],
  'superfluous-gateway': [superfluousGateway, 'warn'],
  'superfluous-label': [superfluousLabel, 'warn'],
  'superfluous-termination': [superfluousTermination, 'warn'],
};

/** Rules Baton relaxes: the engine runs these models fine (it reports what it cannot run). */
const RELAXED: Record<string, Level> = {
  // Baton runs inclusive gateways.
  'no-inclusive-gateway': 'off',
};

/** `{config, resolver}` for bpmn-js-bpmnlint's `linting.bpmnlint`. */
export function lintConfig(): { config: { rules: Record<string, Level> }; resolver: unknown } {
  const rules: Record<string, Level> = {};
  for (const [name, [, level]] of Object.entries(RULES)) rules[name] = RELAXED[name] ?? level;
  const resolver = {
    resolveRule(pkg: string, ruleName: string) {
      const name = ruleName.replace(/^bpmnlint\//, '');
      const entry = RULES[name];
      if ((pkg !== 'bpmnlint' && pkg !== undefined) || !entry) {
        throw new Error(`unknown lint rule ${pkg}/${ruleName}`);
      }
      return entry[0];
    },
    resolveConfig(pkg: string, configName: string) {
      throw new Error(`no lint configuration ${pkg}/${configName} is bundled`);
    },
  };
  return { config: { rules }, resolver };
}

// --- one list of problems -------------------------------------------------------------------

export type Severity = 'error' | 'warning' | 'info';

export interface Problem {
  /** `bpmnlint` (with `rule`) or `baton` (the engine's validation, or a refused deploy). */
  source: 'bpmnlint' | 'baton';
  rule?: string;
  severity: Severity;
  elementId: string | null;
  message: string;
  line?: number;
  column?: number;
}

/** What bpmn-js-bpmnlint's `linting.completed` carries: reports per element id. */
export type LintIssues = Record<
  string,
  { id: string; message: string; category: string; rule: string; actualElementId?: string }[]
>;

export function fromLintIssues(issues: LintIssues): Problem[] {
  const out: Problem[] = [];
  for (const reports of Object.values(issues)) {
    for (const r of reports) {
      out.push({
        source: 'bpmnlint',
        rule: r.rule,
        severity: r.category === 'error' ? 'error' : r.category === 'warn' ? 'warning' : 'info',
        elementId: r.actualElementId ?? r.id ?? null,
        message: r.message,
      });
    }
  }
  return out;
}

/** The engine's problems (`{severity, elementId, line, column, message}`), tolerant of shape. */
export function fromEngineProblems(problems: unknown): Problem[] {
  if (!Array.isArray(problems)) return [];
  const out: Problem[] = [];
  for (const p of problems) {
    if (!p || typeof p !== 'object') continue;
    const o = p as Record<string, unknown>;
    if (typeof o.message !== 'string') continue;
    const sev = String(o.severity ?? 'error').toLowerCase();
    out.push({
      source: 'baton',
      severity: sev.startsWith('warn') ? 'warning' : sev === 'info' ? 'info' : 'error',
      elementId: typeof o.elementId === 'string' ? o.elementId : null,
      message: o.message,
      line: typeof o.line === 'number' ? o.line : undefined,
      column: typeof o.column === 'number' ? o.column : undefined,
    });
  }
  return out;
}

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** One list: errors first, the engine's before bpmnlint's, duplicates dropped. */
export function mergeProblems(...lists: Problem[][]): Problem[] {
  const seen = new Set<string>();
  const all: Problem[] = [];
  for (const list of lists) {
    for (const p of list) {
      const key = `${p.source}|${p.rule ?? ''}|${p.elementId ?? ''}|${p.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      all.push(p);
    }
  }
  return all
    .map((p, i) => ({ p, i }))
    .sort(
      (a, b) =>
        RANK[a.p.severity] - RANK[b.p.severity] ||
        (a.p.source === b.p.source ? 0 : a.p.source === 'baton' ? -1 : 1) ||
        a.i - b.i,
    )
    .map(({ p }) => p);
}

/** "bpmnlint (label-required)" or "Baton": where a problem comes from, in words. */
export function problemSource(p: Problem): string {
  return p.source === 'bpmnlint' ? `bpmnlint (${p.rule ?? 'rule'})` : 'Baton';
}
