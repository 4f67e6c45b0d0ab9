/**
 * The open diagrams: name, XML, forms, dirty flag and where they live on disk. The store
 * writes itself to localStorage (debounced) on every change, so a reload or a trip to another
 * view never loses a drawing.
 */

export type Forms = Record<string, unknown>;

export interface TabData {
  id: string;
  /** File name shown on the tab, e.g. `PaymentApprovalProcess.bpmn`. */
  name: string;
  xml: string;
  /** `{formKey: formJson}` deployed with the diagram. */
  forms: Forms;
  dirty: boolean;
  /** Path on disk (desktop app); null when never saved or opened in a browser. */
  path: string | null;
}

export interface Persisted {
  version: 1;
  active: string | null;
  tabs: TabData[];
}

export const TABS_KEY = 'baton.designer.tabs';

function isTab(t: unknown): t is TabData {
  if (!t || typeof t !== 'object') return false;
  const o = t as Record<string, unknown>;
  return typeof o.id === 'string' && typeof o.name === 'string' && typeof o.xml === 'string' && o.xml.length > 0;
}

/** Reads what was saved; broken entries are dropped, a broken whole is null. */
export function loadPersisted(storage: Storage): Persisted | null {
  let raw: string | null;
  try {
    raw = storage.getItem(TABS_KEY);
  } catch {
    return null;
  }
  if (!raw) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object') return null;
  const p = parsed as Record<string, unknown>;
  const tabs = (Array.isArray(p.tabs) ? p.tabs : []).filter(isTab).map((t) => ({
    id: t.id,
    name: t.name,
    xml: t.xml,
    forms: t.forms && typeof t.forms === 'object' && !Array.isArray(t.forms) ? t.forms : {},
    dirty: t.dirty === true,
    path: typeof t.path === 'string' ? t.path : null,
  }));
  if (tabs.length === 0) return null;
  const active = typeof p.active === 'string' && tabs.some((t) => t.id === p.active) ? p.active : tabs[0]!.id;
  return { version: 1, active, tabs };
}

/** Writes the tabs; answers a sentence when the storage refused (full), else null. */
export function savePersisted(storage: Storage, state: Persisted): string | null {
  try {
    storage.setItem(TABS_KEY, JSON.stringify(state));
    return null;
  } catch (e) {
    return `The open diagrams could not be kept in the browser's storage: ${(e as Error).message}`;
  }
}

let counter = 0;
export function newTabId(): string {
  counter++;
  return `t${Date.now().toString(36)}${counter.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

export class TabStore {
  tabs: TabData[] = [];
  active: string | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private listeners = new Set<() => void>();
  /** Last storage failure, shown by the view. */
  storageProblem: string | null = null;
  /** Called after each write with the failure in words, or null when it worked. */
  onStored: ((problem: string | null) => void) | null = null;

  constructor(
    private storage: Storage,
    private delay = 400,
  ) {}

  /** Restores the last session; answers whether anything was restored. */
  restore(): boolean {
    const p = loadPersisted(this.storage);
    if (!p) return false;
    this.tabs = p.tabs;
    this.active = p.active;
    return true;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(id: string | null): TabData | undefined {
    return this.tabs.find((t) => t.id === id);
  }

  activeTab(): TabData | undefined {
    return this.get(this.active);
  }

  add(tab: Omit<TabData, 'id'> & { id?: string }, activate = true): TabData {
    const full: TabData = { ...tab, id: tab.id ?? newTabId() };
    this.tabs.push(full);
    if (activate) this.active = full.id;
    this.changed();
    return full;
  }

  update(id: string, patch: Partial<Omit<TabData, 'id'>>): void {
    const tab = this.get(id);
    if (!tab) return;
    Object.assign(tab, patch);
    this.changed();
  }

  remove(id: string): void {
    const at = this.tabs.findIndex((t) => t.id === id);
    if (at < 0) return;
    this.tabs.splice(at, 1);
    if (this.active === id) this.active = this.tabs[Math.min(at, this.tabs.length - 1)]?.id ?? null;
    this.changed();
  }

  activate(id: string): void {
    if (this.active === id || !this.get(id)) return;
    this.active = id;
    this.changed();
  }

  /** A name not used by another tab: `diagram.bpmn`, `diagram 2.bpmn`, … */
  uniqueName(base: string): string {
    const names = new Set(this.tabs.map((t) => t.name));
    if (!names.has(base)) return base;
    const dot = base.lastIndexOf('.');
    const stem = dot > 0 ? base.slice(0, dot) : base;
    const ext = dot > 0 ? base.slice(dot) : '';
    for (let i = 2; ; i++) {
      const candidate = `${stem} ${i}${ext}`;
      if (!names.has(candidate)) return candidate;
    }
  }

  private changed(): void {
    for (const l of this.listeners) l();
    this.schedule();
  }

  /** Persists after `delay` ms of quiet. */
  schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), this.delay);
  }

  /** Persists now (used on page hide and before unload). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const before = this.storageProblem;
    this.storageProblem = savePersisted(this.storage, { version: 1, active: this.active, tabs: this.tabs });
    if (this.storageProblem !== before) this.onStored?.(this.storageProblem);
  }
}

// --- recent files ----------------------------------------------------------------------------

const RECENT_KEY = 'baton.designer.recent';
const RECENT_MAX = 8;

export interface RecentFile {
  name: string;
  /** Desktop path; in a browser only the name is known. */
  path: string | null;
  at: string;
}

export function recentFiles(storage: Storage = localStorage): RecentFile[] {
  try {
    const list = JSON.parse(storage.getItem(RECENT_KEY) ?? '[]') as RecentFile[];
    return Array.isArray(list) ? list.filter((r) => r && typeof r.name === 'string') : [];
  } catch {
    return [];
  }
}

export function rememberRecent(file: { name: string; path: string | null }, storage: Storage = localStorage): RecentFile[] {
  const list = recentFiles(storage).filter(
    (r) => !(file.path ? r.path === file.path : r.path === null && r.name === file.name),
  );
  list.unshift({ name: file.name, path: file.path, at: new Date().toISOString() });
  const trimmed = list.slice(0, RECENT_MAX);
  try {
    storage.setItem(RECENT_KEY, JSON.stringify(trimmed));
  } catch {
    /* recent files are a convenience */
  }
  return trimmed;
}
