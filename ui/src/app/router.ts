/**
 * Hash routes, one per view (DESIGN.md §8). The designer is kept alive when the user goes
 * elsewhere, so open tabs and unsaved diagrams are never lost by navigating.
 */
import type { View, ViewContext, ViewModule } from './view';

export interface Route {
  /** `#/instances/:guid` style: segments starting with `:` are parameters. */
  pattern: string;
  title: string;
  load: () => Promise<ViewModule>;
  keepAlive?: boolean;
}

export const routes: Route[] = [
  { pattern: '#/designer', title: 'Designer', load: () => import('../designer/view'), keepAlive: true },
  { pattern: '#/instances', title: 'Instances', load: () => import('../runner/instances') },
  { pattern: '#/instances/:guid', title: 'Instance', load: () => import('../runner/instance') },
  { pattern: '#/tasks', title: 'Tasks', load: () => import('../runner/tasks') },
  { pattern: '#/jobs', title: 'Jobs', load: () => import('../jobs/view') },
  { pattern: '#/callbacks', title: 'Callbacks', load: () => import('../callbacks/view') },
  { pattern: '#/webhooks', title: 'Webhooks', load: () => import('../webhooks/view') },
  { pattern: '#/deliveries', title: 'Deliveries', load: () => import('../deliveries/view') },
];

export const DEFAULT_ROUTE = '#/designer';

export function match(hash: string): { route: Route; params: Record<string, string> } | null {
  const path = hash.split('?')[0] ?? '';
  const parts = path.split('/');
  for (const route of routes) {
    const want = route.pattern.split('/');
    if (want.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    want.forEach((w, i) => {
      const got = parts[i] ?? '';
      if (w.startsWith(':')) {
        if (!got) ok = false;
        else params[w.slice(1)] = decodeURIComponent(got);
      } else if (w !== got) ok = false;
    });
    if (ok) return { route, params };
  }
  return null;
}

interface Mounted {
  route: Route;
  root: HTMLElement;
  view: View;
}

/** Mounts the view of the current hash into `outlet`; returns a function that stops routing. */
export function startRouter(outlet: HTMLElement, onRoute: (route: Route) => void): () => void {
  let current: Mounted | null = null;
  const alive = new Map<Route, Mounted>();
  let generation = 0;

  const navigate = (hash: string) => {
    if (window.location.hash === hash) void render();
    else window.location.hash = hash;
  };

  async function render(): Promise<void> {
    const found = match(window.location.hash);
    if (!found) {
      history.replaceState(history.state, '', DEFAULT_ROUTE);
      return render();
    }
    const mine = ++generation;
    const { route, params } = found;
    const ctx: ViewContext = { params, navigate };
    if (current && current.route !== route) {
      if (current.route.keepAlive) current.root.hidden = true;
      else {
        current.view.unmount?.();
        current.root.remove();
      }
      current = null;
    } else if (current && current.route === route && !route.keepAlive) {
      // Same view, other parameters (another instance): mount afresh.
      current.view.unmount?.();
      current.root.remove();
      current = null;
    }
    onRoute(route);
    const kept = alive.get(route);
    if (kept) {
      kept.root.hidden = false;
      kept.view.shown?.(ctx);
      current = kept;
      return;
    }
    if (current) return;
    const root = document.createElement('section');
    root.className = 'view';
    root.setAttribute('aria-label', route.title);
    outlet.append(root);
    try {
      const module = await route.load();
      if (mine !== generation) {
        root.remove();
        return;
      }
      const view = await module.mount(root, ctx);
      current = { route, root, view };
      if (route.keepAlive) alive.set(route, current);
    } catch (e) {
      root.textContent = '';
      const p = document.createElement('p');
      p.className = 'view-error';
      p.setAttribute('role', 'alert');
      p.textContent = `This view could not be opened: ${(e as Error).message}`;
      root.append(p);
      current = { route, root, view: {} };
    }
  }

  const listener = () => void render();
  window.addEventListener('hashchange', listener);
  void render();
  return () => window.removeEventListener('hashchange', listener);
}
