/**
 * The raft message stream between members (`Send`): the sender writes each Ready's batch to
 * grpc-js in the same turn, the receiver steps each batch from the stream's 'data' event, and
 * every refusal (another cluster, a removed sender, bytes that are not a batch, a message type
 * the core does not know, a message the core throws on) ends that stream with a status, steps
 * nothing of the refused batch and leaves the member running.
 */
import http2 from 'node:http2';
import type net from 'node:net';
import { Client, credentials, Server, ServerCredentials, status } from '@grpc/grpc-js';
import { MessageBatch } from '../../src/gen/concord/raftpb.js';
import type { Message } from '../../src/raft/index.js';
import { toPbMessage } from '../../src/transport/codec.js';
import { addPeerSend, type PeerHandler } from '../../src/transport/peer-service.js';
import {
  MAX_QUEUED_BATCHES,
  PEER_SEND_PATH,
  PeerTransport,
  REMOVED_MESSAGE,
} from '../../src/transport/peer-transport.js';
import { created } from './async-resources.js';

jest.setTimeout(20_000);

const CLUSTER = 7n;

function heartbeat(commit: number, from = 1n): Message {
  return {
    type: 'MsgHeartbeat',
    to: 2n,
    from,
    term: 1,
    logTerm: 0,
    index: 0,
    entries: [],
    commit,
    reject: false,
    rejectHint: 0,
  };
}

interface Receiver {
  port: number;
  got: Message[];
  /** Resolves once `n` messages have been stepped. */
  delivered(n: number): Promise<void>;
  close(): Promise<void>;
}

async function receiver(over: Partial<PeerHandler> = {}): Promise<Receiver> {
  const got: Message[] = [];
  let wake: (() => void) | undefined;
  const handler: PeerHandler = {
    clusterId: CLUSTER,
    step: (m) => {
      got.push(m);
      wake?.();
    },
    receiveSnapshot: async () => {},
    leaseRenew: async () => 0,
    leaseTimeToLive: async () => {
      throw new Error('not here');
    },
    membership: () => new Uint8Array(),
    isRemoved: () => false,
    ...over,
  };
  const server = new Server();
  addPeerSend(server, handler);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    port,
    got,
    delivered: (n) =>
      new Promise<void>((resolve) => {
        wake = () => got.length >= n && resolve();
        wake();
      }),
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

interface Events {
  unreachable: bigint[];
  removed: number;
}

function transport(events: Events = { unreachable: [], removed: 0 }, clusterId = CLUSTER): PeerTransport {
  return new PeerTransport({
    selfId: 1n,
    clusterId,
    openSnapshot: () => Promise.reject(new Error('no snapshots')),
    onUnreachable: (id) => events.unreachable.push(id),
    onSnapshotSent: () => {},
    onRemoved: () => {
      events.removed++;
    },
    log: () => {},
  });
}

/** Writes raw messages on a Send stream and resolves with the status the receiver ends it with. */
function rawSend(port: number, payloads: Buffer[]): Promise<{ code: number; details: string }> {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  return new Promise((resolve) => {
    const call = client.makeClientStreamRequest<Buffer, unknown>(
      PEER_SEND_PATH,
      (b) => b,
      () => ({}),
      (err) => {
        client.close();
        resolve(err ? { code: err.code, details: err.details } : { code: status.OK, details: '' });
      },
    );
    call.on('error', () => {});
    for (const p of payloads) call.write(p);
    call.end();
  });
}

function batch(messages: Message[], clusterId = CLUSTER, from = 1n): Buffer {
  return Buffer.from(MessageBatch.encode({ clusterId, from, messages: messages.map(toPbMessage) }).finish());
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A receiver, and a transport to it as peer 2 whose stream is open (its first message arrived). */
async function connected(): Promise<{ r: Receiver; t: PeerTransport }> {
  const r = await receiver();
  const t = transport();
  t.addPeer(2n, `http://127.0.0.1:${r.port}`);
  // The first message opens the stream (connection set-up may use timers of its own).
  t.send([heartbeat(1)]);
  await r.delivered(1);
  return { r, t };
}

test("a Ready's messages go to the peer stream at once, not on the next turn", async () => {
  const { r, t } = await connected();
  try {
    const types = await created(async () => {
      t.send([heartbeat(2)]);
      await r.delivered(2);
    });
    expect(types.filter((x) => x === 'Immediate')).toEqual([]);
    expect(r.got.map((m) => m.commit)).toEqual([1, 2]);
  } finally {
    t.close();
    await r.close();
  }
});

test('batches arrive in order, each stepped in its order, across many sends', async () => {
  const r = await receiver();
  const t = transport();
  t.addPeer(2n, `http://127.0.0.1:${r.port}`);
  try {
    for (let i = 1; i <= 300; i += 3) t.send([heartbeat(i), heartbeat(i + 1), heartbeat(i + 2)]);
    await r.delivered(300);
    expect(r.got.map((m) => m.commit)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  } finally {
    t.close();
    await r.close();
  }
});

test('a batch from another cluster ends the stream: nothing stepped, the sender hears unreachable', async () => {
  const r = await receiver();
  try {
    const got = await rawSend(r.port, [batch([heartbeat(1)], 99n)]);
    expect(got.code).toBe(status.FAILED_PRECONDITION);
    expect(got.details).toBe('cluster ID mismatch: this member is in 7, the sender in 63');
    expect(r.got).toEqual([]);

    const events: Events = { unreachable: [], removed: 0 };
    const other = transport(events, 99n);
    other.addPeer(2n, `http://127.0.0.1:${r.port}`);
    try {
      other.send([heartbeat(1)]);
      await until(() => events.unreachable.length > 0, 'unreachable');
      expect(events.unreachable).toEqual([2n]);
      expect(events.removed).toBe(0);
      expect(r.got).toEqual([]);
    } finally {
      other.close();
    }
  } finally {
    await r.close();
  }
});

test('a removed sender is told so, and its transport reports removal', async () => {
  const r = await receiver({ isRemoved: (id) => id === 1n });
  const events: Events = { unreachable: [], removed: 0 };
  const t = transport(events);
  t.addPeer(2n, `http://127.0.0.1:${r.port}`);
  try {
    const got = await rawSend(r.port, [batch([heartbeat(1)])]);
    expect(got).toEqual({ code: status.FAILED_PRECONDITION, details: REMOVED_MESSAGE });
    t.send([heartbeat(1)]);
    await until(() => events.removed > 0, 'removal');
    expect(events.unreachable).toEqual([]);
    expect(r.got).toEqual([]);
  } finally {
    t.close();
    await r.close();
  }
});

test('bytes that are not a batch end the stream with INVALID_ARGUMENT; later batches are ignored', async () => {
  const r = await receiver();
  try {
    const good = batch([heartbeat(1)]);
    const got = await rawSend(r.port, [good, Buffer.from([0x0a, 0xff, 0xff, 0xff]), good]);
    expect(got.code).toBe(status.INVALID_ARGUMENT);
    expect(got.details).toMatch(/^concord: bad peer message: /);
    expect(r.got.map((m) => m.commit)).toEqual([1]);
  } finally {
    await r.close();
  }
});

test('an unknown message type refuses its whole batch', async () => {
  const r = await receiver();
  try {
    const pb = MessageBatch.encode({
      clusterId: CLUSTER,
      from: 1n,
      messages: [toPbMessage(heartbeat(1)), { ...toPbMessage(heartbeat(2)), type: 'MsgBogus' }],
    }).finish();
    const got = await rawSend(r.port, [Buffer.from(pb)]);
    expect(got.code).toBe(status.INVALID_ARGUMENT);
    expect(got.details).toContain('concord: bad peer message: unknown type');
    expect(r.got).toEqual([]);
  } finally {
    await r.close();
  }
});

test('a message the core throws on ends the stream with INTERNAL, not the process', async () => {
  const r = await receiver({
    step: (m) => {
      if (m.commit === 2) throw new Error('not for this core');
    },
  });
  try {
    const got = await rawSend(r.port, [batch([heartbeat(1), heartbeat(2)]), batch([heartbeat(3)])]);
    expect(got).toEqual({
      code: status.INTERNAL,
      details: 'concord: peer message refused: not for this core',
    });
  } finally {
    await r.close();
  }
});

test('a sender that cancels its stream midway leaves the receiver serving others', async () => {
  const r = await receiver();
  const client = new Client(`127.0.0.1:${r.port}`, credentials.createInsecure());
  try {
    const ended = new Promise<number>((resolve) => {
      const call = client.makeClientStreamRequest<Buffer, unknown>(
        PEER_SEND_PATH,
        (b) => b,
        () => ({}),
        (err) => resolve(err?.code ?? status.OK),
      );
      call.on('error', () => {});
      call.write(batch([heartbeat(1)]));
      void r.delivered(1).then(() => call.cancel());
    });
    expect(await ended).toBe(status.CANCELLED);
    expect(await rawSend(r.port, [batch([heartbeat(2)])])).toEqual({ code: status.OK, details: '' });
    expect(r.got.map((m) => m.commit)).toEqual([1, 2]);
  } finally {
    client.close();
    await r.close();
  }
});

test('a removed peer gets nothing more', async () => {
  const { r, t } = await connected();
  try {
    t.removePeer(2n);
    t.send([heartbeat(2)]);
    t.addPeer(3n, `http://127.0.0.1:${r.port}`);
    t.send([{ ...heartbeat(3), to: 3n }]);
    await r.delivered(2);
    expect(r.got.map((m) => m.commit)).toEqual([1, 3]);
  } finally {
    t.close();
    await r.close();
  }
});

test('a peer that takes nothing: past MAX_QUEUED_BATCHES queued, batches are dropped and reported', async () => {
  // An HTTP/2 server that accepts the stream and never reads it: flow control stops the
  // sender's writes, and grpc-js queues them.
  const sessions: http2.ServerHttp2Session[] = [];
  const stuck = http2.createServer();
  stuck.on('session', (s) => sessions.push(s));
  stuck.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
    stream.pause();
  });
  await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', () => resolve()));
  const port = (stuck.address() as net.AddressInfo).port;
  const events: Events = { unreachable: [], removed: 0 };
  const t = transport(events);
  t.addPeer(2n, `http://127.0.0.1:${port}`);
  try {
    const big: Message = { ...heartbeat(1), type: 'MsgApp', entries: [] };
    const payload = { ...big, context: new Uint8Array(4096) };
    for (let i = 0; i < MAX_QUEUED_BATCHES * 2 && events.unreachable.length === 0; i++) {
      t.send([payload]);
      if (i % 256 === 0) await new Promise((res) => setImmediate(res));
    }
    expect(events.unreachable.length).toBeGreaterThan(0);
    expect(new Set(events.unreachable)).toEqual(new Set([2n]));
  } finally {
    t.close();
    for (const s of sessions) s.destroy();
    await new Promise<void>((resolve) => stuck.close(() => resolve()));
  }
});
