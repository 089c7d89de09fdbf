/**
 * A snapshot stream cut short reaches a real member's peer port as a stream that simply ends
 * (gRPC may end a call quietly when its connection closes mid-transfer). The member must refuse
 * it before storing it: stored, it was taken as the newest snapshot on the next start, which
 * then failed ("bad snapshot: truncated") and kept the member down for good.
 */
import { createChannel, createClient } from 'nice-grpc';
import { PeerDefinition, type SnapshotChunk } from '../../src/gen/concord/raftpb.js';
import { Client } from '../../src/index.js';
import { StateMachine, snapshot } from '../../src/mvcc/index.js';
import { emptyConfState, type Message } from '../../src/raft/index.js';
import { toPbMessage } from '../../src/transport/codec.js';
import { type Concord, ensureServerBuilt, startConcord } from '../harness/concord.js';
import { freePort } from '../harness/etcd.js';

jest.setTimeout(60_000);

let server: Concord | undefined;
beforeAll(() => ensureServerBuilt());
afterAll(async () => server?.close());

test('a truncated snapshot stream is refused and not stored; the member restarts', async () => {
  const peerPort = await freePort();
  server = await startConcord({ args: ['--listen-peer-urls', `http://127.0.0.1:${peerPort}`] });
  const channel = createChannel(`127.0.0.1:${peerPort}`);
  const peer = createClient(PeerDefinition, channel);
  const client = new Client({ endpoints: [server.endpoint] });
  try {
    await client.put('before', 'x');
    const { clusterId } = await peer.clusterInfo({});
    const sm = new StateMachine();
    const whole = Buffer.concat([...snapshot(sm)].map((c) => Buffer.from(c)));
    const msg: Message = {
      type: 'MsgSnap',
      to: 1n,
      from: 99n,
      term: 1,
      logTerm: 0,
      index: 0,
      entries: [],
      commit: 0,
      reject: false,
      rejectHint: 0,
      commitOnly: false,
      snapshot: {
        data: new Uint8Array(0),
        metadata: { index: 1_000_000, term: 1, confState: { ...emptyConfState, voters: [99n] } },
      },
    };
    async function* chunks(): AsyncIterable<SnapshotChunk> {
      yield { clusterId, message: toPbMessage(msg), data: Buffer.alloc(0) };
      yield { clusterId, message: undefined, data: whole.subarray(0, whole.length - 3) };
    }
    await expect(peer.sendSnapshot(chunks())).rejects.toThrow(
      'INTERNAL: concord: snapshot refused: concord: mvcc: bad snapshot: truncated',
    );
    // Still serving, and it starts again on what it stored.
    expect((await client.get('before'))?.text()).toBe('x');
    await server.restart();
    const again = new Client({ endpoints: [server.endpoint] });
    try {
      expect((await again.get('before'))?.text()).toBe('x');
    } finally {
      again.close();
    }
  } finally {
    client.close();
    channel.close();
  }
});
