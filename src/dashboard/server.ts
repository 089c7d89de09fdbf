/**
 * The dashboard's HTTP edge (node:http): the page and its assets, a small JSON API, and
 * Server-Sent Events carrying each new state. Everything it knows comes from a `Session`.
 *
 * Writes (flag edits, lease revocation) exist only with `writable`; otherwise every write route
 * answers 403. A write must come from the dashboard's own page (same Origin) as JSON, so
 * another site cannot forge one through the viewer's browser.
 *
 * With `login`, nobody shares the dashboard's identity: each browser logs in as an etcd user and
 * gets a session of its own (a cookie naming it), whose client sees what that user's roles allow.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PermissionDeniedError } from '../index.js';
import { type Asset, loadAssets } from './assets.js';
import type { Session } from './session.js';

export interface DashboardServerOptions {
  /** The one session everybody sees; undefined when each viewer must log in. */
  shared: Session | undefined;
  /**
   * Makes a session for an etcd user who logs in (rejects on a wrong password): of the prefixes
   * given, or of everything the user may read.
   */
  login?: (username: string, password: string, prefixes: string[] | undefined) => Promise<Session>;
  writable: boolean;
  host: string;
  port: number;
}

export interface DashboardServer {
  url: string;
  close(): Promise<void>;
}

const COOKIE = 'concord_dashboard';
const MAX_BODY = 1 << 20;
/** Children of a prefix per `/api/keys` page: by default, and at most. */
const KEYS_PAGE = 100;
const MAX_KEYS_PAGE = 1000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** JSON has no 64-bit integers: revisions and IDs the SDK gives as bigint travel as strings. */
const stringify = (body: unknown): string =>
  JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

const json = (res: ServerResponse, status: number, body: unknown) => {
  const text = stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
};

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body too large');
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body must be JSON');
  }
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

export async function startDashboardServer(o: DashboardServerOptions): Promise<DashboardServer> {
  const assets: Map<string, Asset> = loadAssets();
  const sessions = new Map<string, { session: Session; user: string }>();
  const streams = new Set<ServerResponse>();

  const sessionOf = (req: IncomingMessage) => {
    if (o.shared) return { session: o.shared, user: '' };
    const id = cookie(req, COOKIE);
    return id ? sessions.get(id) : undefined;
  };
  const need = (req: IncomingMessage) => {
    const s = sessionOf(req);
    if (!s) throw new HttpError(401, 'log in first');
    return s.session;
  };
  const checkWrite = (req: IncomingMessage) => {
    if (!o.writable)
      throw new HttpError(
        403,
        'the dashboard is read-only (writes need --allow-writes, or serve --dashboard-allow-writes)',
      );
    checkSameOrigin(req);
  };

  const sse = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    streams.add(res);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    ping.unref();
    const done = new AbortController();
    req.on('close', () => {
      clearInterval(ping);
      streams.delete(res);
      done.abort();
    });
    return {
      send: (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${stringify(data)}\n\n`),
      signal: done.signal,
    };
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const method = req.method ?? 'GET';
    const asset = method === 'GET' ? assets.get(url.pathname) : undefined;
    if (asset) {
      res.writeHead(200, {
        'content-type': asset.type,
        'content-security-policy': "default-src 'self'; style-src 'self'; script-src 'self'",
        'x-content-type-options': 'nosniff',
      });
      res.end(asset.body);
      return;
    }
    const p = url.pathname;
    if (method === 'GET' && p === '/api/session') {
      const s = sessionOf(req);
      return json(res, 200, {
        loginRequired: !o.shared,
        user: s?.user ?? null,
        loggedIn: !!s,
        writable: o.writable,
      });
    }
    if (method === 'POST' && p === '/api/login') {
      checkSameOrigin(req);
      if (!o.login || o.shared) throw new HttpError(404, 'this dashboard has no login');
      const b = (await readBody(req)) as { username?: unknown; password?: unknown; prefixes?: unknown };
      if (typeof b.username !== 'string' || typeof b.password !== 'string')
        throw new HttpError(400, 'username and password are required');
      const prefixes =
        Array.isArray(b.prefixes) && b.prefixes.length > 0 ? b.prefixes.map(String) : undefined;
      let session: Session;
      try {
        session = await o.login(b.username, b.password, prefixes);
      } catch (e) {
        throw new HttpError(403, (e as Error).message);
      }
      const id = randomBytes(24).toString('base64url');
      sessions.set(id, { session, user: b.username });
      res.setHeader('set-cookie', `${COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/`);
      return json(res, 200, { user: b.username });
    }
    if (method === 'POST' && p === '/api/logout') {
      checkSameOrigin(req);
      const id = cookie(req, COOKIE);
      const s = id ? sessions.get(id) : undefined;
      if (id && s) {
        sessions.delete(id);
        s.session.close();
      }
      res.setHeader('set-cookie', `${COOKIE}=; Max-Age=0; Path=/`);
      return json(res, 200, {});
    }
    if (method === 'GET' && p === '/api/state') return json(res, 200, need(req).state());
    if (method === 'GET' && p === '/api/events') {
      const session = need(req);
      const { send, signal } = sse(req, res);
      const stop = session.subscribe((s) => send('state', s));
      signal.addEventListener('abort', stop);
      return;
    }
    if (method === 'GET' && p === '/api/keys') {
      const q = url.searchParams;
      const limit = Number(q.get('limit') ?? KEYS_PAGE);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_KEYS_PAGE)
        throw new HttpError(400, `limit must be an integer from 1 to ${MAX_KEYS_PAGE}`);
      return json(res, 200, need(req).keys(q.get('prefix') ?? '', q.get('after') ?? undefined, limit));
    }
    if (method === 'GET' && p === '/api/key') {
      const details = await need(req).key(url.searchParams.get('key') ?? '');
      return details ? json(res, 200, details) : json(res, 404, { error: 'no such key' });
    }
    if (method === 'GET' && p === '/api/tail') {
      const session = need(req);
      const prefix = url.searchParams.get('prefix') ?? '';
      const { send, signal } = sse(req, res);
      void tail(session, prefix, signal, (event, e) => send(event, e));
      return;
    }
    if (method === 'GET' && p === '/api/flags/evaluate') {
      let ctx: unknown;
      try {
        ctx = JSON.parse(url.searchParams.get('context') || '{}');
      } catch {
        throw new HttpError(400, 'context must be a JSON object');
      }
      if (typeof ctx !== 'object' || ctx === null || Array.isArray(ctx))
        throw new HttpError(400, 'context must be a JSON object');
      return json(
        res,
        200,
        need(req).evaluate(url.searchParams.get('name') ?? '', ctx as Record<string, unknown>),
      );
    }
    const flag = /^\/api\/flags\/(.+)$/.exec(p);
    if (method === 'PUT' && flag) {
      checkWrite(req);
      const session = need(req);
      const b = (await readBody(req)) as { document?: unknown };
      if (typeof b.document !== 'string')
        throw new HttpError(400, 'document (the flag as JSON text) is required');
      const r = await session.setFlag(decodeURIComponent(flag[1]!), b.document);
      return json(res, r.problems.length > 0 ? 422 : 200, r);
    }
    const lease = /^\/api\/leases\/([0-9a-f]{1,16})$/.exec(p);
    if (method === 'DELETE' && lease) {
      checkWrite(req);
      await need(req).revokeLease(BigInt(`0x${lease[1]}`));
      return json(res, 200, {});
    }
    if (method !== 'GET' && method !== 'HEAD' && p.startsWith('/api/')) checkWrite(req);
    throw new HttpError(404, 'not found');
  }

  const server: Server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : e instanceof PermissionDeniedError ? 403 : 500;
      if (!res.headersSent) json(res, status, { error: (e as Error).message });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/`,
    async close() {
      for (const r of streams) r.end();
      for (const { session } of sessions.values()) session.close();
      sessions.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A request from another site carries its own Origin: refused, whatever the cookie. */
function checkSameOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin !== undefined && new URL(origin).host !== req.headers.host)
    throw new HttpError(403, 'cross-origin request refused');
  if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
    throw new HttpError(415, 'send JSON');
}

/** The live tail of a prefix: a watch from now ('ready' once it is created), each event sent as it comes. */
async function tail(
  session: Session,
  prefix: string,
  signal: AbortSignal,
  send: (event: 'ready' | 'change', e: unknown) => void,
): Promise<void> {
  try {
    const watch = await session.client.watch({ prefix }, { signal });
    // Every change from here on will be sent: the page may say the tail is live.
    send('ready', {});
    for await (const e of watch) {
      send('change', {
        type: e.type,
        key: e.kv.keyText(),
        value: e.kv.text(),
        revision: e.revision.toString(),
      });
    }
  } catch {
    // The page went away (abort), or the watch was refused: the stream just ends.
  }
}
