/** Elections: the leader, its value, since which revision, and the candidates in line. */
import type { DashboardState } from '../../model/state.js';
import { type El, h } from '../dom.js';
import { cards, queue, since, ttl } from './common.js';

export function electionsView(state: DashboardState): El {
  return cards('Elections', 'No election has a candidate.', state.elections, (e) =>
    h(
      'article',
      { class: 'card', 'data-election': e.name },
      h('h3', {}, e.name),
      h(
        'p',
        {},
        'Leader ',
        h('strong', { class: 'leader-value', 'data-leader': e.leader.key }, e.leader.value),
        ' · ',
        h('code', {}, e.leader.key),
        ` · leads since ${since(state, e.leader.key)} · value set at rev ${e.leader.modRevision} · TTL `,
        ttl(state, e.leader.lease),
      ),
      h('h4', {}, `Candidates (${e.candidates.length})`),
      queue(state, 'candidates', e.candidates, (c) => `proposes “${c.value}”`),
    ),
  );
}
