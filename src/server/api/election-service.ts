/**
 * The Election service (etcd's v3election server, which runs concurrency.Election for its
 * caller). A campaigner's key is `<name>/<lease hex>`; the leader is the oldest key under the
 * name, its value the proclaimed one. A LeaderKey (name, key, create revision, lease) is the
 * caller's proof of leadership: Proclaim and Resign act only while that key is unchanged.
 */
import type { KeyValue } from '../../gen/mvccpb/kv.js';
import { Event_EventType } from '../../gen/mvccpb/kv.js';
import type {
  ElectionServiceImplementation,
  LeaderKey,
  LeaderResponse,
} from '../../gen/v3electionpb/v3election.js';
import { MvccError } from '../../mvcc/index.js';
import type { Node } from '../bootstrap/node.js';
import { ServerRequestError } from '../errors.js';
import {
  ConcurrencyError,
  checkConcurrencyAuth,
  concurrencyCall,
  createRevisionIs,
  deleteIfCreatedAt,
  ERR_ELECTION_NO_LEADER,
  ERR_ELECTION_NOT_LEADER,
  ERR_MISSING_LEADER_KEY,
  firstCreated,
  joinQueue,
  prefixEnd,
  proposeTxn,
  sessionLease,
  waitOldest,
} from './concurrency.js';
import { LocalWatch } from './local-watch.js';

const electionPrefix = (name: Buffer) => Buffer.concat([name, Buffer.from('/')]);

function requireLeader(leader: LeaderKey | undefined): LeaderKey {
  if (!leader) throw new ConcurrencyError(ERR_MISSING_LEADER_KEY);
  return leader;
}

/** Election.Proclaim: a new value under the leader key, if the key is still the one elected. */
async function proclaim(node: Node, leader: LeaderKey, lease: bigint, value: Buffer, signal: AbortSignal) {
  const resp = await proposeTxn(
    node,
    {
      compare: [createRevisionIs(leader.key, leader.rev)],
      success: [{ requestPut: { key: leader.key, value, lease } }],
    },
    signal,
  );
  if (!resp.succeeded) throw new ConcurrencyError(ERR_ELECTION_NOT_LEADER);
  return resp;
}

export function electionService(node: Node): ElectionServiceImplementation {
  return {
    campaign: (req, ctx) =>
      concurrencyCall(async () => {
        const signal = ctx.signal;
        const prefix = electionPrefix(req.name);
        const session = { lease: req.lease, value: req.value };
        const { lease, key, resp } = await joinQueue(node, ctx.metadata, prefix, session, signal);
        const leader: LeaderKey = { name: req.name, key, rev: resp.header!.revision, lease };
        if (!resp.succeeded) {
          // The session campaigns again: it keeps its place, with the value asked for now.
          const kv = resp.responses[0]?.responseRange?.kvs[0];
          leader.rev = kv?.createRevision ?? 0n;
          if (kv && !kv.value.equals(req.value)) {
            try {
              await proclaim(node, leader, lease, req.value, signal);
            } catch (err) {
              await deleteIfCreatedAt(node, key, leader.rev, AbortSignal.timeout(5_000)).catch(() => {});
              throw err;
            }
          }
        }
        let result: Awaited<ReturnType<typeof waitOldest>>;
        try {
          result = await waitOldest(node, prefix, key, leader.rev, signal);
        } catch (err) {
          if (signal.aborted)
            deleteIfCreatedAt(node, key, leader.rev, AbortSignal.timeout(5_000)).catch(() => {});
          throw err;
        }
        // etcd would still answer "elected" once its turn came; a key that is gone elects no one.
        if (!result.held) throw new ConcurrencyError(ERR_ELECTION_NOT_LEADER);
        // etcd answers with the campaign txn's header, even after waiting.
        return { header: resp.header, leader };
      }),

    proclaim: (req, ctx) =>
      concurrencyCall(async () => {
        const leader = requireLeader(req.leader);
        await checkConcurrencyAuth(node, ctx.metadata, leader.key, { prefix: false, write: true });
        // As etcd's server: a LeaderKey without a lease gets a fresh session lease.
        const lease = await sessionLease(node, leader.lease, ctx.signal);
        const resp = await proclaim(node, leader, lease, req.value, ctx.signal);
        return { header: resp.header };
      }),

    leader: (req, ctx) =>
      concurrencyCall(async () => {
        await checkConcurrencyAuth(node, ctx.metadata, electionPrefix(req.name), {
          prefix: true,
          write: false,
        });
        await node.proposer.readIndex(ctx.signal);
        const { kv, header } = firstCreated(node, electionPrefix(req.name));
        if (!kv) throw new ConcurrencyError(ERR_ELECTION_NO_LEADER);
        return { header, kv };
      }),

    resign: (req, ctx) =>
      concurrencyCall(async () => {
        const leader = requireLeader(req.leader);
        await checkConcurrencyAuth(node, ctx.metadata, leader.key, { prefix: false, write: true });
        // Not the leader any more is not an error: there is nothing left to resign.
        const resp = await deleteIfCreatedAt(node, leader.key, leader.rev, ctx.signal);
        return { header: resp.header };
      }),

    observe: async function* (req, ctx) {
      await checkConcurrencyAuth(node, ctx.metadata, electionPrefix(req.name), {
        prefix: true,
        write: false,
      });
      yield* observe(node, electionPrefix(req.name), ctx.signal);
    },
  };
}

/**
 * Election.Observe: the current leader (waiting for one if there is none), then every new value
 * it proclaims; when its key goes, the next leader. It may skip intermediate leaders, never the
 * latest.
 */
async function* observe(node: Node, prefix: Buffer, signal: AbortSignal): AsyncGenerator<LeaderResponse> {
  try {
    for (;;) {
      await node.proposer.readIndex(signal);
      let { kv, header } = firstCreated(node, prefix);
      if (!kv) {
        const found = await firstPut(node, prefix, signal);
        kv = found.kv;
        header = found.header;
      }
      yield { header, kv };
      const watch = new LocalWatch(node, [{ key: kv.key }]);
      try {
        for (let deleted = false; !deleted; ) {
          const resp = await watch.next(signal);
          for (const ev of resp.events) {
            if (ev.type === Event_EventType.DELETE) {
              deleted = true;
              break;
            }
            yield { header: resp.header, kv: ev.kv };
          }
        }
      } finally {
        watch.close();
      }
    }
  } catch (err) {
    // etcd's Observe ends its stream without an error when its observer stops, whatever the cause.
    if (signal.aborted || err instanceof ServerRequestError || err instanceof MvccError) return;
    throw err;
  }
}

/** With no leader, the first key put under the prefix (a delete there elects no one). */
async function firstPut(node: Node, prefix: Buffer, signal: AbortSignal) {
  const watch = new LocalWatch(node, [{ key: prefix, rangeEnd: prefixEnd(prefix) }]);
  try {
    for (;;) {
      const resp = await watch.next(signal);
      const put = resp.events.find((ev) => ev.type === Event_EventType.PUT);
      if (put?.kv) {
        const kv: KeyValue = put.kv;
        // The header names the revision of this put, even if the batch went further.
        return { kv, header: { ...resp.header!, revision: kv.modRevision } };
      }
    }
  } finally {
    watch.close();
  }
}
