/** Test data for the runner's end-to-end specs: the templates, deployed over HTTP. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { templatesDir, type Server } from './harness';
import { inARow } from './models';

export function template(dir: string, name: string): { bpmnXml: string; forms: Record<string, unknown> } {
  const bpmnXml = readFileSync(join(templatesDir, dir, `${name}.bpmn`), 'utf8');
  const forms: Record<string, unknown> = {};
  const formsDir = join(templatesDir, dir, 'forms');
  try {
    for (const f of readdirSync(formsDir)) {
      if (f.endsWith('.form.json')) forms[f.replace(/\.form\.json$/, '')] = JSON.parse(readFileSync(join(formsDir, f), 'utf8'));
    }
  } catch {
    /* no forms */
  }
  return { bpmnXml, forms };
}

/** A ledger script task that fails while `fail` is true; `extension` goes before its script. */
function ledger(id: string, name: string, extension = ''): string {
  return inARow({
    id,
    name,
    start: { name: 'Start' },
    middle: {
      type: 'scriptTask',
      id: 'Work',
      name: 'Post to ledger',
      attrs: 'scriptFormat="rhai"',
      body: `${extension}<bpmn:script>if fail { throw "the ledger is closed"; }
let posted = true;</bpmn:script>`,
    },
    end: { name: 'Posted' },
  });
}

/** A script task that fails while `fail` is true: an incident to retry. */
export const FLAKY_BPMN = ledger('Flaky', 'Flaky ledger');

/** The same with a retry cycle: its failed runs wait 10 minutes, 3 attempts in all. */
export const RETRYING_BPMN = ledger(
  'Retrying',
  'Retrying ledger',
  '<bpmn:extensionElements><camunda:failedJobRetryTimeCycle xmlns:camunda="http://camunda.org/schema/1.0/bpmn">R3/PT10M</camunda:failedJobRetryTimeCycle></bpmn:extensionElements>',
);

/** One user task and an end: the smallest model that waits (benchmarks). */
export const ONE_TASK_BPMN = inARow({ id: 'OneTask', name: 'One task', middle: { type: 'userTask', id: 'Task', name: 'Do it' } });

/** Runs a command and fails loudly when the server refuses it. */
export async function must(server: Server, cmd: string, data: object): Promise<any> {
  const r = await server.execute(cmd, data);
  if (!r.isSuccessful) throw new Error(`${cmd} failed: ${r.message} ${JSON.stringify(r.errors ?? [])}`);
  return r.data;
}

const deployed = new WeakMap<Server, Set<string>>();

/** Deploys a template (once per server). */
export async function deployTemplate(server: Server, dir: string, name: string): Promise<void> {
  const seen = deployed.get(server) ?? new Set<string>();
  deployed.set(server, seen);
  if (seen.has(name)) return;
  const { bpmnXml, forms } = template(dir, name);
  await must(server, 'DeployProcessDefinitionCommand', { bpmnXml, forms });
  seen.add(name);
}

export async function deployXml(server: Server, key: string, bpmnXml: string): Promise<void> {
  const seen = deployed.get(server) ?? new Set<string>();
  deployed.set(server, seen);
  if (seen.has(key)) return;
  await must(server, 'DeployProcessDefinitionCommand', { bpmnXml });
  seen.add(key);
}

export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

/**
 * Whether the server honours `X-Baton-Act-As` (it refuses a user that does not exist); older
 * builds ignore the header and run everything as the token's user.
 */
export async function actAsSupported(server: Server): Promise<boolean> {
  const r = await fetch(`${server.url}/api/v1/execute`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${server.token}`, 'X-Baton-Act-As': 'no-such-user-anywhere' },
    body: JSON.stringify({ cmd: 'GetUserListQuery', data: {} }),
  });
  if (r.status === 403 || r.status === 400) return true;
  const body = (await r.json().catch(() => ({}))) as { isSuccessful?: boolean };
  return body.isSuccessful === false;
}
