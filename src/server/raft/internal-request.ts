/**
 * The requests that change the state machine (etcd's InternalRaftRequest), and their byte form:
 * what a Raft entry will carry once replication lands, and what the WAL holds today.
 *
 * Envelope: [format version u8][kind tag u8][the request's protobuf]. The protobuf is etcd's
 * own message for that kind (PutRequest, TxnRequest …), encoded by the generated code; the tag
 * numbers are part of the on-disk format and never change meaning.
 */
import {
  AlarmRequest,
  AuthDisableRequest,
  AuthEnableRequest,
  AuthenticateRequest,
  AuthRoleAddRequest,
  AuthRoleDeleteRequest,
  AuthRoleGrantPermissionRequest,
  AuthRoleRevokePermissionRequest,
  AuthUserAddRequest,
  AuthUserChangePasswordRequest,
  AuthUserDeleteRequest,
  AuthUserGrantRoleRequest,
  AuthUserRevokeRoleRequest,
  CompactionRequest,
  DeleteRangeRequest,
  LeaseCheckpointRequest,
  LeaseGrantRequest,
  LeaseRevokeRequest,
  PutRequest,
  TxnRequest,
} from '../../gen/etcdserverpb/rpc.js';
import type { AuthInfo, InternalAuthenticateRequest, Requests } from '../../mvcc/index.js';
import { memberFault } from '../errors.js';

export const INTERNAL_REQUEST_VERSION = 1;

/** Kinds that go through the log (reads never do). */
export type WriteKind = Exclude<keyof Requests, 'range'>;
/** One write request: an object with exactly one kind set. */
export type InternalRequest = { [K in WriteKind]: { [P in K]: Requests[P] } }[WriteKind];

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/**
 * Authenticate's log form: etcd's AuthenticateRequest message with the drawn token where the
 * password would be (the password itself never enters the log).
 */
const InternalAuthenticate: Codec<InternalAuthenticateRequest> = {
  encode: (m) => AuthenticateRequest.encode({ name: m.name, password: m.simpleToken }),
  decode: (b) => {
    const m = AuthenticateRequest.decode(b);
    return { name: m.name, simpleToken: m.password };
  },
};

// Tag → kind. Append only: a tag, once written to a WAL, keeps its meaning.
const CODECS: { [K in WriteKind]: { tag: number; codec: Codec<Requests[K]> } } = {
  put: { tag: 1, codec: PutRequest },
  deleteRange: { tag: 2, codec: DeleteRangeRequest },
  txn: { tag: 3, codec: TxnRequest },
  compaction: { tag: 4, codec: CompactionRequest },
  leaseGrant: { tag: 5, codec: LeaseGrantRequest },
  leaseRevoke: { tag: 6, codec: LeaseRevokeRequest },
  leaseCheckpoint: { tag: 7, codec: LeaseCheckpointRequest },
  alarm: { tag: 8, codec: AlarmRequest },
  authEnable: { tag: 9, codec: AuthEnableRequest },
  authDisable: { tag: 10, codec: AuthDisableRequest },
  authenticate: { tag: 11, codec: InternalAuthenticate },
  authUserAdd: { tag: 12, codec: AuthUserAddRequest },
  authUserDelete: { tag: 13, codec: AuthUserDeleteRequest },
  authUserChangePassword: { tag: 14, codec: AuthUserChangePasswordRequest },
  authUserGrantRole: { tag: 15, codec: AuthUserGrantRoleRequest },
  authUserRevokeRole: { tag: 16, codec: AuthUserRevokeRoleRequest },
  authRoleAdd: { tag: 17, codec: AuthRoleAddRequest },
  authRoleDelete: { tag: 18, codec: AuthRoleDeleteRequest },
  authRoleGrantPermission: { tag: 19, codec: AuthRoleGrantPermissionRequest },
  authRoleRevokePermission: { tag: 20, codec: AuthRoleRevokePermissionRequest },
};
/**
 * Set on the kind tag when the request carries its sender's credentials (etcd's
 * RequestHeader username + auth_revision): [u32 auth revision][u16 name length][name utf8]
 * follow the entry header, before the body. Tags stay below it.
 */
const TAG_WITH_AUTH = 0x80;
const BY_TAG = new Map<number, WriteKind>(
  (Object.keys(CODECS) as WriteKind[]).map((k) => [CODECS[k].tag, k] as const),
);

export class InternalRequestFormatError extends memberFault('bad-internal-request', 'bad internal request') {}

export function kindOf(req: InternalRequest): WriteKind {
  for (const k in req) return k as WriteKind;
  throw new InternalRequestFormatError('empty request');
}

export function encodeInternalRequest(req: InternalRequest): Uint8Array {
  const kind = kindOf(req);
  const { tag, codec } = CODECS[kind] as { tag: number; codec: Codec<unknown> };
  const body = codec.encode((req as Record<string, unknown>)[kind]).finish();
  const out = Buffer.allocUnsafe(2 + body.length);
  out[0] = INTERNAL_REQUEST_VERSION;
  out[1] = tag;
  out.set(body, 2);
  return out;
}

export function decodeInternalRequest(data: Uint8Array): InternalRequest {
  if (data.length < 2) throw new InternalRequestFormatError(`${data.length} bytes`);
  if (data[0] !== INTERNAL_REQUEST_VERSION)
    throw new InternalRequestFormatError(
      `format version ${data[0]} (this build reads ${INTERNAL_REQUEST_VERSION})`,
    );
  const kind = BY_TAG.get(data[1]!);
  if (kind === undefined) throw new InternalRequestFormatError(`unknown kind tag ${data[1]}`);
  const codec = CODECS[kind].codec as Codec<unknown>;
  return { [kind]: codec.decode(data.subarray(2)) } as InternalRequest;
}

/**
 * A Raft entry's payload: a client write with the ID the proposing member waits on (etcd's
 * InternalRaftRequest header ID), or a member publishing its attributes. Format version 2:
 * [2][kind tag u8][proposer prefix u16][proposal counter u48][body]. Version 1 payloads (the
 * single-member WAL of earlier builds) carry no ID.
 */
export const ENTRY_FORMAT_VERSION = 2;
/** Host-level entry: a member's name and client URLs, JSON. Never reaches the state machine. */
const TAG_PUBLISH = 100;
/** Host-level entry: a member's new peer URLs (MemberUpdate), JSON. */
const TAG_MEMBER_UPDATE = 101;

export interface MemberAttributes {
  /** Member ID, hex. */
  id: string;
  name: string;
  clientUrls: string[];
}

export type DecodedEntry =
  | { kind: 'request'; prefix: number; counter: number; req: InternalRequest; auth?: AuthInfo }
  | { kind: 'publish'; prefix: number; counter: number; attrs: MemberAttributes }
  | { kind: 'memberUpdate'; prefix: number; counter: number; update: MemberUpdate };

export interface MemberUpdate {
  /** Member ID, hex. */
  id: string;
  peerUrls: string[];
}

const HEADER = 10;

export function encodeRequestEntry(
  prefix: number,
  counter: number,
  req: InternalRequest,
  auth?: AuthInfo,
): Buffer {
  const kind = kindOf(req);
  const { tag, codec } = CODECS[kind] as { tag: number; codec: Codec<unknown> };
  const body = codec.encode((req as Record<string, unknown>)[kind]).finish();
  const name = auth ? Buffer.from(auth.username, 'utf8') : undefined;
  const extra = name ? 6 + name.length : 0;
  // Not from Node's 8 KiB pool: this entry lives in the Raft log until the next snapshot, and a
  // pooled slice would keep its whole slab (mostly short-lived request bytes) alive with it.
  // Measured: 7.3 KB of RSS per 1 KiB put with pooled entries (issue 17).
  const out = Buffer.allocUnsafeSlow(HEADER + extra + body.length);
  writeHeader(out, name ? tag | TAG_WITH_AUTH : tag, prefix, counter);
  if (name && auth) {
    out.writeUInt32BE(auth.revision, HEADER);
    out.writeUInt16BE(name.length, HEADER + 4);
    out.set(name, HEADER + 6);
  }
  out.set(body, HEADER + extra);
  return out;
}

export function encodePublishEntry(prefix: number, counter: number, attrs: MemberAttributes): Buffer {
  return jsonEntry(TAG_PUBLISH, prefix, counter, attrs);
}

export function encodeMemberUpdateEntry(prefix: number, counter: number, update: MemberUpdate): Buffer {
  return jsonEntry(TAG_MEMBER_UPDATE, prefix, counter, update);
}

function jsonEntry(tag: number, prefix: number, counter: number, body: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(body));
  const out = Buffer.allocUnsafe(HEADER + json.length);
  writeHeader(out, tag, prefix, counter);
  out.set(json, HEADER);
  return out;
}

/** The version 2 header (above), one writer for every kind of entry so that none drifts. */
function writeHeader(out: Buffer, tag: number, prefix: number, counter: number): void {
  out[0] = ENTRY_FORMAT_VERSION;
  out[1] = tag;
  out.writeUInt16BE(prefix, 2);
  out.writeUIntBE(counter, 4, 6);
}

/**
 * Who proposed an entry (the proposing member's prefix and its counter), read from the header
 * alone: an entry whose body cannot be decoded can still fail its own request.
 */
export function entryOrigin(data: Uint8Array): { prefix: number; counter: number } | undefined {
  if (data.length < HEADER || data[0] !== ENTRY_FORMAT_VERSION) return undefined;
  return originOf(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

function originOf(b: Buffer): { prefix: number; counter: number } {
  return { prefix: b.readUInt16BE(2), counter: b.readUIntBE(4, 6) };
}

export function decodeEntry(data: Uint8Array): DecodedEntry {
  if (data[0] === INTERNAL_REQUEST_VERSION)
    return { kind: 'request', prefix: 0, counter: 0, req: decodeInternalRequest(data) };
  if (data.length < HEADER) throw new InternalRequestFormatError(`${data.length} bytes`);
  if (data[0] !== ENTRY_FORMAT_VERSION)
    throw new InternalRequestFormatError(
      `format version ${data[0]} (this build reads up to ${ENTRY_FORMAT_VERSION})`,
    );
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const origin = originOf(b);
  if (b[1] === TAG_PUBLISH)
    return { kind: 'publish', ...origin, attrs: JSON.parse(b.toString('utf8', HEADER)) as MemberAttributes };
  if (b[1] === TAG_MEMBER_UPDATE)
    return {
      kind: 'memberUpdate',
      ...origin,
      update: JSON.parse(b.toString('utf8', HEADER)) as MemberUpdate,
    };
  const withAuth = (b[1]! & TAG_WITH_AUTH) !== 0;
  const kind = BY_TAG.get(b[1]! & ~TAG_WITH_AUTH);
  if (kind === undefined) throw new InternalRequestFormatError(`unknown kind tag ${b[1]}`);
  const codec = CODECS[kind].codec as Codec<unknown>;
  let at = HEADER;
  let auth: AuthInfo | undefined;
  if (withAuth) {
    const len = b.readUInt16BE(HEADER + 4);
    auth = { revision: b.readUInt32BE(HEADER), username: b.toString('utf8', HEADER + 6, HEADER + 6 + len) };
    at = HEADER + 6 + len;
  }
  return {
    kind: 'request',
    ...origin,
    req: { [kind]: codec.decode(b.subarray(at)) } as InternalRequest,
    ...(auth ? { auth } : {}),
  };
}
