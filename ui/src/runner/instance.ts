import type { View, ViewContext } from '../app/view';

export function mount(root: HTMLElement, _ctx: ViewContext): View {
  root.innerHTML = '<p style="padding:16px">Coming soon.</p>';
  return {};
}
