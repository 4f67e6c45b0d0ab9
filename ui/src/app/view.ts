/** What a view module exports: `mount(root, ctx)`; each view is its own chunk (dynamic import). */

export interface ViewContext {
  /** Route parameters, e.g. `{guid}` for `#/instances/GUID`. */
  params: Record<string, string>;
  /** Go to another route, e.g. `navigate('#/instances/' + guid)`. */
  navigate(hash: string): void;
}

export interface View {
  /** Called when the view leaves the screen for good. */
  unmount?(): void;
  /** Kept-alive views (the designer) are shown again instead of mounted again. */
  shown?(ctx: ViewContext): void;
}

export interface ViewModule {
  mount(root: HTMLElement, ctx: ViewContext): View | Promise<View>;
}
