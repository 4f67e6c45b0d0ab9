import { describe, expect, it, vi, beforeEach, afterEach } from 'vitest';
import { TabStore, TABS_KEY, loadPersisted, recentFiles, rememberRecent } from './tabs';

const tab = (name: string, xml = '<x/>') => ({ name, xml, forms: {}, dirty: false, path: null });

describe('tab store', () => {
  beforeEach(() => {
    localStorage.clear();
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('persists tabs after a quiet moment, not on every keystroke', () => {
    const store = new TabStore(localStorage, 400);
    const a = store.add(tab('a.bpmn'));
    store.update(a.id, { xml: '<changed/>', dirty: true });
    expect(localStorage.getItem(TABS_KEY)).toBeNull();
    vi.advanceTimersByTime(399);
    expect(localStorage.getItem(TABS_KEY)).toBeNull();
    vi.advanceTimersByTime(1);
    const saved = loadPersisted(localStorage)!;
    expect(saved.tabs).toHaveLength(1);
    expect(saved.tabs[0]).toMatchObject({ name: 'a.bpmn', xml: '<changed/>', dirty: true });
    expect(saved.active).toBe(a.id);
  });

  it('restores tabs, forms, dirty flags and the active tab after a reload', () => {
    const first = new TabStore(localStorage);
    first.add(tab('a.bpmn'));
    const b = first.add({ ...tab('b.bpmn'), forms: { f: { components: [] } }, dirty: true });
    first.flush();
    const second = new TabStore(localStorage);
    expect(second.restore()).toBe(true);
    expect(second.tabs.map((t) => t.name)).toEqual(['a.bpmn', 'b.bpmn']);
    expect(second.active).toBe(b.id);
    expect(second.activeTab()).toMatchObject({ dirty: true, forms: { f: { components: [] } } });
  });

  it('drops broken stored entries and ignores unreadable storage', () => {
    localStorage.setItem(TABS_KEY, '{not json');
    expect(new TabStore(localStorage).restore()).toBe(false);
    localStorage.setItem(TABS_KEY, JSON.stringify({ version: 1, active: 'gone', tabs: [{ id: 'x' }, { id: 'y', name: 'y.bpmn', xml: '<d/>' }] }));
    const p = loadPersisted(localStorage)!;
    expect(p.tabs.map((t) => t.id)).toEqual(['y']);
    expect(p.active).toBe('y');
    expect(p.tabs[0]).toMatchObject({ forms: {}, dirty: false, path: null });
    localStorage.setItem(TABS_KEY, JSON.stringify({ tabs: [] }));
    expect(loadPersisted(localStorage)).toBeNull();
  });

  it('closing the active tab activates its neighbour', () => {
    const store = new TabStore(localStorage);
    const a = store.add(tab('a.bpmn'));
    const b = store.add(tab('b.bpmn'));
    const c = store.add(tab('c.bpmn'));
    store.activate(b.id);
    store.remove(b.id);
    expect(store.active).toBe(c.id);
    store.remove(c.id);
    expect(store.active).toBe(a.id);
    store.remove(a.id);
    expect(store.active).toBeNull();
  });

  it('names new tabs uniquely', () => {
    const store = new TabStore(localStorage);
    store.add(tab('diagram.bpmn'));
    expect(store.uniqueName('diagram.bpmn')).toBe('diagram 2.bpmn');
    store.add(tab('diagram 2.bpmn'));
    expect(store.uniqueName('diagram.bpmn')).toBe('diagram 3.bpmn');
    expect(store.uniqueName('other.bpmn')).toBe('other.bpmn');
  });

  it('reports a full storage in words instead of throwing', () => {
    const full = {
      getItem: () => null,
      setItem: () => {
        throw new DOMException('quota exceeded', 'QuotaExceededError');
      },
    } as unknown as Storage;
    const store = new TabStore(full);
    store.add(tab('a.bpmn'));
    store.flush();
    expect(store.storageProblem).toMatch(/could not be kept.*quota exceeded/);
  });

  it('keeps recent files newest first without repeats', () => {
    rememberRecent({ name: 'a.bpmn', path: '/x/a.bpmn' });
    rememberRecent({ name: 'b.bpmn', path: null });
    rememberRecent({ name: 'a.bpmn', path: '/x/a.bpmn' });
    expect(recentFiles().map((r) => r.name)).toEqual(['a.bpmn', 'b.bpmn']);
    for (let i = 0; i < 20; i++) rememberRecent({ name: `f${i}.bpmn`, path: null });
    expect(recentFiles()).toHaveLength(8);
  });
});
