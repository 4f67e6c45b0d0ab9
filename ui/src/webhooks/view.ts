/**
 * #/webhooks: incoming webhook configurations (./configs.ts, with the editor in ./editor.ts),
 * the request inspector with Replay (./inspector.ts) and incoming webhook applications
 * (./apps.ts), as three tabs. The address senders reach (shown in full URLs) is the page's own
 * origin in a browser; it can be changed (a proxy in front, or the desktop app's listener).
 */
import type { View, ViewContext } from '../app/view';
import { inTauri } from '../transport';
import { el } from '../runner/dom';
import { appsPanel } from './apps';
import { configsPanel } from './configs';
import { inspectorPanel } from './inspector';
import { readState, stateQuery, type WebhooksState } from './state';
import '../runner/runner.css';
import './webhooks.css';

const BASE_KEY = 'baton.webhooks.base';

/** The address the senders reach: remembered, else this page's origin (the desktop's default listener). */
function initialBase(): string {
  const stored = localStorage.getItem(BASE_KEY);
  if (stored) return stored;
  return inTauri ? 'http://127.0.0.1:7410' : window.location.origin;
}

export function mount(root: HTMLElement, _ctx: ViewContext): View {
  let state: WebhooksState = readState(window.location.hash);
  let base = initialBase();
  const baseListeners = new Set<() => void>();

  const remember = (patch: Partial<WebhooksState>) => {
    state = { ...state, ...patch };
    const q = stateQuery(state);
    const hash = q ? `#/webhooks?${q}` : '#/webhooks';
    // replaceState, not a hash change: the router would mount the view again.
    if (window.location.hash !== hash) history.replaceState(history.state, '', hash);
  };

  const shared = {
    base: () => base,
    onBase(listener: () => void) {
      baseListeners.add(listener);
    },
    /** Opens the inspector on one configuration's requests. */
    showRequests(configId: number | null) {
      inspector.filterBy(configId);
      select('requests');
    },
  };

  const configs = configsPanel(shared);
  const inspector = inspectorPanel(shared, state, (patch) => remember(patch));
  const apps = appsPanel(shared);

  const tabs = [
    { id: 'configs', label: 'Configurations', panel: configs },
    { id: 'requests', label: 'Requests', panel: inspector },
    { id: 'apps', label: 'Applications', panel: apps },
  ] as const;
  type TabId = (typeof tabs)[number]['id'];

  const tablist = el('div', { role: 'tablist', 'aria-label': 'Webhooks', className: 'wh-tabs' });
  const buttons = new Map<TabId, HTMLButtonElement>();
  const panels = el('div', { className: 'wh-panels' });
  for (const t of tabs) {
    const b = el('button', {
      type: 'button',
      role: 'tab',
      id: `wh-tab-${t.id}`,
      'aria-controls': `wh-panel-${t.id}`,
      'data-testid': `wh-tab-${t.id}`,
      onclick: () => select(t.id),
    }, t.label);
    b.addEventListener('keydown', (e) => {
      const i = tabs.findIndex((x) => x.id === t.id);
      let j = -1;
      if (e.key === 'ArrowRight') j = (i + 1) % tabs.length;
      else if (e.key === 'ArrowLeft') j = (i + tabs.length - 1) % tabs.length;
      else if (e.key === 'Home') j = 0;
      else if (e.key === 'End') j = tabs.length - 1;
      if (j < 0) return;
      e.preventDefault();
      select(tabs[j]!.id);
      buttons.get(tabs[j]!.id)!.focus();
    });
    buttons.set(t.id, b);
    tablist.append(b);
    const section = el('div', { role: 'tabpanel', id: `wh-panel-${t.id}`, 'aria-labelledby': `wh-tab-${t.id}`, className: 'wh-panel' }, t.panel.root);
    panels.append(section);
  }

  function select(id: TabId): void {
    for (const t of tabs) {
      const on = t.id === id;
      const b = buttons.get(t.id)!;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
      document.getElementById(`wh-panel-${t.id}`)!.hidden = !on;
      if (on) t.panel.shown();
    }
    remember({ tab: id });
  }

  const baseInput = el('input', {
    id: 'wh-base',
    type: 'url',
    value: base,
    autocomplete: 'off',
    spellcheck: false,
    'data-testid': 'wh-base',
    'aria-describedby': 'wh-base-hint',
  });
  baseInput.addEventListener('change', () => {
    const v = baseInput.value.trim().replace(/\/+$/, '');
    base = v || initialBase();
    if (v) localStorage.setItem(BASE_KEY, v);
    else localStorage.removeItem(BASE_KEY);
    baseInput.value = base;
    for (const l of baseListeners) l();
  });

  root.append(
    el(
      'div',
      { className: 'runner-page wh-page', 'data-testid': 'webhooks-view' },
      el(
        'div',
        { className: 'runner-head' },
        el('h1', {}, 'Webhooks'),
        el('span', { className: 'spacer' }),
        el(
          'div',
          { className: 'wh-base' },
          el('label', { for: 'wh-base' }, 'Senders reach Baton at'),
          baseInput,
          el('span', { id: 'wh-base-hint', className: 'sr-only' }, 'The start of every full webhook address shown on this page.'),
        ),
      ),
      tablist,
      panels,
    ),
  );
  // Every panel is in the page before the first one loads (their ids are looked up).
  select(state.tab as TabId);

  return {
    unmount() {
      for (const t of tabs) t.panel.unmount();
    },
  };
}
