/**
 * The replicated auth store: etcd's rules for users, roles and the root account, permission
 * checks over merged key ranges, checks at apply with the proposer's credentials, determinism
 * across state machines, and the snapshot (auth included; a pre-auth snapshot still restores).
 */
import {
  type AuthInfo,
  type MvccRequest,
  restoreSync,
  StateMachine,
  snapshot,
  type TokenEvent,
} from '../../src/mvcc/index.js';
import {
  decodeEntry,
  encodeRequestEntry,
  type InternalRequest,
} from '../../src/server/raft/internal-request.js';
import { b, put } from './helpers.js';

const READ = 0;
const WRITE = 1;
const READWRITE = 2;
const root: AuthInfo = { username: 'root', revision: Number.MAX_SAFE_INTEGER };

/** Applies requests in order (as the server's own, unchecked, unless `as` is given). */
function applyAll(sm: StateMachine, reqs: MvccRequest[], as?: AuthInfo): void {
  for (const r of reqs) sm.apply(sm.appliedIndex + 1, r, as ? { auth: as } : {});
}

const perm = (permType: number, key: string, rangeEnd = '') => ({
  permType,
  key: b(key),
  rangeEnd: b(rangeEnd),
});

/** root (with the root role), roles and users, then auth on. */
const SETUP: MvccRequest[] = [
  { authUserAdd: { name: 'root', password: '', hashedPassword: 'h-root', options: undefined } },
  { authUserGrantRole: { user: 'root', role: 'root' } },
  { authRoleAdd: { name: 'r1' } },
  { authRoleGrantPermission: { name: 'r1', perm: perm(READWRITE, 'p/', 'p0') } },
  { authRoleGrantPermission: { name: 'r1', perm: perm(READ, 'k1', 'k3') } },
  { authRoleAdd: { name: 'r2' } },
  { authRoleGrantPermission: { name: 'r2', perm: perm(READ, 'k3', 'k5') } },
  { authRoleGrantPermission: { name: 'r2', perm: perm(WRITE, 'w') } },
  { authRoleGrantPermission: { name: 'r2', perm: perm(READ, 'z', '\0') } },
  { authUserAdd: { name: 'u', password: '', hashedPassword: 'h-u', options: undefined } },
  { authUserGrantRole: { user: 'u', role: 'r1' } },
  { authUserGrantRole: { user: 'u', role: 'r2' } },
  { authEnable: {} },
];

function setUp(): StateMachine {
  const sm = new StateMachine();
  applyAll(sm, SETUP);
  return sm;
}

const errorOf = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
};

test('root rules: enabling needs root with the root role; root cannot be removed while on', () => {
  const sm = new StateMachine();
  expect(errorOf(() => sm.execute({ authEnable: {} }))).toBe('etcdserver: root user does not exist');
  sm.execute({ authUserAdd: { name: 'root', password: '', hashedPassword: 'h', options: undefined } });
  expect(errorOf(() => sm.execute({ authEnable: {} }))).toBe('etcdserver: root user does not have root role');
  sm.execute({ authUserGrantRole: { user: 'root', role: 'root' } });
  expect(errorOf(() => sm.execute({ authEnable: {} }))).toBe('ok');
  expect(sm.auth.enabled).toBe(true);
  expect(errorOf(() => sm.execute({ authUserDelete: { name: 'root' } }))).toBe(
    'etcdserver: invalid auth management',
  );
  expect(errorOf(() => sm.execute({ authUserRevokeRole: { name: 'root', role: 'root' } }))).toBe(
    'etcdserver: invalid auth management',
  );
  expect(errorOf(() => sm.execute({ authRoleDelete: { role: 'root' } }))).toBe(
    'etcdserver: invalid auth management',
  );
  // The server's own requests are not checked; a client's need the root role.
  expect(
    errorOf(() => sm.execute({ authRoleAdd: { name: 'x' } }, { auth: { username: '', revision: 0 } })),
  ).toBe('etcdserver: user name is empty');
});

test('management errors are etcd’s', () => {
  const sm = setUp();
  const e = (r: MvccRequest) => errorOf(() => sm.execute(r, { auth: root }));
  expect(e({ authUserAdd: { name: '', password: '', hashedPassword: '', options: undefined } })).toBe(
    'etcdserver: user name is empty',
  );
  expect(e({ authUserAdd: { name: 'u', password: '', hashedPassword: '', options: undefined } })).toBe(
    'etcdserver: user name already exists',
  );
  expect(e({ authRoleAdd: { name: '' } })).toBe('etcdserver: role name is empty');
  expect(e({ authRoleAdd: { name: 'r1' } })).toBe('etcdserver: role name already exists');
  expect(e({ authUserGrantRole: { user: 'nobody', role: 'r1' } })).toBe('etcdserver: user name not found');
  expect(e({ authUserGrantRole: { user: 'u', role: 'nope' } })).toBe('etcdserver: role name not found');
  expect(e({ authUserRevokeRole: { name: 'root', role: 'r1' } })).toBe(
    'etcdserver: role is not granted to the user',
  );
  expect(e({ authRoleRevokePermission: { role: 'r1', key: b('x'), rangeEnd: b('') } })).toBe(
    'etcdserver: permission is not granted to the role',
  );
  expect(e({ authRoleGrantPermission: { name: 'r1', perm: undefined } })).toBe(
    'etcdserver: permission not given',
  );
  expect(e({ authRoleDelete: { role: 'nope' } })).toBe('etcdserver: role name not found');
  expect(e({ authUserDelete: { name: 'nobody' } })).toBe('etcdserver: user name not found');
  expect(sm.auth.userList()).toEqual(['root', 'u']);
  expect(sm.auth.roleList()).toEqual(['r1', 'r2']);
  expect(sm.auth.userGet('u')).toEqual(['r1', 'r2']);
  // Deleting a role takes it from its users.
  e({ authRoleDelete: { role: 'r2' } });
  expect(sm.auth.userGet('u')).toEqual(['r1']);
});

test('permission checks cover merged ranges, points, open ends; write-only is not readable', () => {
  const sm = setUp();
  const u = { username: 'u', revision: sm.auth.revision };
  const read = (k: string, end = '') => errorOf(() => sm.auth.isRangePermitted(u, k, end));
  const write = (k: string, end = '') => errorOf(() => sm.auth.isDeleteRangePermitted(u, k, end));
  const ok = 'ok';
  const denied = 'etcdserver: permission denied';
  expect([read('p/x'), write('p/x'), read('p/', 'p0'), read('p', 'p0')]).toEqual([ok, ok, ok, denied]);
  // [k1, k3) from r1 and [k3, k5) from r2 join into [k1, k5).
  expect([read('k1', 'k5'), read('k2', 'k4'), read('k1', 'k6'), read('k4')]).toEqual([ok, ok, denied, ok]);
  expect([write('k2'), read('w'), write('w'), write('w', 'w0')]).toEqual([denied, denied, ok, denied]);
  // [z, ∞): open-ended reads.
  expect([read('z'), read('zz', '\0'), read('y', '\0'), write('z')]).toEqual([ok, ok, denied, denied]);
  expect(errorOf(() => sm.auth.isRangePermitted(undefined, 'p/x', ''))).toBe(
    'etcdserver: user name is empty',
  );
  expect(errorOf(() => sm.auth.isRangePermitted({ username: 'u', revision: 1 }, 'p/x', ''))).toBe(
    'etcdserver: revision of auth store is old',
  );
  expect(errorOf(() => sm.auth.isRangePermitted({ username: 'ghost', revision: 1e9 }, 'p/x', ''))).toBe(
    denied,
  );
});

test('writes are checked at apply with the proposer’s credentials, and a refused one changes nothing', () => {
  const sm = setUp();
  const u = { username: 'u', revision: sm.auth.revision };
  const rev = sm.revision;
  expect(errorOf(() => sm.apply(sm.appliedIndex + 1, { put: put('q', 'v') }, { auth: u }))).toBe(
    'etcdserver: permission denied',
  );
  expect(sm.revision).toBe(rev);
  expect(errorOf(() => sm.apply(sm.appliedIndex + 1, { put: put('p/1', 'v') }, { auth: u }))).toBe('ok');
  // Every op of both branches counts, not only the branch taken.
  const txn: MvccRequest = {
    txn: {
      compare: [],
      success: [{ requestPut: put('p/2', 'v') }],
      failure: [{ requestPut: put('q', 'v') }],
    },
  };
  expect(errorOf(() => sm.apply(sm.appliedIndex + 1, txn, { auth: u }))).toBe(
    'etcdserver: permission denied',
  );
  // A change to auth between propose and apply: the credentials are stale.
  sm.apply(sm.appliedIndex + 1, { authRoleAdd: { name: 'r3' } });
  expect(errorOf(() => sm.apply(sm.appliedIndex + 1, { put: put('p/3', 'v') }, { auth: u }))).toBe(
    'etcdserver: revision of auth store is old',
  );
  // Lease revoke needs write on every attached key.
  sm.apply(sm.appliedIndex + 1, { leaseGrant: { ID: 7n, TTL: 60n } });
  sm.apply(sm.appliedIndex + 1, { put: put('k2', 'v', { lease: 7n }) });
  const u2 = { username: 'u', revision: sm.auth.revision };
  expect(errorOf(() => sm.apply(sm.appliedIndex + 1, { leaseRevoke: { ID: 7n } }, { auth: u2 }))).toBe(
    'etcdserver: permission denied',
  );
  expect(errorOf(() => sm.apply(sm.appliedIndex + 1, { leaseRevoke: { ID: 7n } }, { auth: root }))).toBe(
    'ok',
  );
});

test('every auth request but Authenticate needs the root role at apply; a refused one changes nothing', () => {
  const sm = setUp();
  const u = { username: 'u', revision: sm.auth.revision };
  const admin: MvccRequest[] = [
    { authDisable: {} },
    { authUserAdd: { name: 'v', password: '', hashedPassword: 'h-v', options: undefined } },
    { authUserDelete: { name: 'u' } },
    { authUserChangePassword: { name: 'u', password: '', hashedPassword: 'h-2' } },
    { authUserGrantRole: { user: 'u', role: 'root' } },
    { authUserRevokeRole: { name: 'u', role: 'r1' } },
    { authRoleAdd: { name: 'r3' } },
    { authRoleDelete: { role: 'r1' } },
    { authRoleGrantPermission: { name: 'r1', perm: perm(READWRITE, 'q') } },
    { authRoleRevokePermission: { role: 'r1', key: b('p/'), rangeEnd: b('p0') } },
  ];
  const before = JSON.stringify(sm.auth.toJSON());
  for (const r of admin) {
    expect(errorOf(() => sm.apply(sm.appliedIndex + 1, r, { auth: u }))).toBe(
      'etcdserver: permission denied',
    );
  }
  expect(JSON.stringify(sm.auth.toJSON())).toBe(before);
  expect(
    errorOf(() =>
      sm.apply(sm.appliedIndex + 1, { authenticate: { name: 'u', simpleToken: 't' } }, { auth: u }),
    ),
  ).toBe('ok');
  expect(errorOf(() => sm.apply(sm.appliedIndex + 1, { authRoleAdd: { name: 'r3' } }, { auth: root }))).toBe(
    'ok',
  );
  // With auth off, the credentials are not checked (etcd's IsAdminPermitted).
  sm.apply(sm.appliedIndex + 1, { authDisable: {} }, { auth: root });
  expect(errorOf(() => sm.apply(sm.appliedIndex + 1, { authRoleAdd: { name: 'r4' } }, { auth: u }))).toBe(
    'ok',
  );
});

test('token events follow authenticate, password changes, deletions and disable', () => {
  const sm = setUp();
  const events: TokenEvent[] = [];
  sm.auth.onToken = (e) => events.push(e);
  sm.apply(sm.appliedIndex + 1, { authenticate: { name: 'u', simpleToken: 'tok.1' } });
  expect(errorOf(() => sm.execute({ authenticate: { name: 'ghost', simpleToken: 't' } }))).toBe(
    'etcdserver: authentication failed, invalid user ID or password',
  );
  sm.apply(sm.appliedIndex + 1, {
    authUserChangePassword: { name: 'u', password: '', hashedPassword: 'h2' },
  });
  sm.apply(sm.appliedIndex + 1, { authUserDelete: { name: 'u' } });
  sm.apply(sm.appliedIndex + 1, { authDisable: {} });
  expect(events).toEqual([
    { type: 'assign', token: 'tok.1', username: 'u', revision: expect.any(Number) },
    { type: 'invalidateUser', username: 'u' },
    { type: 'invalidateUser', username: 'u' },
    { type: 'disable' },
  ]);
});

test('the same entries give the same auth state on every member, and the snapshot carries it', () => {
  const entries = SETUP.map((r, i) => encodeRequestEntry(1, i + 1, r as InternalRequest));
  entries.push(encodeRequestEntry(1, 99, { put: put('p/a', 'v') }, { username: 'u', revision: 14 }));
  entries.push(encodeRequestEntry(1, 100, { put: put('q', 'v') }, { username: 'u', revision: 14 }));
  const members = [new StateMachine(), new StateMachine()];
  for (const sm of members) {
    entries.forEach((data, i) => {
      const d = decodeEntry(data);
      if (d.kind !== 'request') throw new Error('not a request');
      try {
        sm.apply(i + 1, d.req, d.auth ? { auth: d.auth } : {});
      } catch {
        // Refused entries are still applied (and refused alike everywhere).
      }
    });
  }
  const [a, c] = members as [StateMachine, StateMachine];
  expect(JSON.stringify(a.auth.toJSON())).toBe(JSON.stringify(c.auth.toJSON()));
  expect(a.hashKV(0)).toEqual(c.hashKV(0));
  expect(a.revision).toBe(2); // p/a put, q refused
  const r = restoreSync(snapshot(a));
  expect(JSON.stringify(r.auth.toJSON())).toBe(JSON.stringify(a.auth.toJSON()));
  expect(r.auth.enabled).toBe(true);
  expect(errorOf(() => r.auth.isRangePermitted({ username: 'u', revision: r.auth.revision }, 'k4', ''))).toBe(
    'ok',
  );
});

test('a snapshot written before auth existed (CNCDSNP1, no auth record) restores with auth off', () => {
  const sm = new StateMachine();
  sm.apply(1, { put: put('a', '1') });
  const bytes = Buffer.concat([...snapshot(sm)]);
  // Rebuild as version 1: old magic, no 'U' record, checksum over the rest.
  const { crc32c } = require('@node-rs/crc32') as typeof import('@node-rs/crc32');
  const body: Buffer[] = [Buffer.from('CNCDSNP1', 'latin1')];
  let off = 8;
  while (off < bytes.length) {
    const type = bytes[off]!;
    const len = bytes.readUInt32BE(off + 1);
    if (type === 0x45) break; // E
    if (type !== 0x55) body.push(bytes.subarray(off, off + 5 + len));
    off += 5 + len;
  }
  const crc = crc32c(Buffer.concat(body));
  const end = Buffer.alloc(9);
  end[0] = 0x45;
  end.writeUInt32BE(4, 1);
  end.writeUInt32BE(crc >>> 0, 5);
  const r = restoreSync([Buffer.concat([...body, end])]);
  expect(r.auth.enabled).toBe(false);
  expect(r.auth.userList()).toEqual([]);
  expect(r.hashKV(0)).toEqual(sm.hashKV(0));
});
