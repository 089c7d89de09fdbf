/**
 * The page: a header with the views, the view named by the URL's hash, and one EventSource
 * bringing each new state. A view is rebuilt only when what it shows changed, so focus and
 * what is being typed survive updates; lease TTLs count down in place every second.
 */
import type { DashboardState } from '../model/state.js';
import { getJSON, send } from './api.js';
import { doc, type El, events, type Field, h, win } from './dom.js';
import { form } from './form.js';
import { clusterView } from './views/cluster.js';
import { tick } from './views/common.js';
import { electionsView } from './views/elections.js';
import { flagsPanel, flagsView } from './views/flags.js';
import { type KeysView, keyPanel, keysView, tailPanel } from './views/keys.js';
import { leasesView } from './views/leases.js';
import { locksView } from './views/locks.js';
import { servicesView } from './views/services.js';

interface Route {
  view: string;
  params: URLSearchParams;
}

const VIEWS: [id: string, title: string][] = [
  ['cluster', 'Cluster'],
  ['keys', 'Keys'],
  ['locks', 'Locks'],
  ['elections', 'Elections'],
  ['services', 'Services'],
  ['flags', 'Feature flags'],
  ['leases', 'Leases'],
];

/** What each view shows: it is rebuilt when this changes. */
const SHOWN: Record<string, (s: DashboardState) => unknown> = {
  cluster: (s) => [s.cluster, s.revision],
  // The Keys view reads its level itself and follows each state's revision (`KeysView.update`).
  keys: () => 'keys',
  locks: (s) => [s.locks, s.since, s.leases.map((l) => l.id)],
  elections: (s) => [s.elections, s.since, s.leases.map((l) => l.id)],
  services: (s) => [s.services, s.serviceEvents, s.leases.map((l) => l.id)],
  flags: (s) => [s.flags, s.writable],
  leases: (s) => [s.leases.map((l) => [l.id, l.keys, l.grantedTtl]), s.writable],
};

function route(): Route {
  const [view, query] = win().location.hash.replace(/^#\/?/, '').split('?');
  return {
    view: VIEWS.some(([id]) => id === view) ? view! : 'cluster',
    params: new URLSearchParams(query ?? ''),
  };
}

let state: DashboardState | undefined;
let shown = '';
let routeKey = '';
let stopTail: (() => void) | undefined;
let keys: KeysView | undefined;
const live = h('div', { id: 'live' });
const panel = h('div', { id: 'panel' });
const status = h('span', { class: 'status', role: 'status' }, 'connecting…');
const nav = h('nav', { 'aria-label': 'views' });
const user = h('span', { class: 'user' });

/**
 * Marks the current view's link. The links are built once and only their aria-current changes:
 * rebuilding them on every new state (every 2 s) took the keyboard focus away from a link.
 */
function renderNav(current: string): void {
  if (nav.querySelectorAll('a').length === 0) {
    nav.replaceChildren(
      h(
        'ul',
        {},
        VIEWS.map(([id, title]) => h('li', {}, h('a', { href: `#/${id}`, 'data-view': id }, title))),
      ),
    );
  }
  const links = nav.querySelectorAll('a');
  for (let i = 0; i < links.length; i++) {
    const a = links[i]!;
    if (a.getAttribute('data-view') === current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

const RENDER: Record<string, (s: DashboardState, r: Route) => El> = {
  cluster: clusterView,
  keys: () => keys!.el,
  locks: locksView,
  elections: electionsView,
  services: servicesView,
  flags: flagsView,
  leases: leasesView,
};

/** The parts built once per visit: forms, a key's details, the tail. */
function renderPanel(r: Route, s: DashboardState): void {
  stopTail?.();
  stopTail = undefined;
  const prefix = r.params.get('prefix') ?? '';
  const key = r.params.get('key') ?? undefined;
  // Opening a key keeps its level as it is, paged as far as it was.
  if (r.view === 'keys' && keys?.prefix === prefix) keys.select(key);
  else {
    keys?.stop();
    keys = r.view === 'keys' ? keysView(prefix, key) : undefined;
  }
  if (r.view === 'flags') panel.replaceChildren(flagsPanel(() => state ?? s));
  else if (r.view === 'keys') {
    const tail = tailPanel(prefix);
    stopTail = tail.stop;
    panel.replaceChildren(...(key ? [keyPanel(key)] : []), tail.el);
  } else panel.replaceChildren();
}

function render(): void {
  const r = route();
  const key = `${r.view}?${r.params}`;
  renderNav(r.view);
  if (!state) return;
  if (key !== routeKey) {
    routeKey = key;
    shown = '';
    renderPanel(r, state);
    doc().title = `${VIEWS.find(([id]) => id === r.view)![1]} · Concord dashboard`;
  }
  const now = JSON.stringify(SHOWN[r.view]!(state));
  if (now !== shown) {
    shown = now;
    const view = RENDER[r.view]!(state, r);
    // The Keys view stays on the page while its key changes: moving it would drop the focus.
    if (live.firstChild !== view) live.replaceChildren(view);
  }
  keys?.update(state);
  tick(live, state);
  status.textContent = `revision ${state.revision}${state.writable ? '' : ' · read-only'}`;
}

function connect(): void {
  const source = events('/api/events');
  source.addEventListener('state', (e) => {
    state = JSON.parse(e.data) as DashboardState;
    render();
  });
  source.addEventListener('error', () => {
    status.textContent = 'reconnecting…';
  });
}

function loginForm(): El {
  const name = h('input', { id: 'login-user', autocomplete: 'username', required: true }) as Field;
  const password = h('input', {
    id: 'login-password',
    type: 'password',
    autocomplete: 'current-password',
  }) as Field;
  const prefixes = h('input', { id: 'login-prefixes', placeholder: 'all you may read' }) as Field;
  return form({
    label: 'Log in',
    heading: 'Log in as an etcd user',
    fields: [
      ['login-user', 'User', name],
      ['login-password', 'Password', password],
      [
        'login-prefixes',
        'Prefixes to show (optional, comma-separated; default: all your roles may read)',
        prefixes,
      ],
    ],
    submit: 'Log in',
    action: async () => {
      const list = prefixes.value.split(/[\s,]+/).filter((p) => p !== '');
      const r = await send('POST', '/api/login', {
        username: name.value,
        password: password.value,
        prefixes: list,
      });
      if (r.status !== 200) return r.body.error ?? `HTTP ${r.status}`;
      await start();
      return undefined;
    },
  });
}

async function start(): Promise<void> {
  const s = await getJSON<{ loginRequired: boolean; loggedIn: boolean; user: string | null }>('/api/session');
  const main = h('main', {}, live, panel);
  const logout = h(
    'button',
    {
      type: 'button',
      onclick: () => void send('POST', '/api/logout', {}).then(() => start()),
    },
    'Log out',
  );
  user.replaceChildren(...(s.user ? [`${s.user} `, logout] : []));
  doc().body.replaceChildren(h('header', {}, h('h1', {}, 'Concord'), nav, status, user), main);
  if (s.loginRequired && !s.loggedIn) {
    main.replaceChildren(loginForm());
    renderNav('');
    return;
  }
  win().addEventListener('hashchange', render);
  setInterval(() => state && tick(live, state), 1000);
  render();
  connect();
}

void start();
