// Libraries of the designer that ship no TypeScript declarations.
declare module 'bpmn-js-properties-panel' {
  export const BpmnPropertiesPanelModule: unknown;
  export const BpmnPropertiesProviderModule: unknown;
  export function useService<T = any>(name: string, strict?: boolean): T;
}
declare module '@bpmn-io/properties-panel' {
  export const TextFieldEntry: any;
  export const TextAreaEntry: any;
  export const SelectEntry: any;
  export const Group: any;
  export function isTextFieldEntryEdited(node: unknown): boolean;
  export function isTextAreaEntryEdited(node: unknown): boolean;
  export function isSelectEntryEdited(node: unknown): boolean;
}
declare module '@bpmn-io/properties-panel/preact' {
  export function h(type: any, props: any, ...children: any[]): any;
}
declare module '@bpmn-io/properties-panel/preact/hooks' {
  export function useEffect(fn: () => void | (() => void), deps?: unknown[]): void;
  export function useState<T>(initial: T): [T, (v: T) => void];
  export function useRef<T>(initial: T): { current: T };
}
declare module 'bpmn-js-bpmnlint' {
  const module: unknown;
  export default module;
}
declare module 'diagram-js-minimap' {
  const module: unknown;
  export default module;
}
declare module 'bpmnlint/rules/*' {
  const rule: (...args: unknown[]) => unknown;
  export default rule;
}
declare module 'bpmn-js-properties-panel/dist/index.esm.js' {
  export const BpmnPropertiesPanelModule: unknown;
}
declare module 'diagram-js/lib/command';
declare module 'diagram-js/lib/core/EventBus';
declare module 'diagram-js/lib/core/ElementRegistry';
declare module 'bpmn-js/lib/features/modeling/cmd/UpdateModdlePropertiesHandler';
declare module 'bpmn-moddle' {
  export const BpmnModdle: any;
}
