/**
 * Creating or editing one webhook configuration: name and path, what it runs (a command with
 * a `commandData` mapping previewed live on a sample payload, a command chain, code in the
 * code editor, or a process start), the verification scheme and secret, allowed addresses.
 * Mistakes are marked beside their field before anything is sent; the runtime's own refusals
 * are placed beside the field they name. Nothing typed is lost: every part keeps its text
 * when the execution type or scheme changes.
 */
import { announce } from '../app/announce';
import { createCodeEditor, type CodeEditor } from '../designer/code-editor';
import { parseJson } from '../app/json';
import { execute, query } from '../transport';
import { el, errorText } from '../runner/dom';
import { confirmBox } from './shared';
import {
  commandData,
  EXECUTION_TYPES,
  emptyForm,
  formOf,
  jmespathProblem,
  needsSecret,
  placeOf,
  pretty,
  previewMapping,
  SAMPLE_PAYLOAD,
  sampleRequest,
  SCHEMES,
  type HookConfig,
  type HookForm,
  type Problem,
} from './model';

const SAMPLE_KEY = 'baton.webhooks.sample';
const COMMANDS = ['ReturnCallbackCommand', 'StartProcessInstanceCommand', 'SignalProcessInstanceCommand', 'CorrelateMessageCommand', 'BroadcastSignalCommand', 'CancelProcessInstanceCommand'];

export interface EditorOptions {
  base(): string;
  /** Closes the editor: with what was saved, or null when cancelled. */
  close(result: { message: string; config: HookConfig } | null): void;
}

export function editorPanel(stored: HookConfig | null, opts: EditorOptions): { root: HTMLElement; focus(): void; destroy(): void } {
  const form: HookForm = stored ? formOf(stored) : emptyForm();
  let sample = sessionStorage.getItem(SAMPLE_KEY) ?? SAMPLE_PAYLOAD;
  let saving = false;

  /** Error paragraphs and the controls they describe, by place (`name`, `mapping.2.expr`, ...). */
  const errors = new Map<string, { p: HTMLElement; control: HTMLElement | null }>();
  function errorSlot(at: string, control: HTMLElement | null): HTMLElement {
    const id = `whe-err-${at.replace(/\./g, '-')}`;
    const p = el('p', { className: 'field-error', id, role: 'alert', hidden: true, 'data-testid': `whe-error-${at}` });
    if (control) {
      const prior = control.getAttribute('aria-describedby');
      control.setAttribute('aria-describedby', prior ? `${prior} ${id}` : id);
    }
    errors.set(at, { p, control });
    return p;
  }
  function mark(at: string, message: string | null): void {
    const slot = errors.get(at) ?? errors.get('form')!;
    slot.p.textContent = message ?? '';
    slot.p.hidden = !message;
    if (slot.control) {
      if (message) slot.control.setAttribute('aria-invalid', 'true');
      else slot.control.removeAttribute('aria-invalid');
    }
    if (at === 'executionCode') {
      // The code editor is made when its type is first chosen: marked through its host.
      codeHost.classList.toggle('wh-invalid', !!message);
      if (message) code?.view.contentDOM.setAttribute('aria-invalid', 'true');
      else code?.view.contentDOM.removeAttribute('aria-invalid');
    }
  }
  function clearAll(): void {
    for (const at of errors.keys()) mark(at, null);
  }

  // ---- the webhook ------------------------------------------------------------------------------
  const nameInput = el('input', { id: 'whe-name', type: 'text', value: form.name, autocomplete: 'off', required: true, 'data-testid': 'whe-name' });
  const pathInput = el('input', {
    id: 'whe-path',
    type: 'text',
    value: form.path,
    autocomplete: 'off',
    spellcheck: false,
    placeholder: '/webhook/paystack/payment',
    className: 'mono',
    'data-testid': 'whe-path',
    'aria-describedby': 'whe-path-hint',
  });
  const activeBox = el('input', { id: 'whe-active', type: 'checkbox', checked: form.isActive, 'data-testid': 'whe-active' });
  nameInput.addEventListener('input', () => (form.name = nameInput.value));
  pathInput.addEventListener('input', () => {
    form.path = pathInput.value;
    paintPreview();
  });
  activeBox.addEventListener('change', () => (form.isActive = activeBox.checked));
  const currentUrl = stored ? el('p', { className: 'muted small' }, 'Called now at ', el('span', { className: 'mono' }, stored.url)) : null;

  const basics = el(
    'fieldset',
    { className: 'wh-fieldset' },
    el('legend', {}, 'Webhook'),
    el('div', { className: 'wh-field' }, el('label', { for: 'whe-name' }, 'Name'), nameInput, errorSlot('name', nameInput)),
    el(
      'div',
      { className: 'wh-field' },
      el('label', { for: 'whe-path' }, 'Path'),
      pathInput,
      el('p', { id: 'whe-path-hint', className: 'muted small' }, 'Starts with /webhook/. Leave it empty for a generated address under /webhook/k/.'),
      currentUrl,
      errorSlot('path', pathInput),
    ),
    el('div', { className: 'wh-check' }, activeBox, el('label', { for: 'whe-active' }, 'Active (an inactive webhook answers 404)')),
  );

  // ---- what it runs -----------------------------------------------------------------------------
  const typeSelect = el('select', { id: 'whe-type', 'data-testid': 'whe-type' }, ...EXECUTION_TYPES.map((t) => el('option', { value: String(t.value) }, `${t.value}: ${t.label}`)));
  typeSelect.value = String(form.executionType);

  // type 0: a command and its mapping
  const commandInput = el('input', { id: 'whe-command', type: 'text', value: form.commandName, autocomplete: 'off', className: 'mono', 'data-testid': 'whe-command' });
  commandInput.setAttribute('list', 'whe-commands');
  commandInput.addEventListener('input', () => (form.commandName = commandInput.value));
  const commandList = el('datalist', { id: 'whe-commands' }, ...COMMANDS.map((c) => el('option', { value: c })));
  const mappingBody = el('tbody');
  const mappingTable = el(
    'table',
    { className: 'wh-mapping', 'data-testid': 'whe-mapping' },
    el('caption', { className: 'sr-only' }, 'The commandData mapping: each field takes the value of a JMESPath expression on the request'),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Field of commandData'), el('th', { scope: 'col' }, 'JMESPath on the request'), el('th', { scope: 'col' }, 'On the sample'), el('th', { scope: 'col' }, el('span', { className: 'sr-only' }, 'Remove')))),
    mappingBody,
  );
  const addLine = el('button', { type: 'button', 'data-testid': 'whe-add-line' }, 'Add a field');
  const mappingError = errorSlot('mapping', null);
  const sampleBox = el('textarea', { id: 'whe-sample', rows: 12, spellcheck: false, className: 'mono', 'data-testid': 'whe-sample', 'aria-describedby': 'whe-sample-hint' });
  sampleBox.value = sample;
  const sampleError = errorSlot('sample', sampleBox);
  const previewOut = el('pre', { className: 'variables wh-preview', 'data-testid': 'whe-preview', 'aria-live': 'polite', tabindex: 0, 'aria-label': 'commandData on the sample' });
  /** The result cells of the mapping lines, by line. */
  let resultCells: HTMLElement[] = [];

  function renderMapping(focusLine?: number, focusPart: 'field' | 'expr' = 'field'): void {
    for (const at of [...errors.keys()]) if (at.startsWith('mapping.')) errors.delete(at);
    resultCells = [];
    mappingBody.replaceChildren(
      ...form.mapping.map((line, i) => {
        const field = el('input', { id: `whe-map-field-${i}`, type: 'text', value: line.field, className: 'mono', autocomplete: 'off', spellcheck: false, 'aria-label': `Field ${i + 1} of commandData`, 'data-testid': 'whe-map-field' });
        const expr = el('input', { id: `whe-map-expr-${i}`, type: 'text', value: line.expr, className: 'mono', autocomplete: 'off', spellcheck: false, 'aria-label': `JMESPath expression of field ${i + 1}`, 'data-testid': 'whe-map-expr' });
        const fieldError = errorSlot(`mapping.${i}.field`, field);
        const exprError = errorSlot(`mapping.${i}.expr`, expr);
        const result = el('output', { className: 'mono small wh-result', 'data-testid': 'whe-map-result', for: `whe-map-expr-${i}` });
        resultCells.push(result);
        const remove = el('button', { type: 'button', 'aria-label': `Remove field ${i + 1}`, 'data-testid': 'whe-remove-line' }, 'Remove');
        field.addEventListener('input', () => {
          line.field = field.value;
          mark(`mapping.${i}.field`, null);
          paintPreview();
        });
        expr.addEventListener('input', () => {
          line.expr = expr.value;
          // The expression is checked as it is typed: a mistake is marked at once.
          mark(`mapping.${i}.expr`, expr.value.trim() ? jmespathProblem(expr.value) : null);
          paintPreview();
        });
        remove.addEventListener('click', () => {
          form.mapping.splice(i, 1);
          renderMapping(Math.min(i, form.mapping.length - 1));
          if (form.mapping.length === 0) addLine.focus();
        });
        return el('tr', { 'data-testid': 'whe-map-line' }, el('td', {}, field, fieldError), el('td', {}, expr, exprError), el('td', {}, result), el('td', {}, remove));
      }),
    );
    paintPreview();
    if (focusLine !== undefined && focusLine >= 0) document.getElementById(`whe-map-${focusPart}-${focusLine}`)?.focus();
  }
  addLine.addEventListener('click', () => {
    form.mapping.push({ field: '', expr: '' });
    renderMapping(form.mapping.length - 1);
  });

  function paintPreview(): void {
    const parsed = parseJson(sample, { what: 'The sample payload' });
    if (!parsed.ok) {
      mark('sample', parsed.message);
      previewOut.textContent = 'Fix the sample payload to see the preview.';
      resultCells.forEach((c) => (c.textContent = ''));
      return;
    }
    mark('sample', null);
    const { lines, commandData: data } = previewMapping(form.mapping, sampleRequest(parsed.value, form.path.trim()));
    lines.forEach((line, i) => {
      const cell = resultCells[i];
      if (!cell) return;
      cell.classList.toggle('wh-result-bad', !line.ok);
      cell.textContent = line.ok ? JSON.stringify(line.value) : '—';
    });
    previewOut.textContent = data ? pretty(data) : 'Fix the marked expressions to see the whole commandData.';
  }
  sampleBox.addEventListener('input', () => {
    sample = sampleBox.value;
    sessionStorage.setItem(SAMPLE_KEY, sample);
    paintPreview();
  });
  const resetSample = el('button', { type: 'button', className: 'link-button' }, 'Use the Paystack example');
  resetSample.addEventListener('click', () => {
    sample = SAMPLE_PAYLOAD;
    sampleBox.value = sample;
    sessionStorage.setItem(SAMPLE_KEY, sample);
    paintPreview();
  });

  const commandPart = el(
    'div',
    { className: 'wh-type-part', 'data-type': '0' },
    el('div', { className: 'wh-field' }, el('label', { for: 'whe-command' }, 'Command'), commandInput, commandList, errorSlot('commandName', commandInput)),
    el(
      'div',
      { className: 'wh-mapping-grid' },
      el(
        'div',
        {},
        el('h3', {}, 'commandData mapping'),
        el('p', { className: 'muted small' }, 'Each field takes the value of a JMESPath expression on the request: body, headers, query, method, path. Dots in a field name nest (result.amount). A literal is written `3` or \'text\'.'),
        mappingTable,
        mappingError,
        addLine,
      ),
      el(
        'div',
        {},
        el('h3', {}, el('label', { for: 'whe-sample' }, 'Sample payload')),
        el('p', { id: 'whe-sample-hint', className: 'muted small' }, 'The body of a request, as JSON: the preview evaluates the mapping on it. Nothing is sent.'),
        sampleBox,
        sampleError,
        resetSample,
        el('h3', {}, 'commandData on this sample'),
        previewOut,
      ),
    ),
  );

  // type 1: a chain
  const chainBox = el('textarea', { id: 'whe-chain', rows: 10, spellcheck: false, className: 'mono', 'data-testid': 'whe-chain' });
  chainBox.value = form.commandChain;
  chainBox.addEventListener('input', () => {
    form.commandChain = chainBox.value;
    mark('commandChain', null);
  });
  const chainPart = el(
    'div',
    { className: 'wh-type-part', 'data-type': '1' },
    el('label', { for: 'whe-chain' }, 'Command chain (JSON list of {commandName, commandData}; "$previous.field" and "$request.body.field" take values)'),
    chainBox,
    errorSlot('commandChain', chainBox),
  );

  // type 2: code
  const codeHost = el('div', { className: 'wh-code', 'data-testid': 'whe-code' });
  const codeLabel = el('span', { id: 'whe-code-label', className: 'wh-label' }, 'Code (rhai or JavaScript; `request` is in scope, the last value is the outcome)');
  const codeError = errorSlot('executionCode', null);
  codeError.id = 'whe-err-executionCode';
  const codePart = el('div', { className: 'wh-type-part', 'data-type': '2' }, codeLabel, codeHost, codeError);
  let code: CodeEditor | null = null;

  // type 3: a process
  const processInput = el('input', { id: 'whe-process', type: 'text', value: form.processKey, autocomplete: 'off', className: 'mono', 'data-testid': 'whe-process' });
  processInput.setAttribute('list', 'whe-processes');
  processInput.addEventListener('input', () => (form.processKey = processInput.value));
  const processList = el('datalist', { id: 'whe-processes' });
  const variablesBox = el('textarea', { id: 'whe-variables', rows: 4, spellcheck: false, className: 'mono', 'data-testid': 'whe-variables' });
  variablesBox.value = form.variables;
  variablesBox.addEventListener('input', () => {
    form.variables = variablesBox.value;
    mark('variables', null);
  });
  const processPart = el(
    'div',
    { className: 'wh-type-part', 'data-type': '3' },
    el('div', { className: 'wh-field' }, el('label', { for: 'whe-process' }, 'Process key (or definition id)'), processInput, processList, errorSlot('processKey', processInput)),
    el('p', { className: 'muted small' }, 'The body\'s fields become the instance\'s variables, with these fixed ones added.'),
    el('div', { className: 'wh-field' }, el('label', { for: 'whe-variables' }, 'Fixed variables (JSON object)'), variablesBox, errorSlot('variables', variablesBox)),
  );

  const parts = [commandPart, chainPart, codePart, processPart];
  function paintType(): void {
    parts.forEach((p, i) => (p.hidden = i !== form.executionType));
    if (form.executionType === 2 && !code) {
      code = createCodeEditor(codeHost, {
        value: form.executionCode,
        labelledBy: 'whe-code-label',
        describedBy: 'whe-err-executionCode',
        onChange: (v) => {
          form.executionCode = v;
          mark('executionCode', null);
        },
      });
    }
  }
  typeSelect.addEventListener('change', () => {
    form.executionType = Number(typeSelect.value);
    paintType();
  });

  const runs = el(
    'fieldset',
    { className: 'wh-fieldset' },
    el('legend', {}, 'What it runs'),
    el('div', { className: 'wh-field' }, el('label', { for: 'whe-type' }, 'Execution type'), typeSelect, errorSlot('executionType', typeSelect)),
    ...parts,
  );

  // ---- verification -----------------------------------------------------------------------------
  const schemeSelect = el('select', { id: 'whe-scheme', 'data-testid': 'whe-scheme' }, ...SCHEMES.map((s) => el('option', { value: s.value }, s.label)));
  schemeSelect.value = form.scheme;
  const secretInput = el('input', { id: 'whe-secret', type: 'password', value: '', autocomplete: 'new-password', spellcheck: false, 'data-testid': 'whe-secret', 'aria-describedby': 'whe-secret-hint' });
  const secretHint = el('p', { id: 'whe-secret-hint', className: 'muted small' });
  const headerInput = el('input', { id: 'whe-header', type: 'text', value: form.header, placeholder: 'x-signature', autocomplete: 'off', className: 'mono', 'data-testid': 'whe-header' });
  const ipsBox = el('textarea', { id: 'whe-ips', rows: 3, spellcheck: false, className: 'mono', 'data-testid': 'whe-ips', 'aria-describedby': 'whe-ips-hint' });
  ipsBox.value = form.allowedIPs;
  const secretField = el('div', { className: 'wh-field' }, el('label', { for: 'whe-secret' }, 'Secret'), secretInput, secretHint, errorSlot('secret', secretInput));
  const headerField = el('div', { className: 'wh-field' }, el('label', { for: 'whe-header' }, 'Signature header'), headerInput, errorSlot('header', headerInput));
  const unverifiedNote = el('p', { className: 'wh-warning', 'data-testid': 'whe-unverified-note' }, 'Unverified: without a signature scheme anyone who knows the URL can call this webhook. Limit it to the sender\'s addresses below, or choose a scheme.');
  function paintScheme(): void {
    const needs = needsSecret(form.scheme);
    secretField.hidden = !needs;
    headerField.hidden = form.scheme !== 'hmacSha256';
    unverifiedNote.hidden = needs;
    const keeps = stored !== null && stored.verification.scheme === form.scheme && stored.verification.secretSet;
    secretHint.textContent = keeps
      ? 'A secret is stored for this scheme: leave this empty to keep it, or type a new one.'
      : form.scheme === 'standardWebhooks'
        ? 'whsec_ followed by base64, as the sender gives it.'
        : 'The signing secret the sender gives you. It is never shown again.';
  }
  schemeSelect.addEventListener('change', () => {
    form.scheme = schemeSelect.value;
    mark('secret', null);
    paintScheme();
  });
  secretInput.addEventListener('input', () => {
    form.secret = secretInput.value;
    mark('secret', null);
  });
  headerInput.addEventListener('input', () => (form.header = headerInput.value));
  ipsBox.addEventListener('input', () => {
    form.allowedIPs = ipsBox.value;
    mark('allowedIPs', null);
  });
  const verification = el(
    'fieldset',
    { className: 'wh-fieldset' },
    el('legend', {}, 'Who may call it'),
    el('div', { className: 'wh-field' }, el('label', { for: 'whe-scheme' }, 'Verification scheme'), schemeSelect, errorSlot('scheme', schemeSelect)),
    unverifiedNote,
    secretField,
    headerField,
    el(
      'div',
      { className: 'wh-field' },
      el('label', { for: 'whe-ips' }, 'Allowed IP addresses'),
      ipsBox,
      el('p', { id: 'whe-ips-hint', className: 'muted small' }, 'One a line. Empty: any address.'),
      errorSlot('allowedIPs', ipsBox),
    ),
  );

  // ---- actions ----------------------------------------------------------------------------------
  const save = el('button', { type: 'submit', className: 'primary', 'data-testid': 'whe-save' }, stored ? 'Save changes' : 'Create webhook');
  const cancel = el('button', { type: 'button', 'data-testid': 'whe-cancel' }, 'Cancel');
  const formError = errorSlot('form', null);
  const discardBox = el('div', { className: 'wh-discard' });
  const title = el('h2', { id: 'whe-title', tabindex: -1 }, stored ? `Edit "${stored.name}"` : 'New webhook');
  const formEl = el(
    'form',
    { className: 'wh-editor', 'aria-labelledby': 'whe-title', 'data-testid': 'wh-editor', noValidate: true },
    title,
    basics,
    runs,
    verification,
    el('div', { className: 'wh-form-actions' }, save, cancel, formError),
    discardBox,
  );

  function show(problems: Problem[]): void {
    for (const p of problems) mark(p.at, p.message);
    const first = problems[0];
    if (!first) return;
    const slot = errors.get(first.at);
    const target = slot?.control ?? (first.at === 'executionCode' ? (code?.view.contentDOM ?? null) : null);
    (target ?? slot?.p)?.focus?.();
    announce(problems.length === 1 ? first.message : `${problems.length} fields need attention; the first: ${first.message}`);
  }

  formEl.addEventListener('submit', (e) => {
    e.preventDefault();
    if (saving) return;
    code?.flush();
    clearAll();
    paintPreview();
    const built = commandData(form, stored);
    if (!built.data) {
      mark('form', `Nothing was sent: ${built.problems.length === 1 ? 'one field needs' : `${built.problems.length} fields need`} attention (marked above).`);
      return show(built.problems);
    }
    saving = true;
    save.disabled = true;
    void (async () => {
      try {
        const r = await execute<{ id: number; config: HookConfig }>(stored ? 'UpdateWebHookConfigCommand' : 'CreateWebHookConfigCommand', built.data!);
        if (!r.ok) {
          const problems = r.errors.length
            ? r.errors.map((x) => ({ at: placeOf(x.field, x.message, form.mapping), message: x.message }))
            : [{ at: 'form', message: r.message }];
          if (!problems.some((p) => p.at === 'form') && r.errors.length) mark('form', `${r.message}: see the marked field${problems.length === 1 ? '' : 's'}.`);
          show(problems);
          return;
        }
        opts.close({ message: r.message, config: r.data.config });
      } catch (err) {
        mark('form', `Not saved: ${errorText(err)}`);
      } finally {
        saving = false;
        save.disabled = false;
      }
    })();
  });
  /** Leaves the editor; with changes, only after the user says to discard them. */
  const initial = JSON.stringify(form);
  function leave(): void {
    code?.flush();
    if (JSON.stringify(form) === initial) return opts.close(null);
    if (discardBox.firstChild) return;
    const ask = confirmBox('Discard the changes you made to this webhook?', 'Discard them', 'whe-discard');
    discardBox.replaceChildren(ask.root);
    void ask.answer.then((yes) => {
      discardBox.replaceChildren();
      if (yes) opts.close(null);
      else cancel.focus();
    });
  }
  cancel.addEventListener('click', leave);
  formEl.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || (e.target as HTMLElement).closest('.cm-editor, .confirm-box')) return;
    e.preventDefault();
    leave();
  });

  void (async () => {
    try {
      const r = await query<{ items: { processKey: string }[] }>('GetProcessDefinitionListQuery', { pageNumber: 1, pageSize: 500 });
      const keys = [...new Set(r.items.map((d) => d.processKey))].sort();
      processList.replaceChildren(...keys.map((k) => el('option', { value: k })));
    } catch {
      /* the list only helps typing */
    }
  })();

  renderMapping();
  paintType();
  paintScheme();
  return {
    root: formEl,
    focus: () => title.focus(),
    destroy() {
      code?.destroy();
      code = null;
    },
  };
}
