/** What the webhooks view's panels share: the senders' base address, and copying a URL. */
import { announce } from '../app/announce';
import { el } from '../runner/dom';

export interface Shared {
  /** The address senders reach, without a trailing slash. */
  base(): string;
  onBase(listener: () => void): void;
  showRequests(configId: number | null): void;
}

export interface Panel {
  root: HTMLElement;
  /** The tab was selected. */
  shown(): void;
  unmount(): void;
}

/**
 * Copies `text`; when the clipboard is refused (an insecure page, a denied permission) the
 * address is selected in `box` and the user is told to copy it themselves.
 */
export async function copyText(text: string, box: HTMLInputElement | null, status: HTMLElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = 'Copied.';
    announce('Copied to the clipboard.');
  } catch {
    if (box) {
      box.focus();
      box.select();
    }
    status.textContent = 'The browser refused the clipboard: the address is selected, press Ctrl+C (⌘C) to copy it.';
  }
}

/** A read-only address with a Copy button and a status beside it. */
export function urlBox(id: string, value: string, label: string, testid: string): { root: HTMLElement; set(value: string): void } {
  const input = el('input', { id, type: 'text', readOnly: true, value, className: 'mono wh-url', 'data-testid': `${testid}-url`, spellcheck: false });
  const status = el('span', { className: 'muted small', 'aria-live': 'polite', 'data-testid': `${testid}-copy-status` });
  const button = el('button', { type: 'button', 'data-testid': `${testid}-copy`, 'aria-label': `Copy ${label}` }, 'Copy');
  button.addEventListener('click', () => void copyText(input.value, input, status));
  input.addEventListener('focus', () => input.select());
  const root = el('div', { className: 'wh-urlbox' }, el('label', { for: id, className: 'sr-only' }, label), input, button, status);
  return {
    root,
    set(v: string) {
      input.value = v;
      status.textContent = '';
    },
  };
}

/** An inline confirmation: `question`, a confirm button and Cancel; resolves with the choice. */
export function confirmBox(question: string, confirmLabel: string, testid: string): { root: HTMLElement; answer: Promise<boolean> } {
  let resolve!: (yes: boolean) => void;
  const answer = new Promise<boolean>((r) => (resolve = r));
  const yes = el('button', { type: 'button', className: 'danger', 'data-testid': `${testid}-yes` }, confirmLabel);
  const no = el('button', { type: 'button', 'data-testid': `${testid}-no` }, 'Cancel');
  const root = el('div', { className: 'confirm-box', role: 'group', 'aria-label': 'Confirm', 'data-testid': testid }, el('p', {}, question), yes, no);
  yes.addEventListener('click', () => resolve(true));
  no.addEventListener('click', () => resolve(false));
  root.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') resolve(false);
  });
  queueMicrotask(() => no.focus());
  return { root, answer };
}
