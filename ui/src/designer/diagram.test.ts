import { describe, expect, it } from 'vitest';
import { generateDiagramXml, importErrorText, newDiagramXml, notBpmnReason, processKeyOf } from './diagram';

describe('diagrams', () => {
  it('a new diagram is BPMN with an executable process and a start event', () => {
    const xml = newDiagramXml('Process_x');
    expect(notBpmnReason(xml, 'new.bpmn')).toBeNull();
    expect(processKeyOf(xml)).toBe('Process_x');
    expect(xml).toContain('<bpmn:startEvent id="StartEvent_1"');
  });

  it('generates a chain of nodes and flows', () => {
    const xml = generateDiagramXml(1000);
    const doc = new DOMParser().parseFromString(xml, 'application/xml');
    const ns = 'http://www.omg.org/spec/BPMN/20100524/MODEL';
    expect(doc.getElementsByTagNameNS(ns, 'task')).toHaveLength(998);
    expect(doc.getElementsByTagNameNS(ns, 'sequenceFlow')).toHaveLength(999);
    expect(doc.getElementsByTagNameNS('http://www.omg.org/spec/BPMN/20100524/DI', 'BPMNShape')).toHaveLength(1000);
  });

  it('says in words why a text is not BPMN', () => {
    expect(notBpmnReason('hello', 'notes.txt')).toMatch(/notes.txt is not a BPMN file/);
    expect(notBpmnReason('<a><b></a>', 'broken.bpmn')).toMatch(/broken.bpmn is not well-formed XML/);
    expect(notBpmnReason('<svg xmlns="http://www.w3.org/2000/svg"/>', 'pic.svg')).toMatch(/not BPMN 2.0: its root is <svg>/);
  });
});

describe('import errors', () => {
  it('puts the line and column of a bpmn-js import error in words', () => {
    const e = new Error('unparsable content <bpmn:foo> detected; this may indicate an invalid BPMN 2.0 diagram file\n\tline: 12\n\tcolumn: 7\n\tnested error: unrecognized tag');
    expect(importErrorText('x.bpmn', e)).toBe(
      'x.bpmn could not be opened at line 12, column 7: unparsable content <bpmn:foo> detected; this may indicate an invalid BPMN 2.0 diagram file (unrecognized tag).',
    );
    expect(importErrorText('y.bpmn', new Error('failed to parse document as <bpmn:Definitions>.'))).toBe(
      'y.bpmn could not be opened: failed to parse document as <bpmn:Definitions>.',
    );
  });
});
