/** Pieces several views share: a lease's TTL counting down, a contender row, an empty note. */
import type { Contender } from '../../model/entry.js';
import type { DashboardState } from '../../model/state.js';
import { type El, h } from '../dom.js';
import { clock, ttlLeft } from '../format.js';

const ttlText = (state: DashboardState, lease: string): string => {
  const l = state.leases.find((x) => x.id === lease);
  return l ? `${ttlLeft(l.ttl, l.readAt)} s` : lease ? 'unknown' : 'none';
};

/**
 * A lease's seconds left. `tick()` rewrites it every second from the latest lease read, so a
 * view is rebuilt only when what it shows changes, not at every TTL step.
 */
export const ttl = (state: DashboardState, lease: string): El =>
  h('span', { 'data-lease-ttl': lease, class: 'ttl' }, ttlText(state, lease));

/** Brings every TTL on the page to now. */
export function tick(root: El, state: DashboardState): void {
  for (const el of Array.from(root.querySelectorAll('[data-lease-ttl]')))
    el.textContent = ttlText(state, el.getAttribute('data-lease-ttl') ?? '');
}

export const empty = (what: string): El => h('p', { class: 'empty' }, what);

/** An ordered list of waiters (or candidates), each with its key, lease and place. */
export function queue(
  state: DashboardState,
  label: string,
  list: Contender[],
  extra?: (c: Contender) => string,
): El {
  if (list.length === 0) return h('p', { class: 'muted' }, `no ${label}`);
  return h(
    'ol',
    { class: 'queue', 'aria-label': label },
    list.map((c) =>
      h(
        'li',
        { 'data-key': c.key },
        h('code', {}, c.key),
        ` rev ${c.createRevision} · lease ${c.lease} · TTL `,
        ttl(state, c.lease),
        extra?.(c) ? ` · ${extra(c)}` : '',
      ),
    ),
  );
}

export const section = (title: string, ...body: (El | El[])[]): El =>
  h('section', { 'aria-label': title }, h('h2', {}, title), ...body.flat());

/** A titled list of cards, one per item, or a note when there is none. */
export const cards = <T>(title: string, none: string, items: T[], card: (t: T) => El): El =>
  section(title, items.length === 0 ? empty(none) : items.map(card));

/** Since when a key holds (or leads): the time the dashboard saw it take over, else "before". */
export function since(state: DashboardState, key: string): string {
  const at = state.since[key];
  return at === undefined ? 'before the dashboard started' : clock(at);
}
