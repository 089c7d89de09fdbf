/**
 * `startDashboard()`: the web dashboard for any etcd v3 endpoint list (Concord or etcd), on the
 * SDK's gRPC client. With a user (or no auth on the cluster) everyone sees one shared session;
 * when the cluster needs a login and none was given, each viewer logs in as an etcd user.
 */
import { Client, type ClientOptions, InvalidAuthTokenError, PermissionDeniedError } from '../index.js';
import type { Layout } from './model/state.js';
import { readablePrefixes } from './readable.js';
import { type DashboardServer, startDashboardServer } from './server.js';
import { Session } from './session.js';

export type { DashboardServer } from './server.js';

export interface DashboardOptions {
  endpoints: string[];
  tls?: ClientOptions['tls'];
  /** Log in as this etcd user for everyone (as etcdctl's --user). */
  auth?: { username: string; password: string };
  /** Key prefixes to show (default: every key). */
  prefixes?: string[];
  host?: string;
  port?: number;
  writable?: boolean;
  layout?: Partial<Layout>;
  /** How often cluster status and leases are read, in ms. */
  pollMs?: number;
}

/** The errors that mean "this identity may not read that": the viewer must log in instead. */
const needsLogin = (e: unknown): boolean =>
  e instanceof PermissionDeniedError ||
  e instanceof InvalidAuthTokenError ||
  (e instanceof Error && /user name is empty|permission denied/.test(e.message));

export async function startDashboard(o: DashboardOptions): Promise<DashboardServer> {
  const layout: Layout = {
    servicesRoot: o.layout?.servicesRoot ?? 'services/',
    flagsPrefix: o.layout?.flagsPrefix ?? 'flags/',
  };
  const writable = o.writable ?? false;
  const session = (auth: DashboardOptions['auth'], prefixes: string[]) =>
    new Session({
      client: new Client({ endpoints: o.endpoints, tls: o.tls, auth, transport: 'grpc' }),
      prefixes,
      layout,
      writable,
      pollMs: o.pollMs,
    });
  const open = async (auth: DashboardOptions['auth'], prefixes: string[]) => {
    const s = session(auth, prefixes);
    try {
      await s.start();
      return s;
    } catch (e) {
      s.close();
      throw e;
    }
  };

  let shared: Session | undefined;
  try {
    shared = await open(o.auth, o.prefixes ?? ['']);
  } catch (e) {
    // Auth is on and no user was given (or it may not read everything): each viewer logs in.
    if (o.auth || !needsLogin(e)) throw e;
  }
  /** A viewer's session: the prefixes it named, or else all it may read. */
  const login = async (username: string, password: string, prefixes: string[] | undefined) => {
    if (prefixes) return open({ username, password }, prefixes);
    try {
      return await open({ username, password }, ['']);
    } catch (e) {
      if (!needsLogin(e)) throw e;
    }
    const probe = new Client({
      endpoints: o.endpoints,
      tls: o.tls,
      auth: { username, password },
      transport: 'grpc',
    });
    try {
      const readable = await readablePrefixes(probe, username);
      if (readable.length === 0) throw new Error(`${username} may read no key prefix`);
      return await open({ username, password }, readable);
    } finally {
      probe.close();
    }
  };
  const server = await startDashboardServer({
    shared,
    login,
    writable,
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 8080,
  }).catch((e: unknown) => {
    // A port already taken: the session's client and timers must not keep the process alive.
    shared?.close();
    throw e;
  });
  return {
    url: server.url,
    async close() {
      await server.close();
      shared?.close();
    },
  };
}
