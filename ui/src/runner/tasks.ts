/**
 * #/tasks: the task inbox, acting as a chosen user. The list is GetTaskListQuery for that user;
 * a task's form (GetTaskFormQuery) is rendered with form-js, prefilled from the instance's
 * context, and submitted with SignalProcessInstanceCommand. Commands run as the chosen user
 * (`actAs`), so ResponsibleUser / ResponsibleTeam and the ServerScript's `currentUser` hold.
 * A ServerScript rejection is shown beside the form and the typed values stay.
 */
import { latestReads } from '../app/latest';
import { Form } from '@bpmn-io/form-js-viewer';
import '@bpmn-io/form-js-viewer/dist/assets/form-js.css';
import type { View, ViewContext } from '../app/view';
import { announce } from '../app/announce';
import { execute, query, subscribe, type Answer, type ExecuteOptions } from '../transport';
import { el, errorFor, errorText, selectMistake, setError } from './dom';
import { parseJson } from '../app/json';
import { shortTime, throttle } from './model';
import './runner.css';

const USER_KEY = 'baton.tasks.actingUser';

interface UserRow {
  userName: string;
  isAdmin: boolean;
  teams: string[];
}

interface TaskRow {
  instanceGuid: string;
  taskId: string;
  taskType: string;
  name: string | null;
  formKey: string | null;
  responsibleUser: string | null;
  responsibleTeam: string | null;
  createdAt: string;
}

interface TaskForm {
  status: string;
  taskType: string;
  taskId: string;
  formKey: string | null;
  formJson: unknown;
  context: Record<string, unknown>;
  metadata: { instanceGuid: string; taskName: string | null; responsibleUser: string | null; responsibleTeam: string | null };
}

const taskKey = (t: { instanceGuid: string; taskId: string }) => `${t.instanceGuid}/${t.taskId}`;

function answerText(r: Answer<unknown>): string {
  if (r.ok) return r.message;
  const detail = r.errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
  return detail ? `${r.message} (${detail})` : r.message || 'The server refused it.';
}

export function mount(root: HTMLElement, _ctx: ViewContext): View {
  let gone = false;
  let users: UserRow[] = [];
  let tasks: TaskRow[] = [];
  let selected: string | null = null;
  let form: Form | null = null;
  let openTask: TaskForm | null = null;
  let submitting = false;

  const wanted = new URLSearchParams(window.location.hash.split('?')[1] ?? '');
  let preselect: string | null = wanted.get('instance') && wanted.get('task') ? `${wanted.get('instance')}/${wanted.get('task')}` : null;

  const userSelect = el('select', { id: 'acting-user', 'data-testid': 'acting-user' });
  const userNote = el('p', { className: 'muted small', id: 'acting-note' });
  userSelect.setAttribute('aria-describedby', 'acting-note');
  const listError = el('p', { className: 'field-error', role: 'alert', hidden: true, 'data-testid': 'tasks-error' });
  const list = el('ul', { className: 'task-list', 'aria-labelledby': 'h-inbox' });
  const listSummary = el('p', { className: 'muted', 'aria-live': 'polite', 'data-testid': 'tasks-summary' }, 'Loading tasks…');

  const formTitle = el('h2', { id: 'h-task' }, 'No task selected');
  const formMeta = el('p', { className: 'muted' });
  const formHost = el('div', { className: 'task-form', 'data-testid': 'task-form' });
  const jsonBox = el('textarea', { id: 'task-json', rows: 8, spellcheck: false, 'data-testid': 'task-json' });
  const jsonError = errorFor(jsonBox, 'task-json-error', 'task-json-error');
  const jsonWrap = el(
    'div',
    { hidden: true },
    el('label', { for: 'task-json' }, 'This task has no form: the data to submit (JSON)'),
    jsonBox,
    jsonError,
  );
  const submitButton = el('button', { type: 'button', className: 'primary', 'data-testid': 'task-submit' }, 'Submit');
  const taskError = el('p', { className: 'field-error task-error', role: 'alert', hidden: true, 'data-testid': 'task-error' });
  const done = el('div', { className: 'task-done', role: 'status', hidden: true, 'data-testid': 'task-done' });
  const actions = el('div', { className: 'form-actions', hidden: true }, submitButton);
  const placeholder = el('p', { className: 'muted', 'data-testid': 'task-placeholder' }, 'Choose a task from the inbox to open its form.');
  const panel = el(
    'section',
    { className: 'panel task-panel', 'aria-labelledby': 'h-task' },
    formTitle,
    formMeta,
    placeholder,
    done,
    formHost,
    jsonWrap,
    taskError,
    actions,
  );

  root.append(
    el(
      'div',
      { className: 'runner-page tasks-page', 'data-testid': 'tasks-view' },
      el(
        'div',
        { className: 'runner-head' },
        el('h1', {}, 'Tasks'),
        el('span', { className: 'spacer' }),
        el('label', { for: 'acting-user' }, 'Acting as'),
        userSelect,
      ),
      userNote,
      el(
        'div',
        { className: 'tasks-columns' },
        el('section', { className: 'panel inbox-panel', 'aria-labelledby': 'h-inbox', 'data-testid': 'task-inbox' }, el('h2', { id: 'h-inbox' }, 'Inbox'), listSummary, listError, list),
        panel,
      ),
    ),
  );

  const actingUser = () => userSelect.value;
  const actingRow = () => users.find((u) => u.userName === actingUser());
  /** Administrators run as themselves; anyone else through `actAs`. */
  const options = (): ExecuteOptions => {
    const u = actingRow();
    return u && !u.isAdmin ? { actAs: u.userName } : {};
  };

  function paintUsers(): void {
    const remembered = localStorage.getItem(USER_KEY);
    const current = userSelect.value || remembered || users.find((u) => u.isAdmin)?.userName || users[0]?.userName || '';
    userSelect.replaceChildren(
      ...users.map((u) =>
        el('option', { value: u.userName }, `${u.userName}${u.isAdmin ? ' (administrator)' : ''}${u.teams.length ? ` — ${u.teams.join(', ')}` : ''}`),
      ),
    );
    userSelect.value = users.some((u) => u.userName === current) ? current : (users[0]?.userName ?? '');
    paintUserNote();
  }

  function paintUserNote(): void {
    const u = actingRow();
    userNote.textContent = !u
      ? ''
      : u.isAdmin
        ? `${u.userName} is an administrator and sees every open task.`
        : `Showing the tasks ${u.userName} may work on${u.teams.length ? ` (teams ${u.teams.join(', ')})` : ''}; submissions run as ${u.userName}.`;
  }

  function taskItem(t: TaskRow): HTMLLIElement {
    const key = taskKey(t);
    const button = el(
      'button',
      { type: 'button', className: 'task-button', 'aria-pressed': String(key === selected), 'data-key': key },
      el('strong', {}, t.name || t.taskId),
      el('span', { className: 'muted small' }, `${t.responsibleTeam ? `team ${t.responsibleTeam} · ` : ''}${t.responsibleUser ? `user ${t.responsibleUser} · ` : ''}since ${shortTime(t.createdAt)} UTC`),
      el('span', { className: 'muted small mono' }, t.instanceGuid),
    );
    button.addEventListener('click', () => void openForm(t));
    return el('li', { 'data-testid': 'task-item', 'data-instance': t.instanceGuid, 'data-task': t.taskId, className: key === selected ? 'selected' : '' }, button);
  }

  const reads = latestReads();
  async function loadTasks(): Promise<void> {
    if (gone || !actingUser()) return;
    list.setAttribute('aria-busy', 'true');
    const ticket = reads.take();
    try {
      // An administrator may work on every task; anyone else on theirs (user, teams, open ones).
      const data: Record<string, unknown> = { pageSize: 100 };
      if (!actingRow()?.isAdmin) data.userName = actingUser();
      const r = await query<{ items: TaskRow[]; totalCount: number }>('GetTaskListQuery', data, options());
      if (gone || !ticket.current()) return;
      tasks = r.items;
      const focused = (document.activeElement as HTMLElement | null)?.dataset?.key;
      list.replaceChildren(...tasks.map(taskItem));
      if (focused) list.querySelector<HTMLElement>(`button[data-key="${CSS.escape(focused)}"]`)?.focus();
      listSummary.textContent =
        r.totalCount === 0
          ? `No open tasks for ${actingUser()}.`
          : r.totalCount > tasks.length
            ? `${tasks.length} of ${r.totalCount} open tasks (the oldest first).`
            : `${r.totalCount} open task${r.totalCount === 1 ? '' : 's'}.`;
      setError(listError, null);
      if (selected && openTask && !submitting && tasks.length < 100 && !tasks.some((t) => taskKey(t) === selected)) {
        setError(taskError, 'This task is no longer open: it was completed or cancelled elsewhere.');
        submitButton.disabled = true;
      }
      if (preselect) {
        const found = tasks.find((t) => taskKey(t) === preselect);
        preselect = null;
        if (found) void openForm(found);
      }
    } catch (e) {
      if (gone || !ticket.current()) return;
      setError(listError, `The tasks could not be loaded: ${errorText(e)}`);
      listSummary.textContent = '';
    } finally {
      if (ticket.current()) list.removeAttribute('aria-busy');
    }
  }

  function closeForm(): void {
    form?.destroy();
    form = null;
    openTask = null;
    selected = null;
    formHost.replaceChildren();
    jsonWrap.hidden = true;
    actions.hidden = true;
    setError(taskError, null);
  }

  async function openForm(t: TaskRow): Promise<void> {
    closeForm();
    submitButton.disabled = false;
    selected = taskKey(t);
    done.hidden = true;
    placeholder.hidden = true;
    for (const li of list.querySelectorAll<HTMLLIElement>('li')) {
      const on = li.dataset.instance === t.instanceGuid && li.dataset.task === t.taskId;
      li.classList.toggle('selected', on);
      li.querySelector('button')?.setAttribute('aria-pressed', String(on));
    }
    formTitle.textContent = t.name || t.taskId;
    formMeta.replaceChildren(
      'Instance ',
      el('a', { href: `#/instances/${encodeURIComponent(t.instanceGuid)}` }, t.instanceGuid),
      ` · ${t.taskType}${t.formKey ? ` · form ${t.formKey}` : ''}`,
    );
    formHost.replaceChildren(el('p', { className: 'muted' }, 'Loading the form…'));
    try {
      const r = await execute<TaskForm>('GetTaskFormQuery', { instanceGuid: t.instanceGuid, taskId: t.taskId }, options());
      if (gone || selected !== taskKey(t)) return;
      formHost.replaceChildren();
      if (!r.ok) {
        setError(taskError, `The form could not be loaded: ${answerText(r)}`);
        return;
      }
      openTask = r.data;
      actions.hidden = false;
      const schema = r.data.formJson;
      if (schema && typeof schema === 'object') {
        form = new Form({ container: formHost });
        await form.importSchema(schema as never, { ...(r.data.context ?? {}) });
        form.on('submit', (event: { data: Record<string, unknown>; errors: Record<string, unknown> }) => {
          if (Object.keys(event.errors).length > 0) {
            setError(taskError, 'Some fields need attention: see the messages in the form.');
            return;
          }
          void signal(event.data);
        });
      } else {
        jsonWrap.hidden = false;
        jsonBox.value = '{}';
      }
    } catch (e) {
      if (gone) return;
      formHost.replaceChildren();
      setError(taskError, `The form could not be loaded: ${errorText(e)}`);
    }
  }

  async function signal(callbackData: unknown): Promise<void> {
    if (!openTask || submitting) return;
    const task = openTask;
    submitting = true;
    submitButton.disabled = true;
    setError(taskError, null);
    try {
      const r = await execute<{ status: string }>(
        'SignalProcessInstanceCommand',
        { instanceGuid: task.metadata.instanceGuid, taskId: task.taskId, callbackData },
        options(),
      );
      if (gone) return;
      if (!r.ok) {
        // The typed values stay: the form is not touched.
        setError(taskError, `Not submitted: ${answerText(r)}`);
        return;
      }
      const guid = task.metadata.instanceGuid;
      const name = formTitle.textContent ?? task.taskId;
      closeForm();
      formTitle.textContent = 'Submitted';
      formMeta.textContent = '';
      done.replaceChildren(
        el('p', {}, `“${name}” was submitted. The instance is now ${r.data.status}. `),
        el('a', { href: `#/instances/${encodeURIComponent(guid)}`, 'data-testid': 'task-instance-link' }, 'Open the instance'),
      );
      done.hidden = false;
      announce(`Submitted; the instance is ${r.data.status}`);
      tasks = tasks.filter((t) => !(t.instanceGuid === guid && t.taskId === task.taskId));
      list.querySelector(`li[data-instance="${CSS.escape(guid)}"][data-task="${CSS.escape(task.taskId)}"]`)?.remove();
      live.call();
    } catch (e) {
      // The server went away: say so, keep the form as it is.
      setError(taskError, `Not submitted: ${errorText(e)}`);
    } finally {
      submitting = false;
      submitButton.disabled = false;
    }
  }

  submitButton.addEventListener('click', () => {
    if (form) {
      form.submit(); // validation shows in the form; a valid form emits 'submit'
      return;
    }
    const parsed = parseJson(jsonBox.value, { what: 'The task data', empty: {} });
    if (!parsed.ok) {
      setError(jsonError, parsed.message, jsonBox);
      selectMistake(jsonBox, parsed.offset);
      return;
    }
    setError(jsonError, null, jsonBox);
    void signal(parsed.value);
  });

  userSelect.addEventListener('change', () => {
    localStorage.setItem(USER_KEY, actingUser());
    paintUserNote();
    closeForm();
    placeholder.hidden = false;
    done.hidden = true;
    formTitle.textContent = 'No task selected';
    formMeta.textContent = '';
    void loadTasks();
  });

  const live = throttle(loadTasks, 250);
  const unsubscribe = subscribe(() => live.call());

  void (async () => {
    try {
      const r = await query<{ items: UserRow[] }>('GetUserListQuery', {});
      if (gone) return;
      users = r.items;
      paintUsers();
      await loadTasks();
    } catch (e) {
      if (gone) return;
      setError(listError, `The users could not be loaded: ${errorText(e)}`);
      listSummary.textContent = '';
    }
  })();

  return {
    unmount() {
      gone = true;
      live.cancel();
      unsubscribe();
      form?.destroy();
    },
  };
}
