/**
 * The form editor (form-js): edits the forms that the diagram's form keys name. Loaded on
 * demand, so the form editor's code is fetched only when someone opens it.
 */
import '@bpmn-io/form-js-editor/dist/assets/form-js-editor.css';
import '@bpmn-io/form-js-viewer/dist/assets/form-js.css';
import { FormEditor } from '@bpmn-io/form-js-editor';
import { el, showDialog } from './dom';
import type { Forms } from './tabs';

export function emptyForm(key: string): Record<string, unknown> {
  return { type: 'default', id: key, schemaVersion: 16, components: [] };
}

/**
 * Opens the editor on `keys` (the form keys the diagram uses plus forms it carries), starting
 * with `first`. Answers the forms after editing (a form missing for a key is created empty).
 */
export async function editForms(keys: string[], forms: Forms, first: string | null): Promise<Forms> {
  const result: Forms = { ...forms };
  const all = Array.from(new Set([...keys, ...Object.keys(forms)])).sort();
  if (all.length === 0) {
    return result;
  }
  const select = el('select', { id: 'form-key-select', 'data-testid': 'form-key-select' });
  for (const k of all) {
    select.append(el('option', { value: k }, forms[k] ? k : `${k} (new)`));
  }
  select.value = first && all.includes(first) ? first : all[0]!;
  const host = el('div', { className: 'form-editor-host', 'data-testid': 'form-editor' });
  const status = el('p', { className: 'form-editor-status', role: 'status' });
  const titleId = 'form-editor-title';
  const done = el('button', { type: 'submit', value: 'done', className: 'primary', 'data-testid': 'form-editor-done' }, 'Done');
  const dialog = el(
    'dialog',
    { className: 'form-editor-dialog', 'aria-labelledby': titleId },
    el(
      'form',
      { method: 'dialog' },
      el(
        'div',
        { className: 'form-editor-head' },
        el('h2', { id: titleId }, 'Forms'),
        el('label', { for: 'form-key-select' }, 'Form key'),
        select,
        status,
        el('span', { className: 'spacer' }),
        done,
      ),
      host,
    ),
  );
  const editor = new FormEditor({ container: host });
  let current = select.value;
  const load = async (key: string) => {
    const schema = (result[key] as Record<string, unknown> | undefined) ?? emptyForm(key);
    try {
      await editor.importSchema(schema);
      status.textContent = result[key] ? '' : `A new empty form for "${key}".`;
    } catch (e) {
      status.textContent = `The form "${key}" could not be opened: ${(e as Error).message}`;
    }
  };
  const keep = () => {
    result[current] = editor.saveSchema();
  };
  select.addEventListener('change', async () => {
    keep();
    current = select.value;
    await load(current);
  });
  document.body.append(dialog);
  await load(current);
  await showDialog(dialog, select);
  keep();
  editor.destroy();
  dialog.remove();
  return result;
}
