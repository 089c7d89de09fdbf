/**
 * A Ready's messages are handed to the peer stream when they are sent, not batched for the
 * next turn: that hop delayed every append and acknowledgement by a wake-up. Counted with
 * async_hooks, not timed.
 */
import net from 'node:net';
import { createServer } from 'nice-grpc';
import { PeerDefinition } from '../../src/gen/concord/raftpb.js';
import type { Message } from '../../src/raft/index.js';
import { peerService } from '../../src/transport/peer-service.js';
import { PeerTransport } from '../../src/transport/peer-transport.js';
import { created } from './async-resources.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

test("a Ready's messages go to the peer stream at once, not on the next turn", async () => {
  const clusterId = 7n;
  const got: Message[] = [];
  let arrived: (() => void) | undefined;
  const server = createServer();
  server.add(
    PeerDefinition,
    peerService({
      clusterId,
      step: (m) => {
        got.push(m);
        arrived?.();
      },
      receiveSnapshot: async () => {},
      leaseRenew: async () => 0,
      leaseTimeToLive: async () => {
        throw new Error('not here');
      },
      membership: () => new Uint8Array(),
      isRemoved: () => false,
    }),
  );
  const port = await freePort();
  await server.listen(`127.0.0.1:${port}`);
  const t = new PeerTransport({
    selfId: 1n,
    clusterId,
    openSnapshot: () => Promise.reject(new Error('no snapshots')),
    onUnreachable: () => {},
    onSnapshotSent: () => {},
    onRemoved: () => {},
    log: () => {},
  });
  t.addPeer(2n, `http://127.0.0.1:${port}`);
  const heartbeat = (commit: number): Message => ({
    type: 'MsgHeartbeat',
    to: 2n,
    from: 1n,
    term: 1,
    logTerm: 0,
    index: 0,
    entries: [],
    commit,
    reject: false,
    rejectHint: 0,
  });
  const delivered = (n: number) =>
    new Promise<void>((resolve) => {
      arrived = () => got.length >= n && resolve();
    });
  try {
    // The first message opens the stream (connection set-up may use timers of its own).
    t.send([heartbeat(1)]);
    await delivered(1);
    const types = await created(async () => {
      t.send([heartbeat(2)]);
      await delivered(2);
    });
    expect(types.filter((x) => x === 'Immediate')).toEqual([]);
    expect(got.map((m) => m.commit)).toEqual([1, 2]);
  } finally {
    t.close();
    await server.shutdown();
  }
});
