/**
 * The designer's hook for simulation: the "Simulate" toolbar button and the side panel that
 * takes the properties panel's place while open, one simulation per open diagram (each keeps
 * its session while another tab is shown; closing its tab ends it).
 */
import { el } from '../dom';
import { SimulationPanel, type PanelHost } from './panel';
import './simulation.css';

export interface DockOptions {
  /** The designer's main grid (the panel's column) and the properties panel it stands in for. */
  main(): HTMLElement;
  properties(): HTMLElement;
  /** What a panel needs from the diagram of a tab, or null when the tab has no editor. */
  hostFor(tabId: string, close: () => void): Omit<PanelHost, 'close'> | null;
}

export interface Dock {
  button: HTMLButtonElement;
  area: HTMLElement;
  /** The designer shows another tab. */
  activate(tabId: string): void;
  /** A tab closed: its simulation ends. */
  dispose(tabId: string): void;
}

export function simulationDock(opts: DockOptions): Dock {
  const panels = new Map<string, SimulationPanel>();
  const open = new Set<string>();
  let current: string | null = null;
  const area = el('aside', { id: 'designer-simulation', className: 'designer-simulation', 'aria-label': 'Simulation', hidden: true });
  const button = el(
    'button',
    {
      type: 'button',
      'data-testid': 'simulate',
      'aria-expanded': 'false',
      'aria-controls': 'designer-simulation',
      title: 'Run this diagram step by step on the engine (virtual clock, nothing stored)',
      onclick: () => toggle(),
    },
    'Simulate',
  ) as HTMLButtonElement;

  function render(): void {
    const shown = current !== null && open.has(current);
    area.hidden = !shown;
    opts.properties().hidden = shown;
    opts.main().classList.toggle('simulating', shown);
    button.setAttribute('aria-expanded', String(shown));
    button.classList.toggle('pressed', shown);
    for (const [id, panel] of panels) panel.root.hidden = !(shown && id === current);
  }

  function close(tabId: string): void {
    open.delete(tabId);
    const panel = panels.get(tabId);
    panel?.dispose();
    panel?.root.remove();
    panels.delete(tabId);
    render();
    if (tabId === current) button.focus();
  }

  function toggle(): void {
    if (current === null) return;
    if (open.has(current)) return close(current);
    const tabId = current;
    let panel = panels.get(tabId);
    if (!panel) {
      const host = opts.hostFor(tabId, () => close(tabId));
      if (!host) return;
      panel = new SimulationPanel({ ...host, close: () => close(tabId) });
      panels.set(tabId, panel);
      area.append(panel.root);
    }
    open.add(tabId);
    render();
    panel.focus();
  }

  return {
    button,
    area,
    activate(tabId) {
      current = tabId;
      render();
    },
    dispose(tabId) {
      if (panels.has(tabId)) close(tabId);
    },
  };
}
