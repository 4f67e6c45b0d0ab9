/**
 * What the simulation draws on a diagram: a token (an SVG circle on its own canvas layer) that
 * moves along exactly the elements and flows the engine visited, markers on what was taken, on
 * the current and waiting elements, and the coverage of saved scenarios (never-taken elements
 * and flows get a distinct dashed marker). All drawing goes through bpmn-js's canvas markers
 * and layers, so it never enters the diagram's XML or its undo stack.
 */
import type { Coverage, Visit } from './model';

/* eslint-disable @typescript-eslint/no-explicit-any */

const SVG = 'http://www.w3.org/2000/svg';
const MARKERS = ['baton-sim-taken', 'baton-sim-current', 'baton-sim-waiting', 'baton-sim-covered', 'baton-sim-never'] as const;
type Marker = (typeof MARKERS)[number];

const reducedMotion = () => typeof window !== 'undefined' && !!window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;

export class SimCanvas {
  private marked = new Map<string, Set<Marker>>();
  private token: SVGGElement | null = null;
  private layer: SVGGElement | null = null;

  constructor(private readonly modeler: any) {}

  private get canvas(): any {
    return this.modeler.get('canvas');
  }

  private get registry(): any {
    return this.modeler.get('elementRegistry');
  }

  /** The diagram's flow nodes and sequence flows (what coverage is counted against). */
  ids(): { elements: string[]; flows: string[] } {
    const elements: string[] = [];
    const flows: string[] = [];
    for (const e of this.registry.getAll()) {
      const bo = e.businessObject;
      if (!bo?.$instanceOf || e.labelTarget) continue;
      if (bo.$instanceOf('bpmn:SequenceFlow')) flows.push(e.id);
      else if (bo.$instanceOf('bpmn:FlowNode')) elements.push(e.id);
    }
    return { elements, flows };
  }

  name(id: string): string | null {
    const name = this.registry.get(id)?.businessObject?.name;
    return typeof name === 'string' && name.trim() ? name.trim() : null;
  }

  private mark(id: string, marker: Marker): void {
    if (!this.registry.get(id)) return;
    const set = this.marked.get(id) ?? new Set<Marker>();
    if (set.has(marker)) return;
    set.add(marker);
    this.marked.set(id, set);
    this.canvas.addMarker(id, marker);
  }

  private unmarkAll(which: readonly Marker[]): void {
    for (const [id, set] of this.marked) {
      for (const m of which) {
        if (!set.has(m)) continue;
        set.delete(m);
        if (this.registry.get(id)) this.canvas.removeMarker(id, m);
      }
    }
  }

  /** Removes everything the simulation drew. */
  clear(): void {
    this.unmarkAll(MARKERS);
    this.marked.clear();
    this.token?.remove();
    this.token = null;
  }

  /** Draws the run so far: what was taken, no token. */
  drawTaken(visits: Visit[]): void {
    this.unmarkAll(['baton-sim-taken', 'baton-sim-current', 'baton-sim-waiting']);
    for (const v of visits) this.mark(v.id, 'baton-sim-taken');
  }

  /** Marks the waiting elements and puts the token on the first of them (or on `last`). */
  showWaiting(ids: string[], last: Visit | undefined): void {
    this.unmarkAll(['baton-sim-current', 'baton-sim-waiting']);
    for (const id of ids) this.mark(id, 'baton-sim-waiting');
    const at = ids.find((id) => this.registry.get(id)) ?? (last?.kind === 'element' ? last.id : undefined);
    if (at) this.placeToken(at);
    else this.hideToken();
  }

  /** Plays one visit: the token moves along a flow or onto an element, which is marked taken. */
  async play(v: Visit, animate: boolean): Promise<void> {
    const element = this.registry.get(v.id);
    this.unmarkAll(['baton-sim-current']);
    if (!element) return;
    this.mark(v.id, 'baton-sim-taken');
    if (v.kind === 'flow' && element.waypoints?.length) {
      if (animate && !reducedMotion()) await this.moveAlong(element.waypoints);
      else this.setToken(element.waypoints[element.waypoints.length - 1]);
    } else {
      this.mark(v.id, 'baton-sim-current');
      this.placeToken(v.id);
    }
  }

  /** Draws the union coverage: taken elements and flows, and the never-taken ones distinctly. */
  drawCoverage(covered: Coverage): void {
    this.unmarkAll(['baton-sim-covered', 'baton-sim-never']);
    const all = this.ids();
    for (const id of all.elements) this.mark(id, covered.elements.has(id) ? 'baton-sim-covered' : 'baton-sim-never');
    for (const id of all.flows) this.mark(id, covered.flows.has(id) ? 'baton-sim-covered' : 'baton-sim-never');
  }

  clearCoverage(): void {
    this.unmarkAll(['baton-sim-covered', 'baton-sim-never']);
  }

  // --- the token -------------------------------------------------------------------------------

  private ensureToken(): SVGGElement {
    if (!this.layer || !this.layer.isConnected) this.layer = this.canvas.getLayer('baton-simulation', 1000) as SVGGElement;
    if (!this.token || !this.token.isConnected) {
      const g = document.createElementNS(SVG, 'g');
      g.setAttribute('class', 'baton-sim-token');
      g.setAttribute('data-testid', 'sim-token');
      const circle = document.createElementNS(SVG, 'circle');
      circle.setAttribute('r', '9');
      g.append(circle);
      this.layer.append(g);
      this.token = g;
    }
    return this.token;
  }

  private setToken(p: { x: number; y: number }): void {
    const t = this.ensureToken();
    t.style.display = '';
    t.setAttribute('transform', `translate(${p.x}, ${p.y})`);
  }

  private placeToken(id: string): void {
    const e = this.registry.get(id);
    if (!e || e.waypoints) return;
    this.ensureToken().dataset.at = id;
    // The top-right corner of the shape, so its name and its type icon (top left) stay readable.
    this.setToken({ x: e.x + e.width - Math.min(10, e.width / 2), y: e.y + Math.min(10, e.height / 2) });
  }

  private hideToken(): void {
    if (this.token) this.token.style.display = 'none';
  }

  private moveAlong(points: { x: number; y: number }[]): Promise<void> {
    const lengths: number[] = [];
    let total = 0;
    for (let i = 1; i < points.length; i++) {
      const d = Math.hypot(points[i]!.x - points[i - 1]!.x, points[i]!.y - points[i - 1]!.y);
      lengths.push(d);
      total += d;
    }
    const duration = Math.min(600, Math.max(200, total * 2));
    const at = (f: number) => {
      let left = f * total;
      for (let i = 0; i < lengths.length; i++) {
        if (left <= lengths[i]! || i === lengths.length - 1) {
          const k = lengths[i]! ? Math.min(1, left / lengths[i]!) : 1;
          const a = points[i]!;
          const b = points[i + 1]!;
          return { x: a.x + (b.x - a.x) * k, y: a.y + (b.y - a.y) * k };
        }
        left -= lengths[i]!;
      }
      return points[points.length - 1]!;
    };
    return new Promise((resolve) => {
      const started = performance.now();
      const frame = (now: number) => {
        const f = Math.min(1, (now - started) / duration);
        this.setToken(at(f));
        if (f < 1) requestAnimationFrame(frame);
        else resolve();
      };
      requestAnimationFrame(frame);
    });
  }
}
