/**
 * A configuration checked against this machine (the data dir, the listen ports), apart from the
 * checks of the flags themselves because it needs the file system and the network, and runs only
 * when a member is about to start.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { ConfigError } from '../../errors.js';
import type { ServeConfig } from './serve-config.js';

/**
 * What can be checked before anything is written: the data dir is a directory, or one can be
 * created there; each listen address can be bound (another process holding a port is found
 * here, not after the member has recovered its data dir and elected itself). Each problem names
 * its flag and what to do. Ports are bound and released at once (port 0 is not checked).
 */
export async function checkStartable(config: ServeConfig): Promise<void> {
  await checkDataDir(config.dataDir);
  const given = new Map<string, string>();
  const held: net.Server[] = [];
  try {
    for (const [flag, urls] of [
      ['listen-peer-urls', config.listenPeerUrls],
      ['listen-client-urls', config.listenClientUrls],
      ['listen-metrics-urls', config.listenMetricsUrls],
    ] as const) {
      for (const url of urls) {
        const u = new URL(url);
        if (u.port === '0') continue;
        const other = given.get(u.host);
        if (other)
          throw new ConfigError(
            `--${flag} ${url}: ${u.host} is also given to --${other}; give each listener its own port`,
          );
        given.set(u.host, flag);
        held.push(await bindable(flag, url));
      }
    }
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
}

function bindable(flag: string, url: string): Promise<net.Server> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'address already in use (another etcd or concord?); choose another port'
          : err.code === 'EADDRNOTAVAIL'
            ? `${host} is not an address of this machine; listen on one of its addresses (or 0.0.0.0)`
            : err.code === 'EACCES'
              ? 'permission denied (ports below 1024 need privileges); choose a port above 1023'
              : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
                ? `cannot resolve the host name ${host}`
                : err.message;
      reject(new ConfigError(`--${flag} ${url}: ${why}`));
    });
    s.listen({ host, port: Number(u.port), exclusive: true }, () => resolve(s));
  });
}

async function checkDataDir(dir: string): Promise<void> {
  const flag = `--data-dir ${dir}`;
  const st = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw new ConfigError(`${flag}: ${err.message}`);
  });
  if (st) {
    if (!st.isDirectory())
      throw new ConfigError(
        `${flag}: exists and is not a directory; give the path of a directory (it is created if missing)`,
      );
    await access(dir, constants.W_OK | constants.X_OK).catch(() => {
      throw new ConfigError(`${flag}: this user cannot write in it; give a directory it can write in`);
    });
    return;
  }
  // Missing: the nearest existing ancestor must be a directory this user can write in.
  let parent = path.dirname(path.resolve(dir));
  for (;;) {
    const p = await stat(parent).catch(() => undefined);
    if (p) {
      if (!p.isDirectory())
        throw new ConfigError(
          `${flag}: ${parent} is a file, so the directory cannot be created there; choose another path`,
        );
      await access(parent, constants.W_OK | constants.X_OK).catch(() => {
        throw new ConfigError(
          `${flag}: cannot be created: this user cannot write in ${parent}; choose another path`,
        );
      });
      return;
    }
    const up = path.dirname(parent);
    if (up === parent) return;
    parent = up;
  }
}
