/** The start variables typed last for each process key, kept to prefill the start panel. */

const LAST_START_KEY = 'baton.designer.lastStart';

/** The variables of the last start of each process key, kept in localStorage. */
export function lastStartVariables(processKey: string, storage: Storage = localStorage): string | null {
  try {
    const all = JSON.parse(storage.getItem(LAST_START_KEY) ?? '{}') as Record<string, string>;
    return typeof all[processKey] === 'string' ? all[processKey]! : null;
  } catch {
    return null;
  }
}

export function rememberStartVariables(processKey: string, text: string, storage: Storage = localStorage): void {
  let all: Record<string, string> = {};
  try {
    all = JSON.parse(storage.getItem(LAST_START_KEY) ?? '{}') as Record<string, string>;
  } catch {
    all = {};
  }
  all[processKey] = text;
  try {
    storage.setItem(LAST_START_KEY, JSON.stringify(all));
  } catch {
    /* a full storage only loses the prefill */
  }
}
