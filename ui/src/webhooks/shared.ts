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
 * address is selected on the page and the user is told to copy it themselves.
 */
export async function copyText(text: string, shown: HTMLElement | null, status: HTMLElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = 'Copied.';
    announce('Copied to the clipboard.');
  } catch {
    if (shown) {
      shown.focus();
      const range = document.createRange();
      range.selectNodeContents(shown);
      const selection = window.getSelection();
      selection?.removeAllRanges();
      selection?.addRange(range);
    }
    status.textContent = 'The browser refused the clipboard: the address is selected, press Ctrl+C (⌘C) to copy it.';
  }
}

/** An address shown in full (it wraps) with a Copy button and a status beside it. */
export function urlBox(id: string, value: string, label: string, testid: string): { root: HTMLElement; set(value: string): void } {
  const shown = el('code', { id, className: 'wh-url', tabindex: 0, role: 'textbox', 'aria-readonly': 'true', 'aria-label': label, 'data-testid': `${testid}-url` }, value);
  const status = el('span', { className: 'muted small', 'aria-live': 'polite', 'data-testid': `${testid}-copy-status` });
  const button = el('button', { type: 'button', 'data-testid': `${testid}-copy`, 'aria-label': `Copy ${label}` }, 'Copy');
  button.addEventListener('click', () => void copyText(shown.textContent ?? '', shown, status));
  const root = el('div', { className: 'wh-urlbox' }, shown, button, status);
  return {
    root,
    set(v: string) {
      shown.textContent = v;
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
