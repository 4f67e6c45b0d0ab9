/** Deploying the open diagram and starting an instance of it. */
import { execute, TransportError } from '../transport';
import { el } from './dom';
import { fromEngineProblems, type Problem } from './lint';
import { parseJson } from '../app/json';
import { lastStartVariables, rememberStartVariables } from './variables';
import type { Forms } from './tabs';

export interface DeployOutcome {
  ok: boolean;
  /** The sentence for `deploy-status`. */
  status: string;
  processKey?: string;
  version?: number;
  problems: Problem[];
}

/** Element ids named in an error sentence ("… (element Task_1)"). */
export function elementIdsIn(text: string): string[] {
  return Array.from(text.matchAll(/\(element ([^)\s]+)\)/g), (m) => m[1]!);
}

function lineColumnIn(text: string): { line?: number; column?: number } {
  const m = /line (\d+), column (\d+)/.exec(text);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : {};
}

export async function deploy(bpmnXml: string, name: string, forms: Forms): Promise<DeployOutcome> {
  let answer;
  try {
    answer = await execute<{ processKey: string; version: number; processDefinitionId: number; warnings?: unknown[] }>(
      'DeployProcessDefinitionCommand',
      { bpmnXml, name, forms },
    );
  } catch (e) {
    const why = e instanceof TransportError ? e.message : `The deploy failed: ${(e as Error).message}`;
    return { ok: false, status: `Not deployed: ${why}`, problems: [] };
  }
  if (answer.ok) {
    const d = answer.data;
    const warnings = Array.isArray(d.warnings) ? d.warnings.length : 0;
    return {
      ok: true,
      status: `Deployed ${d.processKey} version ${d.version}${warnings ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}`,
      processKey: d.processKey,
      version: d.version,
      problems: [],
    };
  }
  const data = (answer.data ?? {}) as { problems?: unknown };
  let problems = fromEngineProblems(data.problems);
  if (problems.length === 0) {
    // Servers without structured problems name the element in the sentence.
    for (const e of answer.errors) {
      const ids = elementIdsIn(e.message);
      problems.push({
        source: 'baton',
        severity: 'error',
        elementId: ids[0] ?? null,
        message: e.message.replace(/^line \d+, column \d+: /, '').replace(/ \(element [^)]+\)$/, ''),
        ...lineColumnIn(e.message),
      });
    }
  }
  problems = problems.map((p) => ({ ...p, source: 'baton' as const }));
  const detail = answer.errors.map((e) => (e.field && e.field !== 'bpmnXml' ? `${e.field}: ${e.message}` : e.message)).join('; ');
  return { ok: false, status: `Not deployed: ${answer.message}${detail ? ` — ${detail}` : ''}`, problems };
}

/**
 * The start panel: JSON variables (prefilled from the last start of this process key), refused
 * in words with the position when they are not JSON; on success answers the new instance.
 */
export function startPanel(opts: {
  processKey: string;
  /** A sentence shown above the variables (e.g. "the diagram changed since its deploy"). */
  hint: string | null;
  onStarted(guid: string): void;
}): HTMLDialogElement {
  const { processKey } = opts;
  const titleId = 'start-title';
  const textarea = el('textarea', {
    id: 'start-variables',
    rows: 10,
    spellcheck: false,
    'data-testid': 'start-variables',
    'aria-describedby': 'start-variables-help start-error',
  });
  const last = lastStartVariables(processKey);
  textarea.value = last ?? '{\n  \n}';
  const error = el('p', { id: 'start-error', className: 'field-error', role: 'alert' });
  const submit = el('button', { type: 'submit', className: 'primary', 'data-testid': 'start-submit' }, 'Start');
  const cancel = el('button', { type: 'button', 'data-testid': 'start-cancel' }, 'Cancel');
  const form = el(
    'form',
    { className: 'start-form', novalidate: true },
    el('h2', { id: titleId }, `Start ${processKey}`),
    opts.hint ? el('p', { className: 'start-hint' }, opts.hint) : null,
    el('label', { for: 'start-variables' }, 'Variables (JSON object)'),
    el(
      'p',
      { id: 'start-variables-help', className: 'help' },
      last === null
        ? 'For example {"amount": 1200, "paymentId": "P-1"}; an empty box starts with no variables.'
        : `Prefilled with the variables of the last start of ${processKey}.`,
    ),
    textarea,
    error,
    el('div', { className: 'dialog-actions' }, cancel, submit),
  );
  const dialog = el('dialog', { className: 'start-dialog', 'aria-labelledby': titleId, 'data-testid': 'start-panel' }, form);
  cancel.addEventListener('click', () => dialog.close());
  textarea.addEventListener('input', () => {
    textarea.removeAttribute('aria-invalid');
    error.textContent = '';
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const parsed = parseJson(textarea.value, { what: 'The variables', object: true, empty: {} });
    if (!parsed.ok) {
      textarea.setAttribute('aria-invalid', 'true');
      error.textContent = parsed.message;
      textarea.focus();
      textarea.setSelectionRange(parsed.offset, Math.min(parsed.offset + 1, textarea.value.length));
      return;
    }
    submit.disabled = true;
    error.textContent = '';
    try {
      const answer = await execute<{ instanceGuid: string }>('StartProcessInstanceCommand', {
        processKey,
        variables: parsed.value,
      });
      if (answer.ok) {
        rememberStartVariables(processKey, textarea.value);
        dialog.close();
        opts.onStarted(answer.data.instanceGuid);
        return;
      }
      const detail = answer.errors.map((x) => (x.field ? `${x.field}: ${x.message}` : x.message)).join('; ');
      error.textContent = `Not started: ${answer.message}${detail ? ` — ${detail}` : ''}`;
    } catch (x) {
      error.textContent = `Not started: ${(x as Error).message}`;
    } finally {
      submit.disabled = false;
    }
  });
  return dialog;
}
