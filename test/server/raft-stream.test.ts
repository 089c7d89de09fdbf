/**
 * The raft stream between members (src/transport/raft-stream.ts) on a real peer port: the sender
 * writes each Ready's batch to its socket in the same turn, the receiver steps each batch from
 * the socket's 'data' event, and every refusal (another cluster, a removed sender, bytes that
 * are not a batch, a message type the core does not know, a message the core throws on, a frame
 * over the limit) ends that stream with a status, steps nothing of the refused batch and leaves
 * the member running. The same port still serves gRPC, and closes anything else.
 */
import net from 'node:net';
import { Client, credentials, status } from '@grpc/grpc-js';
import { MessageBatch } from '../../src/gen/concord/raftpb.js';
import type { Message } from '../../src/raft/index.js';
import { toPbMessage } from '../../src/transport/codec.js';
import {
  MAX_QUEUED_BYTES,
  PEER_MAX_MESSAGE_BYTES,
  PeerTransport,
  REMOVED_MESSAGE,
} from '../../src/transport/peer-transport.js';
import {
  FrameReader,
  frameHeader,
  parseRefusal,
  RAFT_STREAM_MAGIC,
} from '../../src/transport/raft-stream.js';
import { created } from './async-resources.js';
import { CLUSTER, heartbeat, type Receiver, receiver, until } from './raft-stream-helpers.js';

jest.setTimeout(20_000);

interface Events {
  unreachable: bigint[];
  removed: number;
}

function transport(
  events: Events = { unreachable: [], removed: 0 },
  clusterId = CLUSTER,
  silenceLimitMs?: number,
): PeerTransport {
  return new PeerTransport({
    ...(silenceLimitMs === undefined ? {} : { silenceLimitMs }),
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

/**
 * Opens a raft stream by hand, writes `frames` (each framed, unless `raw`), ends it, and resolves
 * with how the receiver ended it: its refusal, or OK when it closed without a word.
 */
function rawSend(port: number, frames: Buffer[], raw = false): Promise<{ code: number; details: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const reader = new FrameReader(1 << 20);
    let refusal: { code: number; details: string } | undefined;
    socket.on('data', (d: Buffer) => {
      for (const f of reader.push(d)) if (f.length > 0) refusal ??= parseRefusal(f);
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(refusal ?? { code: status.OK, details: '' }));
    socket.write(RAFT_STREAM_MAGIC);
    for (const f of frames) socket.write(raw ? f : Buffer.concat([frameHeader(f.length), f]));
    socket.end();
  });
}

function batch(messages: Message[], clusterId = CLUSTER, from = 1n): Buffer {
  return Buffer.from(MessageBatch.encode({ clusterId, from, messages: messages.map(toPbMessage) }).finish());
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

test('a sender that resets its stream midway leaves the receiver serving others', async () => {
  const r = await receiver();
  const socket = net.connect({ host: '127.0.0.1', port: r.port });
  socket.on('error', () => {});
  const one = batch([heartbeat(1)]);
  // A whole frame, then half of the next one, then a reset.
  socket.write(Buffer.concat([RAFT_STREAM_MAGIC, frameHeader(one.length), one, frameHeader(one.length)]));
  socket.write(one.subarray(0, 3));
  try {
    await r.delivered(1);
    socket.resetAndDestroy();
    expect(await rawSend(r.port, [batch([heartbeat(2)])])).toEqual({ code: status.OK, details: '' });
    expect(r.got.map((m) => m.commit)).toEqual([1, 2]);
  } finally {
    socket.destroy();
    await r.close();
  }
});

test('a frame over the limit is refused before its bytes arrive', async () => {
  const r = await receiver();
  try {
    const got = await rawSend(r.port, [frameHeader(PEER_MAX_MESSAGE_BYTES + 1)], true);
    expect(got.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(got.details).toContain(`exceeds the limit of ${PEER_MAX_MESSAGE_BYTES}`);
    expect(r.got).toEqual([]);
  } finally {
    await r.close();
  }
});

test('the peer port still serves gRPC, and closes what is neither', async () => {
  const r = await receiver();
  const client = new Client(`127.0.0.1:${r.port}`, credentials.createInsecure());
  try {
    // The grpc-js server behind the port has no services here: reaching it answers UNIMPLEMENTED.
    const code = await new Promise<number>((resolve) =>
      client.makeUnaryRequest(
        '/concordpb.Peer/ClusterInfo',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        (err) => resolve(err?.code ?? status.OK),
      ),
    );
    expect(code).toBe(status.UNIMPLEMENTED);
    const closed = await new Promise<string>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: r.port }, () => s.write('GET / HTTP/1.1\r\n\r\n'));
      let got = '';
      s.on('data', (d) => {
        got += d;
      });
      s.on('error', () => {});
      s.on('close', () => resolve(got));
    });
    expect(closed).toBe('');
    expect(r.got).toEqual([]);
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

test('a peer that takes nothing: past MAX_QUEUED_BYTES queued, batches are dropped and reported', async () => {
  // A server that accepts the connection and never reads it: the kernel's buffers fill, then
  // the socket queues the sender's writes.
  const held: net.Socket[] = [];
  const stuck = net.createServer({ pauseOnConnect: true }, (s) => held.push(s));
  await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', () => resolve()));
  const port = (stuck.address() as net.AddressInfo).port;
  const events: Events = { unreachable: [], removed: 0 };
  const t = transport(events);
  t.addPeer(2n, `http://127.0.0.1:${port}`);
  try {
    const payload: Message = {
      ...heartbeat(1),
      type: 'MsgApp',
      entries: [],
      context: new Uint8Array(65_536),
    };
    const most = (MAX_QUEUED_BYTES / 65_536) * 4;
    for (let i = 0; i < most && events.unreachable.length === 0; i++) {
      t.send([payload]);
      if (i % 64 === 0) await new Promise((res) => setImmediate(res));
    }
    expect(events.unreachable.length).toBeGreaterThan(0);
    expect(new Set(events.unreachable)).toEqual(new Set([2n]));
  } finally {
    t.close();
    for (const s of held) s.destroy();
    await new Promise<void>((resolve) => stuck.close(() => resolve()));
  }
});

test('a peer that refuses connections is dialled again after a back-off, not on every batch', async () => {
  // A port nobody listens on.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const events: Events = { unreachable: [], removed: 0 };
  const t = transport(events);
  t.addPeer(2n, `http://127.0.0.1:${port}`);
  try {
    // 100 batches over about 500 ms: without a back-off, 100 dials and 100 reports.
    for (let i = 0; i < 100; i++) {
      t.send([heartbeat(i)]);
      await new Promise((res) => setTimeout(res, 5));
    }
    // Dials at about 0, 100, 300 and 700 ms.
    expect(events.unreachable.length).toBeGreaterThanOrEqual(2);
    expect(events.unreachable.length).toBeLessThanOrEqual(6);
  } finally {
    t.close();
  }
});

test('a peer that reads but never acknowledges is taken for gone, and dialled again', async () => {
  // What a host that vanished without a reset looks like from here: writes go out, no answer.
  const conns: net.Socket[] = [];
  const mute = net.createServer((s) => {
    conns.push(s);
    s.resume();
  });
  await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', () => resolve()));
  const port = (mute.address() as net.AddressInfo).port;
  const events: Events = { unreachable: [], removed: 0 };
  const t = transport(events, CLUSTER, 300);
  t.addPeer(2n, `http://127.0.0.1:${port}`);
  try {
    for (let i = 0; i < 30 && conns.length < 2; i++) {
      t.send([heartbeat(i)]);
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(conns.length).toBeGreaterThanOrEqual(2);
    await until(() => events.unreachable.length > 0, 'unreachable');
    expect(new Set(events.unreachable)).toEqual(new Set([2n]));
  } finally {
    t.close();
    for (const s of conns) s.destroy();
    await new Promise<void>((resolve) => mute.close(() => resolve()));
  }
});

test('a live peer acknowledges even sparse batches: the stream is kept', async () => {
  const r = await receiver();
  const events: Events = { unreachable: [], removed: 0 };
  // Two batches 500 ms apart, then 2 s of quiet, twice, under a limit of 1.5 s: the second of
  // each pair comes too soon for an immediate acknowledgement and must get a deferred one, or the
  // batch after the quiet would find it unanswered for 2 s and drop the stream.
  const t = transport(events, CLUSTER, 1500);
  t.addPeer(2n, `http://127.0.0.1:${r.port}`);
  try {
    for (const [i, pause] of [
      [1, 500],
      [2, 2000],
      [3, 500],
      [4, 2000],
      [5, 0],
    ] as const) {
      t.send([heartbeat(i)]);
      await new Promise((res) => setTimeout(res, pause));
    }
    await r.delivered(5);
    expect(r.got.map((m) => m.commit)).toEqual([1, 2, 3, 4, 5]);
    expect(events.unreachable).toEqual([]);
  } finally {
    t.close();
    await r.close();
  }
});

test('a peer that answers with a frame too large for a refusal is dropped and reported', async () => {
  // No Concord receiver: something on the peer port that writes a 1 MiB frame header back.
  const conns: net.Socket[] = [];
  const odd = net.createServer((s) => {
    conns.push(s);
    s.on('error', () => {});
    s.once('data', () => s.write(frameHeader(1 << 20)));
  });
  await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', () => resolve()));
  const port = (odd.address() as net.AddressInfo).port;
  const events: Events = { unreachable: [], removed: 0 };
  const t = transport(events);
  t.addPeer(2n, `http://127.0.0.1:${port}`);
  try {
    t.send([heartbeat(1)]);
    await until(() => events.unreachable.length > 0, 'unreachable');
    expect(events).toEqual({ unreachable: [2n], removed: 0 });
    await until(
      () => conns[0]?.destroyed === true || conns[0]?.readableEnded === true,
      'the connection to close',
    );
  } finally {
    t.close();
    for (const s of conns) s.destroy();
    await new Promise<void>((resolve) => odd.close(() => resolve()));
  }
});

describe('FrameReader', () => {
  const frames = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(70_000, 7), Buffer.from('last')];
  const wire = Buffer.concat(frames.flatMap((f) => [frameHeader(f.length), f]));

  test.each([1, 3, 4, 5, 1000, wire.length])('gives the frames whole, read %i bytes at a time', (n) => {
    const reader = new FrameReader(1 << 20);
    const got: Buffer[] = [];
    for (let at = 0; at < wire.length; at += n) got.push(...reader.push(wire.subarray(at, at + n)));
    expect(got.map((f) => f.toString('hex'))).toEqual(frames.map((f) => f.toString('hex')));
  });

  test('a length over the limit throws', () => {
    const reader = new FrameReader(10);
    expect(() => reader.push(Buffer.concat([frameHeader(11), Buffer.alloc(11)]))).toThrow(
      'raft stream frame of 11 bytes exceeds the limit of 10',
    );
  });
});
