/**
 * The job editor of #/jobs: create or change a recurring job. The next five run times are asked
 * of the runtime (GetCronPreviewQuery, in the job's time zone) a moment after the cron
 * expression or the zone is typed. Save checks the draft first: a missing field, JSON that does
 * not parse, or an expression or zone the runtime refuses is marked beside its field in words,
 * and nothing is sent. What the runtime refuses on save lands beside the field it names. The
 * typed values are never cleared by an error.
 */
import { announce } from '../app/announce';
import { el, errorFor, errorText, selectMistake, setError } from '../runner/dom';
import { execute } from '../transport';
import {
  buildJobData,
  COMMAND_SUGGESTIONS,
  CRON_EXAMPLES,
  debounce,
  EXECUTION_TYPES,
  localText,
  placeErrors,
  sameDraft,
  zoneSuggestions,
  type DraftField,
  type FieldErrors,
  type Job,
  type JobDraft,
} from './model';

export interface EditorOptions {
  /** The job was saved: show it. */
  onSaved(job: Job, created: boolean): void;
  /** The user closed the editor (Cancel, or discarded the changes). */
  onClosed(): void;
  /** Deployed process keys, for the process field's suggestions. */
  processKeys(): Promise<string[]>;
}

export interface Editor {
  root: HTMLElement;
  /**
   * Opens the editor on a draft: a new job (`id` null) or a stored one. `from` is what the
   * draft started as, when it already holds changes (a kept draft).
   */
  open(draft: JobDraft, id: number | null, title: string, from?: JobDraft): void;
  /** Whether the draft differs from what it was opened with. */
  dirty(): boolean;
  /** Asks to leave: runs `then` at once when nothing changed, else after "Discard changes". */
  leave(then: () => void): void;
  destroy(): void;
}

interface Preview {
  key: string;
  /** null while asked; the local times, or a field error. */
  times?: { utc: string; local: string }[];
  errors?: FieldErrors;
  /** The runtime could not be asked. */
  problem?: string;
}

const PREVIEW_DELAY_MS = 300;

/** Unsaved changes, kept in the tab's sessionStorage so leaving the view loses nothing. */
const DRAFT_KEY = 'baton.jobs.draft';

export interface KeptDraft {
  id: number | null;
  title: string;
  draft: JobDraft;
  original: JobDraft;
}

/** The changes left unsaved when the view was left, if any. */
export function keptDraft(): KeptDraft | null {
  try {
    const kept = JSON.parse(sessionStorage.getItem(DRAFT_KEY) ?? 'null') as KeptDraft | null;
    return kept && kept.draft && kept.original ? kept : null;
  } catch {
    return null;
  }
}

function forget(): void {
  sessionStorage.removeItem(DRAFT_KEY);
}

export function createEditor(opts: EditorOptions): Editor {
  let id: number | null = null;
  let original: JobDraft | null = null;
  let saving = false;
  let gone = false;
  let afterDiscard: (() => void) | null = null;

  const title = el('h2', { id: 'job-editor-title' }, 'New recurring job');
  const restored = el('p', { className: 'job-restored', role: 'status', hidden: true, 'data-testid': 'job-restored' }, 'These are the changes you had not saved when you left this view.');
  const formError = el('p', { className: 'field-error job-form-error', role: 'alert', hidden: true, 'data-testid': 'job-form-error' });

  // ---- fields ---------------------------------------------------------------------------------
  const controls = {} as Record<DraftField, HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>;
  const errors = {} as Record<DraftField, HTMLParagraphElement>;

  function field(
    name: DraftField,
    label: string,
    control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
    hint?: string,
  ): HTMLDivElement {
    const id = `job-${name}`;
    control.id = id;
    control.name = name;
    control.dataset.testid = `job-${name}`;
    controls[name] = control;
    const parts: (Node | null)[] = [el('label', { for: id }, label)];
    if (hint) {
      const hintId = `${id}-hint`;
      control.setAttribute('aria-describedby', hintId);
      parts.push(control, el('p', { className: 'muted small field-hint', id: hintId }, hint));
    } else parts.push(control);
    const error = errorFor(control, `${id}-error`, `job-${name}-error`);
    errors[name] = error;
    parts.push(error);
    return el('div', { className: 'job-field', 'data-field': name }, ...parts);
  }

  const text = (extra: Record<string, unknown> = {}, list?: string) => {
    const input = el('input', { type: 'text', autocomplete: 'off', spellcheck: false, ...extra });
    if (list) input.setAttribute('list', list); // a read-only property: only the attribute sets it
    return input;
  };
  const area = (rows: number) => el('textarea', { rows, spellcheck: false });

  const zoneList = el('datalist', { id: 'job-zone-list' }, ...zoneSuggestions().map((z) => el('option', { value: z })));
  const commandList = el('datalist', { id: 'job-command-list' }, ...COMMAND_SUGGESTIONS.map((c) => el('option', { value: c })));
  const processList = el('datalist', { id: 'job-process-list' });

  const nameField = field('name', 'Name', text({ required: true }));
  const cronInput = text({ className: 'mono', required: true, placeholder: '0 9 * * 1-5' });
  const cronField = field(
    'cronExpression',
    'Cron expression',
    cronInput,
    'minute hour day-of-month month day-of-week (a seconds field first and a year last are allowed); L, W, # and @daily work too.',
  );
  // A toolbar: one Tab stop, the arrow keys move between the examples.
  const chips = CRON_EXAMPLES.map((x, i) => {
    const b = el('button', { type: 'button', className: 'chip', title: x.expression, tabindex: i === 0 ? 0 : -1 }, x.label);
    b.setAttribute('aria-label', `${x.label}: ${x.expression}`);
    b.addEventListener('click', () => {
      cronInput.value = x.expression;
      cronInput.dispatchEvent(new Event('input', { bubbles: true }));
      cronInput.focus();
    });
    return b;
  });
  const examples = el(
    'div',
    { className: 'job-examples', role: 'toolbar', 'aria-label': 'Example schedules', 'data-testid': 'cron-examples' },
    el('span', { className: 'muted small', 'aria-hidden': 'true' }, 'Examples:'),
    ...chips,
  );
  examples.addEventListener('keydown', (e) => {
    const at = chips.indexOf(document.activeElement as HTMLButtonElement);
    if (at < 0) return;
    const to = e.key === 'ArrowRight' ? at + 1 : e.key === 'ArrowLeft' ? at - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? chips.length - 1 : null;
    if (to === null) return;
    e.preventDefault();
    const next = chips[(to + chips.length) % chips.length]!;
    chips.forEach((c) => (c.tabIndex = c === next ? 0 : -1));
    next.focus();
  });
  cronField.append(examples);
  const zoneInput = text({ required: true }, 'job-zone-list');
  const zoneField = field('timeZone', 'Time zone', zoneInput, 'An IANA name such as Europe/London or Africa/Lagos.');

  const previewTitle = el('h3', { id: 'job-preview-title' }, 'Next five runs');
  const previewList = el('ol', { className: 'job-preview-list', 'data-testid': 'cron-preview-list' });
  const previewNote = el('p', { className: 'muted small', 'data-testid': 'cron-preview-note' });
  const preview = el(
    'section',
    { className: 'job-preview', 'aria-labelledby': 'job-preview-title', 'aria-live': 'polite', 'data-testid': 'cron-preview' },
    previewTitle,
    previewNote,
    previewList,
  );

  const activeBox = el('input', { type: 'checkbox' });
  activeBox.id = 'job-isActive';
  activeBox.dataset.testid = 'job-isActive';
  controls.isActive = activeBox;
  const activeField = el(
    'div',
    { className: 'job-field job-check' },
    activeBox,
    el('label', { for: 'job-isActive' }, 'Active: runs on its schedule (a paused job runs only when you press Run now)'),
  );
  errors.isActive = errorFor(activeBox, 'job-isActive-error');
  activeField.append(errors.isActive);

  const typeSelect = el('select', {}, ...EXECUTION_TYPES.map((t) => el('option', { value: String(t.value) }, t.label)));
  const typeField = field('executionType', 'Kind', typeSelect);

  const processField = field('processKey', 'Process key', text({}, 'job-process-list'), 'The newest deployed version of this process is started.');
  const variablesField = field('variables', 'Start variables (JSON object)', area(5));
  const commandField = field('commandName', 'Command', text({ className: 'mono' }, 'job-command-list'));
  const commandDataField = field('commandData', 'Command data (JSON object)', area(5));
  const chainField = field(
    'commandChain',
    'Steps (JSON list)',
    area(8),
    'Each step is {"commandName", "commandData"}; "$previous" or "$previous.field" in a step is the result of the step before.',
  );
  const codeField = field('executionCode', 'Script (rhai or JavaScript)', area(8), 'It sees job and now(); its last value is the run’s result.');

  const groups: Record<number, HTMLElement> = {
    3: el('div', { className: 'job-type-fields', 'data-type': '3' }, processField, variablesField),
    0: el('div', { className: 'job-type-fields', 'data-type': '0' }, commandField, commandDataField),
    1: el('div', { className: 'job-type-fields', 'data-type': '1' }, chainField),
    2: el('div', { className: 'job-type-fields', 'data-type': '2' }, codeField),
  };

  const misfireField = field(
    'misfirePolicy',
    'A run missed while Baton was closed',
    el('select', {}, el('option', { value: 'fireOnce' }, 'runs once when Baton opens'), el('option', { value: 'skip' }, 'is skipped')),
  );
  const overlapField = field(
    'overlapPolicy',
    'A run due while the previous one is still running',
    el('select', {}, el('option', { value: 'skip' }, 'is skipped'), el('option', { value: 'queue' }, 'runs right after it')),
  );

  const saveButton = el('button', { type: 'submit', className: 'primary', 'data-testid': 'job-save' }, 'Create job');
  const cancelButton = el('button', { type: 'button', 'data-testid': 'job-cancel' }, 'Cancel');
  const discardYes = el('button', { type: 'button', className: 'danger', 'data-testid': 'job-discard' }, 'Discard changes');
  const discardNo = el('button', { type: 'button', 'data-testid': 'job-keep-editing' }, 'Keep editing');
  const discardBox = el(
    'div',
    { className: 'confirm-box', role: 'group', 'aria-label': 'Discard the changes?', hidden: true, 'data-testid': 'job-discard-box' },
    el('p', {}, 'Discard the changes you made to this job?'),
    discardYes,
    discardNo,
  );

  const form = el(
    'form',
    { className: 'job-form', noValidate: true, 'aria-labelledby': 'job-editor-title', 'data-testid': 'job-form' },
    nameField,
    el(
      'fieldset',
      { className: 'job-fieldset' },
      el('legend', {}, 'Schedule'),
      cronField,
      zoneField,
      preview,
      activeField,
    ),
    el('fieldset', { className: 'job-fieldset' }, el('legend', {}, 'What it runs'), typeField, ...Object.values(groups)),
    el('fieldset', { className: 'job-fieldset' }, el('legend', {}, 'Policies'), misfireField, overlapField),
    formError,
    el('div', { className: 'form-actions' }, saveButton, cancelButton),
    discardBox,
  );
  const root = el(
    'section',
    { className: 'panel job-editor', 'aria-labelledby': 'job-editor-title', 'data-testid': 'job-editor' },
    title,
    restored,
    form,
    zoneList,
    commandList,
    processList,
  );

  // ---- reading and writing the draft ----------------------------------------------------------
  function read(): JobDraft {
    const v = (f: DraftField) => (controls[f] as HTMLInputElement).value;
    return {
      name: v('name'),
      cronExpression: v('cronExpression'),
      timeZone: v('timeZone'),
      isActive: activeBox.checked,
      executionType: Number(v('executionType')),
      commandName: v('commandName'),
      commandData: v('commandData'),
      commandChain: v('commandChain'),
      executionCode: v('executionCode'),
      processKey: v('processKey'),
      processDefinitionId: original?.processDefinitionId ?? null,
      variables: v('variables'),
      misfirePolicy: v('misfirePolicy'),
      overlapPolicy: v('overlapPolicy'),
    };
  }

  function write(d: JobDraft): void {
    for (const [k, value] of Object.entries(d) as [DraftField, unknown][]) {
      const c = controls[k];
      if (!c) continue;
      if (c === activeBox) activeBox.checked = Boolean(value);
      else c.value = String(value ?? '');
    }
    showType();
  }

  function showType(): void {
    const t = Number(typeSelect.value);
    for (const [k, g] of Object.entries(groups)) g.hidden = Number(k) !== t;
  }

  function clearErrors(): void {
    for (const [k, p] of Object.entries(errors) as [DraftField, HTMLParagraphElement][]) setError(p, null, controls[k]);
    setError(formError, null);
  }

  function showErrors(found: FieldErrors): void {
    for (const [k, problem] of Object.entries(found) as [DraftField, { message: string }][]) {
      const p = errors[k];
      if (p) setError(p, problem.message, controls[k]);
    }
  }

  /** The first field (in the form's order) that is marked, focused, its mistake selected. */
  function focusFirst(found: FieldErrors): void {
    const order = Object.keys(controls) as DraftField[];
    const first = order.find((f) => found[f]);
    if (!first) return;
    const c = controls[first];
    const offset = found[first]?.offset;
    if (offset !== undefined && (c instanceof HTMLTextAreaElement || c instanceof HTMLInputElement)) selectMistake(c, offset);
    else c.focus();
  }

  // ---- the preview ----------------------------------------------------------------------------
  let latest: Preview | null = null;
  let asking: Promise<Preview> | null = null;
  let askingKey = '';
  let sequence = 0;

  const scheduleKey = () => `${cronInput.value.trim()}\n${zoneInput.value.trim() || 'UTC'}`;

  async function ask(key: string): Promise<Preview> {
    const [expr, zone] = key.split('\n') as [string, string];
    try {
      const r = await execute('GetCronPreviewQuery', { cronExpression: expr, timeZone: zone, count: 5 });
      if (r.ok) {
        const times = r.data.nextRunTimes.map((utc, i) => ({ utc, local: r.data.localTimes[i] ?? utc }));
        return { key, times };
      }
      const placed = placeErrors(r.errors);
      if (placed.rest.length > 0 || Object.keys(placed.fields).length === 0) {
        return { key, problem: [r.message, ...placed.rest].filter(Boolean).join(': ') };
      }
      return { key, errors: placed.fields };
    } catch (e) {
      return { key, problem: `The next runs could not be computed: ${errorText(e)}` };
    }
  }

  /** The preview for what is typed now, asked once per expression and zone. */
  function previewFor(key: string): Promise<Preview> {
    // A failure to reach the runtime is asked again; the runtime's verdict is kept.
    if (latest && latest.key === key && !latest.problem) return Promise.resolve(latest);
    if (asking && askingKey === key) return asking;
    askingKey = key;
    const mine = ++sequence;
    asking = ask(key).then((p) => {
      if (mine === sequence) {
        latest = p;
        asking = null;
      }
      return p;
    });
    return asking;
  }

  function paintPreview(p: Preview | null): void {
    const zone = zoneInput.value.trim() || 'UTC';
    previewTitle.textContent = `Next five runs (${zone})`;
    for (const f of ['cronExpression', 'timeZone'] as DraftField[]) setError(errors[f], null, controls[f]);
    if (!p) {
      preview.removeAttribute('aria-busy');
      previewList.replaceChildren();
      previewNote.textContent = 'Type a cron expression to see when it runs.';
      return;
    }
    preview.removeAttribute('aria-busy');
    if (p.times) {
      previewNote.textContent = p.times.length === 0 ? 'This expression never runs again.' : '';
      previewList.replaceChildren(
        ...p.times.map((t) => el('li', {}, el('time', { dateTime: t.utc, title: `${t.utc} in UTC` }, localText(t.local)))),
      );
      return;
    }
    previewList.replaceChildren();
    if (p.errors) {
      showErrors(p.errors);
      previewNote.textContent = 'No runs to show until the schedule is valid.';
    } else previewNote.textContent = p.problem ?? '';
  }

  const refreshPreview = debounce(() => {
    if (gone) return;
    const key = scheduleKey();
    if (cronInput.value.trim() === '') return paintPreview(null);
    void previewFor(key).then((p) => {
      if (!gone && p.key === scheduleKey()) paintPreview(p);
    });
  }, PREVIEW_DELAY_MS);

  function schedulingChanged(): void {
    if (cronInput.value.trim() === '') {
      refreshPreview.cancel();
      paintPreview(null);
      return;
    }
    preview.setAttribute('aria-busy', 'true');
    refreshPreview.call();
  }
  cronInput.addEventListener('input', schedulingChanged);
  zoneInput.addEventListener('input', schedulingChanged);
  typeSelect.addEventListener('change', showType);

  // A field's mark goes as soon as it is edited (the preview marks the schedule again).
  for (const [k, c] of Object.entries(controls) as [DraftField, HTMLElement][]) {
    if (k === 'cronExpression' || k === 'timeZone') continue;
    c.addEventListener('input', () => setError(errors[k], null, c));
  }

  // ---- saving ---------------------------------------------------------------------------------
  async function save(): Promise<void> {
    if (saving) return;
    clearErrors();
    const draft = read();
    const built = buildJobData(draft);
    const found: FieldErrors = built.ok ? {} : { ...built.errors };
    saving = true;
    saveButton.disabled = true;
    try {
      if (draft.cronExpression.trim() !== '') {
        refreshPreview.cancel();
        const p = await previewFor(scheduleKey());
        if (gone) return;
        paintPreview(p);
        if (p.errors) Object.assign(found, p.errors);
        else if (p.problem) {
          setError(formError, `Not saved: ${p.problem}`);
          return;
        }
      }
      if (!built.ok || Object.keys(found).length > 0) {
        showErrors(found);
        const n = Object.keys(found).length;
        setError(formError, `Not saved: ${n === 1 ? 'one field needs' : `${n} fields need`} attention (marked above).`);
        focusFirst(found);
        return;
      }
      const data = id === null ? built.data : { id, ...built.data };
      const r = await execute<{ id: number; job: Job }>(id === null ? 'CreateRecurringJobCommand' : 'UpdateRecurringJobCommand', data);
      if (gone) return;
      if (!r.ok) {
        const placed = placeErrors(r.errors);
        showErrors(placed.fields);
        const rest = placed.rest.length > 0 ? ` (${placed.rest.join('; ')})` : '';
        const marked = Object.keys(placed.fields).length > 0 ? ': see the marked fields' : '';
        const said = (r.message || 'the server refused it').replace(/\.$/, '');
        setError(formError, `Not saved: ${said}${marked}${rest}.`);
        focusFirst(placed.fields);
        return;
      }
      const created = id === null;
      original = read();
      forget();
      announce(created ? `Recurring job ${r.data.job.name} created` : `Recurring job ${r.data.job.name} saved`);
      opts.onSaved(r.data.job, created);
    } catch (e) {
      // The server went away: say so; the values stay as typed.
      setError(formError, `Not saved: ${errorText(e)}`);
    } finally {
      saving = false;
      saveButton.disabled = false;
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void save();
  });

  function close(): void {
    discardBox.hidden = true;
    const then = afterDiscard;
    afterDiscard = null;
    (then ?? opts.onClosed)();
  }

  function leave(then: () => void): void {
    if (!dirty()) {
      then();
      return;
    }
    afterDiscard = then;
    discardBox.hidden = false;
    discardNo.focus();
  }

  cancelButton.addEventListener('click', () => leave(opts.onClosed));
  discardYes.addEventListener('click', () => {
    original = read();
    forget();
    close();
  });
  discardNo.addEventListener('click', () => {
    discardBox.hidden = true;
    afterDiscard = null;
    cancelButton.focus();
  });
  root.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !discardBox.hidden) {
      e.preventDefault();
      discardNo.click();
    }
  });

  function dirty(): boolean {
    return original !== null && !sameDraft(original, read());
  }

  /** Keeps the changes for the next visit of the view (or forgets them when there are none). */
  function keep(): void {
    if (!original || !dirty()) return forget();
    const kept: KeptDraft = { id, title: title.textContent ?? '', draft: read(), original };
    try {
      sessionStorage.setItem(DRAFT_KEY, JSON.stringify(kept));
    } catch {
      /* storage full or refused: the changes stay on screen */
    }
  }
  form.addEventListener('input', keep);
  form.addEventListener('change', keep);

  function open(draft: JobDraft, jobId: number | null, heading: string, from?: JobDraft): void {
    id = jobId;
    original = from ?? draft;
    restored.hidden = from === undefined;
    title.textContent = heading;
    saveButton.textContent = jobId === null ? 'Create job' : 'Save changes';
    discardBox.hidden = true;
    afterDiscard = null;
    write(draft);
    clearErrors();
    latest = null;
    paintPreview(null);
    if (draft.cronExpression.trim()) schedulingChanged();
    void opts.processKeys().then((keys) => {
      if (!gone) processList.replaceChildren(...keys.map((k) => el('option', { value: k })));
    });
    (controls.name as HTMLInputElement).focus();
    keep();
  }

  return {
    root,
    open,
    dirty,
    leave,
    destroy() {
      gone = true;
      refreshPreview.cancel();
    },
  };
}
