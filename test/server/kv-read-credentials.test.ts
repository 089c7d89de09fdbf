/**
 * A linearizable read takes the caller's credentials once its read point is reached, as etcd's
 * Range does (AuthInfoFromCtx inside doSerialize, after linearizableReadNotify): an auth change
 * applied while the read waits for its ReadIndex is checked against, not refused as "revision of
 * auth store is old". The KV service runs in-process over a real state machine and auth, with a
 * proposer whose ReadIndex answers only when the test says so.
 */
import { Metadata } from 'nice-grpc-common';
import { RangeRequest, TxnRequest } from '../../src/gen/etcdserverpb/rpc.js';
import { type MvccRequest, StateMachine } from '../../src/mvcc/index.js';
import { kvService } from '../../src/server/api/kv-service.js';
import { ServerAuth } from '../../src/server/auth/auth.js';
import type { Node } from '../../src/server/bootstrap/node.js';

const b = (s: string) => Buffer.from(s);

function member() {
  const sm = new StateMachine();
  const setup: MvccRequest[] = [
    { authUserAdd: { name: 'root', password: '', hashedPassword: 'h', options: undefined } },
    { authUserGrantRole: { user: 'root', role: 'root' } },
    { authEnable: {} },
  ];
  for (const r of setup) sm.execute(r);
  const auth = new ServerAuth(sm, { bcryptCost: 4, tokenTtlSec: 300 });
  sm.auth.authenticate('root', 'roottoken.1');
  const waiting: (() => void)[] = [];
  const proposer = {
    isLeader: true,
    readIndex: () => new Promise<void>((resolve) => waiting.push(resolve)),
    status: () => ({ term: 1 }),
  };
  const node = {
    sm,
    auth,
    proposer,
    header: (h: unknown) => h ?? { clusterId: 0n, memberId: 0n, revision: 0n, raftTerm: 0n },
    checkQuota: async () => {},
  } as unknown as Node;
  const ctx = { metadata: Metadata({ token: 'roottoken.1' }), signal: new AbortController().signal };
  return { sm, kv: kvService(node), ctx, waiting };
}

test('a range waiting for its ReadIndex sees an auth change made meanwhile as a change, not a stale token', async () => {
  const { sm, kv, ctx, waiting } = member();
  const read = kv.range(RangeRequest.fromPartial({ key: b('a') }), ctx as never);
  await new Promise((r) => setImmediate(r));
  expect(waiting).toHaveLength(1);
  sm.execute({ authRoleAdd: { name: 'r2' } });
  waiting.shift()!();
  await expect(read).resolves.toMatchObject({ count: 0n });
});

test('so does a read-only txn', async () => {
  const { sm, kv, ctx, waiting } = member();
  const txn = kv.txn(
    TxnRequest.fromPartial({ success: [{ requestRange: RangeRequest.fromPartial({ key: b('a') }) }] }),
    ctx as never,
  );
  await new Promise((r) => setImmediate(r));
  expect(waiting).toHaveLength(1);
  sm.execute({ authRoleAdd: { name: 'r2' } });
  waiting.shift()!();
  await expect(txn).resolves.toMatchObject({ succeeded: true });
});
