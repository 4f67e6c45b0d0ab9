/**
 * Reading and writing Baton's `custom:property name value` entries of an element. Every write
 * is one command on the command stack (several moddle updates at once through the properties
 * panel's multi-command executor), so one undo takes a whole edit back.
 */

/* eslint-disable @typescript-eslint/no-explicit-any */
type Moddle = { create(type: string, attrs?: Record<string, unknown>): any };
type CommandStack = { execute(command: string, context: unknown): void };
type Element = { businessObject: any };

function isType(obj: any, type: string): boolean {
  return !!obj && typeof obj.$instanceOf === 'function' && obj.$instanceOf(type);
}

export function propertiesContainer(bo: any): any | undefined {
  const values: any[] = bo?.extensionElements?.values ?? [];
  return values.find((v) => isType(v, 'custom:Properties'));
}

function findProperty(bo: any, name: string): any | undefined {
  const container = propertiesContainer(bo);
  return (container?.values ?? []).find((p: any) => p.name === name);
}

export function getBatonProperty(bo: any, name: string): string | undefined {
  const p = findProperty(bo, name);
  return p ? (p.value ?? '') : undefined;
}

/** Every Baton property of an element as a plain map (first wins for repeated names). */
export function batonProperties(bo: any): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of propertiesContainer(bo)?.values ?? []) {
    if (typeof p.name === 'string' && !(p.name in out)) out[p.name] = p.value ?? '';
  }
  return out;
}

/** The form key names either `FormKey` or `form`; answers which one the element uses. */
export function formKeyName(bo: any): 'FormKey' | 'form' {
  return getBatonProperty(bo, 'FormKey') !== undefined ? 'FormKey' : 'form';
}

export function getFormKey(bo: any): string | undefined {
  return getBatonProperty(bo, 'FormKey') ?? getBatonProperty(bo, 'form');
}

/**
 * Sets (or, with an empty value, removes) one Baton property of `element`, as a single
 * undoable command.
 */
export function setBatonProperty(
  moddle: Moddle,
  commandStack: CommandStack,
  element: Element,
  name: string,
  value: string | undefined,
): void {
  const bo = element.businessObject;
  const commands: { cmd: string; context: Record<string, unknown> }[] = [];
  const update = (moddleElement: any, properties: Record<string, unknown>) =>
    commands.push({ cmd: 'element.updateModdleProperties', context: { element, moddleElement, properties } });

  const existing = findProperty(bo, name);
  if (value === undefined || value === '') {
    if (!existing) return;
    const container = propertiesContainer(bo);
    const rest = container.values.filter((p: any) => p !== existing);
    if (rest.length > 0) {
      update(container, { values: rest });
    } else {
      const ext = bo.extensionElements;
      update(ext, { values: ext.values.filter((v: any) => v !== container) });
    }
  } else if (existing) {
    if (existing.value === value) return;
    update(existing, { value });
  } else {
    let ext = bo.extensionElements;
    if (!ext) {
      ext = moddle.create('bpmn:ExtensionElements', { values: [] });
      ext.$parent = bo;
      update(bo, { extensionElements: ext });
    }
    let container = propertiesContainer(bo);
    if (!container) {
      container = moddle.create('custom:Properties', { values: [] });
      container.$parent = ext;
      update(ext, { values: [...(ext.values ?? []), container] });
    }
    const property = moddle.create('custom:Property', { name, value });
    property.$parent = container;
    update(container, { values: [...(container.values ?? []), property] });
  }
  if (commands.length === 1) {
    commandStack.execute(commands[0]!.cmd, commands[0]!.context);
  } else {
    commandStack.execute('properties-panel.multi-command-executor', commands);
  }
}

/** TimeoutMinutes: a positive whole or decimal number of minutes; answers the error in words. */
export function validateTimeoutMinutes(value: string | undefined): string | null {
  if (value === undefined || value.trim() === '') return null;
  const text = value.trim();
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0) {
    return `TimeoutMinutes must be a positive number of minutes, not '${text}'.`;
  }
  if (Number(text) > MAX_TIMEOUT_MINUTES) {
    return `TimeoutMinutes may be at most ${MAX_TIMEOUT_MINUTES} minutes (10 years), not '${text}'.`;
  }
  return null;
}

/**
 * failedJobRetryTimeCycle of a timer start event or a task: `R5/PT5M`, `R4/PT1M,PT10M` or `PT1M,PT10M`.
 * Checks the shape only; deploying (and the problems list) checks each wait and the limits.
 */
export function validateRetryCycle(value: string | undefined): string | null {
  if (value === undefined || value.trim() === '') return null;
  const text = value.trim();
  const m = /^(?:R(\d+)\/)?(.+)$/.exec(text);
  const waits = (m?.[2] ?? '').split(',').map((w) => w.trim());
  const attempts = m?.[1] === undefined ? waits.length + 1 : Number(m[1]);
  if (!m || waits.some((w) => !/^P(?=\d|T\d)[\dYMWD]*(T[\d.HMS]+)?$/i.test(w))) {
    return `Write the retries as R5/PT5M (5 attempts, 5 minutes apart), R4/PT1M,PT10M or PT1M,PT10M, not '${text}'.`;
  }
  if (attempts < 1 || attempts > 100) {
    return `Give from 1 to 100 attempts, not ${attempts}.`;
  }
  return null;
}

/**
 * A task's retry cycle: as for a timer start event, or an expression (`${retryCycle}`), which
 * the engine reads from the instance's variables when the task fails.
 */
export function validateTaskRetryCycle(value: string | undefined): string | null {
  const text = value?.trim() ?? '';
  if (/^[$#]\{.*\}$/s.test(text)) return null;
  return validateRetryCycle(value);
}

/** WebhookUrl: an absolute http(s) address (the sender checks where it leads at each attempt). */
export function validateWebhookUrl(value: string | undefined): string | null {
  if (value === undefined || value.trim() === '') return null;
  const text = value.trim();
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return null;
  } catch {
    /* answered below */
  }
  return `Give an http:// or https:// address, not '${text}'.`;
}

/** WebhookSecretName: a name SetSecretCommand takes (the value is set there, never in a model). */
export function validateSecretName(value: string | undefined): string | null {
  if (value === undefined || value.trim() === '') return null;
  const text = value.trim();
  if (text.length > 128 || !/^[A-Za-z0-9_.-]+$/.test(text)) {
    return `A secret's name is up to 128 letters, digits, _, - or ., not '${text}'.`;
  }
  return null;
}

/** The engine's bound on TimeoutMinutes (checked again at deploy): 10 years of 365 days. */
export const MAX_TIMEOUT_MINUTES = 5_256_000;

/** The timeCycle of an element's timer, when it is a cron expression (not R…/P… ISO forms). */
export function cronCycle(bo: any): string | null {
  const defs: any[] = bo?.eventDefinitions ?? [];
  const timer = defs.find((d) => isType(d, 'bpmn:TimerEventDefinition'));
  const body: string | undefined = timer?.timeCycle?.body;
  if (!body) return null;
  const text = body.trim();
  if (!text || /^R/i.test(text) || /^P/i.test(text) || text.includes('${')) return null;
  return text.split(/\s+/).length >= 5 ? text : null;
}

/** One input or output parameter (`camunda:inputOutput`), as the properties panel lists it. */
export interface IoParameter {
  direction: 'input' | 'output';
  name: string;
  /** The value as written: its text, or what it holds when it is a list, a map or a script. */
  value: string;
}

/** The local name of a moddle type (`camunda:inputParameter` -> `inputParameter`). */
function localName(obj: any): string {
  return String(obj?.$type ?? '').replace(/^.*:/, '');
}

/** What a parameter's nested value is, in words. */
function describeNested(child: any): string {
  const n = (child.$children ?? []).length;
  switch (localName(child)) {
    case 'list':
      return `a list of ${n} value${n === 1 ? '' : 's'}`;
    case 'map':
      return `a map of ${n} entr${n === 1 ? 'y' : 'ies'}`;
    case 'script':
      return child.resource ? `a script from ${child.resource}` : `a ${child.scriptFormat ?? 'rhai'} script: ${String(child.$body ?? '').trim()}`;
    default:
      return localName(child);
  }
}

/**
 * The input and output parameters of an element (any prefix's `inputOutput`; the modeler keeps
 * it as a generic element, so nothing is lost on save), in the order written.
 */
export function ioParameters(bo: any): IoParameter[] {
  const values: any[] = bo?.extensionElements?.values ?? [];
  const io = values.find((v) => localName(v) === 'inputOutput');
  const out: IoParameter[] = [];
  for (const p of io?.$children ?? []) {
    const kind = localName(p);
    if (kind !== 'inputParameter' && kind !== 'outputParameter') continue;
    const nested = (p.$children ?? [])[0];
    const text = String(p.$body ?? '').trim();
    out.push({
      direction: kind === 'inputParameter' ? 'input' : 'output',
      name: String(p.name ?? ''),
      value: nested ? describeNested(nested) : text || 'null (empty)',
    });
  }
  return out;
}

