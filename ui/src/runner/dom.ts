/** Small DOM helpers shared by the runner's views. */
import { TransportError } from '../transport';

type Props = Record<string, unknown>;

/** `el('button', {type: 'button', 'data-testid': 'x', onclick}, 'Label')` */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      node.addEventListener(k.slice(2), v as EventListener);
    } else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role' || k === 'for' || k === 'tabindex') {
      node.setAttribute(k, String(v));
    } else {
      (node as unknown as Props)[k] = v;
    }
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c);
  }
  return node;
}

/** A sentence for an error thrown by `query`/`execute`: the server's words or the transport's. */
export function errorText(e: unknown): string {
  if (e instanceof TransportError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Shows `message` in an error element (role=alert) or hides it. */
export function setError(node: HTMLElement, message: string | null, control?: HTMLElement): void {
  node.textContent = message ?? '';
  node.hidden = !message;
  if (control) {
    if (message) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  }
}

/** An error paragraph tied to `control` through aria-describedby. */
export function errorFor(control: HTMLElement, id: string, testid?: string): HTMLParagraphElement {
  const p = el('p', { className: 'field-error', id, role: 'alert', hidden: true, 'data-testid': testid });
  const prior = control.getAttribute('aria-describedby');
  control.setAttribute('aria-describedby', prior ? `${prior} ${id}` : id);
  return p;
}

export function statusBadge(status: string, testid?: string): HTMLSpanElement {
  return el('span', { className: `status status-${status.toLowerCase()}`, 'data-testid': testid }, status);
}

/** Focuses a text box and selects the character at `offset` (where typed JSON went wrong). */
export function selectMistake(box: HTMLTextAreaElement | HTMLInputElement, offset: number): void {
  box.focus();
  box.setSelectionRange(offset, Math.min(offset + 1, box.value.length));
}
