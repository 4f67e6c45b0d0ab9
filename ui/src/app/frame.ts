/**
 * The application frame: the top bar (views, theme, connection), the view outlet, the access
 * token dialog (browser only) and a live region. Later views (callbacks, webhooks, jobs,
 * deliveries) slot in as routes; the frame does not change for them.
 */
import { attachAnnouncer } from './announce';
import { routes, startRouter, type Route } from './router';
import { currentTheme, setTheme } from './theme';
import { inTauri, onConnection, setTokenAsker } from '../transport';

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & Record<string, unknown> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role' || k === 'for') {
      node.setAttribute(k, String(v));
    } else {
      (node as unknown as Record<string, unknown>)[k] = v;
    }
  }
  node.append(...children);
  return node;
}

/** Asks for the bearer token in a modal dialog; resolves when the user submits one. */
function tokenDialog(): (reason: string) => Promise<string> {
  const message = el('p', { id: 'token-reason' });
  const input = el('input', {
    id: 'token-input',
    type: 'password',
    autocomplete: 'off',
    required: true,
    'data-testid': 'token-input',
  });
  const submit = el('button', { type: 'submit', className: 'primary', 'data-testid': 'token-submit' }, 'Connect');
  const form = el(
    'form',
    { method: 'dialog' },
    el('h2', {}, 'Connect to Baton'),
    message,
    el('label', { for: 'token-input' }, 'Access token'),
    input,
    el('div', { className: 'dialog-actions' }, submit),
  );
  const dialog = el('dialog', {
    className: 'token-dialog',
    'data-testid': 'token-prompt',
    'aria-labelledby': 'token-title',
    'aria-describedby': 'token-reason',
  }, form);
  form.querySelector('h2')!.id = 'token-title';
  document.body.append(dialog);
  let waiting: ((t: string) => void)[] = [];
  form.addEventListener('submit', (e) => {
    const value = input.value.trim();
    if (!value) {
      e.preventDefault();
      message.textContent = 'Enter a token: `baton serve` prints it when it starts.';
      return;
    }
    const resolvers = waiting;
    waiting = [];
    input.value = '';
    for (const r of resolvers) r(value);
  });
  dialog.addEventListener('cancel', (e) => e.preventDefault());
  return (reason: string) =>
    new Promise<string>((resolve) => {
      message.textContent = reason;
      waiting.push(resolve);
      if (!dialog.open) dialog.showModal();
      input.focus();
    });
}

export function mountFrame(app: HTMLElement): void {
  const nav = el('nav', { 'aria-label': 'Views' });
  const links = new Map<Route, HTMLAnchorElement>();
  for (const route of routes) {
    if (route.pattern.includes(':')) continue;
    const a = el('a', { href: route.pattern, 'data-testid': `nav-${route.pattern.slice(2)}` }, route.title);
    links.set(route, a);
    nav.append(a);
  }
  const themeButton = el('button', {
    type: 'button',
    className: 'icon-button',
    'data-testid': 'theme-toggle',
  });
  const paintThemeButton = () => {
    const dark = currentTheme() === 'dark';
    themeButton.textContent = dark ? 'Light theme' : 'Dark theme';
    themeButton.setAttribute('aria-label', dark ? 'Switch to the light theme' : 'Switch to the dark theme');
  };
  paintThemeButton();
  themeButton.addEventListener('click', () => {
    setTheme(currentTheme() === 'dark' ? 'light' : 'dark');
    paintThemeButton();
  });
  const where = el('span', { className: 'where' }, inTauri ? 'Desktop' : window.location.host);
  const header = el(
    'header',
    { className: 'topbar' },
    el('span', { className: 'brand' }, 'Baton'),
    nav,
    el('span', { className: 'spacer' }),
    where,
    themeButton,
  );
  const banner = el('div', { className: 'connection-error', role: 'alert', 'data-testid': 'connection-error', hidden: true });
  const outlet = el('main', { id: 'outlet' });
  const live = el('div', { className: 'sr-only', 'aria-live': 'polite', role: 'status' });
  app.append(header, banner, outlet, live);
  attachAnnouncer(live);

  onConnection((problem) => {
    banner.hidden = problem === null;
    banner.textContent = problem ?? '';
  });
  if (!inTauri) setTokenAsker(tokenDialog());

  startRouter(outlet, (route) => {
    document.title = `${route.title} · Baton`;
    for (const [r, a] of links) {
      const active = r === route || (route.pattern.startsWith(r.pattern + '/'));
      if (active) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  });
}
