/**
 * Keys: a prefix tree (one level at a time, each prefix with its key count, read from the server
 * a page at a time), a key's value as text, pretty JSON and hex, its revisions, history and
 * lease, and a live tail of a prefix.
 */

import type { KeySummary, KeysPage } from '../../model/keys.js';
import type { DashboardState } from '../../model/state.js';
import type { KeyDetails } from '../../session.js';
import { getJSON } from '../api.js';
import { doc, type El, type EvSource, events, h } from '../dom.js';
import { ttl } from './common.js';

export const keysHash = (prefix: string, key?: string): string =>
  `#/keys?${new URLSearchParams(key === undefined ? { prefix } : { prefix, key })}`;

/** Children asked for per page ("More" asks for the next as many). */
const PAGE = 100;
/** The most the server gives in one answer: a refresh of many pages asks for these at a time. */
const MAX_PAGE = 1000;
/** How long after the revision moves the open level is read again: a burst makes one read. */
const REFRESH_MS = 300;

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

/** A child of the open level: a deeper prefix with its count, or a key. */
type Child = { name: string; count: number; key?: undefined } | { name: string; key: KeySummary };

/** A page's children in key order (a key named like a prefix, `a/`, before that prefix). */
const childrenOf = (page: KeysPage): Child[] =>
  [
    ...page.keys.map((key): Child => ({ name: key.key, key })),
    ...page.prefixes.map(([name, count]): Child => ({ name, count })),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.key ? -1 : 1));

export interface KeysView {
  el: El;
  prefix: string;
  /** Marks the opened key (the level, and how far it was paged, stay). */
  select(key: string | undefined): void;
  /** A new state: the title follows it, and the level is read again if the revision moved. */
  update(state: DashboardState): void;
  stop(): void;
}

/**
 * The open level of the prefix tree, read from the server a page at a time (`/api/keys`): the
 * page is never sent every key. When the revision moves, the children shown so far are read
 * again, at most one read at a time and one per burst of changes.
 */
export function keysView(prefix: string, selected: string | undefined): KeysView {
  let state: DashboardState | undefined;
  let children: Child[] = [];
  let more = false;
  let revision: string | undefined;
  let busy = false;
  let again = false;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const title = h('h2', {}, 'Keys');
  const list = h('ul', { class: 'tree' });
  const note = h('p', { class: 'empty' }, 'Reading…');
  const moreButton = h(
    'button',
    { type: 'button', class: 'more', hidden: true, onclick: () => void loadMore() },
    'More',
  );
  const el = h('section', { 'aria-label': 'Keys' }, title, crumbs(prefix), note, list, moreButton);

  const read = (after: string | undefined, limit: number) =>
    getJSON<KeysPage>(
      `/api/keys?${new URLSearchParams({ prefix, limit: String(limit), ...(after === undefined ? {} : { after }) })}`,
    );

  const item = (c: Child): El =>
    c.key === undefined
      ? h(
          'li',
          { class: 'prefix' },
          h('a', { href: keysHash(c.name), 'data-child': `p:${c.name}` }, c.name.slice(prefix.length)),
          ` ${c.count}`,
        )
      : h(
          'li',
          { class: 'leaf' },
          h(
            'a',
            {
              href: keysHash(prefix, c.name),
              'data-child': `k:${c.name}`,
              'aria-current': c.name === selected ? 'true' : undefined,
            },
            c.name.slice(prefix.length) || c.name,
          ),
          ` v${c.key.version} · ${c.key.size} B`,
          c.key.lease && state ? [' · lease ', c.key.lease, ' · TTL ', ttl(state, c.key.lease)] : [],
        );

  /** Puts `children` on the page; the focused child (or "More") keeps the focus. */
  const render = () => {
    const focused = doc().activeElement?.getAttribute('data-child');
    list.replaceChildren(...children.map(item));
    note.hidden = children.length > 0;
    note.textContent = 'No key here.';
    moreButton.hidden = !more;
    if (focused) {
      const again = Array.from(list.querySelectorAll('[data-child]')).find(
        (a) => a.getAttribute('data-child') === focused,
      );
      again?.focus();
    }
  };

  /** Runs one read at a time; a revision that moved meanwhile schedules one more. */
  const run = async (f: () => Promise<void>) => {
    busy = true;
    moreButton.setAttribute('aria-busy', 'true');
    try {
      await f();
    } catch (e) {
      if (!stopped) {
        note.hidden = false;
        note.textContent = `Could not read the keys: ${(e as Error).message}`;
      }
    } finally {
      busy = false;
      moreButton.removeAttribute('aria-busy');
      if (again && !stopped) {
        again = false;
        schedule();
      }
    }
  };

  /** Reads the level again, as far as it was shown (to the same last child, not the same count). */
  const refresh = () =>
    run(async () => {
      // Paged beyond the first page: read on to the last child shown, then cut there.
      const until = children.length >= PAGE ? children.at(-1)?.name : undefined;
      const fresh: Child[] = [];
      let page: KeysPage;
      do {
        page = await read(fresh.at(-1)?.name, until === undefined ? PAGE : MAX_PAGE);
        fresh.push(...childrenOf(page));
      } while (page.more && until !== undefined && (fresh.at(-1)?.name ?? '') < until);
      let rest = page.more;
      const cut = until === undefined ? -1 : fresh.findIndex((c) => c.name > until);
      if (cut !== -1) {
        fresh.length = cut;
        rest = true;
      }
      if (stopped) return;
      children = fresh;
      more = rest;
      revision = page.revision;
      render();
    });

  const loadMore = () => {
    if (busy || !more) return;
    return run(async () => {
      const page = await read(children.at(-1)?.name, PAGE);
      if (stopped) return;
      const added = childrenOf(page);
      const first = children.length;
      children = [...children, ...added];
      more = page.more;
      render();
      // Keyboard users go on from the first child the page added.
      if (added.length > 0) list.querySelectorAll('[data-child]')[first]?.focus();
    });
  };

  const schedule = () => {
    if (timer !== undefined || busy) {
      again = busy;
      return;
    }
    timer = setTimeout(() => {
      timer = undefined;
      // A page being added ("More") finishes first; this read follows it.
      if (busy) again = true;
      else void refresh();
    }, REFRESH_MS);
  };

  void refresh();
  return {
    el,
    prefix,
    select(key) {
      selected = key;
      for (const a of Array.from(list.querySelectorAll('[data-child]'))) {
        if (a.getAttribute('data-child') === `k:${key}`) a.setAttribute('aria-current', 'true');
        else a.removeAttribute('aria-current');
      }
    },
    update(s) {
      state = s;
      title.textContent = `Keys (${s.keyCount} at revision ${s.revision})`;
      if (revision !== undefined && s.revision !== revision) schedule();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
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
