/// <reference types="node" />
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Injector } from 'didi';
import CommandModule from 'diagram-js/lib/command';
import CoreModule from 'diagram-js/lib/core/ElementRegistry';
import EventBus from 'diagram-js/lib/core/EventBus';
import UpdateModdlePropertiesHandler from 'bpmn-js/lib/features/modeling/cmd/UpdateModdlePropertiesHandler';
import { BpmnModdle } from 'bpmn-moddle';
import { batonDescriptor } from './descriptor';
import {
  batonProperties,
  cronCycle,
  getBatonProperty,
  ioParameters,
  setBatonProperty,
  validateRetryCycle,
  validateTaskRetryCycle,
  validateSecretName,
  validateTimeoutMinutes,
  validateWebhookUrl,
} from './baton-props';

// read from disk: the test server does not serve files outside ui/
const template = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), '../../../../bpmn-templates/payment-approval/PaymentApprovalProcess.bpmn'),
  'utf8',
);

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * The modeler's command layer without its canvas (jsdom cannot lay out SVG): diagram-js's
 * command stack with bpmn-js's `element.updateModdleProperties` handler and the properties
 * panel's multi-command executor, over bpmn-moddle with Baton's descriptor.
 */
async function open(xml: string) {
  const moddle = new BpmnModdle({ custom: batonDescriptor });
  const { rootElement: definitions, warnings } = await moddle.fromXML(xml, 'bpmn:Definitions');
  expect(warnings).toEqual([]);
  const injector = new Injector([
    { eventBus: ['type', EventBus], elementRegistry: ['type', CoreModule] },
    CommandModule,
  ]);
  const commandStack: any = injector.get('commandStack');
  commandStack.registerHandler('element.updateModdleProperties', UpdateModdlePropertiesHandler);
  commandStack.registerHandler(
    'properties-panel.multi-command-executor',
    class {
      static $inject = ['commandStack'];
      constructor(private stack: any) {}
      preExecute(commands: { cmd: string; context: unknown }[]) {
        for (const c of commands) this.stack.execute(c.cmd, c.context);
      }
    },
  );
  const byId = (id: string) => {
    let found: any;
    const visit = (node: any) => {
      if (!node || found) return;
      if (node.id === id) found = node;
      for (const child of node.flowElements ?? []) visit(child);
    };
    for (const root of (definitions as any).rootElements) visit(root);
    return { id, businessObject: found };
  };
  const toXml = async () => (await moddle.toXML(definitions, { format: true })).xml;
  return { moddle, commandStack, byId, toXml };
}

describe('Baton properties through the modeling API', () => {
  it('reads a template, edits a property as one undoable command, and writes it back', async () => {
    const { moddle, commandStack, byId, toXml } = await open(template);
    const review = byId('Task_ReviewPayment');
    expect(batonProperties(review.businessObject)).toMatchObject({ form: 'payment-review-form', ResponsibleTeam: 'MANAGERS' });
    expect(getBatonProperty(review.businessObject, 'ServerScript')).toContain('throw "Decision is required"');

    setBatonProperty(moddle, commandStack, review, 'ResponsibleTeam', 'AUDITORS');
    setBatonProperty(moddle, commandStack, review, 'TimeoutMinutes', '90');
    let xml = await toXml();
    expect(xml).toContain('<custom:property name="ResponsibleTeam" value="AUDITORS" />');
    expect(xml).toContain('<custom:property name="TimeoutMinutes" value="90" />');
    expect(xml).toContain('xmlns:custom="http://baton.dev/schema/custom"');

    commandStack.undo();
    commandStack.undo();
    xml = await toXml();
    expect(xml).toContain('<custom:property name="ResponsibleTeam" value="MANAGERS" />');
    expect(xml).not.toContain('TimeoutMinutes" value="90"');

    // Removing the last property removes its container too; one undo brings both back.
    const start = byId('Start');
    setBatonProperty(moddle, commandStack, start, 'message', 'Kick');
    xml = await toXml();
    expect(xml).toMatch(/<bpmn:startEvent id="Start"[^>]*>\s*<bpmn:extensionElements>\s*<custom:properties>\s*<custom:property name="message" value="Kick" \/>/);
    setBatonProperty(moddle, commandStack, start, 'message', '');
    expect(getBatonProperty(start.businessObject, 'message')).toBeUndefined();
    commandStack.undo();
    expect(getBatonProperty(start.businessObject, 'message')).toBe('Kick');
    commandStack.undo();
    expect(start.businessObject.extensionElements).toBeUndefined();

    // A re-import of the exported XML reads the same properties.
    setBatonProperty(moddle, commandStack, review, 'ResponsibleUser', 'mary');
    xml = await toXml();
    const again = await open(xml);
    const review2 = again.byId('Task_ReviewPayment');
    expect(batonProperties(review2.businessObject)).toMatchObject({ ResponsibleUser: 'mary', ResponsibleTeam: 'MANAGERS', form: 'payment-review-form' });
  });

  it('validates TimeoutMinutes as a positive number', () => {
    expect(validateTimeoutMinutes('1440')).toBeNull();
    expect(validateTimeoutMinutes('2.5')).toBeNull();
    expect(validateTimeoutMinutes('')).toBeNull();
    expect(validateTimeoutMinutes('0')).toMatch(/positive number/);
    expect(validateTimeoutMinutes('-5')).toMatch(/positive number/);
    expect(validateTimeoutMinutes('soon')).toMatch(/not 'soon'/);
    expect(validateTimeoutMinutes('5256000')).toBeNull();
    expect(validateTimeoutMinutes('5256000.5')).toMatch(/at most 5256000/);
    expect(validateTimeoutMinutes('10000000000')).toMatch(/at most 5256000/);
  });

  it('checks the shape of a timer start event\'s retry cycle', () => {
    for (const ok of ['', 'R5/PT5M', ' R4/PT1M, PT10M,P1D ', 'PT30S,PT2M', 'R1/PT1M', 'R100/PT1H']) {
      expect(validateRetryCycle(ok), ok).toBeNull();
    }
    expect(validateRetryCycle('R5')).toMatch(/R5\/PT5M .* not 'R5'/);
    expect(validateRetryCycle('R3/5 minutes')).toMatch(/not 'R3\/5 minutes'/);
    expect(validateRetryCycle('R3/PT1M,,PT2M')).toMatch(/not 'R3\/PT1M,,PT2M'/);
    expect(validateRetryCycle('R3/-PT1M')).toMatch(/not 'R3\/-PT1M'/);
    expect(validateRetryCycle('R3/P')).toMatch(/not 'R3\/P'/);
    expect(validateRetryCycle('R0/PT5M')).toMatch(/from 1 to 100 attempts, not 0/);
    expect(validateRetryCycle('R101/PT5M')).toMatch(/not 101/);
    // A timer start event has no instance to read an expression from.
    expect(validateRetryCycle('${retryCycle}')).toMatch(/not '\$\{retryCycle\}'/);
  });

  it("takes a task's retry cycle as an expression, read when the task fails", () => {
    for (const ok of ['${retryCycle}', ' #{cycleFor(amount)} ', 'R3/PT1M', '']) {
      expect(validateTaskRetryCycle(ok), ok).toBeNull();
    }
    expect(validateTaskRetryCycle('R3/soon')).toMatch(/not 'R3\/soon'/);
    expect(validateTaskRetryCycle('${retryCycle')).toMatch(/not '\$\{retryCycle'/);
  });

  it('checks a receive task\'s notification URL and secret name', () => {
    for (const ok of ['', 'https://shop.example.com/hooks/done', 'http://127.0.0.1:9000/x?y=1']) {
      expect(validateWebhookUrl(ok), ok).toBeNull();
    }
    expect(validateWebhookUrl('shop.example.com/hook')).toMatch(/http:\/\/ or https:\/\/ address, not 'shop.example.com\/hook'/);
    expect(validateWebhookUrl('ftp://example.com/x')).toMatch(/not 'ftp:/);
    for (const ok of ['', 'reviewHook', 'callback.v2-hook_1']) {
      expect(validateSecretName(ok), ok).toBeNull();
    }
    expect(validateSecretName('review hook')).toMatch(/not 'review hook'/);
    expect(validateSecretName('x'.repeat(129))).toMatch(/up to 128/);
  });

  it('recognises cron timer cycles, not ISO ones', () => {
    const bo = (body: string) => ({
      eventDefinitions: [{ $instanceOf: (t: string) => t === 'bpmn:TimerEventDefinition', timeCycle: { body } }],
    });
    expect(cronCycle(bo('0 9 * * MON-FRI'))).toBe('0 9 * * MON-FRI');
    expect(cronCycle(bo('R5/PT10S'))).toBeNull();
    expect(cronCycle(bo('PT5M'))).toBeNull();
    expect(cronCycle({})).toBeNull();
  });
});

describe('input and output parameters', () => {
  const xml = `<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:userTask id="t">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="net">\${price * qty}</camunda:inputParameter>
          <camunda:inputParameter name="lines"><camunda:list><camunda:value>a</camunda:value><camunda:value>b</camunda:value></camunda:list></camunda:inputParameter>
          <camunda:inputParameter name="byScript"><camunda:script scriptFormat="javascript">1 + 1</camunda:script></camunda:inputParameter>
          <camunda:inputParameter name="nothing"/>
          <camunda:outputParameter name="total">\${net + 5}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
    </bpmn:userTask>
  </bpmn:process>
</bpmn:definitions>`;

  it('lists each parameter as written, in order, with nested values in words', async () => {
    const moddle = new BpmnModdle({ custom: batonDescriptor });
    const { rootElement, elementsById } = await moddle.fromXML(xml, 'bpmn:Definitions');
    expect(ioParameters(elementsById.t)).toEqual([
      { direction: 'input', name: 'net', value: '\${price * qty}' },
      { direction: 'input', name: 'lines', value: 'a list of 2 values' },
      { direction: 'input', name: 'byScript', value: 'a javascript script: 1 + 1' },
      { direction: 'input', name: 'nothing', value: 'null (empty)' },
      { direction: 'output', name: 'total', value: '\${net + 5}' },
    ]);
    // Saved again, the parameters are all there (the modeler keeps what it does not know).
    const { xml: saved } = await moddle.toXML(rootElement);
    expect(saved).toContain('<camunda:outputParameter name="total">');
    expect(saved).toContain('<camunda:value>b</camunda:value>');
  });

  it('an element without parameters has none', async () => {
    const moddle = new BpmnModdle({ custom: batonDescriptor });
    const { rootElement } = await moddle.fromXML(template, 'bpmn:Definitions');
    const task = rootElement.rootElements[0].flowElements.find((e: any) => e.id === 'Task_ReviewPayment');
    expect(ioParameters(task)).toEqual([]);
  });
});

