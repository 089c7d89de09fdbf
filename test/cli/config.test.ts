/**
 * Configuration as etcd takes it: a member started from ETCD_* variables only, and one from an
 * etcd YAML config file (which wins over flags and variables), each read by the real etcdctl; an
 * etcd command line with flags Concord lacks starts with one warning per flag; --cors answers
 * browsers' preflights for the listed origins only. The precedence rules themselves are checked
 * in-process on collectServeSettings.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { addServeOptions, collectServeSettings, goStyleFlags, serveFlagsOf } from '../../src/cli/options.js';
import { resolveConfig } from '../../src/server/index.js';
import { runEtcdctl } from '../harness/etcd.js';
import { cliSuite, jsonLines, ports, serveArgs, startReady, stop, tempDir } from './cli-helpers.js';

cliSuite();

/** Only the ETCD_* variables a test gives (none inherited from the environment running the tests). */
function etcdFreeEnv(vars: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of Object.keys(process.env)) if (k.startsWith('ETCD_')) env[k] = '';
  return { ...env, ...vars };
}

async function ctl(endpoint: string, ...args: string[]) {
  return runEtcdctl([`--endpoints=${endpoint}`, ...args], { check: true });
}

test('a member configured by ETCD_* variables only (a systemd unit) serves etcdctl', async () => {
  const dir = await tempDir();
  const { client, peer } = await ports();
  const c = `http://127.0.0.1:${client}`;
  const p = `http://127.0.0.1:${peer}`;
  const member = await startReady(
    ['serve'],
    etcdFreeEnv({
      ETCD_NAME: 'from-env',
      ETCD_DATA_DIR: path.join(dir, 'data'),
      ETCD_LISTEN_CLIENT_URLS: c,
      ETCD_ADVERTISE_CLIENT_URLS: c,
      ETCD_LISTEN_PEER_URLS: p,
      ETCD_INITIAL_ADVERTISE_PEER_URLS: p,
      ETCD_INITIAL_CLUSTER: `from-env=${p}`,
      ETCD_INITIAL_CLUSTER_TOKEN: 'env-cluster',
      ETCD_INITIAL_CLUSTER_STATE: 'new',
      ETCD_HEARTBEAT_INTERVAL: '50',
      ETCD_ELECTION_TIMEOUT: '500',
      ETCD_ENABLE_V2: 'false',
    }),
  );
  await ctl(`127.0.0.1:${client}`, 'put', 'greeting', 'hello from env');
  expect((await ctl(`127.0.0.1:${client}`, 'get', 'greeting', '--print-value-only')).stdout.trim()).toBe(
    'hello from env',
  );
  const list = (await ctl(`127.0.0.1:${client}`, 'member', 'list')).stdout;
  expect(list).toContain(', from-env, ');
  expect(list).toContain(p);
  const logs = jsonLines(member.stderr());
  expect(logs.some((l) => l.msg === 'starting a member' && l['data-dir'] === path.join(dir, 'data'))).toBe(
    true,
  );
  expect(logs.filter((l) => l.level === 'warn')).toEqual([]);
  expect(await stop(member)).toBe(0);
}, 60_000);

test('a member configured by an etcd YAML config file serves etcdctl; the file wins over flags and variables', async () => {
  const dir = await tempDir();
  const { client, peer } = await ports();
  const c = `http://127.0.0.1:${client}`;
  const p = `http://127.0.0.1:${peer}`;
  const file = path.join(dir, 'etcd.conf.yml');
  // etcd.conf.yml.sample's shape: empty keys, lists, the transport sections, durations in ns.
  await writeFile(
    file,
    `# This is the configuration file for the etcd server.
name: 'from-yaml'
data-dir: ${path.join(dir, 'data')}
wal-dir:
snapshot-count: 10000
heartbeat-interval: 50
election-timeout: 500
quota-backend-bytes: 0
listen-peer-urls: ${p}
listen-client-urls: ${c}
max-snapshots: 5
cors:
initial-advertise-peer-urls: ${p}
advertise-client-urls: ${c}
discovery:
discovery-fallback: 'proxy'
initial-cluster: from-yaml=${p}
initial-cluster-token: 'yaml-cluster'
initial-cluster-state: 'new'
strict-reconfig-check: false
enable-v2: false
enable-pprof: false
proxy: 'off'
proxy-failure-wait: 5000
grpc-keepalive-min-time: 5000000000
client-transport-security:
  cert-file:
  key-file:
  client-cert-auth: false
  trusted-ca-file:
  auto-tls: false
peer-transport-security:
  cert-file:
  key-file:
  client-cert-auth: false
  trusted-ca-file:
  auto-tls: false
debug: false
logger: zap
log-outputs: [stderr]
force-new-cluster: false
auto-compaction-mode: periodic
auto-compaction-retention: "1"
`,
  );
  const member = await startReady(
    ['serve', '--config-file', file, '--name', 'from-flag'],
    etcdFreeEnv({ ETCD_NAME: 'from-variable' }),
  );
  await ctl(`127.0.0.1:${client}`, 'put', 'greeting', 'hello from yaml');
  expect((await ctl(`127.0.0.1:${client}`, 'get', 'greeting', '--print-value-only')).stdout.trim()).toBe(
    'hello from yaml',
  );
  expect((await ctl(`127.0.0.1:${client}`, 'member', 'list')).stdout).toContain(', from-yaml, ');
  const logs = jsonLines(member.stderr());
  expect(logs.every((l) => l.name === 'from-yaml')).toBe(true);
  const warnings = logs.filter((l) => l.level === 'warn').map((l) => String(l.msg));
  // etcd 3.4 says flags and variables are ignored with --config-file; this names them.
  expect(warnings).toEqual([
    "--config-file is given: ignoring --name, ETCD_NAME (the file's settings win, as in etcd)",
    'ignoring --max-snapshots (not implemented by Concord): each member keeps its 5 newest snapshots',
  ]);
  expect(await stop(member)).toBe(0);
}, 60_000);

test('an etcd command line with flags Concord lacks starts, with one warning per flag', async () => {
  const dir = await tempDir();
  const { client, peer } = await ports();
  const lacking = [
    ['--wal-dir', path.join(dir, 'wal')],
    ['--max-wals', '5'],
    ['--max-snapshots', '5'],
    ['--enable-pprof'],
    ['--auto-tls'],
    ['-peer-auto-tls'],
    ['--cipher-suites', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
    ['--strict-reconfig-check'],
    ['--metrics=extensive'],
    ['--discovery-srv', 'example.com'],
    ['--experimental-initial-corrupt-check=true'],
    ['--backend-batch-limit', '1000'],
  ];
  // What Concord does anyway: accepted without a word.
  const same = [
    ['--enable-v2=false'],
    ['--pre-vote'],
    ['--logger', 'zap'],
    ['--proxy', 'off'],
    ['--host-whitelist', '*'],
  ];
  const member = await startReady(
    [
      'serve',
      '-name',
      'etcd-line',
      '--data-dir',
      path.join(dir, 'data'),
      '--listen-client-urls',
      `http://127.0.0.1:${client}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${client}`,
      `-listen-peer-urls=http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `etcd-line=http://127.0.0.1:${peer}`,
      ...lacking.flat(),
      ...same.flat(),
    ],
    etcdFreeEnv({}),
  );
  await ctl(`127.0.0.1:${client}`, 'put', 'k', 'v');
  const warnings = jsonLines(member.stderr()).filter((l) => l.level === 'warn');
  for (const [arg] of lacking) {
    const flag = arg!.replace(/^-+/, '').replace(/=.*/, '');
    const about = warnings.filter((w) => w.flag === flag);
    expect(about).toHaveLength(1);
    expect(String(about[0]!.msg)).toContain(`--${flag}`);
  }
  expect(warnings).toHaveLength(lacking.length);
  expect(await stop(member)).toBe(0);
}, 60_000);

test('--cors: a preflight from a listed origin gets the CORS headers, another origin does not', async () => {
  const dir = await tempDir();
  const { client, peer } = await ports();
  const member = await startReady(
    serveArgs(
      path.join(dir, 'data'),
      { client, peer },
      '--cors',
      'https://app.example.com,http://localhost:3000',
    ),
  );
  const url = `http://127.0.0.1:${client}/v3/kv/put`;
  const preflight = (origin: string) =>
    fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
  const ok = await preflight('https://app.example.com');
  expect(ok.status).toBe(200);
  expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
  expect(ok.headers.get('access-control-allow-headers')).toContain('content-type');
  const other = await preflight('https://evil.example.com');
  expect(other.headers.get('access-control-allow-origin')).toBeNull();
  expect(other.headers.get('access-control-allow-methods')).toBeNull();
  // The call itself: answered by the gateway, with the header for the listed origin only.
  const body = JSON.stringify({
    key: Buffer.from('cors').toString('base64'),
    value: Buffer.from('yes').toString('base64'),
  });
  const put = await fetch(url, { method: 'POST', headers: { origin: 'http://localhost:3000' }, body });
  expect(put.status).toBe(200);
  expect(put.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
  const refused = await fetch(url, { method: 'POST', headers: { origin: 'https://evil.example.com' }, body });
  expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  expect(await stop(member)).toBe(0);
}, 60_000);

describe('precedence (in-process)', () => {
  const settings = (args: string[], env: NodeJS.ProcessEnv) => {
    const cmd = addServeOptions(new Command('serve')).action(() => {});
    cmd.exitOverride();
    cmd.parse(goStyleFlags(args), { from: 'user' });
    return collectServeSettings(cmd, env);
  };

  test('flags win over variables (the variable is reported shadowed); empty variables are unset', () => {
    const s = settings(['--name', 'flag', '-snapshot-count=7'], {
      ETCD_NAME: 'variable',
      ETCD_DATA_DIR: '/tmp/from-variable',
      ETCD_SNAPSHOT_COUNT: '',
      ETCD_NOT_A_FLAG: 'secret-value',
    });
    const flags = serveFlagsOf(s.values);
    expect(flags.name).toBe('flag');
    expect(flags.dataDir).toBe('/tmp/from-variable');
    expect(flags.snapshotCount).toBe('7');
    const said = s.notes.map((n) => n.msg).join('\n');
    expect(said).toContain(
      'recognized environment variable ETCD_NAME, but unused: shadowed by corresponding flag',
    );
    expect(said).toContain('unrecognized environment variable ETCD_NOT_A_FLAG');
    expect(said).not.toContain('secret-value');
  });

  test("the config file's transport sections and Go durations become the flags", async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'c.yml');
    await writeFile(
      file,
      `name: y
client-transport-security:
  cert-file: /c.crt
  key-file: /c.key
  client-cert-auth: true
  trusted-ca-file: /ca.crt
peer-transport-security:
  cert-file: /p.crt
  key-file: /p.key
experimental-watch-progress-notify-interval: 2000000000
log-outputs: [stderr, stdout]
`,
    );
    const s = settings(['--config-file', file], {});
    const flags = serveFlagsOf(s.values);
    expect(flags).toMatchObject({
      name: 'y',
      certFile: '/c.crt',
      keyFile: '/c.key',
      clientCertAuth: 'true',
      trustedCaFile: '/ca.crt',
      peerCertFile: '/p.crt',
      peerKeyFile: '/p.key',
    });
    expect(s.values.get('log-outputs')).toBe('stderr,stdout');
    expect(
      resolveConfig({
        ...flags,
        certFile: undefined,
        keyFile: undefined,
        peerCertFile: undefined,
        peerKeyFile: undefined,
      }).watchProgressNotifyIntervalMs,
    ).toBe(2000);
  });
});
