/** A small element builder for the designer's own controls. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, unknown> = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role' || k === 'for' || k === 'tabindex') {
      node.setAttribute(k, String(v));
    } else if (k.startsWith('on') && typeof v === 'function') {
      node.addEventListener(k.slice(2).toLowerCase(), v as EventListener);
    } else {
      (node as unknown as Record<string, unknown>)[k] = v;
    }
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

/** Opens a modal dialog and answers when it closes (with its returnValue). */
export function showDialog(dialog: HTMLDialogElement, focus?: HTMLElement | null): Promise<string> {
  if (!dialog.isConnected) document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
    focus?.focus();
  });
}

/** Asks a question with buttons; answers the value of the button pressed ('' on Escape). */
export function ask(title: string, text: string, buttons: { value: string; label: string; primary?: boolean; testid?: string }[]): Promise<string> {
  const titleId = `ask-${Math.random().toString(36).slice(2, 8)}`;
  const form = el(
    'form',
    { method: 'dialog' },
    el('h2', { id: titleId }, title),
    el('p', {}, text),
    el(
      'div',
      { className: 'dialog-actions' },
      ...buttons.map((b) =>
        el('button', { value: b.value, className: b.primary ? 'primary' : '', 'data-testid': b.testid }, b.label),
      ),
    ),
  );
  const dialog = el('dialog', { className: 'baton-ask', 'aria-labelledby': titleId }, form);
  const done = showDialog(dialog, form.querySelector<HTMLButtonElement>('button.primary'));
  return done.finally(() => dialog.remove());
}
