/**
 * The etcdctl script compared field by field between real etcd and Concord (see
 * etcdctl-concord.test.ts, and test/tls/etcdctl-tls.test.ts which runs it over TLS): each step's
 * `-w json` output, normalized where two clusters legitimately differ.
 */
import type { EtcdctlResult } from '../harness/etcd.js';

export type Ctl = (args: string[], opts?: { input?: string; timeoutMs?: number }) => Promise<EtcdctlResult>;

/** Fields whose values differ between two clusters for good reasons. */
const VOLATILE = new Set([
  'cluster_id',
  'member_id',
  'raft_term',
  'ID',
  'id',
  'lease',
  'leader',
  'raftIndex',
  'raftTerm',
  'raftAppliedIndex',
  'dbSize',
  'dbSizeInUse',
  'version',
  'Endpoint',
  'peerURLs',
  'clientURLs',
  'name',
  // HashKV: Concord's hash is its own (members of one cluster compare with each other).
  'hash',
]);

function normalize(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => normalize(x, key));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      out[k] = normalize(x, k);
    return out;
  }
  if (VOLATILE.has(key)) return key === 'lease' && v === 0 ? 0 : `<${key}>`;
  // Remaining TTL: both truncate the seconds left, but a second boundary may fall between the
  // two runs. Only "alive" vs -1 (gone) is compared.
  if (key === 'ttl' && typeof v === 'number' && v > 0) return '<alive>';
  return v;
}

/** `-w json` output: one JSON document, or one per line (watch). */
function parse(stdout: string): unknown {
  const text = stdout.trim();
  try {
    return JSON.parse(text);
  } catch {
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  }
}

const leaseIdOf = (stdout: string): string => BigInt(/"ID":(\d+)/.exec(stdout)![1]!).toString(16);

/** The script; returns each step's name and normalized output. */
export async function script(ctl: Ctl): Promise<[string, unknown][]> {
  const steps: [string, unknown][] = [];
  const json = async (name: string, args: string[], input?: string) => {
    const r = await ctl([...args, '-w', 'json'], { input });
    if (r.code !== 0) throw new Error(`${name}: etcdctl failed: ${r.stderr}`);
    steps.push([name, normalize(parse(r.stdout))]);
    return r.stdout;
  };
  const text = async (name: string, args: string[]) => {
    const r = await ctl(args);
    steps.push([
      name,
      { code: r.code, stdout: r.stdout.trim(), stderr: r.stderr.trim().replace(/^\{.*\}\n?/gm, '') },
    ]);
  };
  await json('put foo', ['put', 'foo', 'bar']);
  await json('put foo --prev-kv', ['put', 'foo', 'baz', '--prev-kv']);
  for (const k of ['fa', 'fb', 'fc', 'g']) await json(`put ${k}`, ['put', k, `v-${k}`]);
  await json('get foo', ['get', 'foo']);
  await json('get --prefix f', ['get', '--prefix', 'f']);
  await json('get --prefix f --limit 2', ['get', '--prefix', 'f', '--limit', '2']);
  await json('get --from-key fb', ['get', '--from-key', 'fb']);
  await json('get --prefix f --sort-by=MODIFY --order=DESCEND', [
    'get',
    '--prefix',
    'f',
    '--sort-by=MODIFY',
    '--order=DESCEND',
  ]);
  await json('get --prefix f --keys-only', ['get', '--prefix', 'f', '--keys-only']);
  await json('get foo --rev 2', ['get', 'foo', '--rev', '2']);
  await json('get missing', ['get', 'missing']);
  await json('del fa --prev-kv', ['del', 'fa', '--prev-kv']);
  await json('del --prefix f', ['del', '--prefix', 'f']);
  await json('txn success', ['txn'], 'value("foo") = "baz"\n\nput foo qux\nget foo\n\nput foo nope\n\n');
  await json('txn failure', ['txn'], 'value("foo") = "baz"\n\nput foo nope\n\nget foo\n\n');
  await json('txn version compare', ['txn'], 'ver("g") = "1"\n\nput g v2\n\n\n');

  const grant = await json('lease grant 60', ['lease', 'grant', '60']);
  const id = leaseIdOf(grant);
  await json('put --lease', ['put', 'leased', 'v', '--lease', id]);
  await json('lease timetolive --keys', ['lease', 'timetolive', id, '--keys']);
  await json('lease list', ['lease', 'list']);
  await json('lease keep-alive --once', ['lease', 'keep-alive', '--once', id]);
  await json('lease revoke', ['lease', 'revoke', id]);
  await json('get leased (revoked)', ['get', 'leased']);
  await json('lease timetolive (revoked)', ['lease', 'timetolive', id]);
  await text('lease revoke (again)', ['lease', 'revoke', id]);

  // Watch from revision 1: the whole history so far, then etcdctl is stopped.
  const w = await ctl(['watch', '--prefix', '', '--rev', '1', '-w', 'json'], { timeoutMs: 2500 });
  steps.push(['watch --rev 1', normalize(parse(w.stdout))]);

  await json('endpoint hashkv (never compacted)', ['endpoint', 'hashkv']);
  await text('compaction 5', ['compaction', '5']);
  await json('endpoint hashkv', ['endpoint', 'hashkv']);
  await text('get foo --rev 3 (compacted)', ['get', 'foo', '--rev', '3']);
  await text('get foo --rev 999 (future)', ['get', 'foo', '--rev', '999']);
  await text('put empty key', ['put', '', 'x']);
  await json('endpoint status', ['endpoint', 'status']);
  await json('member list', ['member', 'list']);
  await text('endpoint health', ['endpoint', 'health']);
  // lock and elect, as etcdctl runs them (Go's concurrency package on our KV, lease and watch).
  await text('lock -- echo', ['lock', 'ctl-lock', '--', 'echo', 'held']);
  const e = await ctl(['elect', 'ctl-election', 'proposal-1'], { timeoutMs: 2500 });
  steps.push(['elect (killed after 2.5 s)', e.stdout.trim().replace(/\/[0-9a-f]+$/m, '/<lease>')]);
  return steps;
}

/** Asserts that Concord's run of `script` (`actual`) matches etcd's (`expected`) step by step. */
export function expectSameSteps(
  expected: [string, unknown][],
  actual: [string, unknown][],
  members: number,
): void {
  const strip = (s: [string, unknown][]) =>
    s.map(([name, out]) =>
      // etcdctl prints the endpoint and the took time in health output.
      name === 'endpoint health'
        ? [
            name,
            JSON.stringify(out)
              .replace(/127\.0\.0\.1:\d+/g, 'EP')
              .replace(/took = [^\\"]+/g, 'took'),
          ]
        : [name, out],
    );
  const a = strip(actual);
  const e = strip(expected);
  // The script exercised what it meant to (guards against two equally empty outputs).
  const step = (name: string) => e.find(([n]) => n === name)![1];
  expect(JSON.stringify(step('watch --rev 1'))).toContain('"Events"');
  expect(JSON.stringify(step('watch --rev 1')).match(/"mod_revision"/g)?.length).toBeGreaterThan(10);
  expect(JSON.stringify(step('get foo --rev 3 (compacted)'))).toContain(
    'required revision has been compacted',
  );
  expect(JSON.stringify(step('put empty key'))).toContain('key is not provided');
  expect(JSON.stringify(step('member list')).match(/"clientURLs"/g)?.length).toBe(members);
  expect(JSON.stringify(step('lock -- echo'))).toContain('held');
  expect(step('elect (killed after 2.5 s)')).toBe('ctl-election/<lease>\nproposal-1');
  for (let i = 0; i < e.length; i++) expect(a[i]).toEqual(e[i]);
  expect(a.length).toBe(e.length);
}
