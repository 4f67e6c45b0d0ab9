/**
 * A view's reads can answer out of order: a poll still in flight when the user changes a
 * filter, or a slow page behind a fast one. Each read takes a ticket before it asks; its answer
 * is drawn only while the ticket is still the newest, so an older answer never paints over a
 * newer one.
 */
export interface Reads {
  /** A ticket for a read about to start: `current()` stays true until a newer read starts. */
  take(): { current(): boolean };
}

export function latestReads(): Reads {
  let issued = 0;
  return {
    take() {
      const mine = ++issued;
      return { current: () => mine === issued };
    },
  };
}
