/**
 * #/deliveries: events out (docs/events.md). Event subscriptions and custom webhooks side by
 * side (./subscriptions.ts, ./custom-webhooks.ts), the delivery log below (./log.ts). The
 * forms and the log are separate parts of the page: reloading the lists or the log never
 * touches what is being typed.
 */
import type { View, ViewContext } from '../app/view';
import { query, subscribe } from '../transport';
import { el } from '../runner/dom';
import { customWebhooksPanel } from './custom-webhooks';
import { deliveryLog } from './log';
import { subscriptionsPanel } from './subscriptions';
import '../runner/runner.css';
import './deliveries.css';

const PROCESS_LIST = 'dl-process-keys';

/** The deployed process keys, for the forms' "Process" suggestions (the first 500 definitions). */
async function processKeys(): Promise<string[]> {
  const r = await query<{ items: { processKey: string }[] }>('GetProcessDefinitionListQuery', { pageNumber: 1, pageSize: 500 });
  return [...new Set(r.items.map((d) => d.processKey))].sort();
}

export function mount(root: HTMLElement, _ctx: ViewContext): View {
  const keys = el('datalist', { id: PROCESS_LIST });
  const subs = subscriptionsPanel(PROCESS_LIST);
  const hooks = customWebhooksPanel(PROCESS_LIST);
  const log = deliveryLog();

  root.append(
    el(
      'div',
      { className: 'runner-page dl-page', 'data-testid': 'deliveries-view' },
      el(
        'div',
        { className: 'runner-head' },
        el('h1', {}, 'Deliveries'),
        el('p', { className: 'muted' }, 'Where Baton sends events about its instances, and every delivery it made.'),
      ),
      el('div', { className: 'dl-columns' }, subs.root, hooks.root),
      log.root,
      keys,
    ),
  );

  void subs.load();
  void hooks.load();
  void log.load();
  void processKeys()
    .then((list) => keys.replaceChildren(...list.map((k) => el('option', { value: k }))))
    .catch(() => {
      /* suggestions only: the field takes any key */
    });

  // An instance's step writes its deliveries in the same transaction: read the log again.
  const unsubscribe = subscribe(() => log.poke());

  return {
    unmount() {
      unsubscribe();
      log.stop();
    },
  };
}
