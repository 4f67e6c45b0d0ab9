/**
 * Drawing without a mouse: the palette's entries take keyboard focus, and Enter (or Space) on a
 * "create" entry adds the element next to the selected one (placed and connected by bpmn-js's
 * auto-place), or in the middle of the view when nothing is selected. The new element is
 * selected, so pressing Enter again continues the chain. Tools (hand, lasso, space, connect)
 * are activated as a click would.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */

const CREATE: Record<string, { type: string; attrs?: Record<string, unknown> }> = {
  'create.start-event': { type: 'bpmn:StartEvent' },
  'create.intermediate-event': { type: 'bpmn:IntermediateThrowEvent' },
  'create.end-event': { type: 'bpmn:EndEvent' },
  'create.exclusive-gateway': { type: 'bpmn:ExclusiveGateway' },
  'create.task': { type: 'bpmn:Task' },
  'create.data-object': { type: 'bpmn:DataObjectReference' },
  'create.data-store': { type: 'bpmn:DataStoreReference' },
  'create.subprocess-expanded': { type: 'bpmn:SubProcess', attrs: { isExpanded: true } },
};

function isFlowNode(element: any): boolean {
  const bo = element?.businessObject;
  return !!bo && typeof bo.$instanceOf === 'function' && bo.$instanceOf('bpmn:FlowNode') && !element.waypoints;
}

/** Adds one element the way Enter on a palette entry does; answers it (or null). */
export function createFromPalette(modeler: any, action: string): any {
  const spec = CREATE[action];
  if (!spec) return null;
  const elementFactory = modeler.get('elementFactory');
  const selection = modeler.get('selection');
  const canvas = modeler.get('canvas');
  const modeling = modeler.get('modeling');
  const shape = elementFactory.createShape({ type: spec.type, ...(spec.attrs ?? {}) });
  const selected = selection.get();
  const source = selected.length === 1 && isFlowNode(selected[0]) ? selected[0] : null;
  let created: any;
  if (source && !spec.type.startsWith('bpmn:Data')) {
    created = modeler.get('autoPlace').append(source, shape);
  } else {
    const vb = canvas.viewbox();
    const at = { x: Math.round(vb.x + vb.width / 2), y: Math.round(vb.y + vb.height / 2) };
    created = modeling.createShape(shape, at, canvas.getRootElement());
  }
  selection.select(created);
  canvas.scrollToElement?.(created);
  return created;
}

export function keyboardPalette(modeler: any, container: HTMLElement): void {
  const eventBus = modeler.get('eventBus');
  const palette = modeler.get('palette');
  const mark = () => {
    for (const entry of container.querySelectorAll<HTMLElement>('.djs-palette .entry[data-action]')) {
      entry.tabIndex = 0;
      const action = entry.dataset.action ?? '';
      if (CREATE[action] && !entry.title.includes('Enter')) {
        entry.title = `${entry.getAttribute('aria-label') ?? entry.title} (Enter: add next to the selected element)`;
      }
    }
  };
  eventBus.on('palette.changed', mark);
  mark();
  container.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    const entry = (e.target as HTMLElement).closest?.('.djs-palette .entry[data-action]') as HTMLElement | null;
    if (!entry) return;
    e.preventDefault();
    e.stopPropagation();
    const action = entry.dataset.action!;
    if (CREATE[action]) {
      createFromPalette(modeler, action);
      return;
    }
    const found = palette.getEntries()[action];
    const click = typeof found?.action === 'function' ? found.action : found?.action?.click;
    if (typeof click === 'function') click(e, true);
  });
}
