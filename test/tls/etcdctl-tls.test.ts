/**
 * The real `etcdctl --cacert --cert --key` against Concord (3 members, and 1 with URL endpoints)
 * with TLS on the client port (--client-cert-auth) and mutual TLS on the peer port, compared with a real etcd
 * 3.4 started with the same certificates and flags: the whole etcdctl compatibility script
 * (test/compat/etcdctl-script.ts) gives the same JSON, the member list shows the same https://
 * URLs, and etcdctl without a client certificate or in plain text fails the same way.
 */
import { CONCORD_BIN } from '../cluster/concord-bin.js';
import { type Ctl, expectSameSteps, script } from '../compat/etcdctl-script.js';
import { type EtcdCluster, runEtcdctl, startEtcd } from '../harness/etcd.js';
import { certsForFile, tlsSetup } from './certs.js';

const certs = certsForFile();

/** What a failed etcdctl run says: its exit code and the last line of stderr (the error). */
const failure = (r: { code: number | null; stderr: string }) => ({
  code: r.code,
  error: r.stderr.trim().split('\n').pop(),
});

async function tlsSteps(cluster: EtcdCluster, ctl: Ctl): Promise<[string, unknown][]> {
  const steps: [string, unknown][] = [];
  const list = await ctl(['member', 'list']);
  steps.push([
    'member list (table)',
    list.stdout
      .trim()
      .split('\n')
      .map((l) =>
        l
          .replace(/^[0-9a-f]+/, 'ID')
          .replace(/tls-(?:etcd|concord)-/, 'NAME-')
          .replace(/:\d+/g, ':PORT'),
      )
      .sort(),
  ]);
  const m = cluster.members[0]!;
  const timeouts = ['--dial-timeout=2s', '--command-timeout=3s'];
  const noCert = await runEtcdctl([
    `--endpoints=${m.endpoint}`,
    `--cacert=${certs().caFile}`,
    ...timeouts,
    'get',
    'foo',
  ]);
  steps.push(['get without a client certificate', failure(noCert)]);
  const plain = await runEtcdctl([`--endpoints=http://${m.endpoint}`, ...timeouts, 'get', 'foo']);
  steps.push(['get in plain text', failure(plain)]);
  return steps;
}

test.each([
  [3, 'host:port'],
  [3, 'URL'],
  [1, 'URL'],
] as const)(
  'etcdctl over TLS and mTLS gives the same answers from %i-member Concord as from etcd 3.4 (%s endpoints)',
  async (members, form) => {
    const urls = form === 'URL';
    const run = async (bin?: string) => {
      const cluster = await startEtcd({
        members,
        name: bin ? 'tls-concord' : 'tls-etcd',
        bin,
        startTimeoutMs: 40_000,
        tls: tlsSetup(certs(), { peer: true }),
      });
      try {
        const ctl: Ctl = (args, o) => cluster.etcdctl(args, { ...o, urls });
        return [...(await script(ctl)), ...(await tlsSteps(cluster, ctl))];
      } finally {
        await cluster.close();
      }
    };
    const expected = await run();
    const actual = await run(CONCORD_BIN);
    // The TLS steps showed what they should on etcd itself.
    const step = (name: string) => expected.find(([n]) => n === name)![1];
    expect(JSON.stringify(step('member list (table)'))).toContain(
      'https://127.0.0.1:PORT, https://127.0.0.1:PORT',
    );
    expect(step('get without a client certificate')).toMatchObject({ code: 1 });
    expect(step('get in plain text')).toMatchObject({ code: 1 });
    expectSameSteps(expected, actual, members);
  },
  240_000,
);
