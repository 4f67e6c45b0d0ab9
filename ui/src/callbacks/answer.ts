/** Shared bits of the callbacks view's forms: answers in words, field errors, a labelled box. */
import type { Answer, FieldError } from '../transport';
import { el, errorFor } from '../runner/dom';

/** The runtime's refusal in one sentence: its message and the field errors it names. */
export function refusalText(r: { message: string; errors: FieldError[] }): string {
  const detail = r.errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
  if (!r.message) return detail || 'The server refused it.';
  return detail && !r.message.includes(detail) ? `${r.message} (${detail})` : r.message;
}

export function answerRefusal(r: Answer<unknown>): string {
  return r.ok ? '' : refusalText(r);
}

export interface Field<T extends HTMLElement> {
  control: T;
  error: HTMLParagraphElement;
  /** The label, the control and its error, in a wrapper. */
  wrap: HTMLDivElement;
}

/** A labelled control with its error line (role=alert, tied by aria-describedby). */
export function field<T extends HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>(
  id: string,
  label: string,
  control: T,
  hint?: string,
): Field<T> {
  control.id = id;
  const error = errorFor(control, `${id}-error`, `${id}-error`);
  const hintNode = hint ? el('p', { className: 'muted small cb-hint', id: `${id}-hint` }, hint) : null;
  if (hintNode) {
    const prior = control.getAttribute('aria-describedby');
    control.setAttribute('aria-describedby', prior ? `${hintNode.id} ${prior}` : hintNode.id);
  }
  const wrap = el('div', { className: 'cb-field' }, el('label', { for: id }, label), control, hintNode, error);
  return { control, error, wrap };
}

/** Puts a field error of the runtime beside the control it names; returns whether one did. */
export function placeFieldErrors(errors: FieldError[], fields: Record<string, Field<HTMLElement>>): boolean {
  let placed = false;
  for (const e of errors) {
    const f = e.field ? fields[e.field] : undefined;
    if (!f) continue;
    f.error.textContent = e.message;
    f.error.hidden = false;
    f.control.setAttribute('aria-invalid', 'true');
    placed = true;
  }
  return placed;
}

export function clearField(f: Field<HTMLElement>): void {
  f.error.textContent = '';
  f.error.hidden = true;
  f.control.removeAttribute('aria-invalid');
}
