/**
 * Conversions at the edge of the state machine: protobuf messages carry Buffers and bigints,
 * the store holds latin1 strings and numbers. Copying a request's bytes into a string also
 * detaches them from the request buffer they were decoded from (a Buffer slice would pin it).
 */
import type { ResponseHeader } from '../gen/etcdserverpb/rpc.js';
import type { KeyValue } from '../gen/mvccpb/kv.js';
import type { Rev } from './kv/key-index.js';

const EMPTY = Buffer.alloc(0);

export function str(b: Uint8Array | undefined): string {
  if (b === undefined || b.length === 0) return '';
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

export function buf(s: string): Buffer {
  return s.length === 0 ? EMPTY : Buffer.from(s, 'latin1');
}

export function toKeyValue(r: Rev, keysOnly = false): KeyValue {
  return {
    key: buf(r.key),
    createRevision: BigInt(r.create),
    modRevision: BigInt(r.main),
    version: BigInt(r.version),
    value: keysOnly ? EMPTY : buf(r.value),
    lease: r.lease,
  };
}

/** The kv of a delete event: only key and mod revision, as etcd sends it. */
export function tombstoneKeyValue(r: Rev): KeyValue {
  return {
    key: buf(r.key),
    createRevision: 0n,
    modRevision: BigInt(r.main),
    version: 0n,
    value: EMPTY,
    lease: 0n,
  };
}

/** A header with the revision; cluster id, member id and raft term are the server's to fill. */
export function header(revision: number): ResponseHeader {
  return { clusterId: 0n, memberId: 0n, revision: BigInt(revision), raftTerm: 0n };
}

export const EMPTY_HEADER = (): ResponseHeader => ({
  clusterId: 0n,
  memberId: 0n,
  revision: 0n,
  raftTerm: 0n,
});

export function num(v: bigint | undefined): number {
  return v === undefined ? 0 : Number(v);
}
