/**
 * Pieces the deliveries view's forms and lists share: a labelled field with its hint and its
 * error beside it, a group of checkboxes, and the inline "Delete …?" confirmation of a row.
 */
import { el, errorFor, setError } from '../runner/dom';

export interface Field<T extends HTMLElement = HTMLElement> {
  wrap: HTMLDivElement;
  control: T;
  error: HTMLParagraphElement;
  /** Shows `message` beside the field and marks the control, or clears both. */
  set(message: string | null): void;
}

/** `<label>`, the control, an optional hint, and the error paragraph (aria-describedby both). */
export function field<T extends HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(
  id: string,
  label: string,
  control: T,
  hint?: string,
): Field<T> {
  control.id = id;
  const parts: Node[] = [el('label', { for: id }, label), control];
  if (hint) {
    const h = el('p', { className: 'field-hint muted small', id: `${id}-hint` }, hint);
    control.setAttribute('aria-describedby', h.id);
    parts.push(h);
  }
  const error = errorFor(control, `${id}-error`, `${id}-error`);
  parts.push(error);
  const wrap = el('div', { className: 'dl-field' }, ...parts);
  return { wrap, control, error, set: (m) => setError(error, m, control) };
}

export interface CheckGroup {
  wrap: HTMLFieldSetElement;
  boxes: HTMLInputElement[];
  error: HTMLParagraphElement;
  checked(): string[];
  set(message: string | null): void;
  clear(): void;
}

/** A fieldset of checkboxes (`value` -> label), its error beside the legend's group. */
export function checkGroup(id: string, legend: string, options: [string, string][], testid: string): CheckGroup {
  const boxes = options.map(([value], i) =>
    el('input', { type: 'checkbox', id: `${id}-${i}`, value, name: id, 'data-testid': `${testid}-option` }),
  );
  const error = el('p', { className: 'field-error', id: `${id}-error`, role: 'alert', hidden: true, 'data-testid': `${id}-error` });
  const wrap = el(
    'fieldset',
    { className: 'dl-checks', 'aria-describedby': `${id}-error`, 'data-testid': testid },
    el('legend', {}, legend),
    ...options.map(([value, text], i) =>
      el('div', { className: 'dl-check' }, boxes[i]!, el('label', { for: `${id}-${i}` }, text, value === text ? null : el('span', { className: 'mono muted small' }, ` ${value}`))),
    ),
    error,
  );
  return {
    wrap,
    boxes,
    error,
    checked: () => boxes.filter((b) => b.checked).map((b) => b.value),
    set(message) {
      setError(error, message);
      wrap.classList.toggle('invalid', !!message);
    },
    clear() {
      for (const b of boxes) b.checked = false;
    },
  };
}

/**
 * Replaces a row's action cell with "question [confirm] [Cancel]"; Cancel (or Escape) puts the
 * actions back. `run` answers an error sentence, or null when done (the list is then reloaded
 * by the caller).
 */
export function confirmInCell(
  cell: HTMLElement,
  question: string,
  confirmLabel: string,
  run: () => Promise<string | null>,
  testid: string,
): void {
  const before = [...cell.childNodes];
  const opener = document.activeElement as HTMLElement | null;
  const yes = el('button', { type: 'button', className: 'danger', 'data-testid': `${testid}-confirm` }, confirmLabel);
  const no = el('button', { type: 'button', 'data-testid': `${testid}-cancel` }, 'Cancel');
  const error = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': `${testid}-error` });
  const box = el('div', { className: 'dl-confirm', role: 'group', 'aria-label': question }, el('p', {}, question), yes, no, error);
  const restore = () => {
    cell.replaceChildren(...before);
    opener?.focus();
  };
  no.addEventListener('click', restore);
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      restore();
    }
  });
  yes.addEventListener('click', () => {
    yes.disabled = true;
    no.disabled = true;
    void run().then((problem) => {
      yes.disabled = false;
      no.disabled = false;
      setError(error, problem);
    });
  });
  cell.replaceChildren(box);
  no.focus();
}

/** Focus kept across a re-render: the element with the same `data-focus` inside `root`. */
export function focusKey(): string | null {
  return (document.activeElement as HTMLElement | null)?.dataset?.focus ?? null;
}

export function restoreFocus(root: HTMLElement, key: string | null): void {
  if (!key) return;
  root.querySelector<HTMLElement>(`[data-focus="${CSS.escape(key)}"]`)?.focus();
}

/** `text` with line-break opportunities after `/ _ . - ?` (URLs and names wrap at their parts). */
export function breakable(text: string): DocumentFragment {
  const out = document.createDocumentFragment();
  for (const part of text.split(/(?<=[/_.?-])/)) {
    out.append(part, document.createElement('wbr'));
  }
  out.lastChild?.remove();
  return out;
}
