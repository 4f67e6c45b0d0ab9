/**
 * The simulation panel of one open diagram: start a session on the runtime (the engine in
 * simulate mode, virtual clock), act on each waiting element inline, play the token along what
 * the engine visited (Step / Run to wait), see the variables with the last changes highlighted,
 * go back to any step, save the recorded scenario and check the saved ones with their coverage.
 */
import { execute, inTauri, TransportError } from '../../transport';
import { announce } from '../../app/announce';
import { parseJson } from '../../app/json';
import { el } from '../dom';
import { download, saveText, scenarioFilesBeside } from '../files';
import { SimCanvas } from './canvas';
import { templateScenarioCount, templateScenarios } from './templates';
import { collectForm, simpleFields, type SimpleField } from './form';
import {
  actionFor,
  checkList,
  waitDetail,
  actionLabel,
  changedNames,
  coverageText,
  describeStep,
  keepScenario,
  lastVisits,
  loadScenarios,
  playback,
  refusalText,
  scenarioFileName,
  scenarioToSave,
  startRequest,
  statusText,
  stepFor,
  unionCoverage,
  type Scenario,
  type ScenarioFileText,
  type ScenarioResult,
  type ScenarioStep,
  type SimView,
  type Visit,
  type Waiting,
} from './model';

/* eslint-disable @typescript-eslint/no-explicit-any */

export interface PanelHost {
  modeler: any;
  /** The diagram's XML now (the tab's own, formatted as saved). */
  xml(): Promise<string>;
  tabName(): string;
  /** The process key scenarios are kept under. */
  diagramKey(): string;
  /** The path of the diagram's file in the desktop app, if it has one. */
  path(): string | null;
  forms(): Record<string, unknown>;
  close(): void;
}

type Answer<T> = { ok: true; data: T } | { ok: false; text: string };

async function ask<T>(cmd: string, data: object): Promise<Answer<T>> {
  try {
    const answer = await execute<T>(cmd, data);
    if (answer.ok) return { ok: true, data: answer.data };
    return { ok: false, text: refusalText(answer) };
  } catch (e) {
    return { ok: false, text: e instanceof TransportError ? e.message : `The runtime could not be asked: ${(e as Error).message}` };
  }
}

const VARS_KEY = 'baton.simulation.variables.';
const BY_KEY = 'baton.simulation.startedBy.';
/** The draft key of who completes a task while a replayed scenario's users are in force. */
const ACT_AS = '@actAs';
/** The error key of the clock's controls. */
const CLOCK = '#clock';

let panelCount = 0;

export class SimulationPanel {
  readonly root: HTMLElement;
  private readonly drawing: SimCanvas;
  private view: SimView | null = null;
  private queue: Visit[] = [];
  private playing = false;
  private busy = false;
  /** Data typed per waiting element (kept across renders and refusals). */
  private drafts = new Map<string, Record<string, string | boolean>>();
  private errors = new Map<string, string>();
  private startError = '';
  private startedXml: string | null = null;
  private stale = false;
  /** Check scenarios' results; `scenario` is null for a file that could not be read as one. */
  private results: { name: string; scenario: Scenario | null; result: ScenarioResult | null; error?: string }[] = [];
  private coverageSummary = '';
  private saveNote = '';
  private advanceBy = '';
  /** Whether Check scenarios includes the scenario files of the template the diagram came from. */
  private withTemplate = true;
  /** Counts answers shown, so a playback of an older one stops. */
  private generation = 0;
  private readonly uid = `sim${++panelCount}`;

  private readonly varsInput: HTMLTextAreaElement;
  /** Who starts the instance (`startedBy`); blank: the owner. */
  private readonly byInput: HTMLInputElement;
  /** The users of the scenario last replayed, kept for Restart (a session started here lists none). */
  private users: Scenario['users'] = undefined;
  private readonly nameInput: HTMLInputElement;
  private readonly body: HTMLElement;

  constructor(private readonly host: PanelHost) {
    this.drawing = new SimCanvas(host.modeler);
    const titleId = `${this.uid}-title`;
    this.varsInput = el('textarea', {
      id: `${this.uid}-vars`,
      rows: 3,
      spellcheck: false,
      className: 'code',
      'data-testid': 'sim-variables-input',
      'data-focus-key': 'sim-variables-input',
    }) as HTMLTextAreaElement;
    this.varsInput.value = localStorage.getItem(VARS_KEY + host.diagramKey()) ?? '{}';
    this.byInput = el('input', {
      id: `${this.uid}-by`,
      type: 'text',
      autocomplete: 'off',
      spellcheck: false,
      placeholder: 'the owner',
      'data-testid': 'sim-started-by',
      'data-focus-key': 'sim-started-by',
    }) as HTMLInputElement;
    this.byInput.value = localStorage.getItem(BY_KEY + host.diagramKey()) ?? '';
    this.nameInput = el('input', { id: `${this.uid}-name`, type: 'text', value: 'simulated', 'data-testid': 'sim-scenario-name', 'data-focus-key': 'sim-scenario-name' }) as HTMLInputElement;
    this.body = el('div', { className: 'sim-body' });
    this.root = el(
      'section',
      { className: 'sim-panel', 'aria-labelledby': titleId, 'data-testid': 'simulation-panel' },
      el(
        'header',
        { className: 'sim-header' },
        el('h2', { id: titleId }, 'Simulation'),
        el('button', { type: 'button', className: 'link-button', 'data-testid': 'sim-close', onclick: () => host.close() }, 'Close'),
      ),
      this.body,
    );
    host.modeler.get('eventBus').on('commandStack.changed', () => {
      if (this.view && !this.stale) {
        this.stale = true;
        this.render();
      }
    });
    this.render();
  }

  focus(): void {
    (this.root.querySelector<HTMLElement>('[data-testid="sim-start"]') ?? this.root.querySelector<HTMLElement>('button'))?.focus();
  }

  /** Ends the session on the runtime and takes the drawing off the diagram. */
  dispose(): void {
    if (this.view) void ask('EndSimulationCommand', { sessionId: this.view.sessionId });
    this.view = null;
    this.drawing.clear();
  }

  // --- actions ---------------------------------------------------------------------------------

  private async start(): Promise<void> {
    const parsed = parseJson(this.varsInput.value, { what: 'The start variables', object: true, empty: {} });
    if (!parsed.ok) {
      this.startError = parsed.message;
      this.render();
      this.varsInput.focus();
      this.varsInput.setSelectionRange(parsed.offset, parsed.offset);
      return;
    }
    localStorage.setItem(VARS_KEY + this.host.diagramKey(), this.varsInput.value);
    localStorage.setItem(BY_KEY + this.host.diagramKey(), this.byInput.value);
    const xml = await this.host.xml();
    await this.run(async () => {
      if (this.view) void ask('EndSimulationCommand', { sessionId: this.view.sessionId });
      const start = { variables: parsed.value, startedBy: this.byInput.value, users: this.users };
      const answer = await ask<SimView>('StartSimulationCommand', startRequest(xml, start));
      if (!answer.ok) {
        this.startError = `Not started: ${answer.text}`;
        return;
      }
      this.startError = '';
      this.startedXml = xml;
      this.stale = false;
      this.drafts.clear();
      this.errors.clear();
      this.drawing.clear();
      this.show(answer.data, true);
      announce(`Simulation started: ${statusText(answer.data)}. Step or Run to wait plays the token.`);
    });
  }

  private async act(w: Waiting, fields: SimpleField[] | null): Promise<void> {
    if (!this.view) return;
    const draft = this.drafts.get(w.elementId) ?? {};
    let data: Record<string, unknown> = {};
    const kind = actionFor(w);
    if (kind !== 'timer') {
      if (fields) {
        const got = collectForm(fields, draft);
        if (!got.ok) return this.refuse(w.elementId, got.message, `${w.elementId}-${got.key}`);
        data = got.data;
      } else {
        const parsed = parseJson(String(draft.json ?? ''), { what: 'The data', object: true, empty: {} });
        if (!parsed.ok) return this.refuse(w.elementId, parsed.message, `${w.elementId}-json`);
        data = parsed.value;
      }
    }
    const user = this.users && kind === 'complete' ? String(draft[ACT_AS] ?? '') : '';
    await this.send(stepFor(w, data, user || undefined), w.elementId);
  }

  /** Sends one scenario step; a refusal is kept under `errorKey` (said beside what caused it). */
  private async send(step: ScenarioStep, errorKey: string): Promise<void> {
    if (!this.view) return;
    const sessionId = this.view.sessionId;
    await this.run(async () => {
      const answer = await ask<SimView>('SimulationStepCommand', { sessionId, step });
      if (!answer.ok) {
        this.errors.set(errorKey, `Refused: ${answer.text}`);
        announce(`Refused: ${answer.text}`);
        return;
      }
      this.errors.delete(errorKey);
      this.drafts.delete(errorKey);
      if (errorKey === CLOCK) this.advanceBy = '';
      this.finishPlayback();
      this.show(answer.data, true);
      announce(`${describeStep(step, (id) => this.drawing.name(id))}. ${statusText(answer.data)}.`);
    }, 'sim-step-next');
  }

  private refuse(elementId: string, message: string, focusKey: string): void {
    this.errors.set(elementId, message);
    this.render();
    this.root.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus();
  }

  private async back(toStep: number): Promise<void> {
    if (!this.view) return;
    const sessionId = this.view.sessionId;
    await this.run(async () => {
      const answer = await ask<SimView>('SimulationBackCommand', { sessionId, toStep });
      if (!answer.ok) {
        this.startError = `Could not go back: ${answer.text}`;
        return;
      }
      this.startError = '';
      this.errors.clear();
      this.show(answer.data, false);
      announce(`Back at ${toStep === 0 ? 'the start' : `step ${toStep}`}: ${statusText(answer.data)}`);
    });
  }

  private async stepOnce(): Promise<void> {
    if (this.playing) return;
    const next = this.queue.shift();
    if (!next) return;
    const generation = this.generation;
    this.playing = true;
    await this.drawing.play(next, true);
    if (generation !== this.generation) return; // a newer answer took over the drawing
    this.playing = false;
    if (this.queue.length === 0) this.settle();
    this.render();
    this.keepFocus();
  }

  private async runToWait(): Promise<void> {
    if (this.playing) return;
    const generation = this.generation;
    this.playing = true;
    this.render();
    while (this.queue.length && generation === this.generation) await this.drawing.play(this.queue.shift()!, true);
    if (generation !== this.generation) return; // a newer answer took over the drawing
    this.playing = false;
    this.settle();
    this.render();
    this.keepFocus();
    if (this.view) announce(statusText(this.view));
  }

  /** When the focused control went away (Step at the end of the queue), the next thing to do takes it. */
  private keepFocus(): void {
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    const next =
      this.body.querySelector<HTMLElement>('.sim-wait input, .sim-wait select, .sim-wait textarea, .sim-wait button') ??
      this.body.querySelector<HTMLElement>('[data-testid="sim-save"]:not(:disabled)');
    next?.focus();
  }

  /** Draws what is left of the queue at once (before another action changes the run). */
  private finishPlayback(): void {
    this.queue = [];
  }

  private settle(): void {
    if (!this.view) return;
    const all = lastVisits(this.view);
    this.drawing.showWaiting(
      this.view.waiting.map((w) => w.elementId),
      all[all.length - 1],
    );
  }

  private show(view: SimView, animate: boolean): void {
    // A playback still running belongs to the previous answer: it stops where it is.
    this.generation++;
    this.playing = false;
    this.view = view;
    const { drawn, queue } = playback(view, animate);
    this.queue = queue;
    this.drawing.drawTaken(drawn);
    if (queue.length === 0) this.settle();
  }

  private async saveScenario(): Promise<void> {
    if (!this.view) return;
    const name = this.nameInput.value.trim() || 'simulated';
    const scenario = scenarioToSave(this.view, name);
    const fileName = scenarioFileName(this.host.tabName(), name);
    const text = `${JSON.stringify(scenario, null, 2)}\n`;
    keepScenario(localStorage, this.host.diagramKey(), { name, scenario });
    try {
      if (inTauri) {
        const dir = this.host.path()?.replace(/[^\\/]*$/, '') ?? '';
        const saved = await saveText(text, dir + fileName, { path: null }, true, 'application/json', { name: 'Scenario', extensions: ['json'] });
        this.saveNote = saved ? `Saved ${saved.name}; kept for Check scenarios.` : 'Not saved to a file; kept for Check scenarios.';
      } else {
        download(new Blob([text], { type: 'application/json' }), fileName);
        this.saveNote = `Downloaded ${fileName}; kept for Check scenarios.`;
      }
    } catch (e) {
      this.saveNote = `${fileName} was not saved: ${(e as Error).message}`;
    }
    announce(this.saveNote);
    this.render();
  }

  /** The scenario files beside the diagram's file (desktop app), or why they were not read. */
  private async filesBeside(): Promise<{ files: ScenarioFileText[]; error?: string }> {
    const path = inTauri ? this.host.path() : null;
    if (!path) return { files: [] };
    try {
      return { files: await scenarioFilesBeside(path) };
    } catch (e) {
      return { files: [], error: `The scenario files beside ${this.host.tabName()} were not read: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  private async checkScenarios(): Promise<void> {
    const xml = await this.host.xml();
    const key = this.host.diagramKey();
    const beside = await this.filesBeside();
    const template = this.withTemplate && templateScenarioCount(key) ? await templateScenarios(key) : [];
    const { runs: list, unreadable } = checkList(beside.files, template, loadScenarios(localStorage, key));
    if (beside.error) unreadable.unshift({ name: 'Scenario files beside the diagram', error: beside.error });
    if (this.view && this.view.steps.length && !list.some((k) => JSON.stringify(k.scenario.steps) === JSON.stringify(this.view!.scenario.steps))) {
      list.push({ name: 'This run (not saved)', scenario: scenarioToSave(this.view, 'This run') });
    }
    if (list.length === 0 && unreadable.length === 0) {
      this.coverageSummary = 'No scenarios yet: simulate, then Save scenario.';
      this.render();
      return;
    }
    await this.run(async () => {
      this.results = unreadable.map((u) => ({ name: u.name, scenario: null, result: null, error: u.error }));
      for (const k of list) {
        const answer = await ask<ScenarioResult>('RunScenarioQuery', { bpmnXml: xml, scenario: k.scenario });
        this.results.push(
          answer.ok ? { name: k.name, scenario: k.scenario, result: answer.data } : { name: k.name, scenario: k.scenario, result: null, error: answer.text },
        );
      }
      const covered = unionCoverage(this.results.flatMap((r) => (r.result ? [r.result] : [])));
      this.drawing.drawCoverage(covered);
      const ran = this.results.filter((r) => r.result).length;
      this.coverageSummary = `Coverage of ${ran} scenario${ran === 1 ? '' : 's'}: ${coverageText(this.drawing.ids(), covered, (id) => this.drawing.name(id))}`;
      const passed = this.results.filter((r) => r.result?.passed).length;
      announce(`${passed} of ${this.results.length} scenarios passed. ${this.coverageSummary}`);
    }, 'sim-check');
  }

  /** Replays a scenario in the panel: a new session from its variables and clock, then its steps. */
  private async replay(name: string, scenario: Scenario): Promise<void> {
    const xml = await this.host.xml();
    await this.run(async () => {
      const started = await ask<SimView>('StartSimulationCommand', startRequest(xml, scenario));
      if (!started.ok) {
        this.startError = `The replay of ${name} did not start: ${started.text}`;
        return;
      }
      if (this.view) void ask('EndSimulationCommand', { sessionId: this.view.sessionId });
      let view = started.data;
      let stopped = '';
      for (const [i, step] of scenario.steps.entries()) {
        const answer = await ask<SimView>('SimulationStepCommand', { sessionId: view.sessionId, step });
        if (answer.ok) view = answer.data;
        else if (!('expectError' in (step as object))) {
          stopped = `The replay of ${name} stopped at step ${i + 1}: ${answer.text}`;
          break;
        }
      }
      this.startError = stopped;
      this.varsInput.value = JSON.stringify(scenario.variables ?? {});
      this.byInput.value = scenario.startedBy ?? '';
      this.users = scenario.users;
      this.nameInput.value = name;
      this.startedXml = xml;
      this.stale = false;
      this.drafts.clear();
      this.errors.clear();
      this.drawing.clear();
      this.show(view, false);
      announce(stopped || `Replayed ${name}: ${statusText(view)}. Choose a step to go back to it.`);
    });
    this.body.querySelector<HTMLElement>('.sim-steps [aria-current="step"]')?.focus();
  }

  /** The next Start lists no users: no step is held to a task's responsible user or team. */
  private forgetUsers(): void {
    this.users = undefined;
    this.render('sim-start');
    announce('The next start lists no users.');
  }

  private hideCoverage(): void {
    this.drawing.clearCoverage();
    this.coverageSummary = '';
    this.results = [];
    this.render();
  }

  /** Runs one request with the panel marked busy; keeps the focus on `focusKey` (or where it was). */
  private async run(work: () => Promise<void>, focusKey?: string): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.render();
    try {
      await work();
    } finally {
      this.busy = false;
      this.render(focusKey);
    }
  }

  // --- rendering -------------------------------------------------------------------------------

  private render(focusKey?: string): void {
    const active = document.activeElement as HTMLElement | null;
    const keep = active && this.root.contains(active) ? active.dataset.focusKey : undefined;
    this.body.replaceChildren(this.startSection(), ...this.runSections(), this.scenarioSection());
    const key = keep ?? focusKey;
    const target = key ? this.body.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(key)}"]`) : null;
    if (target && !(target as HTMLButtonElement).disabled) target.focus();
    else if (focusKey) {
      const fallback = this.body.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(focusKey)}"]`);
      if (fallback && !(fallback as HTMLButtonElement).disabled) fallback.focus();
    }
  }

  private button(label: string, key: string, onclick: () => void, extra: Record<string, unknown> = {}): HTMLButtonElement {
    return el('button', { type: 'button', 'data-focus-key': key, 'data-testid': key, onclick, ...extra }, label) as HTMLButtonElement;
  }

  private startSection(): HTMLElement {
    const errorId = `${this.uid}-start-error`;
    this.varsInput.setAttribute('aria-invalid', this.startError && this.startError.includes('start variables') ? 'true' : 'false');
    this.varsInput.setAttribute('aria-describedby', errorId);
    const label = this.view ? 'Restart' : 'Start';
    return el(
      'div',
      { className: 'sim-section sim-start' },
      el('label', { htmlFor: this.varsInput.id }, 'Start variables (JSON)'),
      this.varsInput,
      el('label', { htmlFor: this.byInput.id }, 'Start as (user; InitiatedBy in scripts)'),
      this.byInput,
      this.users
        ? el(
            'p',
            { className: 'sim-note', 'data-testid': 'sim-users-note' },
            `Steps are held to the replayed scenario's users (${Object.keys(this.users).join(', ')}) until you `,
            this.button('start without them', 'sim-forget-users', () => this.forgetUsers(), { className: 'link-button' }),
            '.',
          )
        : null,
      el('p', { id: errorId, className: 'field-error', role: 'alert', 'data-testid': 'sim-start-error' }, this.startError),
      el(
        'div',
        { className: 'sim-row' },
        this.button(label, 'sim-start', () => void this.start(), { className: 'primary', disabled: this.busy }),
        this.stale ? el('span', { className: 'sim-note', 'data-testid': 'sim-stale' }, 'The diagram changed since this simulation started: Restart to simulate the changes.') : null,
      ),
    );
  }

  private runSections(): HTMLElement[] {
    const view = this.view;
    if (!view) {
      return [el('p', { className: 'sim-note' }, 'Runs this diagram on the engine in simulate mode: a virtual clock, the real conditions and scripts, nothing stored.')];
    }
    const playing = this.playing || this.busy;
    const status = el('p', { className: `sim-status ${view.status.toLowerCase()}`, role: 'status', 'data-testid': 'sim-status' }, statusText(view));
    const queued = this.queue.length;
    const play = el(
      'div',
      { className: 'sim-row', role: 'group', 'aria-label': 'Token playback' },
      this.button('Step', 'sim-step-next', () => void this.stepOnce(), { disabled: playing || queued === 0, title: 'Play the next element or flow the engine visited' }),
      this.button('Run to wait', 'sim-run', () => void this.runToWait(), { disabled: playing || queued === 0, title: 'Play everything up to the next wait' }),
      el('span', { className: 'sim-note', 'data-testid': 'sim-queue' }, queued ? `${queued} to play` : view.waiting.length ? 'Token at the wait' : 'Token at the end'),
    );
    const sections: HTMLElement[] = [status, play];
    sections.push(this.waitingSection(view));
    if (view.incidents.length) {
      sections.push(
        el(
          'div',
          { className: 'sim-section' },
          el('h3', {}, 'Incidents'),
          el('ul', { className: 'sim-incidents' }, ...view.incidents.map((i) => el('li', { className: 'field-error' }, `${this.drawing.name(i.elementId) ?? i.elementId}: ${i.message}`))),
        ),
      );
    }
    sections.push(this.variablesSection(view), this.stepsSection(view));
    return sections;
  }

  private waitingSection(view: SimView): HTMLElement {
    const items = view.waiting.map((w) => this.waitingItem(w));
    return el(
      'div',
      { className: 'sim-section' },
      el('h3', {}, 'Waiting'),
      items.length ? el('ul', { className: 'sim-waiting' }, ...items) : el('p', { className: 'sim-note' }, view.status === 'COMPLETED' ? 'Nothing waits: the instance completed.' : 'Nothing waits.'),
      this.clockControls(view),
    );
  }

  /** The virtual clock: to the next due timer, or forward by an ISO 8601 duration. */
  private clockControls(view: SimView): HTMLElement | null {
    if (view.status === 'COMPLETED' || view.status === 'CANCELLED' || view.status === 'FAILED') return null;
    const inputId = `${this.uid}-advance`;
    const errorId = `${this.uid}-clock-error`;
    const error = this.errors.get(CLOCK) ?? '';
    const input = el('input', {
      id: inputId,
      type: 'text',
      placeholder: 'PT1H',
      size: 8,
      'data-focus-key': 'sim-advance-by',
      'data-testid': 'sim-advance-by',
      'aria-describedby': errorId,
      'aria-invalid': error ? 'true' : 'false',
      oninput: (e: Event) => (this.advanceBy = (e.target as HTMLInputElement).value),
    }) as HTMLInputElement;
    input.value = this.advanceBy;
    const due = view.nextTimer ? view.nextTimer.replace('T', ' ').replace(/(:\d\d)(\.\d+)?Z$/, '$1 UTC') : null;
    return el(
      'div',
      { className: 'sim-clock', role: 'group', 'aria-label': 'Virtual clock' },
      due
        ? el(
            'div',
            { className: 'sim-row' },
            this.button('Advance to the next timer', 'sim-next-timer', () => void this.send({ advance: 'nextTimer' }, CLOCK), { disabled: this.busy }),
            el('span', { className: 'sim-note' }, `due ${due}`),
          )
        : el('p', { className: 'sim-note' }, 'No timer is due.'),
      el('label', { htmlFor: inputId }, 'Advance by (ISO 8601)'),
      el(
        'div',
        { className: 'sim-row' },
        input,
        this.button('Advance', 'sim-advance', () => {
          const text = this.advanceBy.trim();
          if (!text) {
            this.errors.set(CLOCK, 'Type a duration such as PT1H or P2D.');
            this.render('sim-advance-by');
            return;
          }
          void this.send({ advance: text }, CLOCK);
        }, { disabled: this.busy }),
      ),
      el('p', { id: errorId, className: 'field-error', role: 'alert', 'data-testid': 'sim-clock-error' }, error),
    );
  }

  private waitingItem(w: Waiting): HTMLElement {
    const kind = actionFor(w);
    const name = w.name ?? this.drawing.name(w.elementId) ?? w.elementId;
    const draft = this.drafts.get(w.elementId) ?? {};
    this.drafts.set(w.elementId, draft);
    const errorId = `${this.uid}-${w.elementId}-error`;
    const error = this.errors.get(w.elementId) ?? '';
    const schema = w.formKey ? this.host.forms()[w.formKey] : undefined;
    const fields = kind === 'complete' && schema ? simpleFields(schema) : null;
    const parts: (HTMLElement | null)[] = [];
    const detail = waitDetail(w, kind, view_nextTimer(this.view));
    parts.push(el('p', { className: 'sim-wait-title' }, el('strong', {}, name), ` — ${detail}`));
    const locals = Object.entries(w.localVariables ?? {});
    if (locals.length) {
      parts.push(
        el(
          'table',
          { className: 'sim-variables sim-locals', 'data-testid': `sim-locals-${w.elementId}` },
          el('caption', {}, 'Its input parameters (local variables)'),
          el('tbody', {}, ...locals.map(([k, v]) => el('tr', { 'data-local': k }, el('th', { scope: 'row' }, k), el('td', {}, el('code', {}, JSON.stringify(v)))))),
        ),
      );
    }
    if (kind !== 'timer') {
      if (fields) {
        for (const f of fields) parts.push(this.fieldInput(w.elementId, f, draft, errorId, error));
      } else {
        const id = `${this.uid}-${w.elementId}-json`;
        if (draft.json === undefined) draft.json = '{}';
        const textarea = el('textarea', {
          id,
          rows: 3,
          spellcheck: false,
          className: 'code',
          'data-focus-key': `${w.elementId}-json`,
          'data-testid': `sim-data-${w.elementId}`,
          'aria-describedby': errorId,
          'aria-invalid': error.startsWith('The data') ? 'true' : 'false',
          oninput: (e: Event) => {
            draft.json = (e.target as HTMLTextAreaElement).value;
          },
        }) as HTMLTextAreaElement;
        textarea.value = String(draft.json);
        const what = kind === 'callback' ? 'Callback payload (JSON)' : kind === 'complete' ? 'Task data (JSON)' : 'Payload (JSON)';
        parts.push(el('label', { htmlFor: id }, what), textarea);
      }
    }
    if (kind === 'complete' && this.users) parts.push(this.actAs(w.elementId, draft));
    parts.push(
      el('p', { id: errorId, className: 'field-error', role: 'alert', 'data-testid': `sim-error-${w.elementId}` }, error),
      this.button(actionLabel(kind), `sim-act-${w.elementId}`, () => void this.act(w, fields), {
        disabled: this.busy,
        'aria-label': `${actionLabel(kind)}: ${name}`,
      }),
    );
    return el('li', { className: 'sim-wait', 'data-element-id': w.elementId }, ...parts);
  }

  /** Who completes the task, among the replayed scenario's users (first: the user who started it). */
  private actAs(elementId: string, draft: Record<string, string | boolean>): HTMLElement {
    const id = `${this.uid}-${elementId}-as`;
    const names = Object.keys(this.users ?? {});
    const by = this.byInput.value.trim();
    if (draft[ACT_AS] === undefined) draft[ACT_AS] = names.includes(by) ? by : (names[0] ?? '');
    const select = el(
      'select',
      {
        id,
        'data-testid': `sim-as-${elementId}`,
        'data-focus-key': `${elementId}-as`,
        onchange: (e: Event) => (draft[ACT_AS] = (e.target as HTMLSelectElement).value),
      },
      el('option', { value: '' }, 'nobody signed in'),
      ...names.map((n) => el('option', { value: n }, n)),
    ) as HTMLSelectElement;
    select.value = String(draft[ACT_AS]);
    return el('div', { className: 'sim-field' }, el('label', { htmlFor: id }, 'Complete as'), select);
  }

  private fieldInput(elementId: string, f: SimpleField, draft: Record<string, string | boolean>, errorId: string, error: string): HTMLElement {
    const id = `${this.uid}-${elementId}-${f.key}`;
    const common = {
      id,
      'data-focus-key': `${elementId}-${f.key}`,
      'data-testid': `sim-field-${elementId}-${f.key}`,
      'aria-describedby': errorId,
      'aria-invalid': error.startsWith(f.label) ? 'true' : 'false',
    };
    const required = f.required ? el('span', { 'aria-hidden': 'true' }, ' *') : null;
    if (f.type === 'checkbox') {
      const box = el('input', { ...common, type: 'checkbox', checked: draft[f.key] === true, onchange: (e: Event) => (draft[f.key] = (e.target as HTMLInputElement).checked) });
      return el('div', { className: 'sim-field sim-check' }, box, el('label', { htmlFor: id }, f.label));
    }
    if (f.type === 'choice') {
      const select = el(
        'select',
        { ...common, required: f.required, onchange: (e: Event) => (draft[f.key] = (e.target as HTMLSelectElement).value) },
        el('option', { value: '' }, '(choose)'),
        ...(f.options ?? []).map((o) => el('option', { value: o.value, selected: draft[f.key] === o.value }, o.label)),
      );
      return el('div', { className: 'sim-field' }, el('label', { htmlFor: id }, f.label, required), select);
    }
    const input =
      f.type === 'textarea'
        ? el('textarea', { ...common, rows: 2 })
        : el('input', { ...common, type: 'text', inputMode: f.type === 'number' ? 'decimal' : undefined });
    (input as HTMLInputElement).value = typeof draft[f.key] === 'string' ? (draft[f.key] as string) : '';
    input.addEventListener('input', () => (draft[f.key] = (input as HTMLInputElement).value));
    return el('div', { className: 'sim-field' }, el('label', { htmlFor: id }, f.label, required), input);
  }

  private variablesSection(view: SimView): HTMLElement {
    const changed = changedNames(view);
    const names = Object.keys(view.variables).sort();
    const rows = names.map((n) =>
      el(
        'tr',
        { className: changed.has(n) ? 'changed' : '', 'data-variable': n },
        el('th', { scope: 'row' }, n, changed.has(n) ? el('span', { className: 'sr-only' }, ' (changed)') : null),
        el('td', {}, el('code', {}, JSON.stringify(view.variables[n]))),
      ),
    );
    const last = view.steps[view.steps.length - 1];
    for (const n of last?.removed ?? []) {
      rows.push(el('tr', { className: 'changed removed' }, el('th', { scope: 'row' }, n, el('span', { className: 'sr-only' }, ' (removed)')), el('td', {}, '(removed)')));
    }
    return el(
      'div',
      { className: 'sim-section' },
      el('h3', {}, 'Variables'),
      rows.length
        ? el('table', { className: 'sim-variables', 'data-testid': 'sim-variables' }, el('caption', { className: 'sr-only' }, 'Process variables; the last step changed the highlighted ones'), el('tbody', {}, ...rows))
        : el('p', { className: 'sim-note' }, 'No variables.'),
    );
  }

  private stepsSection(view: SimView): HTMLElement {
    const at = view.steps.length;
    const entry = (n: number, text: string) =>
      el(
        'li',
        {},
        this.button(text, `sim-back-${n}`, () => void this.back(n), {
          className: 'sim-step-button',
          'aria-current': n === at ? 'step' : undefined,
          disabled: this.busy,
          title: n === at ? 'Where the simulation is' : `Go back to ${n === 0 ? 'the start' : `step ${n}`} (later steps are dropped)`,
        }),
      );
    return el(
      'div',
      { className: 'sim-section' },
      el('h3', { id: `${this.uid}-steps` }, 'Steps'),
      el('p', { className: 'sim-note' }, 'Choose a step to go back to it and take another branch.'),
      el(
        'ol',
        { className: 'sim-steps', 'aria-labelledby': `${this.uid}-steps`, 'data-testid': 'sim-steps' },
        entry(0, 'Started'),
        ...view.steps.map((s) => entry(s.index, `${s.index}. ${describeStep(s.step, (id) => this.drawing.name(id))}`)),
      ),
    );
  }

  private scenarioSection(): HTMLElement {
    const results = this.results.map((r) => {
      const passed = !!r.result?.passed;
      const failures = r.error ? [r.error] : (r.result?.failures ?? []);
      return el(
        'li',
        { className: passed ? 'passed' : 'failed', 'data-testid': 'sim-result' },
        el('strong', {}, passed ? 'Passed' : 'Failed'),
        ` ${r.name} `,
        r.scenario === null
          ? null
          : el('button', {
              type: 'button',
              className: 'link-button',
              'data-testid': 'sim-replay',
              'aria-label': `Replay ${r.name} in the panel`,
              disabled: this.busy,
              onclick: () => void this.replay(r.name, r.scenario!),
            }, 'Replay'),
        failures.length ? el('ul', {}, ...failures.map((f) => el('li', {}, f))) : null,
      );
    });
    const fromTemplate = templateScenarioCount(this.host.diagramKey());
    const templateId = `${this.uid}-with-template`;
    return el(
      'div',
      { className: 'sim-section' },
      el('h3', {}, 'Scenarios'),
      inTauri && this.host.path()
        ? el(
            'p',
            { className: 'sim-note', 'data-testid': 'sim-beside-note' },
            "Check scenarios also runs the scenario files beside this diagram's file that baton test would run against it.",
          )
        : null,
      fromTemplate
        ? el(
            'div',
            { className: 'sim-field sim-check' },
            el('input', {
              id: templateId,
              type: 'checkbox',
              checked: this.withTemplate,
              'data-focus-key': 'sim-with-template',
              'data-testid': 'sim-with-template',
              onchange: (e: Event) => (this.withTemplate = (e.target as HTMLInputElement).checked),
            }),
            el('label', { htmlFor: templateId }, `Check the template's ${fromTemplate} scenario file${fromTemplate === 1 ? '' : 's'} too`),
          )
        : null,
      el('label', { htmlFor: this.nameInput.id }, 'Scenario name'),
      this.nameInput,
      el(
        'div',
        { className: 'sim-row' },
        this.button('Save scenario', 'sim-save', () => void this.saveScenario(), { disabled: !this.view || this.busy }),
        this.button('Check scenarios', 'sim-check', () => void this.checkScenarios(), { disabled: this.busy }),
        this.coverageSummary ? this.button('Hide coverage', 'sim-hide-coverage', () => this.hideCoverage()) : null,
      ),
      el('p', { className: 'sim-note', role: 'status', 'data-testid': 'sim-save-note' }, this.saveNote),
      results.length ? el('ul', { className: 'sim-results', 'data-testid': 'sim-results' }, ...results) : null,
      el('p', { className: 'sim-note', 'data-testid': 'sim-coverage' }, this.coverageSummary),
    );
  }
}

function view_nextTimer(view: SimView | null): string {
  return view?.nextTimer ?? 'unknown';
}
