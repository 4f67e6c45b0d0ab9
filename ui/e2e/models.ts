/**
 * Small BPMN models written by the tests: a start event, one element and an end event in a row,
 * with the diagram laid out (events 36×36, tasks 100×80, centred on one line).
 */

export interface Part {
  id?: string;
  name?: string;
  /** Extra attributes, e.g. `scriptFormat="rhai"`. */
  attrs?: string;
  /** XML after the element's incoming/outgoing, e.g. a timer or a script. */
  body?: string;
}

export interface InARow {
  /** The process id (its key once deployed). */
  id: string;
  name: string;
  /** Defaults: id `Start`, no name. */
  start?: Part;
  /** The element in the middle; `type` is its BPMN tag without the prefix, e.g. `userTask`. */
  middle: Part & { type: string };
  /** Defaults: id `End`, no name. */
  end?: Part;
}

/** Start → middle → End, flows `F1` and `F2`. */
export function inARow(model: InARow): string {
  const start = { id: 'Start', ...model.start };
  const middle = { id: 'Work', ...model.middle };
  const end = { id: 'End', ...model.end };
  const element = (type: string, p: Part, flows: string) => {
    const name = p.name === undefined ? '' : ` name="${p.name}"`;
    const attrs = p.attrs ? ` ${p.attrs}` : '';
    return `<bpmn:${type} id="${p.id}"${name}${attrs}>${flows}${p.body ?? ''}</bpmn:${type}>`;
  };
  const isTask = /Task$/.test(middle.type);
  const mid = isTask ? { x: 240, y: 80, w: 100, h: 80 } : { x: 240, y: 102, w: 36, h: 36 };
  const endX = mid.x + mid.w + 72;
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="Defs_${model.id}" targetNamespace="http://baton.dev/test">
  <bpmn:process id="${model.id}" name="${model.name}" isExecutable="true">
    ${element('startEvent', start, '<bpmn:outgoing>F1</bpmn:outgoing>')}
    ${element(middle.type, middle, '<bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>')}
    ${element('endEvent', end, '<bpmn:incoming>F2</bpmn:incoming>')}
    <bpmn:sequenceFlow id="F1" sourceRef="${start.id}" targetRef="${middle.id}"/>
    <bpmn:sequenceFlow id="F2" sourceRef="${middle.id}" targetRef="${end.id}"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_${model.id}"><bpmndi:BPMNPlane id="Plane_${model.id}" bpmnElement="${model.id}">
    <bpmndi:BPMNShape id="${start.id}_di" bpmnElement="${start.id}"><dc:Bounds x="132" y="102" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="${middle.id}_di" bpmnElement="${middle.id}"><dc:Bounds x="${mid.x}" y="${mid.y}" width="${mid.w}" height="${mid.h}"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="${end.id}_di" bpmnElement="${end.id}"><dc:Bounds x="${endX}" y="102" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="F1_di" bpmnElement="F1"><di:waypoint x="168" y="120"/><di:waypoint x="${mid.x}" y="120"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="F2_di" bpmnElement="F2"><di:waypoint x="${mid.x + mid.w}" y="120"/><di:waypoint x="${endX}" y="120"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
`;
}
