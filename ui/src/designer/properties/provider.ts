/**
 * The properties panel's Baton groups: the engine's seed properties (`custom:property`),
 * sequence flow conditions, script task bodies, and a preview of the next runs of a cron timer
 * cycle. Every edit goes through the command stack, so undo and redo take it back.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import { h } from '@bpmn-io/properties-panel/preact';
import { useEffect, useRef, useState } from '@bpmn-io/properties-panel/preact/hooks';
import {
  TextFieldEntry,
  isTextFieldEntryEdited,
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import {
  cronCycle,
  formKeyName,
  getBatonProperty,
  getFormKey,
  ioParameters,
  setBatonProperty,
  validateRetryCycle,
  validateTaskRetryCycle,
  validateSecretName,
  validateTimeoutMinutes,
  validateWebhookUrl,
} from './baton-props';
import { execute } from '../../transport';
import { createCodeEditor, type CodeEditor } from '../code-editor';

function isA(bo: any, type: string): boolean {
  return !!bo && typeof bo.$instanceOf === 'function' && bo.$instanceOf(type);
}

interface BatonEntrySpec {
  id: string;
  /** The custom:property name; `null` for the form key (FormKey or form). */
  name: string | null;
  label: string;
  description: string;
  code?: boolean;
  validate?: (value: string) => string | null;
}

const ENTRIES: BatonEntrySpec[] = [
  {
    id: 'baton-form',
    name: null,
    label: 'Form key',
    description: 'The form (FormKey / form) the task shows; its JSON travels with the deployment.',
  },
  { id: 'baton-responsible-team', name: 'ResponsibleTeam', label: 'Responsible team', description: 'Only members of this team may complete the task.' },
  { id: 'baton-responsible-user', name: 'ResponsibleUser', label: 'Responsible user', description: 'Only this user may complete the task.' },
  {
    id: 'baton-server-script',
    name: 'ServerScript',
    label: 'Server script',
    description: 'Rhai run on submission: throw to reject it; the last value becomes the task result.',
    code: true,
  },
  { id: 'baton-correlation-key', name: 'correlationKey', label: 'Correlation key', description: 'Expression that identifies the instance for a callback or message, e.g. context.paymentId.' },
  { id: 'baton-message', name: 'message', label: 'Message', description: 'The message name a callback must carry.' },
  {
    id: 'baton-timeout-minutes',
    name: 'TimeoutMinutes',
    label: 'Timeout (minutes)',
    description: 'Expire the wait after this many minutes.',
    validate: (v) => validateTimeoutMinutes(v),
  },
];

/** A receive task's notification when its callback completes (docs/callbacks.md). */
const RECEIVE_ENTRIES: BatonEntrySpec[] = [
  {
    id: 'baton-webhook-url',
    name: 'WebhookUrl',
    label: 'Notify URL when completed',
    description: 'Baton POSTs a signed callback.completed event here when the callback completes.',
    validate: (v) => validateWebhookUrl(v),
  },
  {
    id: 'baton-webhook-secret',
    name: 'WebhookSecretName',
    label: 'Notification secret (name)',
    description: 'The secret (SetSecretCommand) that signs it. Empty: callbackWebhook.',
    validate: (v) => validateSecretName(v),
  },
];

const RETRY_ENTRY: BatonEntrySpec = {
  id: 'baton-retry-cycle',
  name: 'failedJobRetryTimeCycle',
  label: 'Retries when a start fails',
  description: 'Attempts and waits, e.g. R5/PT5M or R4/PT1M,PT10M. Empty: 3 attempts, 1 and 5 minutes apart; then an incident.',
  validate: (v) => validateRetryCycle(v),
};

/** A task's failed runs, tried again before an incident (docs/scheduling.md). */
const TASK_RETRY_ENTRY: BatonEntrySpec = {
  ...RETRY_ENTRY,
  id: 'baton-task-retry-cycle',
  label: 'Retries when it fails',
  description:
    'Attempts and waits before an incident, e.g. R3/PT1M,PT5M, or an expression such as ${retryCycle} read when it fails. Empty: no retry; the first failure opens an incident.',
  validate: (v) => validateTaskRetryCycle(v),
};

function BatonPropertyEntry(props: { element: any; id: string; spec: BatonEntrySpec }) {
  const { element, id, spec } = props;
  const moddle = useService('moddle');
  const commandStack = useService('commandStack');
  const debounce = useService('debounceInput');
  const name = () => spec.name ?? formKeyName(element.businessObject);
  const getValue = () => getBatonProperty(element.businessObject, name()) ?? '';
  const setValue = (value: string, error?: string | null) => {
    if (error) return; // shown beside the field; the model keeps its last valid value
    setBatonProperty(moddle, commandStack, element, name(), value);
  };
  if (spec.code) {
    return h(CodeEntry, { element, id, label: spec.label, description: spec.description, getValue, setValue: (v: string) => setValue(v) });
  }
  return h(TextFieldEntry, {
    element,
    id,
    label: spec.label,
    description: spec.description,
    getValue,
    setValue,
    debounce,
    validate: spec.validate,
  });
}

/** A labelled code editor entry (CodeMirror) whose edits go through `setValue`. */
function CodeEntry(props: {
  element: any;
  id: string;
  label: string;
  description: string;
  getValue: () => string;
  setValue: (value: string) => void;
  placeholder?: string;
}) {
  const { element, id, label, description } = props;
  const host = useRef<HTMLDivElement | null>(null);
  const editor = useRef<CodeEditor | null>(null);
  const setter = useRef(props.setValue);
  setter.current = props.setValue;
  const value = props.getValue();
  const labelId = `bio-properties-panel-${id}-label`;
  const descriptionId = `bio-properties-panel-${id}-description`;
  useEffect(() => {
    if (!host.current) return;
    const write = setter.current; // edits land on the element they were typed for
    editor.current = createCodeEditor(host.current, {
      value,
      onChange: (v) => write(v),
      labelledBy: labelId,
      describedBy: descriptionId,
      placeholder: props.placeholder,
    });
    return () => {
      editor.current?.destroy();
      editor.current = null;
    };
  }, [element]);
  useEffect(() => {
    editor.current?.setValue(value);
  }, [value]);
  return h(
    'div',
    { class: 'bio-properties-panel-entry baton-code-entry', 'data-entry-id': id },
    h('span', { id: labelId, class: 'bio-properties-panel-label' }, label),
    h('div', { ref: host, class: 'baton-code', 'data-testid': id }),
    h('div', { id: descriptionId, class: 'bio-properties-panel-description' }, description),
  );
}

/** The element's input and output parameters, listed as written (edited in the BPMN file). */
function IoParametersEntry(props: { element: any }) {
  const params = ioParameters(props.element.businessObject);
  const caption = 'Input and output parameters';
  return h(
    'div',
    { class: 'bio-properties-panel-entry baton-io-entry', 'data-testid': 'baton-io' },
    h(
      'table',
      { class: 'baton-io' },
      h('caption', { class: 'sr-only' }, caption),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Kind'), h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Value'))),
      h(
        'tbody',
        {},
        params.map((p) =>
          h('tr', { 'data-io': `${p.direction}:${p.name}` }, h('td', {}, p.direction), h('th', { scope: 'row' }, p.name || '(no name)'), h('td', {}, h('code', {}, p.value))),
        ),
      ),
    ),
    h(
      'div',
      { class: 'bio-properties-panel-description' },
      'Inputs are the local variables of this element while it runs; outputs are set around it when it completes (docs/scripting.md). Baton runs them as written; edit them in the BPMN file.',
    ),
  );
}

function isCodeEntryEdited(node: HTMLElement | null): boolean {
  return !!node && (node.querySelector('.cm-content')?.textContent ?? '').length > 0;
}

function EditFormButton(props: { element: any }) {
  const eventBus = useService('eventBus');
  const key = getFormKey(props.element.businessObject);
  if (!key) return null;
  return h(
    'div',
    { class: 'bio-properties-panel-entry baton-form-entry' },
    h(
      'button',
      {
        type: 'button',
        class: 'baton-edit-form',
        'data-testid': 'edit-form',
        onClick: () => eventBus.fire('baton.editForm', { formKey: key }),
      },
      `Edit form "${key}"`,
    ),
  );
}

// --- conditions and scripts ---------------------------------------------------------------

function ConditionEntry(props: { element: any; id: string }) {
  const { element, id } = props;
  const moddle = useService('moddle');
  const commandStack = useService('commandStack');
  const bo = element.businessObject;
  return h(CodeEntry, {
    element,
    id,
    label: 'Condition',
    description: 'An expression such as ${amount > 1000}; empty: the flow is always taken.',
    placeholder: '${amount > 1000}',
    getValue: () => bo.conditionExpression?.body ?? '',
    setValue: (value: string) => {
      const current = bo.conditionExpression;
      let properties: Record<string, unknown>;
      let target = bo;
      if (!value) properties = { conditionExpression: undefined };
      else if (current) {
        target = current;
        properties = { body: value };
      } else {
        const expr = moddle.create('bpmn:FormalExpression', { body: value });
        expr.$parent = bo;
        properties = { conditionExpression: expr };
      }
      commandStack.execute('element.updateModdleProperties', { element, moddleElement: target, properties });
    },
  });
}

function ScriptFormatEntry(props: { element: any; id: string }) {
  const { element, id } = props;
  const commandStack = useService('commandStack');
  const debounce = useService('debounceInput');
  return h(TextFieldEntry, {
    element,
    id,
    label: 'Script format',
    description: 'Baton runs rhai.',
    debounce,
    getValue: () => element.businessObject.scriptFormat ?? '',
    setValue: (value: string) =>
      commandStack.execute('element.updateModdleProperties', {
        element,
        moddleElement: element.businessObject,
        properties: { scriptFormat: value || undefined },
      }),
  });
}

function ScriptBodyEntry(props: { element: any; id: string }) {
  const { element, id } = props;
  const commandStack = useService('commandStack');
  return h(CodeEntry, {
    element,
    id,
    label: 'Script',
    description: 'Variables of the instance are in scope; new let-bindings become variables.',
    getValue: () => element.businessObject.script ?? '',
    setValue: (value: string) =>
      commandStack.execute('element.updateModdleProperties', {
        element,
        moddleElement: element.businessObject,
        properties: { script: value || undefined },
      }),
  });
}

// --- cron preview --------------------------------------------------------------------------

interface Preview {
  expr: string;
  times?: string[];
  error?: string;
}

function CronPreviewEntry(props: { element: any; id: string }) {
  const expr = cronCycle(props.element.businessObject);
  const [preview, setPreview] = useState<Preview | null>(null);
  useEffect(() => {
    if (!expr) return;
    let cancelled = false;
    const timer = setTimeout(() => {
      execute<{ nextRunTimes: string[]; localTimes: string[] }>('GetCronPreviewQuery', {
        cronExpression: expr,
        count: 5,
      })
        .then((answer) => {
          if (cancelled) return;
          if (answer.ok) setPreview({ expr, times: answer.data.localTimes ?? answer.data.nextRunTimes });
          else {
            const detail = answer.errors.map((e) => e.message).join('; ');
            setPreview({ expr, error: detail || answer.message });
          }
        })
        .catch((e: Error) => !cancelled && setPreview({ expr, error: e.message }));
    }, 250);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [expr]);
  if (!expr) return null;
  const current = preview && preview.expr === expr ? preview : null;
  return h(
    'div',
    { class: 'bio-properties-panel-entry baton-cron-preview', 'data-testid': 'cron-preview' },
    h('div', { class: 'bio-properties-panel-label' }, 'Next runs (UTC)'),
    current === null
      ? h('p', { class: 'baton-muted' }, 'Computing…')
      : current.error
        ? h('p', { class: 'baton-error', role: 'alert' }, current.error)
        : h('ol', { class: 'baton-run-times' }, ...(current.times ?? []).map((t) => h('li', {}, h('time', { dateTime: t }, t)))),
  );
}

// --- the provider --------------------------------------------------------------------------

export class BatonPropertiesProvider {
  static $inject = ['propertiesPanel'];

  constructor(propertiesPanel: { registerProvider(priority: number, provider: unknown): void }) {
    propertiesPanel.registerProvider(400, this);
  }

  getGroups(element: any) {
    return (groups: any[]) => {
      const bo = element.businessObject;
      if (isA(bo, 'bpmn:Activity') || isA(bo, 'bpmn:Event')) {
        const specs = [
          ...ENTRIES,
          ...(isA(bo, 'bpmn:ReceiveTask') ? RECEIVE_ENTRIES : []),
          ...(isA(bo, 'bpmn:Task') ? [TASK_RETRY_ENTRY] : []),
        ];
        const entries: any[] = specs.map((spec) => ({
          id: spec.id,
          spec,
          component: BatonPropertyEntry,
          isEdited: spec.code ? isCodeEntryEdited : isTextFieldEntryEdited,
        }));
        entries.splice(1, 0, { id: 'baton-edit-form', component: EditFormButton });
        const at = groups.findIndex((g) => g.id === 'general');
        groups.splice(at < 0 ? groups.length : at + 1, 0, { id: 'baton', label: 'Baton', entries });
      }
      if (isA(bo, 'bpmn:FlowNode') && ioParameters(bo).length) {
        const at = groups.findIndex((g) => g.id === 'baton');
        groups.splice(at < 0 ? groups.length : at + 1, 0, {
          id: 'baton-io',
          label: 'Input/output parameters',
          entries: [{ id: 'baton-io-list', component: IoParametersEntry }],
        });
      }
      const conditional =
        isA(bo, 'bpmn:SequenceFlow') &&
        bo.sourceRef &&
        bo.sourceRef.default !== bo && // a default flow has no condition
        !isA(bo.sourceRef, 'bpmn:ParallelGateway') &&
        !isA(bo.sourceRef, 'bpmn:EventBasedGateway');
      if (conditional) {
        groups.push({
          id: 'baton-condition',
          label: 'Condition',
          entries: [{ id: 'baton-condition-expression', component: ConditionEntry, isEdited: isCodeEntryEdited }],
        });
      }
      if (isA(bo, 'bpmn:ScriptTask')) {
        groups.push({
          id: 'baton-script',
          label: 'Script',
          entries: [
            { id: 'baton-script-format', component: ScriptFormatEntry, isEdited: isTextFieldEntryEdited },
            { id: 'baton-script-body', component: ScriptBodyEntry, isEdited: isCodeEntryEdited },
          ],
        });
      }
      const timer = groups.find((g) => g.id === 'timer');
      if (timer) timer.entries.push({ id: 'baton-cron-preview', component: CronPreviewEntry });
      // Only a process's own timer start events are tried again when their start fails.
      if (timer && isA(bo, 'bpmn:StartEvent') && isA(bo.$parent, 'bpmn:Process')) {
        timer.entries.push({
          id: 'baton-retry-cycle',
          spec: RETRY_ENTRY,
          component: BatonPropertyEntry,
          isEdited: isTextFieldEntryEdited,
        });
      }
      return groups;
    };
  }
}

export const BatonPropertiesModule = {
  __init__: ['batonPropertiesProvider'],
  batonPropertiesProvider: ['type', BatonPropertiesProvider],
};
