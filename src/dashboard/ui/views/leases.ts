/** Leases: TTL left (counting down), granted TTL, attached keys; revoke with --allow-writes. */
import type { DashboardState } from '../../model/state.js';
import { send } from '../api.js';
import { type El, h } from '../dom.js';
import { table } from '../form.js';
import { empty, section, ttl } from './common.js';

export function leasesView(state: DashboardState): El {
  if (state.leases.length === 0)
    return section('Leases', empty('No lease is granted (or this user may not list them).'));
  const revoke = (id: string) =>
    h('button', { type: 'button', onclick: () => void send('DELETE', `/api/leases/${id}`, {}) }, 'Revoke');
  const keys = (list: string[]) =>
    list.length === 0
      ? h('span', { class: 'muted' }, 'none')
      : h(
          'ul',
          { class: 'plain' },
          list.map((k) => h('li', {}, h('code', {}, k))),
        );
  const cols = ['lease', 'TTL left', 'granted', 'keys', ...(state.writable ? [''] : [])];
  const rows = state.leases.map((l) =>
    h(
      'tr',
      { 'data-lease': l.id },
      h('td', {}, h('code', {}, l.id)),
      h('td', {}, ttl(state, l.id)),
      h('td', {}, `${l.grantedTtl} s`),
      h('td', {}, keys(l.keys)),
      state.writable && h('td', {}, revoke(l.id)),
    ),
  );
  return section('Leases', table(cols, rows));
}
