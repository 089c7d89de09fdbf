/** A peer port serving the raft stream into a recording handler, for the raft stream's tests. */
import { Server } from '@grpc/grpc-js';
import type { Message } from '../../src/raft/index.js';
import { PeerPort } from '../../src/server/api/peer-port.js';
import { type PeerHandler, serveRaftStream } from '../../src/transport/peer-service.js';

export const CLUSTER = 7n;

export function heartbeat(commit: number, from = 1n): Message {
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
    commitOnly: false,
  };
}

export interface Receiver {
  port: number;
  got: Message[];
  /** Resolves once `n` messages have been stepped. */
  delivered(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function receiver(over: Partial<PeerHandler> = {}): Promise<Receiver> {
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
  const grpc = new Server();
  const peerPort = new PeerPort(grpc, (socket) => serveRaftStream(socket, handler));
  const port = await peerPort.listen('127.0.0.1', 0);
  return {
    port,
    got,
    delivered: (n) =>
      new Promise<void>((resolve) => {
        wake = () => got.length >= n && resolve();
        wake();
      }),
    close: async () => {
      peerPort.close();
      grpc.forceShutdown();
    },
  };
}

export async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
