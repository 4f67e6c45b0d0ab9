/** A polite live region: short status sentences for screen readers (and the status line). */
let region: HTMLElement | null = null;

export function attachAnnouncer(el: HTMLElement): void {
  region = el;
}

export function announce(message: string): void {
  if (!region) return;
  region.textContent = '';
  // A separate task, so the same sentence twice is still read out.
  setTimeout(() => {
    if (region) region.textContent = message;
  }, 30);
}
