/** Services: each service's instances with metadata and lease, and joins/leaves as they happened. */
import type { InstanceView, ServiceView } from '../../model/services.js';
import type { DashboardState } from '../../model/state.js';
import { type El, h } from '../dom.js';
import { table } from '../form.js';
import { clock } from '../format.js';
import { empty, section, ttl } from './common.js';

function service(state: DashboardState, s: ServiceView): El {
  const row = (i: InstanceView) =>
    h(
      'tr',
      { 'data-instance': i.id },
      h('td', {}, i.id),
      h('td', {}, h('code', {}, i.address)),
      h('td', {}, h('code', {}, JSON.stringify(i.meta))),
      h('td', {}, i.lease || 'none'),
      h('td', {}, ttl(state, i.lease)),
    );
  return h(
    'article',
    { class: 'card', 'data-service': s.name },
    h('h3', {}, s.name, ' ', h('span', { class: 'badge' }, `${s.instances.length} up`)),
    table(['id', 'address', 'metadata', 'lease', 'TTL'], s.instances.map(row)),
    s.invalid.length > 0 && h('p', { class: 'warn' }, `Not instance documents: ${s.invalid.join(', ')}`),
  );
}

export function servicesView(state: DashboardState): El {
  const log = state.serviceEvents.slice(-20).reverse();
  const line = (e: DashboardState['serviceEvents'][number]) =>
    h('li', { class: e.type }, `${clock(e.at)} ${e.type} ${e.service}/${e.id} (rev ${e.revision})`);
  return h(
    'div',
    {},
    section(
      `Services under ${state.layout.servicesRoot}`,
      state.services.length === 0
        ? empty('No instance is registered.')
        : state.services.map((s) => service(state, s)),
    ),
    section(
      'Joins and leaves',
      log.length === 0
        ? empty('Nothing joined or left since the dashboard started.')
        : h('ul', { class: 'log', 'data-service-log': '' }, log.map(line)),
    ),
  );
}
