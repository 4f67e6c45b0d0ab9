/** Test data for the runner's end-to-end specs: the templates, deployed over HTTP. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { templatesDir, type Server } from './harness';

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

/** A script task that fails while `fail` is true: an incident to retry. */
export const FLAKY_BPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="Defs_Flaky" targetNamespace="http://baton.dev/test">
  <bpmn:process id="Flaky" name="Flaky ledger" isExecutable="true">
    <bpmn:startEvent id="Start" name="Start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="Work" name="Post to ledger" scriptFormat="rhai"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
      <bpmn:script>if fail { throw "the ledger is closed"; }
let posted = true;</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="End" name="Posted"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Work"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Work" targetRef="End"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_Flaky"><bpmndi:BPMNPlane id="Plane_Flaky" bpmnElement="Flaky">
    <bpmndi:BPMNShape id="Start_di" bpmnElement="Start"><dc:Bounds x="132" y="102" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="Work_di" bpmnElement="Work"><dc:Bounds x="240" y="80" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="End_di" bpmnElement="End"><dc:Bounds x="412" y="102" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="F1_di" bpmnElement="F1"><di:waypoint x="168" y="120"/><di:waypoint x="240" y="120"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="F2_di" bpmnElement="F2"><di:waypoint x="340" y="120"/><di:waypoint x="412" y="120"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>`;

/** One user task and an end: the smallest model that waits (benchmarks). */
export const ONE_TASK_BPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="Defs_OneTask" targetNamespace="http://baton.dev/test">
  <bpmn:process id="OneTask" name="One task" isExecutable="true">
    <bpmn:startEvent id="Start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task" name="Do it"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Task"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Task" targetRef="End"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_OneTask"><bpmndi:BPMNPlane id="Plane_OneTask" bpmnElement="OneTask">
    <bpmndi:BPMNShape id="Start_di" bpmnElement="Start"><dc:Bounds x="132" y="102" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="Task_di" bpmnElement="Task"><dc:Bounds x="240" y="80" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="End_di" bpmnElement="End"><dc:Bounds x="412" y="102" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="F1_di" bpmnElement="F1"><di:waypoint x="168" y="120"/><di:waypoint x="240" y="120"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="F2_di" bpmnElement="F2"><di:waypoint x="340" y="120"/><di:waypoint x="412" y="120"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>`;

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
