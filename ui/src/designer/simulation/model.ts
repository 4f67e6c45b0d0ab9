/**
 * The pure part of the designer's simulation panel: the shapes the runtime answers (the
 * simulation session contract), what a waiting element offers, steps in words, the order the
 * token is played in, scenario files and their names, the scenarios kept per diagram, and the
 * coverage of several scenario runs. No DOM and no transport here (unit-tested with Vitest).
 */

/** A scenario step exactly as API.md's scenario file writes it. */
export type ScenarioStep =
  | { complete: string; data: Record<string, unknown>; user?: string }
  | { callback: string; data: Record<string, unknown> }
  | { message: string; correlationKey?: string; data: Record<string, unknown> }
  | { signal: string; data: Record<string, unknown> }
  | { advance: string }
  | { cancel: true };

export interface Visit {
  kind: 'element' | 'flow';
  id: string;
}

export interface Waiting {
  elementId: string;
  taskType: string;
  name?: string | null;
  formKey?: string | null;
  correlationKey?: string | null;
  messageName?: string | null;
  signalName?: string | null;
  timerDue?: string | null;
  /** The activity's input parameters, while it waits. */
  localVariables?: Record<string, unknown>;
}

export interface SimStep {
  index: number;
  step: ScenarioStep;
  visited: Visit[];
  changed: Record<string, unknown>;
  removed: string[];
}

export interface Scenario {
  process?: string;
  name?: string;
  variables?: Record<string, unknown>;
  clock?: string;
  users?: Record<string, string[] | { teams?: string[]; role?: string }>;
  /** The user who starts the instance (scripts read them as `InitiatedBy`). */
  startedBy?: string;
  steps: ScenarioStep[];
  expect?: Record<string, unknown>;
  [other: string]: unknown;
}

export interface SimView {
  sessionId: string;
  instanceGuid?: string;
  status: 'RUNNING' | 'WAITING' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | string;
  clock: string;
  nextTimer: string | null;
  variables: Record<string, unknown>;
  waiting: Waiting[];
  incidents: { elementId: string; message: string }[];
  steps: SimStep[];
  start: { visited: Visit[]; variables: Record<string, unknown> };
  scenario: Scenario;
  taken: { elements: string[]; flows: string[] };
}

export interface ScenarioResult {
  passed: boolean;
  failures: string[];
  report?: unknown;
  coverage: { elements: string[]; flows: string[] };
}

/** The kind of action a waiting element offers in the panel. */
export type ActionKind = 'complete' | 'callback' | 'message' | 'signal' | 'timer';

/** What a waiting element offers: a user task is completed, a callback returned, and so on. */
export function actionFor(w: Waiting): ActionKind {
  const type = (w.taskType || '').toLowerCase();
  if (w.timerDue || type.includes('timer')) return 'timer';
  if (w.signalName || type.includes('signal')) return 'signal';
  // A form (a user task, or a receive task in form mode) is filled in and submitted.
  if (w.formKey || type === 'usertask') return 'complete';
  // A receive task waits for its callback (its correlation key), as scenario files return it.
  if (type === 'receivetask') return w.correlationKey ? 'callback' : 'complete';
  if (w.messageName || type.includes('message')) return 'message';
  if (w.correlationKey) return 'callback';
  return 'complete';
}

/** What a waiting element waits for, in words (`nextTimer`: the session's next due time, for a
 * timer whose own is not known). */
export function waitDetail(w: Waiting, kind: ActionKind, nextTimer?: string | null): string {
  switch (kind) {
    case 'callback':
      return `callback key ${w.correlationKey}`;
    case 'message':
      return `message ${w.messageName ?? ''}${w.correlationKey ? `, key ${w.correlationKey}` : ''}`;
    case 'signal':
      return `signal ${w.signalName ?? ''}`;
    case 'timer':
      return w.taskType === 'retry'
        ? `its last run failed; next attempt due ${w.timerDue ?? nextTimer ?? ''}`
        : `timer due ${w.timerDue ?? nextTimer ?? ''}`;
    case 'complete':
      return w.formKey ? `form ${w.formKey}` : w.taskType;
  }
}

/** The words on the action's button. */
export function actionLabel(kind: ActionKind): string {
  switch (kind) {
    case 'complete':
      return 'Complete task';
    case 'callback':
      return 'Return callback';
    case 'message':
      return 'Send message';
    case 'signal':
      return 'Broadcast signal';
    case 'timer':
      return 'Advance to the timer';
  }
}

/**
 * The scenario step the action sends, from the waiting element and the data typed for it; a
 * task's completion is taken by `user` when one is named (a session with users holds it to the
 * task's responsible user/team).
 */
export function stepFor(w: Waiting, data: Record<string, unknown>, user?: string): ScenarioStep {
  switch (actionFor(w)) {
    case 'timer':
      return { advance: 'nextTimer' };
    case 'signal':
      return { signal: w.signalName ?? w.elementId, data };
    case 'message': {
      const step: ScenarioStep = { message: w.messageName ?? w.elementId, data };
      if (w.correlationKey) step.correlationKey = w.correlationKey;
      return step;
    }
    case 'callback':
      return { callback: w.correlationKey!, data };
    case 'complete':
      return user ? { complete: w.elementId, data, user } : { complete: w.elementId, data };
  }
}

function shortJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** A step in words, for the step list: "Completed Manager Review with {"decision":"approve"}". */
export function describeStep(step: ScenarioStep, names: (id: string) => string | null = () => null): string {
  const named = (id: string) => names(id) ?? id;
  const withData = (data: Record<string, unknown> | undefined) =>
    data && Object.keys(data).length ? ` with ${shortJson(data)}` : '';
  if ('complete' in step) return `Completed ${named(step.complete)}${step.user ? ` as ${step.user}` : ''}${withData(step.data)}`;
  if ('callback' in step) return `Returned callback ${step.callback}${withData(step.data)}`;
  if ('message' in step) {
    const key = step.correlationKey ? ` (key ${step.correlationKey})` : '';
    return `Sent message ${step.message}${key}${withData(step.data)}`;
  }
  if ('signal' in step) return `Broadcast signal ${step.signal}${withData(step.data)}`;
  if ('advance' in step) return step.advance === 'nextTimer' ? 'Advanced the clock to the next timer' : `Advanced the clock by ${step.advance}`;
  return 'Cancelled the instance';
}

/** Everything the run visited, in order: the start's visits then each step's. */
export function allVisits(view: SimView): Visit[] {
  return [...(view.start?.visited ?? []), ...view.steps.flatMap((s) => s.visited)];
}

/** The visits of the last thing done (the last step, or the start when there is none). */
export function lastVisits(view: SimView): Visit[] {
  const last = view.steps[view.steps.length - 1];
  return last ? last.visited : (view.start?.visited ?? []);
}

/**
 * The token's playback: what is already drawn, and the queue `Step` plays one at a time.
 * After a start or a step the last visits are queued; after going back, everything is drawn.
 */
export function playback(view: SimView, animateLast: boolean): { drawn: Visit[]; queue: Visit[] } {
  const all = allVisits(view);
  if (!animateLast) return { drawn: all, queue: [] };
  const queue = lastVisits(view);
  return { drawn: all.slice(0, all.length - queue.length), queue: [...queue] };
}

/** The variables changed by the last step (or set by the start), by name. */
export function changedNames(view: SimView): Set<string> {
  const last = view.steps[view.steps.length - 1];
  if (last) return new Set([...Object.keys(last.changed ?? {}), ...(last.removed ?? [])]);
  return new Set(Object.keys(view.start?.variables ?? {}));
}

/** A status in words. */
export function statusText(view: SimView): string {
  const at = view.clock ? ` — clock ${view.clock.replace('T', ' ').replace(/(:\d\d)(\.\d+)?Z$/, '$1 UTC')}` : '';
  switch (view.status) {
    case 'COMPLETED':
      return `Completed${at}`;
    case 'FAILED':
      return `Failed${at}`;
    case 'CANCELLED':
      return `Cancelled${at}`;
    case 'WAITING':
      return `Waiting at ${view.waiting.length} element${view.waiting.length === 1 ? '' : 's'}${at}`;
    default:
      return `Running${at}`;
  }
}

/** "Loan approval.bpmn" -> "Loan-approval": the stem a scenario file sits beside. */
export function diagramStem(tabName: string): string {
  return tabName.replace(/\.(bpmn|xml)$/i, '').replace(/[^\w.-]+/g, '-') || 'diagram';
}

/** A scenario name as a file-name part: lower case, words joined by '-'. */
export function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'simulated'
  );
}

/** NAME.scenario.json beside DIAGRAM.bpmn: `baton test` finds the model by the stem. */
export function scenarioFileName(tabName: string, scenarioName: string): string {
  return `${diagramStem(tabName)}.${slug(scenarioName)}.scenario.json`;
}

/**
 * StartSimulationCommand's data: the diagram and how a scenario starts (its variables, clock,
 * process, the user who starts it and the users it lists). A blank `startedBy` is left out: the
 * owner starts the instance, as `baton test` does for a scenario that names nobody.
 */
export function startRequest(bpmnXml: string, start: Pick<Scenario, 'variables' | 'clock' | 'process' | 'startedBy' | 'users'>): Record<string, unknown> {
  const data: Record<string, unknown> = { bpmnXml, variables: start.variables ?? {} };
  if (start.clock) data.clock = start.clock;
  if (start.process) data.processKey = start.process;
  const by = start.startedBy?.trim();
  if (by) data.startedBy = by;
  if (start.users) data.users = start.users;
  return data;
}

/**
 * The scenario file to save: the session's recorded scenario with a name and an `expect` of
 * what this run showed (its final state and the elements it visited), so replaying it checks them.
 */
export function scenarioToSave(view: SimView, name: string): Scenario {
  const base = view.scenario ?? { steps: [] };
  const expectation: Record<string, unknown> = { state: view.status };
  if (view.taken?.elements?.length) expectation.visits = [...view.taken.elements];
  return { name: name.trim() || 'Simulated', ...base, steps: [...(base.steps ?? [])], expect: { ...(base.expect ?? {}), ...expectation } };
}

// --- scenarios kept per diagram --------------------------------------------------------------

export interface KeptScenario {
  name: string;
  scenario: Scenario;
}

const KEY_PREFIX = 'baton.simulation.scenarios.';

/** Scenarios are kept per diagram, under the process key (a diagram keeps it across renames). */
export function storageKey(diagramKey: string): string {
  return KEY_PREFIX + diagramKey;
}

export function loadScenarios(storage: Pick<Storage, 'getItem'>, diagramKey: string): KeptScenario[] {
  try {
    const raw = storage.getItem(storageKey(diagramKey));
    const list = raw ? (JSON.parse(raw) as unknown) : [];
    if (!Array.isArray(list)) return [];
    return list.filter(
      (k): k is KeptScenario =>
        !!k && typeof k === 'object' && typeof (k as KeptScenario).name === 'string' && Array.isArray((k as KeptScenario).scenario?.steps),
    );
  } catch {
    return [];
  }
}

/** Keeps a scenario (one of the same name is replaced); answers the new list. */
export function keepScenario(storage: Pick<Storage, 'getItem' | 'setItem'>, diagramKey: string, kept: KeptScenario): KeptScenario[] {
  const list = loadScenarios(storage, diagramKey).filter((k) => k.name !== kept.name);
  list.push(kept);
  storage.setItem(storageKey(diagramKey), JSON.stringify(list));
  return list;
}

export function forgetScenario(storage: Pick<Storage, 'getItem' | 'setItem'>, diagramKey: string, name: string): KeptScenario[] {
  const list = loadScenarios(storage, diagramKey).filter((k) => k.name !== name);
  storage.setItem(storageKey(diagramKey), JSON.stringify(list));
  return list;
}

// --- scenario files beside the diagram (desktop) ----------------------------------------------

/** A scenario file read from the diagram's folder: its text, or why it could not be read. */
export interface ScenarioFileText {
  name: string;
  text?: string;
  error?: string;
}

/** What Check scenarios runs, and the files it could not read (each with why). */
export interface CheckList {
  runs: KeptScenario[];
  unreadable: { name: string; error: string }[];
}

/**
 * The scenarios to check: the files beside the diagram (by file name), the template's files,
 * then the scenarios kept in this browser that no file already holds (a scenario saved beside
 * the diagram is kept too, and is checked once, under its file name).
 */
export function checkList(files: ScenarioFileText[], template: KeptScenario[], kept: KeptScenario[]): CheckList {
  const runs: KeptScenario[] = [];
  const unreadable: { name: string; error: string }[] = [];
  for (const f of files) {
    if (f.text === undefined) {
      unreadable.push({ name: f.name, error: `${f.name} was not read: ${f.error ?? 'no text'}` });
      continue;
    }
    try {
      const scenario = JSON.parse(f.text) as Partial<Scenario> | null;
      if (!scenario || typeof scenario !== 'object' || Array.isArray(scenario)) {
        unreadable.push({ name: f.name, error: `${f.name} is not a scenario: it is not a JSON object.` });
      } else if (scenario.steps !== undefined && !Array.isArray(scenario.steps)) {
        unreadable.push({ name: f.name, error: `${f.name} is not a scenario: its "steps" is not a list.` });
      } else runs.push({ name: f.name, scenario: { ...scenario, steps: scenario.steps ?? [] } as Scenario });
    } catch (e) {
      unreadable.push({ name: f.name, error: `${f.name} is not valid JSON: ${(e as Error).message}` });
    }
  }
  const held = new Set(runs.map((r) => JSON.stringify(r.scenario)));
  runs.push(...template, ...kept.filter((k) => !held.has(JSON.stringify(k.scenario))));
  return { runs, unreadable };
}

// --- coverage --------------------------------------------------------------------------------

export interface Coverage {
  elements: Set<string>;
  flows: Set<string>;
}

/** The union of several runs' coverage. */
export function unionCoverage(results: { coverage?: { elements?: string[]; flows?: string[] } }[]): Coverage {
  const elements = new Set<string>();
  const flows = new Set<string>();
  for (const r of results) {
    for (const id of r.coverage?.elements ?? []) elements.add(id);
    for (const id of r.coverage?.flows ?? []) flows.add(id);
  }
  return { elements, flows };
}

/** The ids of a diagram never taken by any run (`all` as the diagram lists them). */
export function neverTaken(all: { elements: string[]; flows: string[] }, covered: Coverage): { elements: string[]; flows: string[] } {
  return {
    elements: all.elements.filter((id) => !covered.elements.has(id)),
    flows: all.flows.filter((id) => !covered.flows.has(id)),
  };
}

/** A coverage summary in words: "4 of 5 elements and 3 of 4 flows taken; never taken: Loan declined (End_Declined), …". */
export function coverageText(
  all: { elements: string[]; flows: string[] },
  covered: Coverage,
  names: (id: string) => string | null = () => null,
): string {
  const never = neverTaken(all, covered);
  const took = (n: number, of: number, what: string) => `${n} of ${of} ${what}${of === 1 ? '' : 's'}`;
  const head = `${took(all.elements.length - never.elements.length, all.elements.length, 'element')} and ${took(
    all.flows.length - never.flows.length,
    all.flows.length,
    'flow',
  )} taken`;
  const missing = [...never.elements, ...never.flows].map((id) => {
    const name = names(id);
    return name ? `${name} (${id})` : id;
  });
  return missing.length ? `${head}; never taken: ${missing.join(', ')}.` : `${head}: everything is covered.`;
}

/** A failed command's words, with the field each error names. */
export function refusalText(answer: { message: string; errors: { field: string; message: string }[] }): string {
  const detail = answer.errors
    .map((e) => e.message)
    .filter((m) => m && m !== answer.message)
    .join('; ');
  return detail ? `${answer.message}: ${detail}` : answer.message || 'The runtime refused it.';
}
