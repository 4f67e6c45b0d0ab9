/**
 * A waiting user task's form in the simulation panel: a form-js schema made only of simple
 * fields (text, number, checkbox, radio, select, text area) is drawn as plain labelled inputs;
 * anything else is typed as JSON. Read-only and display-only components are left out.
 */

export interface SimpleField {
  key: string;
  label: string;
  type: 'text' | 'number' | 'checkbox' | 'choice' | 'textarea';
  options?: { label: string; value: string }[];
  required: boolean;
}

const SKIPPED = new Set(['text', 'html', 'image', 'separator', 'spacer', 'button']);

/** The simple fields of a form-js schema, or null when it has anything this panel cannot draw. */
export function simpleFields(schema: unknown): SimpleField[] | null {
  if (!schema || typeof schema !== 'object') return null;
  const components = (schema as { components?: unknown }).components;
  if (!Array.isArray(components)) return null;
  const fields: SimpleField[] = [];
  for (const c of components as Record<string, unknown>[]) {
    const type = String(c?.type ?? '');
    if (SKIPPED.has(type)) continue;
    if (c.readonly === true || c.disabled === true) continue;
    const key = typeof c.key === 'string' ? c.key : null;
    if (!key) return null;
    const label = typeof c.label === 'string' && c.label ? c.label : key;
    const required = !!(c.validate as { required?: boolean } | undefined)?.required;
    if (type === 'textfield') fields.push({ key, label, type: 'text', required });
    else if (type === 'number') fields.push({ key, label, type: 'number', required });
    else if (type === 'checkbox') fields.push({ key, label, type: 'checkbox', required: false });
    else if (type === 'textarea') fields.push({ key, label, type: 'textarea', required });
    else if (type === 'radio' || type === 'select') {
      const values = c.values;
      if (!Array.isArray(values)) return null;
      const options = values.map((v: { label?: unknown; value?: unknown }) => ({ label: String(v?.label ?? v?.value ?? ''), value: String(v?.value ?? '') }));
      fields.push({ key, label, type: 'choice', options, required });
    } else return null;
  }
  return fields;
}

/**
 * The data of a filled form: empty optional fields are left out; numbers are numbers. Answers
 * the data, or the first field that is wrong with the reason in words.
 */
export function collectForm(
  fields: SimpleField[],
  raw: Record<string, string | boolean>,
): { ok: true; data: Record<string, unknown> } | { ok: false; key: string; message: string } {
  const data: Record<string, unknown> = {};
  for (const f of fields) {
    const value = raw[f.key];
    if (f.type === 'checkbox') {
      data[f.key] = value === true;
      continue;
    }
    const text = typeof value === 'string' ? value.trim() : '';
    if (text === '') {
      if (f.required) return { ok: false, key: f.key, message: `${f.label} is required.` };
      continue;
    }
    if (f.type === 'number') {
      const n = Number(text);
      if (!Number.isFinite(n)) return { ok: false, key: f.key, message: `${f.label} must be a number, not "${text}".` };
      data[f.key] = n;
    } else data[f.key] = typeof value === 'string' ? value : text;
  }
  return { ok: true, data };
}
