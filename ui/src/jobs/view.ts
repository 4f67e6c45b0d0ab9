/**
 * #/jobs: recurring jobs (docs/scheduling.md). The list (GetRecurringJobListQuery) shows each
 * job's status, schedule, time zone and next run; a chosen job shows what it runs, Run now
 * (ExecuteRecurringJobCommand), Pause / Resume (UpdateRecurringJobCommand isActive), Edit,
 * Delete with a confirmation (DeleteRecurringJobCommand) and its run history
 * (GetRecurringJobRunListQuery) with outcome and duration. The editor is ./editor.ts.
 *
 * The list is read again after every action, when the earliest next run falls due, when a run
 * starts or ends (pushed by the server, whoever started it), when an instance changes (a job
 * that starts a process), and on Refresh.
 *
 * Under the jobs, the timer start events and the incidents of those that stopped after failing
 * (../timers/section.ts), read again on the same occasions.
 */
import { latestReads } from '../app/latest';
import type { View, ViewContext } from '../app/view';
import { announce } from '../app/announce';
import { el, errorText, setError } from '../runner/dom';
import { execute, query, subscribe, subscribeRuns } from '../transport';
import { throttle } from '../runner/model';
import { createEditor, keptDraft } from './editor';
import { mountTimerStarts } from '../timers/section';
import {
  draftFromJob,
  durationText,
  emptyDraft,
  executionLabel,
  inZone,
  instant,
  localZone,
  runOutcomeText,
  runSentence,
  startedInstance,
  TRIGGER_WORDS,
  type Job,
  type JobRun,
} from './model';
import '../runner/runner.css';
import './jobs.css';

type Mode = { kind: 'none' } | { kind: 'job'; id: number } | { kind: 'edit'; id: number | null };

/** The longest wait setTimeout keeps (about 24 days). */
const MAX_TIMER_MS = 2_000_000_000;
/** How soon to look again when a job's next run is already past. */
const OVERDUE_RETRY_MS = 15_000;
const RUNS_PAGE = 50;
const RUNS_MAX = 1000;

function jobFromAddress(hash: string): number | null {
  const q = new URLSearchParams(hash.split('?')[1] ?? '');
  const n = Number(q.get('job'));
  return Number.isInteger(n) && n > 0 ? n : null;
}

function statusOf(job: Job): HTMLSpanElement {
  return el('span', { className: `status ${job.isActive ? 'status-active' : 'status-paused'}`, 'data-testid': 'job-status' }, job.isActive ? 'Active' : 'Paused');
}

/** A run's result or error: a started instance as a link to it, else the text (cut). */
function outcomeCell(run: JobRun): HTMLTableCellElement {
  if (run.error) return el('td', { className: 'run-error', title: runOutcomeText(run, 4000) }, runOutcomeText(run));
  const guid = startedInstance(run.result);
  if (guid) {
    const short = guid.length > 13 ? `${guid.slice(0, 8)}…` : guid;
    return el(
      'td',
      {},
      'Started ',
      el('a', { href: `#/instances/${encodeURIComponent(guid)}`, title: guid, 'aria-label': `instance ${guid}`, 'data-testid': 'run-instance' }, `instance ${short}`),
    );
  }
  return el('td', { className: 'mono small run-result', title: runOutcomeText(run, 4000) }, runOutcomeText(run));
}

function runStatus(status: string): HTMLSpanElement {
  return el('span', { className: `status run-${status.toLowerCase()}`, 'data-testid': 'run-status' }, status);
}

export function mount(root: HTMLElement, _ctx: ViewContext): View {
  let gone = false;
  let jobs: Job[] = [];
  let mode: Mode = { kind: 'none' };
  let loadedOnce = false;
  let dueTimer: ReturnType<typeof setTimeout> | null = null;
  /** The run to highlight in the history (after Run now). */
  let freshRun: number | null = null;

  const wanted = jobFromAddress(window.location.hash);

  // ---- the list -------------------------------------------------------------------------------
  const newButton = el('button', { type: 'button', className: 'primary', 'data-testid': 'job-new' }, 'New job');
  const refreshButton = el('button', { type: 'button', 'data-testid': 'jobs-refresh' }, 'Refresh');
  const summary = el('p', { className: 'list-summary', 'aria-live': 'polite', 'data-testid': 'jobs-summary' }, 'Loading jobs…');
  const listError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'jobs-error' });
  const tbody = el('tbody');
  const table = el(
    'table',
    { className: 'runner-table jobs-table', 'data-testid': 'job-list' },
    el('caption', { className: 'sr-only' }, 'Recurring jobs'),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, 'Job'),
        el('th', { scope: 'col' }, 'Status'),
        el('th', { scope: 'col' }, 'Schedule'),
        el('th', { scope: 'col' }, 'Time zone'),
        el('th', { scope: 'col' }, 'Next run (in its zone)'),
      ),
    ),
    tbody,
  );
  const empty = el(
    'div',
    { className: 'empty-state', hidden: true, 'data-testid': 'jobs-empty' },
    el('p', {}, 'No recurring jobs yet: a job runs a process, a command or a script on a cron schedule.'),
  );

  // ---- one job --------------------------------------------------------------------------------
  const detailTitle = el('h2', { id: 'job-detail-title', tabindex: -1, 'data-testid': 'job-detail-name' });
  const detailStatus = el('span');
  const meta = el('dl', { className: 'meta', 'data-testid': 'job-meta' });
  const runButton = el('button', { type: 'button', className: 'primary', 'data-testid': 'job-run' }, 'Run now');
  const pauseButton = el('button', { type: 'button', 'data-testid': 'job-pause' }, 'Pause');
  const editButton = el('button', { type: 'button', 'data-testid': 'job-edit' }, 'Edit');
  const deleteButton = el('button', { type: 'button', className: 'danger', 'data-testid': 'job-delete' }, 'Delete…');
  const actionNote = el('p', { className: 'job-note', role: 'status', hidden: true, 'data-testid': 'job-action-note' });
  const actionError = el('p', { className: 'field-error task-error', role: 'alert', hidden: true, 'data-testid': 'job-action-error' });
  const deleteYes = el('button', { type: 'button', className: 'danger', 'data-testid': 'job-delete-confirm' }, 'Yes, delete it');
  const deleteNo = el('button', { type: 'button', 'data-testid': 'job-delete-keep' }, 'Keep it');
  const deleteText = el('p', {});
  const deleteBox = el(
    'div',
    { className: 'confirm-box', role: 'group', 'aria-label': 'Confirm deleting', hidden: true, 'data-testid': 'job-delete-box' },
    deleteText,
    deleteYes,
    deleteNo,
  );
  const runsBody = el('tbody');
  /** How many runs the history shows (GetRecurringJobRunListQuery's count: 50 at first, at most 1000). */
  let runCount = RUNS_PAGE;
  const moreRuns = el('button', { type: 'button', hidden: true, className: 'more-runs', 'data-testid': 'runs-more' }, 'Show older runs');
  const startedHead = el('th', { scope: 'col' }, 'Started');
  const runsSummary = el('p', { className: 'muted small', 'data-testid': 'runs-summary', 'aria-live': 'polite' });
  const runsError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'runs-error' });
  const runsTable = el(
    'table',
    { className: 'runner-table history runs-table', 'data-testid': 'job-runs' },
    el('caption', { className: 'sr-only' }, 'Run history, newest first'),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, 'Run'),
        startedHead,
        el('th', { scope: 'col' }, 'Trigger'),
        el('th', { scope: 'col' }, 'Outcome'),
        el('th', { scope: 'col' }, 'Duration'),
        el('th', { scope: 'col' }, 'Result or error'),
      ),
    ),
    runsBody,
  );
  const detail = el(
    'section',
    { className: 'panel job-detail', 'aria-labelledby': 'job-detail-title', hidden: true, 'data-testid': 'job-detail' },
    el('div', { className: 'job-detail-head' }, detailTitle, detailStatus),
    meta,
    el('div', { className: 'form-actions', role: 'group', 'aria-label': 'Job actions' }, runButton, pauseButton, editButton, deleteButton),
    actionNote,
    actionError,
    deleteBox,
    el('h3', { id: 'job-runs-title' }, 'Run history'),
    runsSummary,
    runsError,
    // Focusable: a long history scrolls, and the keyboard must be able to scroll it.
    el('div', { className: 'table-wrap runs-wrap', role: 'region', 'aria-labelledby': 'job-runs-title', tabindex: 0 }, runsTable),
    moreRuns,
  );
  const placeholderNote = el('p', { className: 'job-note', role: 'status', hidden: true, 'data-testid': 'job-placeholder-note' });
  const placeholder = el(
    'section',
    { className: 'panel job-placeholder', 'aria-label': 'No job chosen', 'data-testid': 'job-placeholder' },
    placeholderNote,
    el('p', { className: 'muted' }, 'Choose a job to see its runs, or create one with New job.'),
  );

  // Timer start events and their incidents, under the jobs (../timers/section.ts).
  const starts = mountTimerStarts();

  const editor = createEditor({
    onSaved(job, created) {
      void load().then(() => {
        showJob(job.id);
        note(created ? `Created “${job.name}”.` : `Saved “${job.name}”.`);
        detailTitle.focus();
      });
    },
    onClosed() {
      const back = mode.kind === 'edit' && mode.id !== null ? mode.id : null;
      if (back !== null && jobs.some((j) => j.id === back)) {
        showJob(back);
        editButton.focus();
      } else {
        showNone();
        newButton.focus();
      }
    },
    processKeys,
  });
  editor.root.hidden = true;

  root.append(
    el(
      'div',
      { className: 'runner-page jobs-page', 'data-testid': 'jobs-view' },
      el('div', { className: 'runner-head' }, el('h1', {}, 'Recurring jobs'), summary, el('span', { className: 'spacer' }), refreshButton, newButton),
      listError,
      starts.banner,
      el(
        'div',
        { className: 'jobs-columns' },
        el('section', { className: 'jobs-list', 'aria-label': 'Job list' }, el('div', { className: 'table-wrap' }, table, empty)),
        el('div', { className: 'jobs-side' }, placeholder, detail, editor.root),
      ),
      starts.root,
    ),
  );

  // ---- helpers --------------------------------------------------------------------------------
  const current = (): Job | undefined => {
    const m = mode;
    return m.kind === 'job' ? jobs.find((j) => j.id === m.id) : undefined;
  };

  function remember(): void {
    const hash = mode.kind === 'job' ? `#/jobs?job=${mode.id}` : '#/jobs';
    // replaceState, not a hash change: the router would mount the view again.
    if (window.location.hash !== hash) history.replaceState(history.state, '', hash);
  }

  function note(message: string): void {
    setError(actionError, null);
    actionNote.textContent = message;
    actionNote.hidden = false;
  }

  function failed(message: string): void {
    actionNote.hidden = true;
    setError(actionError, message);
  }

  async function processKeys(): Promise<string[]> {
    try {
      const r = await query<{ items: { processKey: string }[] }>('GetProcessDefinitionListQuery', { pageNumber: 1, pageSize: 500 });
      return [...new Set(r.items.map((d) => d.processKey))].sort();
    } catch {
      return [];
    }
  }

  function paintSelection(): void {
    const m = mode;
    const chosen = m.kind === 'none' ? null : String(m.id);
    for (const tr of tbody.querySelectorAll<HTMLTableRowElement>('tr')) {
      const on = chosen !== null && chosen === tr.dataset.id;
      tr.classList.toggle('selected', on);
      tr.querySelector('button')?.setAttribute('aria-pressed', String(on));
    }
  }

  function row(job: Job): HTMLTableRowElement {
    const open = el('button', { type: 'button', className: 'link-button', 'data-id': String(job.id), 'aria-pressed': 'false' }, job.name);
    open.addEventListener('click', () => choose(job.id));
    const next = job.isActive ? inZone(job.nextRunAt, job.timeZone) || 'never again' : 'paused';
    return el(
      'tr',
      { 'data-testid': 'job-row', 'data-id': String(job.id), 'data-active': String(job.isActive) },
      el('td', {}, open, el('div', { className: 'muted small' }, executionLabel(job.executionType))),
      el('td', {}, statusOf(job)),
      el('td', {}, el('code', { className: 'mono' }, job.cronExpression)),
      el('td', {}, job.timeZone),
      el('td', { 'data-testid': 'job-next' }, job.nextRunAt ? el('time', { dateTime: job.nextRunAt, title: `${job.nextRunAt} (UTC)` }, next) : next),
    );
  }

  /** Reads the list again at the earliest next run (plus a moment for the run to be recorded). */
  function wakeAtNextRun(): void {
    if (dueTimer) clearTimeout(dueTimer);
    dueTimer = null;
    const times = jobs.filter((j) => j.isActive).map((j) => instant(j.nextRunAt)).filter((t): t is number => t !== null);
    if (times.length === 0) return;
    const until = Math.min(...times) - Date.now();
    // A run already due (the scheduler is busy, or the clock is virtual): look again calmly.
    const wait = until < 0 ? OVERDUE_RETRY_MS : Math.min(MAX_TIMER_MS, until + 1500);
    dueTimer = setTimeout(() => {
      dueTimer = null;
      void load().then(() => {
        if (mode.kind === 'job') void loadRuns();
      });
    }, wait);
  }

  const reads = latestReads();
  async function load(): Promise<void> {
    if (gone) return;
    table.setAttribute('aria-busy', 'true');
    const ticket = reads.take();
    try {
      const r = await query<{ items: Job[]; totalCount: number }>('GetRecurringJobListQuery', {});
      if (gone || !ticket.current()) return;
      jobs = [...r.items].sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
      const focused = (document.activeElement as HTMLElement | null)?.dataset?.id;
      tbody.replaceChildren(...jobs.map(row));
      if (focused) tbody.querySelector<HTMLElement>(`button[data-id="${CSS.escape(focused)}"]`)?.focus();
      paintSelection();
      const active = jobs.filter((j) => j.isActive).length;
      summary.textContent =
        jobs.length === 0 ? '' : `${jobs.length} job${jobs.length === 1 ? '' : 's'}, ${active} active`;
      table.hidden = jobs.length === 0;
      empty.hidden = jobs.length !== 0;
      setError(listError, null);
      loadedOnce = true;
      if (mode.kind === 'job') {
        if (current()) paintDetail();
        else showNone();
      }
      wakeAtNextRun();
    } catch (e) {
      if (gone || !ticket.current()) return;
      setError(listError, `The jobs could not be loaded: ${errorText(e)}`);
      if (!loadedOnce) summary.textContent = '';
    } finally {
      if (ticket.current()) table.removeAttribute('aria-busy');
    }
  }

  // ---- what the side shows --------------------------------------------------------------------
  function show(which: 'none' | 'job' | 'edit'): void {
    placeholder.hidden = which !== 'none';
    detail.hidden = which !== 'job';
    editor.root.hidden = which !== 'edit';
  }

  function showNone(): void {
    placeholderNote.hidden = true;
    mode = { kind: 'none' };
    show('none');
    paintSelection();
    remember();
  }

  function showJob(id: number): void {
    const changed = mode.kind !== 'job' || mode.id !== id;
    mode = { kind: 'job', id };
    show('job');
    if (changed) {
      actionNote.hidden = true;
      setError(actionError, null);
      deleteBox.hidden = true;
      freshRun = null;
      runCount = RUNS_PAGE;
      runsBody.replaceChildren();
      runsSummary.textContent = 'Loading runs…';
    }
    paintSelection();
    remember();
    paintDetail();
    void loadRuns();
  }

  /** Leaves the editor (asking first when it holds changes), then runs `then`. */
  function choose(id: number): void {
    if (mode.kind === 'edit') editor.leave(() => showJob(id));
    else showJob(id);
  }

  function paintDetail(): void {
    const job = current();
    if (!job) return;
    detailTitle.textContent = job.name;
    detailStatus.replaceChildren(statusOf(job));
    pauseButton.textContent = job.isActive ? 'Pause' : 'Resume';
    pauseButton.dataset.testid = job.isActive ? 'job-pause' : 'job-resume';
    const what: (string | Node)[] = [executionLabel(job.executionType)];
    if (job.executionType === 3) what.push(': ', el('code', {}, job.processKey ?? `definition ${job.processDefinitionId ?? '?'}`));
    if (job.executionType === 0 && job.commandName) what.push(': ', el('code', {}, job.commandName));
    if (job.executionType === 1 && Array.isArray(job.commandChain)) what.push(` (${job.commandChain.length} steps)`);
    const rows: [string, (string | Node)[]][] = [
      ['Schedule', [el('code', {}, job.cronExpression)]],
      ['Time zone', [job.timeZone]],
      ['Next run', [job.isActive ? inZone(job.nextRunAt, job.timeZone) || 'never again' : 'none while paused']],
      ['Last run', [inZone(job.lastRunAt, job.timeZone) || 'not yet']],
      ['Runs', what],
      [
        'Policies',
        [
          `missed runs ${job.misfirePolicy === 'skip' ? 'are skipped' : 'run once'}; overlapping runs ${job.overlapPolicy === 'queue' ? 'are queued' : 'are skipped'}`,
        ],
      ],
      ['Created', [`${inZone(job.createdAt, job.timeZone)}${job.createdBy ? ` by ${job.createdBy}` : ''}`]],
    ];
    meta.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, ...v)]));
  }

  const runReads = latestReads();
  async function loadRuns(): Promise<void> {
    const job = current();
    if (!job) return;
    runsTable.setAttribute('aria-busy', 'true');
    startedHead.textContent = `Started (${job.timeZone})`;
    const ticket = runReads.take();
    try {
      const r = await query<{ items: JobRun[]; totalCount: number }>('GetRecurringJobRunListQuery', { id: job.id, count: runCount });
      if (gone || !ticket.current() || current()?.id !== job.id) return;
      runsBody.replaceChildren(
        ...r.items.map((run) =>
          el(
            'tr',
            { 'data-testid': 'run-row', 'data-run': String(run.id), 'data-status': run.status, className: run.id === freshRun ? 'fresh' : '' },
            el('td', {}, String(run.id)),
            el('td', {}, el('time', { dateTime: run.startedAt, title: `${run.startedAt} (UTC)` }, inZone(run.startedAt, job.timeZone, false))),
            el('td', {}, TRIGGER_WORDS[run.trigger] ?? run.trigger),
            el('td', {}, runStatus(run.status)),
            el('td', { 'data-testid': 'run-duration', className: 'nowrap' }, run.finishedAt ? durationText(run.startedAt, run.finishedAt) : 'still running'),
            outcomeCell(run),
          ),
        ),
      );
      runsTable.hidden = r.items.length === 0;
      const full = r.items.length >= runCount;
      runsSummary.textContent =
        r.items.length === 0
          ? 'No runs yet.'
          : full
            ? `The newest ${runCount} runs${runCount >= RUNS_MAX ? ' (the most shown)' : ''}.`
            : `${r.items.length} run${r.items.length === 1 ? '' : 's'}, newest first.`;
      moreRuns.hidden = !full || runCount >= RUNS_MAX;
      setError(runsError, null);
    } catch (e) {
      if (gone || !ticket.current()) return;
      setError(runsError, `The runs could not be loaded: ${errorText(e)}`);
      runsSummary.textContent = '';
    } finally {
      if (ticket.current()) runsTable.removeAttribute('aria-busy');
    }
  }

  function openEditor(job: Job | null): void {
    mode = { kind: 'edit', id: job?.id ?? null };
    show('edit');
    paintSelection();
    remember();
    if (!job) {
      editor.open(emptyDraft(localZone()), null, 'New recurring job');
      return;
    }
    // The list leaves out a script's code: read the whole job.
    void execute<Job>('GetRecurringJobByIdQuery', { id: job.id }).then(
      (r) => {
        if (gone || mode.kind !== 'edit' || mode.id !== job.id) return;
        if (r.ok) editor.open(draftFromJob(r.data), job.id, `Edit “${r.data.name}”`);
        else {
          showJob(job.id);
          failed(`The job could not be opened: ${r.message}`);
        }
      },
      (e) => {
        showJob(job.id);
        failed(`The job could not be opened: ${errorText(e)}`);
      },
    );
  }

  // ---- actions --------------------------------------------------------------------------------
  async function busy<T>(button: HTMLButtonElement, work: () => Promise<T>): Promise<T | undefined> {
    if (button.disabled) return undefined;
    const buttons = [runButton, pauseButton, editButton, deleteButton, deleteYes];
    const was = buttons.map((b) => b.disabled);
    for (const b of buttons) b.disabled = true;
    try {
      return await work();
    } catch (e) {
      failed(errorText(e));
      return undefined;
    } finally {
      buttons.forEach((b, i) => (b.disabled = was[i]!));
      // A disabled button loses the focus: give it back when nothing else took it.
      const lost = document.activeElement === null || document.activeElement === document.body;
      if (lost && button.isConnected && !button.closest('[hidden]')) button.focus();
    }
  }

  runButton.addEventListener('click', () => {
    const job = current();
    if (!job) return;
    void busy(runButton, async () => {
      actionNote.hidden = false;
      actionNote.textContent = `Running “${job.name}”…`;
      setError(actionError, null);
      const newest = async () => (await query<{ items: JobRun[] }>('GetRecurringJobRunListQuery', { id: job.id, count: 1 })).items[0];
      const before = (await newest())?.id ?? 0;
      const r = await execute<{ runId: number; status: string }>('ExecuteRecurringJobCommand', { id: job.id });
      if (gone) return;
      const run = await newest();
      // A refusal (not an administrator, a run already under way) records no run; a failure does.
      const ran = r.ok || (run !== undefined && run.id > before);
      freshRun = r.ok ? r.data.runId : ran ? run!.id : null;
      if (r.ok) note(run && run.id === r.data.runId ? runSentence(run) : `Run ${r.data.runId}: ${r.data.status}.`);
      else failed(ran ? `The run failed: ${r.message}` : `Not run: ${r.message}`);
      announce(r.ok ? (actionNote.textContent ?? '') : (actionError.textContent ?? ''));
      await load();
      await loadRuns();
    });
  });

  pauseButton.addEventListener('click', () => {
    const job = current();
    if (!job) return;
    void busy(pauseButton, async () => {
      const r = await execute<{ job: Job }>('UpdateRecurringJobCommand', { id: job.id, isActive: !job.isActive });
      if (gone) return;
      if (!r.ok) {
        failed(`Not ${job.isActive ? 'paused' : 'resumed'}: ${r.message}${r.errors.length ? ` (${r.errors.map((e) => e.message).join('; ')})` : ''}`);
        return;
      }
      note(r.data.job.isActive ? `Resumed: the next run is ${inZone(r.data.job.nextRunAt, r.data.job.timeZone) || 'never'}.` : 'Paused: it runs only when you press Run now.');
      announce(actionNote.textContent ?? '');
      await load();
    });
  });

  editButton.addEventListener('click', () => {
    const job = current();
    if (job) openEditor(job);
  });

  deleteButton.addEventListener('click', () => {
    const job = current();
    if (!job) return;
    deleteText.textContent = `Delete “${job.name}”? Its schedule and its run history are deleted too; this cannot be undone.`;
    deleteBox.hidden = false;
    deleteNo.focus();
  });
  deleteNo.addEventListener('click', () => {
    deleteBox.hidden = true;
    deleteButton.focus();
  });
  deleteBox.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      deleteNo.click();
    }
  });
  deleteYes.addEventListener('click', () => {
    const job = current();
    if (!job) return;
    void busy(deleteYes, async () => {
      const r = await execute('DeleteRecurringJobCommand', { id: job.id });
      if (gone) return;
      if (!r.ok) {
        failed(`Not deleted: ${r.message}`);
        return;
      }
      deleteBox.hidden = true;
      announce(`Deleted ${job.name}`);
      showNone();
      placeholderNote.textContent = `Deleted “${job.name}” and its run history.`;
      placeholderNote.hidden = false;
      await load();
      newButton.focus();
    });
  });

  newButton.addEventListener('click', () => {
    if (mode.kind === 'edit') editor.leave(() => openEditor(null));
    else openEditor(null);
  });
  moreRuns.addEventListener('click', () => {
    runCount = Math.min(RUNS_MAX, runCount + RUNS_PAGE);
    void loadRuns().then(() => {
      if (moreRuns.hidden) runsTable.closest<HTMLElement>('.runs-wrap')?.focus();
    });
  });
  refreshButton.addEventListener('click', () => {
    void starts.reload();
    void load().then(() => {
      if (mode.kind === 'job') void loadRuns();
    });
  });

  // A job that starts a process changes instances: read the list (and runs) again.
  const live = throttle(async () => {
    void starts.reload();
    await load();
    if (mode.kind === 'job') await loadRuns();
  }, 1000);
  const unsubscribe = subscribe(() => live.call());
  // A run that starts or ends, whoever started it (the schedule, another client's Run now).
  const unsubscribeRuns = subscribeRuns(() => live.call());

  show('none');
  void starts.reload();
  void load().then(() => {
    if (gone) return;
    // Changes left unsaved when the view was last left come back as they were.
    const kept = keptDraft();
    if (kept && (kept.id === null || jobs.some((j) => j.id === kept.id))) {
      mode = { kind: 'edit', id: kept.id };
      show('edit');
      paintSelection();
      remember();
      editor.open(kept.draft, kept.id, kept.title, kept.original);
      announce('Your unsaved changes to the job are back');
    } else if (wanted !== null && jobs.some((j) => j.id === wanted)) showJob(wanted);
    else remember();
  });

  return {
    unmount() {
      gone = true;
      live.cancel();
      unsubscribe();
      unsubscribeRuns();
      editor.destroy();
      starts.destroy();
      if (dueTimer) clearTimeout(dueTimer);
    },
  };
}
