/**
 * The designer (#/designer): BPMN diagrams in tabs, each with its own bpmn-js Modeler (palette,
 * context pad, undo/redo, keyboard on the canvas, minimap), the properties panel with Baton's
 * groups, a Problems panel (bpmnlint + the engine's validation), files on disk, the template
 * gallery, the form editor, deploy and start, and SVG/PNG export.
 *
 * The view is kept alive across route changes; the open tabs are also kept in localStorage on
 * every change, so `#/designer` always shows the diagrams of last time (else a new one).
 */
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import 'diagram-js-minimap/assets/diagram-js-minimap.css';
import 'bpmn-js-bpmnlint/dist/assets/css/bpmn-js-bpmnlint.css';
import './designer.css';
import Modeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import minimapModule from 'diagram-js-minimap';
import lintModule from 'bpmn-js-bpmnlint';
import type { View, ViewContext } from '../app/view';
import { announce } from '../app/announce';
import { execute, TransportError } from '../transport';
import { batonDescriptor } from './properties/descriptor';
import { BatonPropertiesModule } from './properties/provider';
import { getFormKey } from './properties/baton-props';
import { fromEngineProblems, fromLintIssues, lintConfig, mergeProblems, type LintIssues, type Problem } from './lint';
import { ProblemsPanel } from './problems';
import { TabStore, recentFiles, rememberRecent, type TabData } from './tabs';
import { importErrorText, newDiagramXml, notBpmnReason } from './diagram';
import { baseName, exportData, launchFile, pickBpmnFile, readPath, saveText } from './files';
import { templates } from './gallery';
import { deploy, startPanel } from './deploy';
import { exportName, svgToPng } from './export';
import { ask, el, showDialog } from './dom';
import { inTauri } from '../transport';
import { keyboardPalette, keyboardWalk } from './keyboard';
import { simulationDock } from './simulation/dock';

/* eslint-disable @typescript-eslint/no-explicit-any */

interface Editor {
  tabId: string;
  canvasHost: HTMLElement;
  propsHost: HTMLElement;
  modeler: Modeler;
  lint: Problem[];
  engine: Problem[];
  deploy: Problem[];
  marked: string[];
  /** The command stack index at the last save (or open); another index means unsaved changes. */
  savedIndex: number;
  syncTimer: ReturnType<typeof setTimeout> | null;
  validateTimer: ReturnType<typeof setTimeout> | null;
  validatedXml: string | null;
  deployedXml: string | null;
  status: string;
  statusKind: 'ok' | 'error' | '';
  handle?: any;
  importProblem: string | null;
  /** Fit the diagram to the canvas the first time it is shown (a hidden canvas has no size). */
  needsFit: boolean;
}

/** Whether the server knows ValidateProcessDefinitionQuery (asked once per page). */
let engineChecks: 'unknown' | 'available' | 'missing' = 'unknown';

const VALIDATE_DELAY = 600;
const SYNC_DELAY = 300;

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

export function mount(root: HTMLElement, ctx: ViewContext): View {
  let context = ctx;
  const store = new TabStore(localStorage);
  const editors = new Map<string, Editor>();
  root.classList.add('designer');

  // --- the frame of the view -----------------------------------------------------------------

  const notice = el('div', { className: 'designer-notice', role: 'alert', 'data-testid': 'designer-notice', hidden: true });
  const noticeText = el('span', {});
  const noticeClose = el('button', { type: 'button', className: 'link-button', 'aria-label': 'Dismiss the message' }, 'Dismiss');
  notice.append(noticeText, noticeClose);
  noticeClose.addEventListener('click', () => showNotice(null));

  const fileInput = el('input', {
    type: 'file',
    accept: '.bpmn,.xml,application/xml,text/xml',
    className: 'sr-only',
    tabIndex: -1,
    'aria-hidden': 'true',
    'data-testid': 'open-file-input',
  });

  const button = (label: string, testid: string, onclick: () => void, extra: Record<string, unknown> = {}) =>
    el('button', { type: 'button', 'data-testid': testid, onclick, ...extra }, label);

  const newButton = button('New', 'new-diagram', () => newDiagram(), { title: 'New diagram' });
  const openButton = button('Open…', 'open-file', () => void openFile(), { title: 'Open a .bpmn file (Ctrl+O)' });
  const recentButton = button('Recent', 'recent-files', () => void toggleRecent(), {
    'aria-haspopup': 'true',
    'aria-expanded': 'false',
    'aria-controls': 'designer-recent',
  });
  const recentMenu = el('ul', { id: 'designer-recent', className: 'menu', hidden: true, 'aria-label': 'Recent files' });
  const undoButton = button('Undo', 'undo', () => active()?.modeler.get<any>('commandStack').undo(), { title: 'Undo (Ctrl+Z on the canvas)', disabled: true });
  const redoButton = button('Redo', 'redo', () => active()?.modeler.get<any>('commandStack').redo(), { title: 'Redo (Ctrl+Y on the canvas)', disabled: true });
  const saveButton = button('Save', 'save-file', () => void save(false), { title: 'Save the diagram (Ctrl+S)' });
  const saveAsButton = button('Save as…', 'save-file-as', () => void save(true));
  const templateButton = button('Templates', 'open-template', () => void openGallery(), { 'aria-haspopup': 'dialog' });
  const formsButton = button('Forms', 'edit-forms', () => void openForms(null), { 'aria-haspopup': 'dialog' });
  const svgButton = button('Export SVG', 'export-svg', () => void exportSvg());
  const pngButton = button('Export PNG', 'export-png', () => void exportPng());
  const deployButton = button('Deploy', 'deploy', () => void deployActive(), { className: 'primary' });
  const startButton = button('Start…', 'start', () => void openStart(), { 'aria-haspopup': 'dialog' });
  const deployStatus = el('p', { className: 'deploy-status', role: 'status', 'data-testid': 'deploy-status' });

  const simulation = simulationDock({
    main: () => main,
    properties: () => propsArea,
    hostFor: (id) => {
      const editor = editors.get(id);
      if (!editor || editor.importProblem) return null;
      return {
        modeler: editor.modeler,
        xml: () => syncXml(editor),
        tabName: () => store.get(id)?.name ?? 'diagram.bpmn',
        diagramKey: () => executableProcess(editor)?.id ?? store.get(id)?.name ?? id,
        path: () => store.get(id)?.path ?? null,
        forms: () => store.get(id)?.forms ?? {},
      };
    },
  });
  const toolbar = el(
    'div',
    { className: 'designer-toolbar', role: 'toolbar', 'aria-label': 'Diagram' },
    el('div', { className: 'group' }, newButton, openButton, el('div', { className: 'menu-anchor' }, recentButton, recentMenu), saveButton, saveAsButton),
    el('div', { className: 'group' }, undoButton, redoButton),
    el('div', { className: 'group' }, templateButton, formsButton),
    el('div', { className: 'group' }, svgButton, pngButton),
    deployStatus,
    el('div', { className: 'group' }, deployButton, startButton, simulation.button),
  );
  // Arrow keys move between the toolbar's buttons (one Tab stop would hide them from new users,
  // so every button stays in the Tab order as well).
  toolbar.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const buttons = Array.from(toolbar.querySelectorAll<HTMLButtonElement>('button:not([hidden]):not(:disabled)')).filter(
      (b) => !b.closest('[hidden]'),
    );
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (at < 0) return;
    e.preventDefault();
    buttons[(at + (e.key === 'ArrowRight' ? 1 : buttons.length - 1)) % buttons.length]!.focus();
  });

  const tabList = el('ul', { className: 'designer-tabs', 'aria-label': 'Open diagrams' });
  const canvasArea = el('div', { className: 'designer-canvas', 'data-testid': 'designer-canvas' });
  const zoom = el(
    'div',
    { className: 'zoom-controls', role: 'group', 'aria-label': 'Zoom' },
    el('button', { type: 'button', 'aria-label': 'Zoom in', title: 'Zoom in (Ctrl +)', onclick: () => zoomBy(1) }, '+'),
    el('button', { type: 'button', 'aria-label': 'Zoom out', title: 'Zoom out (Ctrl −)', onclick: () => zoomBy(-1) }, '−'),
    el('button', { type: 'button', 'aria-label': 'Fit the diagram', title: 'Fit the diagram', 'data-testid': 'zoom-fit', onclick: () => fit() }, 'Fit'),
  );
  const canvasWrap = el('div', { className: 'designer-canvas-wrap' }, canvasArea, zoom);
  const propsArea = el('aside', { className: 'designer-properties', 'aria-label': 'Properties', 'data-testid': 'properties-panel' });
  const problems = new ProblemsPanel(
    (p) => pickProblem(p),
    (id) => {
      const e = active();
      const element = e?.modeler.get<any>('elementRegistry').get(id);
      return element?.businessObject?.name ?? null;
    },
  );
  const main = el('div', { className: 'designer-main' }, canvasWrap, propsArea, simulation.area);
  root.append(toolbar, notice, el('nav', { className: 'designer-tabbar', 'aria-label': 'Diagrams' }, tabList), main, problems.root, fileInput);

  function showNotice(text: string | null, kind: 'error' | 'info' = 'error'): void {
    notice.hidden = text === null;
    notice.className = `designer-notice ${kind}`;
    noticeText.textContent = text ?? '';
  }

  function active(): Editor | undefined {
    return store.active ? editors.get(store.active) : undefined;
  }

  // --- tabs ------------------------------------------------------------------------------------

  function renderTabs(): void {
    // Re-rendering must not drop the keyboard focus from a tab or its close button.
    const focused = document.activeElement as HTMLElement | null;
    const refocus = focused && tabList.contains(focused)
      ? { id: focused.closest('li')?.dataset.tabId, close: focused.classList.contains('tab-close') }
      : null;
    tabList.replaceChildren();
    store.tabs.forEach((tab, i) => {
      const isActive = tab.id === store.active;
      const label = el('button', {
        type: 'button',
        className: 'tab-button',
        'data-testid': `tab-${i + 1}`,
        'aria-current': isActive ? 'true' : undefined,
        title: tab.path ?? tab.name,
        onclick: () => activate(tab.id),
      }, tab.name, tab.dirty ? el('span', { className: 'dirty', title: 'Unsaved changes' }, ' •', el('span', { className: 'sr-only' }, ' (unsaved changes)')) : null);
      const close = el('button', {
        type: 'button',
        className: 'tab-close',
        'aria-label': `Close ${tab.name}`,
        title: `Close ${tab.name}`,
        'data-testid': `tab-close-${i + 1}`,
        onclick: () => void closeTab(tab.id),
      }, '×');
      tabList.append(el('li', { className: isActive ? 'tab active' : 'tab', 'data-testid': isActive ? 'tab-active' : undefined, 'data-tab-id': tab.id }, label, close));
      if (refocus && refocus.id === tab.id) (refocus.close ? close : label).focus();
    });
    if (refocus && !store.get(refocus.id ?? '')) tabList.querySelector<HTMLButtonElement>('li.active .tab-button')?.focus();
  }
  store.onChange(renderTabs);
  store.onStored = (problem) => {
    if (problem) showNotice(`${problem}. Save your diagrams to files to keep them.`);
  };

  async function activate(id: string): Promise<void> {
    const tab = store.get(id);
    if (!tab) return;
    store.activate(id);
    let editor = editors.get(id);
    if (!editor) {
      editor = createEditor(id);
      try {
        await importInto(editor, tab.xml, true);
        // Restored with changes never saved to a file: no undo makes it "saved".
        if (tab.dirty) editor.savedIndex = Number.NaN;
      } catch (e) {
        // A stored diagram that no longer opens: keep its XML (Save still writes it) and say why.
        editor.importProblem = importErrorText(tab.name, e);
      }
    }
    if (store.active !== id) return; // another tab was chosen meanwhile
    for (const [otherId, other] of editors) {
      const on = otherId === id;
      other.canvasHost.classList.toggle('inactive', !on);
      other.canvasHost.inert = !on;
      other.propsHost.hidden = !on;
    }
    simulation.activate(id);
    editor.modeler.get<any>('canvas').resized();
    fitOnce(editor);
    if (editor.importProblem) showNotice(editor.importProblem);
    renderProblems();
    renderStatus();
    renderUndo();
    renderTabs();
  }

  function createEditor(tabId: string): Editor {
    // Inactive canvases keep their size (a canvas without one cannot lay out) but are invisible
    // and inert.
    const canvasHost = el('div', { className: 'designer-modeler bio-theme-parent inactive', inert: true });
    const propsHost = el('div', { className: 'designer-props-host bio-theme-parent', hidden: true });
    canvasArea.append(canvasHost);
    propsArea.append(propsHost);
    const modeler = new Modeler({
      container: canvasHost,
      additionalModules: [
        BpmnPropertiesPanelModule,
        BpmnPropertiesProviderModule,
        BatonPropertiesModule,
        minimapModule,
        lintModule,
      ],
      moddleExtensions: { custom: batonDescriptor },
      propertiesPanel: { parent: propsHost },
      linting: { bpmnlint: lintConfig(), active: true },
      minimap: { open: false },
    } as any);
    const editor: Editor = {
      tabId,
      canvasHost,
      propsHost,
      modeler,
      lint: [],
      engine: [],
      deploy: [],
      marked: [],
      savedIndex: -1,
      syncTimer: null,
      validateTimer: null,
      validatedXml: null,
      deployedXml: null,
      status: '',
      statusKind: '',
      importProblem: null,
      needsFit: true,
    };
    editors.set(tabId, editor);
    const eventBus = modeler.get<any>('eventBus');
    eventBus.on('commandStack.changed', (e: { trigger?: string }) => {
      if (active() === editor) renderUndo();
      if (e.trigger === 'clear') return;
      const index = modeler.get<any>('commandStack')._stackIdx as number;
      store.update(tabId, { dirty: index !== editor.savedIndex });
      if (editor.deploy.length) {
        editor.deploy = [];
        if (active() === editor) renderProblems();
      }
      scheduleSync(editor);
      scheduleValidate(editor);
    });
    eventBus.on('linting.completed', (e: { issues: LintIssues }) => {
      editor.lint = fromLintIssues(e.issues);
      if (active() === editor) renderProblems();
    });
    eventBus.on('baton.editForm', (e: { formKey: string }) => void openForms(e.formKey));
    // Labels for the canvas and the palette, for screen readers.
    const svg = canvasHost.querySelector('svg');
    svg?.setAttribute('role', 'application');
    svg?.setAttribute(
      'aria-label',
      'BPMN diagram. Alt+arrow keys select along the flow, Enter on a palette entry adds after the selection, Delete removes, Ctrl+Z undoes.',
    );
    const paletteEl = canvasHost.querySelector('.djs-palette');
    paletteEl?.setAttribute('role', 'group');
    paletteEl?.setAttribute('aria-label', 'Palette');
    keyboardPalette(modeler, canvasHost);
    keyboardWalk(modeler);
    return editor;
  }

  /** Imports XML into an editor; throws the import error (the editor keeps what it showed). */
  async function importInto(editor: Editor, xml: string, fitView: boolean): Promise<string[]> {
    const result = await editor.modeler.importXML(xml);
    if (fitView) {
      editor.needsFit = true;
      fitOnce(editor);
    }
    editor.savedIndex = editor.modeler.get<any>('commandStack')._stackIdx;
    editor.importProblem = null;
    scheduleValidate(editor, 50);
    return (result.warnings ?? []).map((w: any) => w.message as string);
  }

  function fitOnce(editor: Editor): void {
    if (!editor.needsFit || editor.canvasHost.clientWidth === 0) return;
    editor.needsFit = false;
    fitToCanvas(editor);
  }

  /** Fits the diagram in the canvas beside the palette, never larger than 100 %. */
  function fitToCanvas(editor: Editor): void {
    const canvas = editor.modeler.get<any>('canvas');
    canvas.resized();
    const size = canvas.getSize() as { width: number; height: number };
    const inner = canvas.viewbox().inner as { x: number; y: number; width: number; height: number };
    if (!size.width || !size.height) return;
    const pad = { left: 150, right: 40, top: 40, bottom: 70 };
    const w = Math.max(1, inner.width);
    const h = Math.max(1, inner.height);
    const zoom = Math.max(0.05, Math.min(1, (size.width - pad.left - pad.right) / w, (size.height - pad.top - pad.bottom) / h));
    const roomW = (size.width - pad.left - pad.right) / zoom;
    const roomH = (size.height - pad.top - pad.bottom) / zoom;
    canvas.viewbox({
      x: inner.x - pad.left / zoom - (roomW - w) / 2,
      y: inner.y - pad.top / zoom - Math.min((roomH - h) / 2, 60 / zoom),
      width: size.width / zoom,
      height: size.height / zoom,
    });
  }

  function destroyEditor(editor: Editor): void {
    if (editor.syncTimer) clearTimeout(editor.syncTimer);
    if (editor.validateTimer) clearTimeout(editor.validateTimer);
    simulation.dispose(editor.tabId);
    editor.modeler.destroy();
    editor.canvasHost.remove();
    editor.propsHost.remove();
    editors.delete(editor.tabId);
  }

  function scheduleSync(editor: Editor): void {
    if (editor.syncTimer) clearTimeout(editor.syncTimer);
    editor.syncTimer = setTimeout(() => void syncXml(editor), SYNC_DELAY);
  }

  async function syncXml(editor: Editor): Promise<string> {
    if (editor.syncTimer) clearTimeout(editor.syncTimer);
    editor.syncTimer = null;
    // A diagram that did not import keeps the text it was stored with.
    if (editor.importProblem) return store.get(editor.tabId)?.xml ?? '';
    const { xml } = await editor.modeler.saveXML({ format: true });
    if (xml && store.get(editor.tabId)) store.update(editor.tabId, { xml });
    return xml ?? '';
  }

  /** Writes every editor's XML into the store and the store into localStorage, now. */
  function flushAll(): void {
    for (const editor of editors.values()) {
      if (editor.syncTimer) void syncXml(editor).then(() => store.flush());
    }
    store.flush();
  }

  function addTab(tab: Omit<TabData, 'id'>, editorId?: string): TabData {
    const t = store.add({ ...tab, id: editorId });
    return t;
  }

  function newDiagram(): void {
    const t = addTab({ name: store.uniqueName('diagram.bpmn'), xml: newDiagramXml(), forms: {}, dirty: false, path: null });
    void activate(t.id);
    announce(`New diagram ${t.name}`);
  }

  /** Opens text as a new tab; the open diagram stays as it was when the text is not BPMN. */
  async function openText(name: string, text: string, path: string | null, handle?: unknown, forms: Record<string, unknown> = {}): Promise<boolean> {
    performance.mark('designer-open-start');
    const reason = notBpmnReason(text, name);
    if (reason) {
      showNotice(reason);
      announce(reason);
      return false;
    }
    const id = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const editor = createEditor(id);
    let warnings: string[];
    try {
      warnings = await importInto(editor, text, true);
    } catch (e) {
      destroyEditor(editor);
      const message = importErrorText(name, e);
      showNotice(message);
      announce(message);
      return false;
    }
    editor.handle = handle;
    addTab({ name: store.uniqueName(name), xml: text, forms, dirty: false, path }, id);
    await activate(id);
    // For the benchmarks: from a file given to the time its drawing reaches the screen.
    requestAnimationFrame(() => {
      performance.mark('designer-open-rendered');
      performance.measure('designer-open', 'designer-open-start', 'designer-open-rendered');
    });
    if (warnings.length) {
      showNotice(`${name} opened with ${warnings.length} warning${warnings.length === 1 ? '' : 's'}: ${warnings[0]}`, 'info');
    } else showNotice(null);
    return true;
  }

  async function openFile(): Promise<void> {
    try {
      const file = await pickBpmnFile(fileInput);
      if (!file) return;
      if (await openText(file.name, file.text, file.path, file.handle)) rememberRecent({ name: file.name, path: file.path });
    } catch (e) {
      showNotice(`The file could not be opened: ${errorText(e)}`);
    }
  }

  fileInput.addEventListener('change', async () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    const text = await file.text();
    if (await openText(file.name, text, null)) rememberRecent({ name: file.name, path: null });
    fileInput.value = '';
  });

  // Files dropped on the canvas open like Open… does.
  canvasWrap.addEventListener('dragover', (e) => {
    if (e.dataTransfer?.types.includes('Files')) e.preventDefault();
  });
  canvasWrap.addEventListener('drop', async (e) => {
    const file = e.dataTransfer?.files?.[0];
    if (!file) return;
    e.preventDefault();
    if (await openText(file.name, await file.text(), null)) rememberRecent({ name: file.name, path: null });
  });

  function renderRecent(): void {
    const list = recentFiles();
    recentMenu.replaceChildren();
    if (list.length === 0) {
      recentMenu.append(el('li', { className: 'menu-empty' }, 'No recent files yet.'));
      return;
    }
    for (const r of list) {
      recentMenu.append(
        el('li', {}, el('button', {
          type: 'button',
          className: 'menu-item',
          title: r.path ?? `${r.name} (open it again with Open…)`,
          onclick: () => {
            closeRecent();
            void openRecent(r.name, r.path);
          },
        }, r.name)),
      );
    }
  }

  function closeRecent(): void {
    recentMenu.hidden = true;
    recentButton.setAttribute('aria-expanded', 'false');
  }

  function toggleRecent(): void {
    if (!recentMenu.hidden) return closeRecent();
    renderRecent();
    recentMenu.hidden = false;
    recentButton.setAttribute('aria-expanded', 'true');
    recentMenu.querySelector<HTMLButtonElement>('button')?.focus();
  }
  recentMenu.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      closeRecent();
      recentButton.focus();
    }
  });
  recentMenu.addEventListener('focusout', (e) => {
    if (!recentMenu.contains(e.relatedTarget as Node) && e.relatedTarget !== recentButton) closeRecent();
  });

  async function openRecent(name: string, path: string | null): Promise<void> {
    const open = store.tabs.find((t) => (path ? t.path === path : t.name === name));
    if (open) return activate(open.id);
    if (path && inTauri) {
      try {
        const file = await readPath(path);
        if (await openText(file.name, file.text, file.path)) rememberRecent({ name: file.name, path: file.path });
      } catch (e) {
        showNotice(`${name} could not be opened from ${path}: ${errorText(e)}`);
      }
      return;
    }
    // A browser cannot reopen a file by name: ask for it.
    await openFile();
  }

  async function save(saveAs: boolean): Promise<boolean> {
    const editor = active();
    const tab = store.activeTab();
    if (!editor || !tab) return false;
    const xml = await syncXml(editor);
    try {
      const saved = await saveText(xml, tab.name, { path: tab.path, handle: editor.handle }, saveAs);
      if (!saved) return false;
      editor.handle = saved.handle ?? editor.handle;
      editor.savedIndex = editor.modeler.get<any>('commandStack')._stackIdx;
      store.update(tab.id, { name: saved.name, path: saved.path, dirty: false });
      rememberRecent({ name: saved.name, path: saved.path });
      showNotice(`Saved ${saved.name}.`, 'info');
      return true;
    } catch (e) {
      showNotice(`${tab.name} was not saved: ${errorText(e)}`);
      return false;
    }
  }

  async function closeTab(id: string): Promise<void> {
    const tab = store.get(id);
    if (!tab) return;
    if (tab.dirty) {
      const choice = await ask('Unsaved changes', `${tab.name} has changes that are not saved to a file. Save them before closing?`, [
        { value: 'cancel', label: 'Cancel', testid: 'close-cancel' },
        { value: 'discard', label: 'Close without saving', testid: 'close-discard' },
        { value: 'save', label: 'Save…', primary: true, testid: 'close-save' },
      ]);
      if (choice === 'save') {
        await activate(id);
        if (!(await save(false))) return;
      } else if (choice !== 'discard') return;
    }
    const editor = editors.get(id);
    if (editor) destroyEditor(editor);
    store.remove(id);
    if (store.tabs.length === 0) newDiagram();
    else if (store.active) await activate(store.active);
  }

  // --- problems --------------------------------------------------------------------------------

  function renderProblems(): void {
    const editor = active();
    if (!editor) return problems.render([]);
    const list = mergeProblems(editor.deploy, editor.engine, editor.lint);
    problems.render(list);
    if (engineChecks === 'missing') problems.setNote("This server does not offer the engine's checks yet; bpmnlint's are shown.");
    else problems.setNote(null);
    applyMarkers(editor, list);
  }

  function applyMarkers(editor: Editor, list: Problem[]): void {
    const canvas = editor.modeler.get<any>('canvas');
    const registry = editor.modeler.get<any>('elementRegistry');
    for (const id of editor.marked) if (registry.get(id)) canvas.removeMarker(id, 'baton-problem');
    editor.marked = [];
    for (const p of list) {
      if (p.source !== 'baton' || p.severity !== 'error' || !p.elementId) continue;
      if (!registry.get(p.elementId) || editor.marked.includes(p.elementId)) continue;
      canvas.addMarker(p.elementId, 'baton-problem');
      editor.marked.push(p.elementId);
    }
  }

  function pickProblem(p: Problem): void {
    const editor = active();
    if (!editor || !p.elementId) return;
    const element = editor.modeler.get<any>('elementRegistry').get(p.elementId);
    if (!element) {
      showNotice(`${p.elementId} is not drawn on the canvas.`, 'info');
      return;
    }
    const canvas = editor.modeler.get<any>('canvas');
    editor.modeler.get<any>('selection').select(element);
    if (element.waypoints || element.x !== undefined) canvas.scrollToElement(element);
    canvas.focus?.();
  }

  function scheduleValidate(editor: Editor, delay = VALIDATE_DELAY): void {
    if (editor.validateTimer) clearTimeout(editor.validateTimer);
    editor.validateTimer = setTimeout(() => void validate(editor), delay);
  }

  async function validate(editor: Editor): Promise<void> {
    editor.validateTimer = null;
    if (engineChecks === 'missing') return;
    // Formatted as Save writes it, so the lines of a problem are the lines of the saved file.
    const { xml } = await editor.modeler.saveXML({ format: true });
    if (!xml || xml === editor.validatedXml) return;
    try {
      const answer = await execute<{ problems: unknown[] }>('ValidateProcessDefinitionQuery', { bpmnXml: xml });
      if (!editors.has(editor.tabId)) return;
      if (answer.ok) {
        engineChecks = 'available';
        editor.validatedXml = xml;
        editor.engine = fromEngineProblems(answer.data?.problems);
      } else if (answer.errors.some((e) => e.field === 'cmd')) {
        engineChecks = 'missing';
        editor.engine = [];
      } else {
        // The query refused the XML itself (e.g. not parseable): that is a problem too.
        editor.validatedXml = xml;
        const data = (answer.data ?? {}) as { problems?: unknown };
        editor.engine = fromEngineProblems(data.problems);
        if (editor.engine.length === 0) {
          editor.engine = answer.errors.map((e) => ({ source: 'baton' as const, severity: 'error' as const, elementId: null, message: e.message }));
        }
      }
    } catch (e) {
      if (e instanceof TransportError) problems.setNote(`The engine's checks are paused: ${e.message}`);
      return;
    }
    if (active() === editor) renderProblems();
  }

  // --- deploy and start ------------------------------------------------------------------------

  function renderUndo(): void {
    const stack = active()?.modeler.get<any>('commandStack');
    undoButton.disabled = !stack?.canUndo();
    redoButton.disabled = !stack?.canRedo();
  }

  function renderStatus(): void {
    const editor = active();
    deployStatus.textContent = editor?.status ?? '';
    deployStatus.title = editor?.status ?? '';
    deployStatus.className = `deploy-status ${editor?.statusKind ?? ''}`;
  }

  function executableProcess(editor: Editor): { id: string; name?: string } | null {
    const defs = editor.modeler.getDefinitions() as any;
    const processes: any[] = [];
    for (const r of defs?.rootElements ?? []) {
      if (r.$instanceOf('bpmn:Process')) processes.push(r);
    }
    const exec = processes.find((p) => p.isExecutable) ?? processes[0];
    return exec ? { id: exec.id, name: exec.name } : null;
  }

  async function deployActive(): Promise<void> {
    const editor = active();
    const tab = store.activeTab();
    if (!editor || !tab) return;
    deployButton.disabled = true;
    editor.status = 'Deploying…';
    editor.statusKind = '';
    renderStatus();
    try {
      const xml = await syncXml(editor);
      const process = executableProcess(editor);
      const name = process?.name || tab.name.replace(/\.(bpmn|xml)$/i, '');
      const outcome = await deploy(xml, name, tab.forms);
      editor.status = outcome.status;
      editor.statusKind = outcome.ok ? 'ok' : 'error';
      editor.deploy = outcome.problems;
      if (outcome.ok) editor.deployedXml = xml;
      else problems.setOpen(true);
      announce(outcome.status);
    } finally {
      deployButton.disabled = false;
      if (active() === editor) {
        renderStatus();
        renderProblems();
      }
    }
  }

  async function openStart(): Promise<void> {
    const editor = active();
    if (!editor || editor.importProblem) return;
    const process = executableProcess(editor);
    if (!process) {
      editor.status = 'This diagram has no process to start.';
      editor.statusKind = 'error';
      return renderStatus();
    }
    const { xml } = await editor.modeler.saveXML({ format: true });
    const hint =
      editor.deployedXml === null
        ? `Starts the newest deployed version of ${process.id}. Deploy first if this diagram is new or changed.`
        : editor.deployedXml !== xml
          ? `The diagram changed since its deploy; the newest deployed version of ${process.id} starts. Deploy again to start the changes.`
          : null;
    const dialog = startPanel({
      processKey: process.id,
      hint,
      onStarted: (guid) => {
        announce(`Started an instance of ${process.id}`);
        context.navigate(`#/instances/${encodeURIComponent(guid)}`);
      },
    });
    const textarea = dialog.querySelector<HTMLTextAreaElement>('textarea');
    await showDialog(dialog, textarea);
    dialog.remove();
  }

  // --- gallery and forms -----------------------------------------------------------------------

  async function openGallery(): Promise<void> {
    const titleId = 'gallery-title';
    const list = el('ul', { className: 'gallery-list', 'aria-labelledby': titleId });
    const status = el('p', { className: 'field-error', role: 'alert' });
    const dialog = el(
      'dialog',
      { className: 'gallery-dialog', 'aria-labelledby': titleId, 'data-testid': 'template-gallery' },
      el(
        'form',
        { method: 'dialog' },
        el('h2', { id: titleId }, 'Templates'),
        el('p', { className: 'help' }, 'Each template opens in a new tab with its forms.'),
        list,
        status,
        el('div', { className: 'dialog-actions' }, el('button', { value: 'cancel', 'data-testid': 'gallery-close' }, 'Close')),
      ),
    );
    for (const t of templates()) {
      list.append(
        el('li', {}, el('button', {
          type: 'button',
          className: 'template-item',
          'data-testid': `template-${t.id}`,
          onclick: async () => {
            try {
              const { xml, forms } = await t.load();
              dialog.close('opened');
              await openText(t.fileName, xml, null, undefined, forms);
            } catch (e) {
              status.textContent = `${t.fileName} could not be loaded: ${errorText(e)}`;
            }
          },
        }, el('span', { className: 'template-title' }, t.title), el('span', { className: 'template-file' }, t.fileName))),
      );
    }
    await showDialog(dialog, list.querySelector('button'));
    dialog.remove();
  }

  async function openForms(first: string | null): Promise<void> {
    const editor = active();
    const tab = store.activeTab();
    if (!editor || !tab) return;
    const keys = new Set<string>();
    for (const element of editor.modeler.get<any>('elementRegistry').getAll()) {
      const key = getFormKey(element.businessObject);
      if (key) keys.add(key);
    }
    if (keys.size === 0 && Object.keys(tab.forms).length === 0) {
      showNotice('No element names a form yet: set "Form key" in the Baton group of a task first.', 'info');
      return;
    }
    try {
      const { editForms } = await import('./forms');
      const forms = await editForms(Array.from(keys), tab.forms, first);
      if (JSON.stringify(forms) !== JSON.stringify(tab.forms)) store.update(tab.id, { forms, dirty: true });
    } catch (e) {
      showNotice(`The form editor failed: ${errorText(e)}`);
    }
  }

  // --- export ----------------------------------------------------------------------------------

  async function exportSvg(): Promise<void> {
    const editor = active();
    const tab = store.activeTab();
    if (!editor || !tab) return;
    try {
      const { svg } = await editor.modeler.saveSVG();
      const name = exportName(tab.name, 'svg');
      const saved = await exportData(new Blob([svg], { type: 'image/svg+xml' }), name, { name: 'SVG image', extensions: ['svg'] });
      if (saved) showNotice(`Exported ${saved.name}.`, 'info');
    } catch (e) {
      showNotice(`The SVG export failed: ${errorText(e)}`);
    }
  }

  async function exportPng(): Promise<void> {
    const editor = active();
    const tab = store.activeTab();
    if (!editor || !tab) return;
    try {
      const { svg } = await editor.modeler.saveSVG();
      const png = await svgToPng(svg);
      const name = exportName(tab.name, 'png');
      const saved = await exportData(png, name, { name: 'PNG image', extensions: ['png'] });
      if (saved) showNotice(`Exported ${saved.name}.`, 'info');
    } catch (e) {
      showNotice(`The PNG export failed: ${errorText(e)}`);
    }
  }

  // --- zoom, keys, theme, leaving --------------------------------------------------------------

  function zoomBy(step: number): void {
    const canvas = active()?.modeler.get<any>('canvas');
    if (!canvas) return;
    canvas.zoom(Math.min(4, Math.max(0.2, canvas.zoom() * (step > 0 ? 1.2 : 1 / 1.2))));
  }

  function fit(): void {
    const editor = active();
    if (editor) fitToCanvas(editor);
  }

  root.addEventListener('keydown', (e) => {
    if (!(e.ctrlKey || e.metaKey) || e.altKey) return;
    const key = e.key.toLowerCase();
    if (key === 's') {
      e.preventDefault();
      void save(e.shiftKey);
    } else if (key === 'o') {
      e.preventDefault();
      void openFile();
    }
  });

  const onTheme = (e: Event) => {
    root.dataset.theme = String((e as CustomEvent).detail ?? '');
  };
  window.addEventListener('baton-theme', onTheme);

  const onBeforeUnload = (e: BeforeUnloadEvent) => {
    flushAll();
    if (store.tabs.some((t) => t.dirty)) {
      e.preventDefault();
      e.returnValue = '';
    }
  };
  const onPageHide = () => flushAll();
  if (!inTauri) window.addEventListener('beforeunload', onBeforeUnload);
  window.addEventListener('pagehide', onPageHide);

  // --- start: the tabs of last time, else a new diagram ----------------------------------------

  if (store.restore()) {
    renderTabs();
    void activate(store.active!);
  } else {
    newDiagram();
  }
  // The diagram given on the desktop app's command line ("Open with"): opened once, in a tab of
  // its own (or the tab that already shows it).
  if (inTauri) {
    launchFile().then(
      (path) => (path ? openRecent(baseName(path), path) : undefined),
      (e) => showNotice(`The diagram given to Baton could not be opened: ${errorText(e)}`),
    );
  }

  return {
    shown(next: ViewContext) {
      context = next;
      const editor = active();
      editor?.modeler.get<any>('canvas').resized();
      if (editor) fitOnce(editor);
    },
    unmount() {
      flushAll();
      window.removeEventListener('baton-theme', onTheme);
      window.removeEventListener('beforeunload', onBeforeUnload);
      window.removeEventListener('pagehide', onPageHide);
      for (const editor of Array.from(editors.values())) destroyEditor(editor);
    },
  };
}
