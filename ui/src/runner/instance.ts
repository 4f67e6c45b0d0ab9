/**
 * #/instances/GUID: one instance on its deployed diagram. Markers (`baton-active`,
 * `baton-completed`, `baton-incident` on the element's `.djs-element`) and execution counts come
 * from the instance and its history; changes pushed by the server reload them in place.
 * Beside the diagram: what it waits for (return a webhook callback, open a form task in the
 * inbox), incidents (retry with variables), variables, the history timeline, and cancel.
 */
import { latestReads } from '../app/latest';
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import type { View, ViewContext } from '../app/view';
import { announce } from '../app/announce';
import { execute, query, subscribe, type Answer } from '../transport';
import { parseJson } from '../app/json';
import { el, errorFor, errorText, selectMistake, setError, statusBadge } from './dom';
import {
  callbackTasks,
  computeMarkers,
  describeEvent,
  formTasks,
  shortTime,
  takenFlows,
  throttle,
  type FlowRef,
  type HistoryEvent,
  type InstanceDetail,
  type Markers,
  type WaitingEntry,
} from './model';
import './runner.css';

interface Definition {
  processDefinitionId: number;
  processKey: string;
  version: number;
  bpmnXml: string;
}

interface DiagramElement {
  id: string;
  type: string;
  businessObject?: { name?: string };
  source?: { id: string };
  target?: { id: string };
}
interface Canvas {
  addMarker(id: string, marker: string): void;
  removeMarker(id: string, marker: string): void;
  zoom(level: 'fit-viewport' | number, center?: 'auto'): number;
}
interface Overlays {
  add(id: string, type: string, overlay: { position: Record<string, number>; html: HTMLElement | string }): string;
  remove(filter: { type: string }): void;
}
interface ElementRegistry {
  get(id: string): DiagramElement | undefined;
  filter(fn: (e: DiagramElement) => boolean): DiagramElement[];
}

const ENDED = ['COMPLETED', 'CANCELLED'];
const HISTORY_SHOWN = 1000;

/** The viewer's colours follow the theme (bpmn-js draws with inline colours). */
function themeColours(): { defaultFillColor: string; defaultStrokeColor: string; defaultLabelColor: string } {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    defaultFillColor: v('--bg-raised', '#ffffff'),
    defaultStrokeColor: v('--fg', '#1d2129'),
    defaultLabelColor: v('--fg', '#1d2129'),
  };
}

export function mount(root: HTMLElement, ctx: ViewContext): View {
  const guid = ctx.params.guid ?? '';
  let gone = false;
  let instance: InstanceDetail | null = null;
  let history: HistoryEvent[] = [];
  let definition: Definition | null = null;
  let viewer: NavigatedViewer | null = null;
  let applied: { id: string; marker: string }[] = [];
  let waitingKey = '';

  // ---- layout -------------------------------------------------------------------------------
  const status = el('span', { className: 'status', 'data-testid': 'instance-status' }, '…');
  const title = el('h1', {}, 'Instance');
  const cancelButton = el('button', { type: 'button', className: 'danger', 'data-testid': 'cancel-instance' }, 'Cancel instance…');
  const cancelReason = el('input', { id: 'cancel-reason', type: 'text', placeholder: 'optional', 'data-testid': 'cancel-reason' });
  const cancelYes = el('button', { type: 'button', className: 'danger', 'data-testid': 'cancel-confirm' }, 'Yes, cancel it');
  const cancelNo = el('button', { type: 'button', 'data-testid': 'cancel-keep' }, 'Keep it');
  const cancelError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'cancel-error' });
  const cancelBox = el(
    'div',
    { className: 'confirm-box', role: 'group', 'aria-label': 'Confirm cancelling', hidden: true },
    el('p', {}, 'Cancel this instance? Waiting tasks and timers are dropped; it cannot be resumed.'),
    el('label', { for: 'cancel-reason' }, 'Reason'),
    cancelReason,
    cancelYes,
    cancelNo,
  );
  const meta = el('dl', { className: 'meta' });
  const pageError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'instance-error' });

  const canvasHost = el('div', {
    className: 'instance-canvas',
    'data-testid': 'instance-canvas',
    role: 'figure',
    'aria-label': 'Process diagram with the instance state',
    'aria-describedby': 'canvas-summary',
  });
  const canvasSummary = el('p', { id: 'canvas-summary', className: 'sr-only' });
  const canvasError = el('p', { className: 'field-error', role: 'alert', hidden: true });
  const zoomFit = el('button', { type: 'button', 'aria-label': 'Fit the diagram' }, 'Fit');
  const zoomIn = el('button', { type: 'button', 'aria-label': 'Zoom in' }, '+');
  const zoomOut = el('button', { type: 'button', 'aria-label': 'Zoom out' }, '−');
  const legend = el(
    'ul',
    { className: 'legend', 'aria-label': 'Legend' },
    el('li', {}, el('span', { className: 'swatch swatch-active' }), 'waiting'),
    el('li', {}, el('span', { className: 'swatch swatch-completed' }), 'completed'),
    el('li', {}, el('span', { className: 'swatch swatch-incident' }), 'incident'),
    el('li', {}, el('span', { className: 'baton-count' }, 'n'), 'times entered'),
  );

  const waitingList = el('ul', { className: 'plain-list', 'data-testid': 'waiting' });
  const waitingSection = el('section', { className: 'panel', 'aria-labelledby': 'h-waiting' }, el('h2', { id: 'h-waiting' }, 'Waiting for'), waitingList);

  const incidentList = el('ul', { className: 'plain-list' });
  const retryVars = el('textarea', { id: 'retry-variables', rows: 3, spellcheck: false, 'data-testid': 'retry-variables', placeholder: '{"name": "value"}' });
  const retryError = errorFor(retryVars, 'retry-error', 'retry-error');
  const retryButton = el('button', { type: 'button', className: 'primary', 'data-testid': 'retry' }, 'Retry');
  const retryBox = el(
    'div',
    { className: 'retry-box' },
    el('label', { for: 'retry-variables' }, 'Variables to set before retrying (JSON object, optional)'),
    retryVars,
    retryError,
    retryButton,
  );
  const incidentsSection = el(
    'section',
    { className: 'panel', 'aria-labelledby': 'h-incidents', 'data-testid': 'incidents' },
    el('h2', { id: 'h-incidents' }, 'Incidents'),
    incidentList,
    retryBox,
  );

  const variables = el('pre', { className: 'variables', 'data-testid': 'variables', tabindex: 0, 'aria-labelledby': 'h-variables' });
  const variablesSection = el('section', { className: 'panel', 'aria-labelledby': 'h-variables' }, el('h2', { id: 'h-variables' }, 'Variables'), variables);

  const historyBody = el('tbody');
  const historyTable = el(
    'table',
    { className: 'runner-table history', 'data-testid': 'history', 'aria-labelledby': 'h-history' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, '#'), el('th', { scope: 'col' }, 'Time (UTC)'), el('th', { scope: 'col' }, 'Element'), el('th', { scope: 'col' }, 'What happened'))),
    historyBody,
  );
  const historyNote = el('p', { className: 'muted small', hidden: true });
  const historySection = el('section', { className: 'panel history-panel', 'aria-labelledby': 'h-history' }, el('h2', { id: 'h-history' }, 'History'), historyNote, el('div', { className: 'table-wrap', tabindex: 0, 'aria-label': 'History timeline' }, historyTable));

  const page = el(
    'div',
    { className: 'runner-page instance-page', 'data-testid': 'instance-view', 'data-guid': guid },
    el('p', { className: 'crumbs' }, el('a', { href: '#/instances' }, '← All instances')),
    el('div', { className: 'runner-head' }, title, status, el('span', { className: 'spacer' }), cancelButton),
    cancelBox,
    cancelError,
    pageError,
    meta,
    el('div', { className: 'canvas-wrap' }, canvasHost, el('div', { className: 'canvas-tools', role: 'group', 'aria-label': 'Zoom' }, zoomFit, zoomIn, zoomOut), legend),
    canvasError,
    canvasSummary,
    el('div', { className: 'instance-columns' }, el('div', { className: 'column' }, waitingSection, incidentsSection, variablesSection), el('div', { className: 'column' }, historySection)),
  );
  root.append(page);

  // ---- the diagram ---------------------------------------------------------------------------
  async function showDiagram(xml: string): Promise<void> {
    viewer?.destroy();
    viewer = new NavigatedViewer({ container: canvasHost, bpmnRenderer: themeColours() } as never);
    applied = [];
    try {
      const result = await viewer.importXML(xml);
      if (result.warnings.length) console.warn(`the diagram imported with ${result.warnings.length} warnings`);
      (viewer.get('canvas') as Canvas).zoom('fit-viewport', 'auto');
      setError(canvasError, null);
    } catch (e) {
      setError(canvasError, `The diagram could not be shown: ${errorText(e)}`);
    }
  }

  function elementName(id: string | null): string {
    if (!id) return '';
    const found = viewer ? (viewer.get('elementRegistry') as ElementRegistry).get(id) : undefined;
    const name = found?.businessObject?.name;
    return name ? `${name} (${id})` : id;
  }

  function paintMarkers(markers: Markers): void {
    if (!viewer) return;
    const canvas = viewer.get('canvas') as Canvas;
    const registry = viewer.get('elementRegistry') as ElementRegistry;
    const overlays = viewer.get('overlays') as Overlays;
    for (const a of applied) canvas.removeMarker(a.id, a.marker);
    applied = [];
    const add = (id: string, marker: string) => {
      if (!registry.get(id)) return;
      canvas.addMarker(id, marker);
      applied.push({ id, marker });
    };
    markers.active.forEach((id) => add(id, 'baton-active'));
    markers.completed.forEach((id) => add(id, 'baton-completed'));
    markers.incident.forEach((id) => add(id, 'baton-incident'));
    const flows: FlowRef[] = registry
      .filter((e) => e.type === 'bpmn:SequenceFlow' && !!e.source && !!e.target)
      .map((e) => ({ id: e.id, source: e.source!.id, target: e.target!.id }));
    takenFlows(flows, markers).forEach((id) => add(id, 'baton-completed'));
    const names = (ids: string[]) => ids.map((id) => registry.get(id)?.businessObject?.name || id).join(', ');
    canvasSummary.textContent = [
      markers.active.length ? `Waiting at ${names(markers.active)}.` : '',
      markers.incident.length ? `Incident at ${names(markers.incident)}.` : '',
      markers.completed.length ? `Completed: ${names(markers.completed)}.` : '',
    ].join(' ');
    overlays.remove({ type: 'baton-count' });
    for (const [id, n] of Object.entries(markers.counts)) {
      const shape = registry.get(id);
      if (!shape || shape.type === 'label') continue;
      const badge = el('span', { className: 'baton-count', title: `entered ${n} time${n === 1 ? '' : 's'}`, 'data-element': id }, String(n));
      // Top right, half outside the shape: clear of the labels under events and gateways.
      overlays.add(id, 'baton-count', { position: { top: -9, right: 11 }, html: badge });
    }
  }

  // ---- panels ---------------------------------------------------------------------------------
  function paintWaiting(inst: InstanceDetail): void {
    const callbacks = callbackTasks(inst.waiting);
    const forms = formTasks(inst.waiting);
    const others = inst.waiting.filter((w) => !callbacks.includes(w) && !forms.includes(w));
    const key = JSON.stringify(inst.waiting.map((w) => [w.taskId, w.taskType, w.correlationKey, w.formKey, w.due, w.localVariables]));
    if (key === waitingKey) return;
    waitingKey = key;
    const items: HTMLElement[] = [];
    for (const w of callbacks) items.push(callbackItem(w));
    for (const w of forms) {
      const href = `#/tasks?instance=${encodeURIComponent(inst.instanceGuid)}&task=${encodeURIComponent(w.taskId)}`;
      items.push(
        el(
          'li',
          { 'data-task': w.taskId },
          el('strong', {}, w.name || w.taskId),
          ` — a form${w.responsibleTeam ? ` for ${w.responsibleTeam}` : ''}${w.responsibleUser ? ` for ${w.responsibleUser}` : ''}. `,
          el('a', { href, 'data-testid': 'open-task' }, 'Open it in the task inbox'),
        ),
      );
    }
    for (const w of others) {
      const item = el('li', { 'data-task': w.taskId }, el('strong', {}, w.name || w.taskId), ` — ${waitingWords(w)} `);
      if (w.taskType === 'retry') item.append(...runNow(w));
      items.push(item);
    }
    for (const item of items) {
      const w = inst.waiting.find((x) => x.taskId === item.dataset.task);
      const locals = w ? localsTable(w) : null;
      if (locals) item.append(locals);
    }
    if (items.length === 0) items.push(el('li', { className: 'muted' }, ENDED.includes(inst.status) ? 'Nothing: the instance has ended.' : 'Nothing.'));
    waitingList.replaceChildren(...items);
  }

  /** A waiting activity's input parameters (its local variables), when it has any. */
  function localsTable(w: WaitingEntry): HTMLElement | null {
    const entries = Object.entries(w.localVariables ?? {});
    if (!entries.length) return null;
    return el(
      'table',
      { className: 'locals', 'data-testid': `locals-${w.taskId}` },
      el('caption', {}, 'Input parameters (local variables)'),
      el('tbody', {}, ...entries.map(([k, v]) => el('tr', { 'data-local': k }, el('th', { scope: 'row' }, k), el('td', {}, el('code', {}, JSON.stringify(v)))))),
    );
  }

  function waitingWords(w: WaitingEntry): string {
    switch (w.taskType) {
      case 'timer':
        return `a timer${w.due ? ` due ${shortTime(w.due)} UTC` : ''}`;
      case 'messageCatch':
        return `message ${w.message ?? ''}${w.correlationKey ? ` with key ${w.correlationKey}` : ''}`;
      case 'signalCatch':
        return `signal ${w.signal ?? ''}`;
      case 'retry':
        return `its last run failed; the next attempt${w.due ? ` is due ${shortTime(w.due)} UTC` : ' is due'} (see the history)`;
      default:
        return w.taskType;
    }
  }

  /** A task waiting for its next attempt: run it now (RetryIncidentCommand), the answer beside. */
  function runNow(w: WaitingEntry): HTMLElement[] {
    const button = el('button', { type: 'button', 'data-testid': 'retry-now', 'aria-label': `Run ${w.name || w.taskId} now` }, 'Run it now');
    const error = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'retry-now-error' });
    button.addEventListener('click', () => {
      button.disabled = true;
      void (async () => {
        try {
          const r = await execute<{ status: string }>('RetryIncidentCommand', { instanceGuid: guid });
          if (!r.ok) setError(error, answerText(r));
          else {
            announce(`Ran ${w.name || w.taskId} again: the instance is ${r.data.status}`);
            live.call();
          }
        } catch (e) {
          setError(error, errorText(e));
        } finally {
          button.disabled = false;
        }
      })();
    });
    return [button, error];
  }

  function callbackItem(w: WaitingEntry): HTMLLIElement {
    const id = `cb-${w.taskId}`.replace(/[^A-Za-z0-9_-]/g, '_');
    const open = el('button', { type: 'button', 'data-testid': 'return-callback', 'aria-expanded': 'false', 'aria-controls': id }, 'Return callback…');
    const payload = el('textarea', { id: `${id}-payload`, rows: 4, spellcheck: false, 'data-testid': 'callback-payload' });
    payload.value = '{"status": "success"}';
    const submit = el('button', { type: 'button', className: 'primary', 'data-testid': 'callback-submit' }, 'Send callback');
    const error = errorFor(payload, `${id}-error`, 'callback-error');
    const box = el(
      'div',
      { id, className: 'callback-box', hidden: true },
      el('label', { for: `${id}-payload` }, `Result for ${w.correlationKey} (JSON)`),
      payload,
      error,
      submit,
    );
    open.addEventListener('click', () => {
      box.hidden = !box.hidden;
      open.setAttribute('aria-expanded', String(!box.hidden));
      if (!box.hidden) payload.focus();
    });
    submit.addEventListener('click', () => {
      const parsed = parseJson(payload.value, { what: 'The result', empty: {} });
      if (!parsed.ok) {
        setError(error, parsed.message, payload);
        selectMistake(payload, parsed.offset);
        return;
      }
      setError(error, null, payload);
      submit.disabled = true;
      void (async () => {
        try {
          const r = await execute('ReturnCallbackCommand', { correlationKey: w.correlationKey, result: parsed.value });
          if (!r.ok) setError(error, answerText(r), payload);
          else {
            announce(`Callback returned for ${w.correlationKey}`);
            live.call();
          }
        } catch (e) {
          setError(error, errorText(e), payload);
        } finally {
          submit.disabled = false;
        }
      })();
    });
    return el(
      'li',
      { 'data-task': w.taskId },
      el('strong', {}, w.name || w.taskId),
      ` — a webhook callback with key `,
      el('code', {}, w.correlationKey ?? ''),
      ' ',
      open,
      box,
    );
  }

  function paintIncidents(inst: InstanceDetail): void {
    incidentsSection.hidden = inst.incidents.length === 0 && inst.status !== 'FAILED';
    incidentList.replaceChildren(
      ...inst.incidents.map((i) =>
        el('li', { className: 'incident', 'data-element': i.elementId }, el('strong', {}, elementName(i.elementId)), ': ', i.message),
      ),
    );
  }

  function paintHistory(all: HistoryEvent[]): void {
    // A long-running instance can have thousands of events: the newest 1,000 are shown.
    const events = all.length > HISTORY_SHOWN ? all.slice(all.length - HISTORY_SHOWN) : all;
    historyNote.hidden = events.length === all.length;
    historyNote.textContent = `Showing the last ${HISTORY_SHOWN.toLocaleString('en')} of ${all.length.toLocaleString('en')} events.`;
    historyBody.replaceChildren(
      ...events.map((e) =>
        el(
          'tr',
          { 'data-kind': e.kind },
          el('td', {}, String(e.seq)),
          el('td', { className: 'nowrap' }, shortTime(e.at)),
          el('td', {}, elementName(e.elementId)),
          el('td', {}, describeEvent(e)),
        ),
      ),
    );
  }

  function paintMeta(inst: InstanceDetail): void {
    const rows: [string, string][] = [
      ['Instance', inst.instanceGuid],
      ['Process', `${inst.processKey ?? '?'}${definition ? ` v${definition.version}` : ''} (definition ${inst.processDefinitionId})`],
      ['Started', `${shortTime(inst.startedAt)} UTC`],
    ];
    if (inst.endedAt) rows.push(['Ended', `${shortTime(inst.endedAt)} UTC`]);
    if (inst.businessKey) rows.push(['Business key', inst.businessKey]);
    if (inst.correlationId) rows.push(['Correlation id', inst.correlationId]);
    meta.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  }

  function paint(): void {
    if (!instance) return;
    const inst = instance;
    title.textContent = inst.processKey ?? 'Instance';
    status.className = statusBadge(inst.status).className;
    status.textContent = inst.status;
    page.dataset.status = inst.status;
    cancelButton.hidden = ENDED.includes(inst.status);
    if (cancelButton.hidden) cancelBox.hidden = true;
    paintMeta(inst);
    paintMarkers(computeMarkers(inst, history));
    paintWaiting(inst);
    paintIncidents(inst);
    variables.textContent = JSON.stringify(inst.variables, null, 2);
    paintHistory(history);
  }

  // ---- loading ---------------------------------------------------------------------------------
  let loadedOnce = false;
  const reads = latestReads();
  async function load(): Promise<void> {
    if (gone) return;
    const ticket = reads.take();
    try {
      const [inst, events] = await Promise.all([
        query<InstanceDetail>('GetProcessInstanceByIdQuery', { instanceGuid: guid }),
        query<HistoryEvent[]>('GetInstanceHistoryQuery', { instanceGuid: guid }),
      ]);
      if (gone || !ticket.current()) return;
      if (!definition || definition.processDefinitionId !== inst.processDefinitionId) {
        definition = await query<Definition>('GetProcessDefinitionByIdQuery', { processDefinitionId: inst.processDefinitionId });
        if (gone || !ticket.current()) return;
        await showDiagram(definition.bpmnXml);
      }
      const before = instance?.status;
      instance = inst;
      history = events;
      paint();
      if (before && before !== inst.status) announce(`The instance is now ${inst.status}`);
      setError(pageError, null);
      loadedOnce = true;
    } catch (e) {
      if (gone || !ticket.current()) return;
      const words = errorText(e);
      setError(pageError, loadedOnce ? `Could not refresh the instance: ${words}` : `This instance could not be loaded: ${words}`);
      if (!loadedOnce) status.textContent = 'unknown';
    }
  }

  const live = throttle(load, 100);
  const unsubscribe = subscribe((change) => {
    if (change.instanceGuid === guid || change.instanceGuid === '*') live.call();
  });

  // ---- actions -------------------------------------------------------------------------------
  function answerText(r: Answer<unknown>): string {
    if (r.ok) return r.message;
    const detail = r.errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
    return detail ? `${r.message} (${detail})` : r.message || 'The server refused it.';
  }

  retryButton.addEventListener('click', () => {
    const parsed = parseJson(retryVars.value, { what: 'The variables', object: true, empty: {} });
    if (!parsed.ok) {
      setError(retryError, parsed.message, retryVars);
      selectMistake(retryVars, parsed.offset);
      return;
    }
    setError(retryError, null, retryVars);
    const vars = parsed.value;
    const data: Record<string, unknown> = { instanceGuid: guid };
    if (Object.keys(vars).length) data.variables = vars;
    retryButton.disabled = true;
    void (async () => {
      try {
        const r = await execute<{ status: string }>('RetryIncidentCommand', data);
        if (!r.ok) setError(retryError, answerText(r), retryVars);
        else {
          retryVars.value = '';
          announce(`Retried: the instance is ${r.data.status}`);
          live.call();
        }
      } catch (e) {
        setError(retryError, errorText(e), retryVars);
      } finally {
        retryButton.disabled = false;
      }
    })();
  });

  cancelButton.addEventListener('click', () => {
    cancelBox.hidden = false;
    cancelReason.focus();
  });
  cancelNo.addEventListener('click', () => {
    cancelBox.hidden = true;
    setError(cancelError, null);
    cancelButton.focus();
  });
  cancelYes.addEventListener('click', () => {
    cancelYes.disabled = true;
    const data: Record<string, unknown> = { instanceGuid: guid };
    if (cancelReason.value.trim()) data.reason = cancelReason.value.trim();
    void (async () => {
      try {
        const r = await execute('CancelProcessInstanceCommand', data);
        if (!r.ok) setError(cancelError, `The instance was not cancelled: ${answerText(r)}`);
        else {
          cancelBox.hidden = true;
          setError(cancelError, null);
          announce('The instance was cancelled');
          live.call();
        }
      } catch (e) {
        setError(cancelError, errorText(e));
      } finally {
        cancelYes.disabled = false;
      }
    })();
  });

  const zoomBy = (f: number) => {
    if (!viewer) return;
    const canvas = viewer.get('canvas') as Canvas & { zoom(): number };
    canvas.zoom(canvas.zoom() * f);
  };
  zoomFit.addEventListener('click', () => viewer && (viewer.get('canvas') as Canvas).zoom('fit-viewport', 'auto'));
  zoomIn.addEventListener('click', () => zoomBy(1.2));
  zoomOut.addEventListener('click', () => zoomBy(1 / 1.2));

  const onTheme = () => {
    if (!definition) return;
    void showDiagram(definition.bpmnXml).then(() => paint());
  };
  window.addEventListener('baton-theme', onTheme);

  void load();

  return {
    unmount() {
      gone = true;
      live.cancel();
      unsubscribe();
      window.removeEventListener('baton-theme', onTheme);
      viewer?.destroy();
      viewer = null;
    },
  };
}
