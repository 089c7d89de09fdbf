/**
 * Keys: a prefix tree (one level at a time, each prefix with its key count), a key's value as
 * text, pretty JSON and hex, its revisions, history and lease, and a live tail of a prefix.
 */

import type { DashboardState } from '../../model/state.js';
import type { KeyDetails } from '../../session.js';
import { getJSON } from '../api.js';
import { type El, type EvSource, events, h } from '../dom.js';
import { empty, section, ttl } from './common.js';

export const keysHash = (prefix: string, key?: string): string =>
  `#/keys?${new URLSearchParams(key === undefined ? { prefix } : { prefix, key })}`;

/** The children of `prefix`: deeper prefixes (up to the next `/`) with counts, and keys. */
function level(keys: readonly string[], prefix: string) {
  const prefixes = new Map<string, number>();
  const leaves: string[] = [];
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue;
    const slash = k.indexOf('/', prefix.length);
    if (slash === -1 || slash === k.length - 1) leaves.push(k);
    else {
      const p = k.slice(0, slash + 1);
      prefixes.set(p, (prefixes.get(p) ?? 0) + 1);
    }
  }
  return { prefixes: [...prefixes.entries()], leaves };
}

function crumbs(prefix: string): El {
  const parts = prefix.split('/').filter((p, i, all) => p !== '' || i < all.length - 1);
  const links: El[] = [h('a', { href: keysHash('') }, '(all keys)')];
  let acc = '';
  for (const p of parts) {
    acc += `${p}/`;
    links.push(h('span', { 'aria-hidden': 'true' }, ' › '), h('a', { href: keysHash(acc) }, `${p}/`));
  }
  return h('nav', { 'aria-label': 'prefix', class: 'crumbs' }, links);
}

export function keysView(state: DashboardState, prefix: string, selected: string | undefined): El {
  const { prefixes, leaves } = level(
    state.keys.map((k) => k.key),
    prefix,
  );
  const byKey = new Map(state.keys.map((k) => [k.key, k]));
  return section(
    `Keys (${state.keys.length} at revision ${state.revision})`,
    crumbs(prefix),
    prefixes.length + leaves.length === 0
      ? empty('No key here.')
      : h(
          'ul',
          { class: 'tree' },
          prefixes.map(([p, n]) =>
            h('li', { class: 'prefix' }, h('a', { href: keysHash(p) }, p.slice(prefix.length)), ` ${n}`),
          ),
          leaves.map((k) => {
            const s = byKey.get(k)!;
            return h(
              'li',
              { class: 'leaf' },
              h(
                'a',
                { href: keysHash(prefix, k), 'aria-current': k === selected ? 'true' : undefined },
                k.slice(prefix.length) || k,
              ),
              ` v${s.version} · ${s.size} B`,
              s.lease ? [' · lease ', s.lease, ' · TTL ', ttl(state, s.lease)] : [],
            );
          }),
        ),
  );
}

function valueBlock(v: KeyDetails['value']): El {
  return h(
    'div',
    { class: 'value' },
    v.json !== undefined &&
      h('details', { open: true }, h('summary', {}, 'JSON'), h('pre', { 'data-value': 'json' }, v.json)),
    h(
      'details',
      { open: v.json === undefined },
      h('summary', {}, 'Text'),
      h('pre', { 'data-value': 'text' }, v.text ?? '(not UTF-8)'),
    ),
    h('details', {}, h('summary', {}, 'Hex'), h('pre', {}, v.hex)),
  );
}

/** A key's details, read when it is opened. */
export function keyPanel(key: string): El {
  const panel = h('section', { 'aria-label': 'Key', class: 'card' }, h('p', {}, `Reading ${key}…`));
  getJSON<KeyDetails>(`/api/key?${new URLSearchParams({ key })}`)
    .then((d) =>
      panel.replaceChildren(
        h('h2', {}, h('code', {}, d.key)),
        h(
          'p',
          {},
          `version ${d.version} · created at rev ${d.createRevision} · modified at rev ${d.modRevision} · lease ${d.lease || 'none'}`,
        ),
        valueBlock(d.value),
        h('h3', {}, `History (${d.history.length}${d.compacted ? ', back to the compaction point' : ''})`),
        h(
          'ol',
          { class: 'history' },
          d.history.map((x) =>
            h('li', {}, `rev ${x.modRevision}: `, h('code', {}, x.value.text ?? x.value.hex)),
          ),
        ),
      ),
    )
    .catch((e: Error) => panel.replaceChildren(h('p', { class: 'bad' }, `${key}: ${e.message}`)));
  return panel;
}

/** A live tail of a prefix's events; `stop()` closes it. */
export function tailPanel(prefix: string): { el: El; stop: () => void } {
  const list = h('ol', { class: 'log', 'aria-live': 'polite' });
  let source: EvSource | undefined;
  const stop = () => {
    source?.close();
    source = undefined;
    list.removeAttribute('data-live');
  };
  const button = h(
    'button',
    {
      type: 'button',
      onclick: () => {
        if (source) {
          stop();
          button.textContent = 'Tail';
          return;
        }
        source = events(`/api/tail?${new URLSearchParams({ prefix })}`);
        source.addEventListener('ready', () => list.setAttribute('data-live', ''));
        source.addEventListener('change', (e) => {
          const c = JSON.parse(e.data) as { type: string; key: string; value: string; revision: string };
          list.append(
            h(
              'li',
              { class: c.type },
              `rev ${c.revision} ${c.type} `,
              h('code', {}, c.key),
              c.type === 'put' ? ` = ${c.value.slice(0, 80)}` : '',
            ),
          );
        });
        button.textContent = 'Stop';
      },
    },
    'Tail',
  );
  return {
    el: h(
      'section',
      { 'aria-label': 'Live tail', class: 'card' },
      h('h2', {}, `Live tail of ${prefix || 'every key'} `, button),
      list,
    ),
    stop,
  };
}
