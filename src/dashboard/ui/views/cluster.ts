/** Cluster: members and their status, alarms, leader changes, and small charts. */
import type { MemberView } from '../../model/cluster.js';
import type { DashboardState } from '../../model/state.js';
import { type El, h, sparkline } from '../dom.js';
import { table } from '../form.js';
import { bytes, clock } from '../format.js';
import { empty, section } from './common.js';

function chart(label: string, values: (number | undefined)[], unit: string): El {
  const v = values.filter((x): x is number => x !== undefined);
  const last = v.at(-1);
  return h(
    'figure',
    { class: 'chart' },
    sparkline(v, label),
    h('figcaption', {}, `${label}: ${last === undefined ? '–' : `${last.toFixed(1)} ${unit}`}`),
  );
}

function memberRow(m: MemberView): El {
  const health = m.healthy ? 'healthy' : `unreachable${m.error ? `: ${m.error}` : ''}`;
  return h(
    'tr',
    { 'data-member': m.id },
    h('td', {}, h('code', {}, m.id)),
    h('td', {}, m.name),
    h('td', { class: m.healthy ? 'ok' : 'bad' }, health),
    h('td', {}, m.isLeader ? 'leader' : m.isLearner ? 'learner' : 'follower'),
    [m.raftTerm, m.raftIndex, m.raftAppliedIndex].map((x) => h('td', {}, x ?? '–')),
    h('td', {}, bytes(m.dbSize)),
    h('td', {}, m.version ?? '–'),
    h('td', {}, m.clientURLs.join(', ')),
  );
}

const COLS = [
  'member',
  'name',
  'health',
  'role',
  'term',
  'raft index',
  'applied index',
  'db size',
  'version',
  'client URLs',
];

export function clusterView(state: DashboardState): El {
  const c = state.cluster;
  if (!c) return section('Cluster', empty('No member has answered yet.'));
  const leaderName = c.members.find((m) => m.isLeader)?.name || c.leader || 'none';
  const changes = [...c.leaderChanges].reverse();
  return h(
    'div',
    {},
    section(
      `Cluster ${c.clusterId}`,
      h(
        'p',
        {},
        'Leader ',
        h('strong', { 'data-cluster-leader': c.leader }, leaderName),
        ` · store revision ${state.revision}`,
      ),
      table(COLS, c.members.map(memberRow)),
    ),
    section(
      'Metrics',
      h(
        'div',
        { class: 'charts' },
        chart(
          'writes/s',
          c.series.map((s) => s.opsPerSec),
          '/s',
        ),
        chart(
          'request p99',
          c.series.map((s) => s.p99Ms),
          'ms',
        ),
        chart(
          'WAL fsync p99',
          c.series.map((s) => s.fsyncP99Ms),
          'ms',
        ),
      ),
    ),
    section(
      'Alarms',
      c.alarms.length === 0
        ? empty('No alarm.')
        : h(
            'ul',
            {},
            c.alarms.map((a) => h('li', { class: 'bad' }, `${a.alarm} on ${a.member}`)),
          ),
    ),
    section(
      'Leader changes',
      h(
        'ul',
        { class: 'log' },
        changes.map((l) => h('li', {}, `${clock(l.at)} leader ${l.leader} (term ${l.term})`)),
      ),
    ),
  );
}
