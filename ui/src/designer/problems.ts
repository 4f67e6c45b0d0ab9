/** The Problems panel: one list of bpmnlint's and Baton's problems; a click selects the element. */
import { el } from './dom';
import { problemSource, type Problem } from './lint';

export class ProblemsPanel {
  readonly root: HTMLElement;
  private list: HTMLUListElement;
  private summary: HTMLElement;
  private note: HTMLElement;
  private toggle: HTMLButtonElement;

  constructor(
    private onPick: (p: Problem) => void,
    private nameOf: (id: string) => string | null,
  ) {
    this.summary = el('span', { className: 'problems-summary' });
    this.toggle = el('button', {
      type: 'button',
      className: 'problems-toggle',
      'aria-expanded': 'true',
      'aria-controls': 'problems-list',
      'data-testid': 'problems-toggle',
      onclick: () => this.setOpen(this.toggle.getAttribute('aria-expanded') !== 'true'),
    }, el('span', { className: 'problems-title' }, 'Problems'), ' ', this.summary);
    this.list = el('ul', { id: 'problems-list', className: 'problems-list', 'aria-label': 'Problems in the diagram' });
    this.note = el('p', { className: 'problems-note', hidden: true });
    this.root = el(
      'section',
      { className: 'problems-panel', 'data-testid': 'problems-panel', 'aria-label': 'Problems' },
      el('h2', { className: 'problems-heading' }, this.toggle),
      this.list,
      this.note,
    );
  }

  setOpen(open: boolean): void {
    this.toggle.setAttribute('aria-expanded', String(open));
    this.list.hidden = !open;
    this.root.classList.toggle('collapsed', !open);
  }

  /** A sentence under the list (e.g. the engine's checks are not available), or null. */
  setNote(note: string | null): void {
    this.note.hidden = note === null;
    this.note.textContent = note ?? '';
  }

  render(problems: Problem[]): void {
    const errors = problems.filter((p) => p.severity === 'error').length;
    const warnings = problems.filter((p) => p.severity === 'warning').length;
    this.summary.textContent =
      problems.length === 0 ? '(none)' : `(${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'})`;
    this.root.dataset.count = String(problems.length);
    this.list.replaceChildren();
    if (problems.length === 0) {
      this.list.append(el('li', { className: 'problems-empty' }, 'No problems found.'));
      return;
    }
    for (const p of problems) {
      const name = p.elementId ? this.nameOf(p.elementId) : null;
      const where = p.elementId ? (name ? `${name} (${p.elementId})` : p.elementId) : 'Diagram';
      const position = p.line ? ` · line ${p.line}${p.column ? `, column ${p.column}` : ''}` : '';
      const button = el(
        'button',
        {
          type: 'button',
          className: `problem-item severity-${p.severity}`,
          'data-testid': 'problem-item',
          'data-problem-element': p.elementId ?? '',
          'data-source': p.source,
          onclick: () => this.onPick(p),
        },
        el('span', { className: 'problem-severity' }, p.severity === 'error' ? 'Error' : p.severity === 'warning' ? 'Warning' : 'Info'),
        el('span', { className: 'problem-message' }, p.message),
        el('span', { className: 'problem-where' }, where),
        el('span', { className: 'problem-source' }, problemSource(p) + position),
      );
      this.list.append(el('li', {}, button));
    }
  }
}
