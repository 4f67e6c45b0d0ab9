/** Light and dark themes: the user's choice, else the system's. */
const KEY = 'baton.theme';
export type Theme = 'light' | 'dark';

export function currentTheme(): Theme {
  return document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light';
}

export function applyInitialTheme(): void {
  const saved = localStorage.getItem(KEY);
  const system = window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  setTheme(saved === 'dark' || saved === 'light' ? saved : system, false);
}

export function setTheme(theme: Theme, remember = true): void {
  document.documentElement.dataset.theme = theme;
  if (remember) localStorage.setItem(KEY, theme);
  window.dispatchEvent(new CustomEvent('baton-theme', { detail: theme }));
}
