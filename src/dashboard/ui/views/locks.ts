/** Locks: holder, fencing token, held since (as the dashboard saw it), lease TTL, waiters in order. */
import type { LockView } from '../../model/locks.js';
import type { DashboardState } from '../../model/state.js';
import { type El, h } from '../dom.js';
import { cards, queue, since, ttl } from './common.js';

function holders(state: DashboardState, l: LockView): El {
  const list = l.kind === 'mutex' ? [l.holder] : l.holders;
  return h(
    'ul',
    { class: 'holders', 'aria-label': 'holders' },
    list.map((c) =>
      h(
        'li',
        { class: 'holder', 'data-key': c.key },
        h('code', {}, c.key),
        'mode' in c ? ` (${c.mode})` : '',
        ' · fencing token ',
        h('strong', { class: 'token' }, c.createRevision),
        ` · held since ${since(state, c.key)} · lease ${c.lease} · TTL `,
        ttl(state, c.lease),
      ),
    ),
  );
}

export function locksView(state: DashboardState): El {
  return cards('Locks', 'No lock is held or waited for.', state.locks, (l) =>
    h(
      'article',
      { class: 'card', 'data-lock': l.name },
      h(
        'h3',
        {},
        l.name,
        ' ',
        h('span', { class: 'badge' }, l.kind === 'semaphore' ? `semaphore of ${l.limit}` : l.kind),
      ),
      h(
        'p',
        {},
        'Fencing token ',
        h(
          'strong',
          { 'data-fencing': '' },
          l.kind === 'semaphore' ? l.holders[0]!.createRevision : l.fencingToken,
        ),
      ),
      h('h4', {}, 'Held by'),
      holders(state, l),
      h('h4', {}, `Waiting (${l.waiters.length})`),
      queue(state, 'waiters', l.waiters, (c) => ('mode' in c ? String(c.mode) : '')),
    ),
  );
}
