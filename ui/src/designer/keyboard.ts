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
  // Name it right away, as after a drop with the mouse (Enter or a click elsewhere ends it).
  if (/Task|SubProcess|Event|Gateway/.test(spec.type)) modeler.get('directEditing').activate(created);
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

/**
 * Walking the diagram from the keyboard (canvas focused): Alt+→ selects the next element along
 * the flow, Alt+← the previous one, Alt+↓ / Alt+↑ the next or previous branch of the same source;
 * with nothing selected, Alt+→ selects the first start event. The properties panel follows the
 * selection, so every element's properties are reachable without a mouse.
 */
export function keyboardWalk(modeler: any): void {
  const keyboard = modeler.get('keyboard');
  const selection = modeler.get('selection');
  const registry = modeler.get('elementRegistry');
  const canvas = modeler.get('canvas');
  const pick = (element: any) => {
    if (!element) return;
    selection.select(element);
    canvas.scrollToElement?.(element);
  };
  keyboard.addListener(2000, (context: { keyEvent: KeyboardEvent }) => {
    const e = context.keyEvent;
    if (!e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    if (!['ArrowRight', 'ArrowLeft', 'ArrowDown', 'ArrowUp'].includes(e.key)) return;
    const current = selection.get()[0];
    if (!current) {
      const starts = registry.filter((el: any) => el.type === 'bpmn:StartEvent');
      pick(starts[0] ?? registry.filter((el: any) => isFlowNode(el))[0]);
      return true;
    }
    const node = current.waypoints ? (e.key === 'ArrowLeft' ? current.source : current.target) : current;
    if (current.waypoints && (e.key === 'ArrowLeft' || e.key === 'ArrowRight')) {
      pick(node);
      return true;
    }
    const outgoing = (node.outgoing ?? []).filter((c: any) => c.type === 'bpmn:SequenceFlow');
    const incoming = (node.incoming ?? []).filter((c: any) => c.type === 'bpmn:SequenceFlow');
    if (e.key === 'ArrowRight') pick(outgoing[0]?.target);
    else if (e.key === 'ArrowLeft') pick(incoming[0]?.source);
    else {
      // Siblings: the targets of the first source of this element.
      const source = incoming[0]?.source;
      const siblings = (source?.outgoing ?? []).map((c: any) => c.target).filter(Boolean);
      const at = siblings.indexOf(node);
      if (siblings.length > 1 && at >= 0) {
        const step = e.key === 'ArrowDown' ? 1 : siblings.length - 1;
        pick(siblings[(at + step) % siblings.length]);
      }
    }
    return true;
  });
}
