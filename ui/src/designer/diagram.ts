/** Diagrams made from nothing: a new one with a start event, and large generated ones. */

const HEADER = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
                  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
                  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
                  xmlns:custom="http://baton.dev/schema/custom"`;

function suffix(): string {
  return Math.random().toString(36).slice(2, 9);
}

/** A new executable process with one start event, valid to open, lint and draw on. */
export function newDiagramXml(processId = `Process_${suffix()}`): string {
  return `${HEADER}
                  id="Definitions_${processId}" targetNamespace="http://baton.dev/bpmn">
  <bpmn:process id="${processId}" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" name="Start"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_${processId}">
    <bpmndi:BPMNPlane id="Plane_${processId}" bpmnElement="${processId}">
      <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1">
        <dc:Bounds x="180" y="160" width="36" height="36"/>
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
`;
}

/**
 * A process of `nodes` flow nodes (a start event, tasks, an end event) joined in one chain by
 * `nodes - 1` sequence flows, laid out row by row in a snake so every flow is short.
 */
export function generateDiagramXml(nodes = 1000, perRow = 25, processId = 'Generated'): string {
  const n = Math.max(2, Math.floor(nodes));
  const cellW = 150;
  const cellH = 130;
  const sem: string[] = [];
  const di: string[] = [];
  const centre: { x: number; y: number; w: number; h: number }[] = [];
  for (let i = 0; i < n; i++) {
    const row = Math.floor(i / perRow);
    const inRow = i % perRow;
    const col = row % 2 === 0 ? inRow : perRow - 1 - inRow;
    const cx = 100 + col * cellW;
    const cy = 100 + row * cellH;
    const isEvent = i === 0 || i === n - 1;
    const w = isEvent ? 36 : 100;
    const h = isEvent ? 36 : 80;
    centre.push({ x: cx, y: cy, w, h });
    const id = i === 0 ? 'Start' : i === n - 1 ? 'End' : `Task_${i}`;
    const incoming = i > 0 ? `<bpmn:incoming>Flow_${i}</bpmn:incoming>` : '';
    const outgoing = i < n - 1 ? `<bpmn:outgoing>Flow_${i + 1}</bpmn:outgoing>` : '';
    const tag = i === 0 ? 'startEvent' : i === n - 1 ? 'endEvent' : 'task';
    const name = i === 0 ? 'Start' : i === n - 1 ? 'End' : `Step ${i}`;
    sem.push(`    <bpmn:${tag} id="${id}" name="${name}">${incoming}${outgoing}</bpmn:${tag}>`);
    di.push(
      `      <bpmndi:BPMNShape id="${id}_di" bpmnElement="${id}"><dc:Bounds x="${cx - w / 2}" y="${cy - h / 2}" width="${w}" height="${h}"/></bpmndi:BPMNShape>`,
    );
  }
  const idOf = (i: number) => (i === 0 ? 'Start' : i === n - 1 ? 'End' : `Task_${i}`);
  for (let i = 1; i < n; i++) {
    const a = centre[i - 1]!;
    const b = centre[i]!;
    sem.push(`    <bpmn:sequenceFlow id="Flow_${i}" sourceRef="${idOf(i - 1)}" targetRef="${idOf(i)}"/>`);
    let points: [number, number][];
    if (a.y === b.y) {
      const dir = b.x > a.x ? 1 : -1;
      points = [
        [a.x + (dir * a.w) / 2, a.y],
        [b.x - (dir * b.w) / 2, b.y],
      ];
    } else {
      points = [
        [a.x, a.y + a.h / 2],
        [b.x, b.y - b.h / 2],
      ];
    }
    di.push(
      `      <bpmndi:BPMNEdge id="Flow_${i}_di" bpmnElement="Flow_${i}">${points
        .map(([x, y]) => `<di:waypoint x="${x}" y="${y}"/>`)
        .join('')}</bpmndi:BPMNEdge>`,
    );
  }
  return `${HEADER}
                  id="Definitions_${processId}" targetNamespace="http://baton.dev/bpmn">
  <bpmn:process id="${processId}" isExecutable="true">
${sem.join('\n')}
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_${processId}">
    <bpmndi:BPMNPlane id="Plane_${processId}" bpmnElement="${processId}">
${di.join('\n')}
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
`;
}

/** The id of the first executable process in a diagram's XML (the process key), if any. */
export function processKeyOf(xml: string): string | null {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const processes = Array.from(doc.getElementsByTagNameNS('http://www.omg.org/spec/BPMN/20100524/MODEL', 'process'));
  const exec = processes.find((p) => p.getAttribute('isExecutable') === 'true') ?? processes[0];
  return exec?.getAttribute('id') ?? null;
}

/**
 * Checks that a text is BPMN before handing it to bpmn-js: answers a sentence in words when
 * it is not XML (with line and column when the parser tells) or not BPMN, else null.
 */
export function notBpmnReason(text: string, fileName: string): string | null {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('<')) {
    return `${fileName} is not a BPMN file: it does not start with XML.`;
  }
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  const error = doc.getElementsByTagName('parsererror')[0];
  if (error) {
    const detail = (error.textContent ?? '').replace(/\s+/g, ' ').trim();
    const m = /line (\d+) at column (\d+)|line[: ]+(\d+)[, ]+column[: ]+(\d+)/i.exec(detail);
    const where = m ? ` at line ${m[1] ?? m[3]}, column ${m[2] ?? m[4]}` : '';
    const reason = detail.replace(/^This page contains the following errors:\s*/i, '').replace(/Below is a rendering.*$/i, '');
    return `${fileName} is not well-formed XML${where}: ${reason.slice(0, 200)}`;
  }
  const root = doc.documentElement;
  if (root.localName !== 'definitions' || root.namespaceURI !== 'http://www.omg.org/spec/BPMN/20100524/MODEL') {
    return `${fileName} is XML but not BPMN 2.0: its root is <${root.nodeName}>, not <bpmn:definitions>.`;
  }
  return null;
}

/** bpmn-js's import errors carry "line: N / column: M" in their message; put them in words. */
export function importErrorText(fileName: string, e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  const line = /line:\s*(\d+)/.exec(raw);
  const column = /column:\s*(\d+)/.exec(raw);
  const first = raw.split('\n')[0]!.trim().replace(/\.$/, '');
  const nested = /nested error:\s*(.*)/.exec(raw)?.[1]?.trim();
  const where = line ? ` at line ${line[1]}${column ? `, column ${column[1]}` : ''}` : '';
  return `${fileName} could not be opened${where}: ${first}${nested ? ` (${nested})` : ''}.`;
}
