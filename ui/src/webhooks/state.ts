/** What the webhooks view keeps in the address: `#/webhooks?tab=requests&config=3&verdict=duplicate&page=2&size=50`. */
import { VERDICTS } from './model';

export const TABS = ['configs', 'requests', 'apps'] as const;
export const REQUEST_PAGE_SIZES = [20, 50, 100];

export interface WebhooksState {
  tab: (typeof TABS)[number];
  /** The inspector's configuration filter (null: every request). */
  config: number | null;
  /** The inspector's verdict filter (null: every verdict). */
  verdict: string | null;
  page: number;
  size: number;
}

export function readState(hash: string): WebhooksState {
  const q = hash.includes('?') ? hash.slice(hash.indexOf('?') + 1) : '';
  const p = new URLSearchParams(q);
  const tab = p.get('tab') ?? '';
  const config = Number(p.get('config') ?? '');
  const page = Number(p.get('page') ?? '1');
  const verdict = p.get('verdict') ?? '';
  const size = Number(p.get('size') ?? '20');
  return {
    tab: (TABS as readonly string[]).includes(tab) ? (tab as WebhooksState['tab']) : 'configs',
    config: p.get('config') && Number.isInteger(config) && config > 0 ? config : null,
    verdict: (VERDICTS as readonly string[]).includes(verdict) ? verdict : null,
    page: Number.isInteger(page) && page >= 1 ? page : 1,
    size: REQUEST_PAGE_SIZES.includes(size) ? size : 20,
  };
}

/** The query part (without `?`); defaults are left out. */
export function stateQuery(s: WebhooksState): string {
  const p = new URLSearchParams();
  if (s.tab !== 'configs') p.set('tab', s.tab);
  if (s.config !== null) p.set('config', String(s.config));
  if (s.verdict !== null) p.set('verdict', s.verdict);
  if (s.page > 1) p.set('page', String(s.page));
  if (s.size !== 20) p.set('size', String(s.size));
  return p.toString();
}
