/**
 * A lockfile for a fresh app that depends on the packed tarball, so `npm ci --offline` installs
 * it from the npm cache alone. `npm install <tarball> --offline` would need each dependency's
 * registry metadata (packument) in the cache, and `npm ci` (what CI runs here) caches only
 * tarballs. The app's lock takes the entries of this repository's own lock: the closure of the
 * package's dependencies (exactly what the tests ran with) and of the app's dev tools
 * (typescript, @types/node), each pointing at its registry tarball, which the cache holds by
 * URL and integrity.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dev?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [k: string]: unknown;
}

interface PackageJson {
  name: string;
  version: string;
  license?: string;
  dependencies: Record<string, string>;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const REGISTRY = 'https://registry.npmjs.org';

/** `node_modules/a/node_modules/b` → `node_modules/a`; `node_modules/a` → ''. */
const parentOf = (p: string) => {
  const i = p.lastIndexOf('/node_modules/');
  return i < 0 ? '' : p.slice(0, i);
};

export interface AppFiles {
  packageJson: object;
  packageLock: object;
}

/**
 * package.json and package-lock.json of an app named `name` depending on the tarball at
 * `tarball` (`tarballRef` is how the app refers to it, relative to the app folder) and, as dev
 * dependencies, on `devTools` at the versions this repository uses.
 */
export function appFiles(
  repo: string,
  tarball: string,
  tarballRef: string,
  name = 'app',
  devTools = ['typescript', '@types/node'],
): AppFiles {
  const lock = JSON.parse(readFileSync(`${repo}/package-lock.json`, 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const pkg = JSON.parse(readFileSync(`${repo}/package.json`, 'utf8')) as PackageJson;
  const all = lock.packages;
  const picked: Record<string, LockEntry> = {};

  /** Adds the entry `name` resolves to from `from` (Node's lookup), and what it depends on. */
  const visit = (dep: string, from: string, dev: boolean): void => {
    for (let base = from; ; base = parentOf(base)) {
      const key = `${base ? `${base}/` : ''}node_modules/${dep}`;
      const e = all[key];
      if (e) {
        if (picked[key]) return;
        const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = e;
        // An entry npm wrote without its tarball URL (it can): the registry's URL for it.
        if (!entry.resolved && !entry.link) {
          entry.resolved = `${REGISTRY}/${dep}/-/${dep.split('/').pop()}-${e.version}.tgz`;
        }
        picked[key] = dev ? { ...entry, dev: true } : entry;
        const peers = Object.keys(e.peerDependencies ?? {}).filter(
          (p) => !e.peerDependenciesMeta?.[p]?.optional,
        );
        const next = [
          ...Object.keys(e.dependencies ?? {}),
          ...Object.keys(e.optionalDependencies ?? {}),
          ...peers,
        ];
        for (const d of next) visit(d, key, dev);
        return;
      }
      // Not installed for this platform (an optional dependency): nothing to add.
      if (!base) return;
    }
  };
  for (const dep of Object.keys(pkg.dependencies)) visit(dep, '', false);
  for (const dep of devTools) visit(dep, '', true);

  const devDependencies = Object.fromEntries(
    devTools.map((d) => [d, all[`node_modules/${d}`]?.version ?? '*']),
  );
  const dependencies = { [pkg.name]: `file:${tarballRef}` };
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  const self: LockEntry = {
    version: pkg.version,
    resolved: `file:${tarballRef}`,
    integrity,
    license: pkg.license,
    dependencies: pkg.dependencies,
    bin: pkg.bin,
    engines: pkg.engines,
    peerDependencies: pkg.peerDependencies,
    peerDependenciesMeta: pkg.peerDependenciesMeta,
  };
  return {
    packageJson: { name, private: true, type: 'module', dependencies, devDependencies },
    packageLock: {
      name,
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name, dependencies, devDependencies },
        [`node_modules/${pkg.name}`]: self,
        ...picked,
      },
    },
  };
}
