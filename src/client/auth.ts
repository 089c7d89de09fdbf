/**
 * The Auth service: turning auth on and off, users, roles and their key-range permissions.
 * Reads retry on another member; changes are writes (not retried once sent). With auth on,
 * everything but reading one's own user and roles needs the root role.
 */

import type { Client as GrpcClient } from 'nice-grpc';
import { Permission_Type } from '../gen/authpb/auth.js';
import { AuthDefinition } from '../gen/services.js';
import type { CallOptions } from './call-options.js';
import type { Connections } from './connections.js';
import { type KeyRange, ROOT } from './keyspace.js';

/** What a permission allows on its keys. */
export type PermissionType = 'read' | 'write' | 'readwrite';

/** A permission a role holds on a key or range. */
export interface Permission {
  /** What it allows. */
  type: PermissionType;
  /** First key; with `end` empty, the only key. */
  key: Buffer;
  /** End of the range (exclusive); empty for one key, `"\0"` for every key from `key` on. */
  end: Buffer;
}

const TO_WIRE: Record<PermissionType, Permission_Type> = {
  read: Permission_Type.READ,
  write: Permission_Type.WRITE,
  readwrite: Permission_Type.READWRITE,
};
type AuthClient = GrpcClient<typeof AuthDefinition>;

const FROM_WIRE: Record<number, PermissionType> = { 0: 'read', 1: 'write', 2: 'readwrite' };

/**
 * etcd's authentication and role-based access, as `client.auth`: turning it on and off, users,
 * roles and their key-range permissions.
 *
 * @example
 * ```ts
 * await client.auth.addUser('root', rootPassword);
 * await client.auth.grantRole('root', 'root');
 * await client.auth.addRole('app');
 * await client.auth.grantPermission('app', 'readwrite', { prefix: 'app/' });
 * await client.auth.addUser('app', appPassword);
 * await client.auth.grantRole('app', 'app');
 * await client.auth.enable();
 * ```
 */
export class Auth {
  readonly #conns: Connections;
  /** @internal */
  constructor(conns: Connections) {
    this.#conns = conns;
  }

  #client(i: number): AuthClient {
    return this.#conns.client(AuthDefinition, i);
  }

  #write<T>(opts: CallOptions | undefined, call: (c: AuthClient, signal: AbortSignal) => Promise<T>) {
    return this.#conns.unary('write', opts, (i, signal) => call(this.#client(i), signal));
  }

  #read<T>(opts: CallOptions | undefined, call: (c: AuthClient, signal: AbortSignal) => Promise<T>) {
    return this.#conns.unary('read', opts, (i, signal) => call(this.#client(i), signal));
  }

  /** Turns auth on: needs a `root` user with the `root` role. */
  async enable(opts?: CallOptions): Promise<void> {
    await this.#write(opts, (c, signal) => c.authEnable({}, { signal }));
  }

  /** Turns auth off (needs the root role). */
  async disable(opts?: CallOptions): Promise<void> {
    await this.#write(opts, (c, signal) => c.authDisable({}, { signal }));
  }

  /** Whether auth is on, and the auth store's revision (it moves with every auth change). */
  async status(opts?: CallOptions): Promise<{
    /** Whether auth is on. */
    enabled: boolean;
    /** The auth store's revision. */
    revision: bigint;
  }> {
    const r = await this.#read(opts, (c, signal) => c.authStatus({}, { signal }));
    return { enabled: r.enabled, revision: r.authRevision };
  }

  /** Adds a user; `{ noPassword: true }` makes one that only a TLS certificate can authenticate. */
  async addUser(
    name: string,
    password: string,
    opts?: CallOptions & { noPassword?: boolean },
  ): Promise<void> {
    const options = { noPassword: opts?.noPassword ?? false };
    await this.#write(opts, (c, signal) => c.userAdd({ name, password, options }, { signal }));
  }

  /** Deletes a user. */
  async deleteUser(name: string, opts?: CallOptions): Promise<void> {
    await this.#write(opts, (c, signal) => c.userDelete({ name }, { signal }));
  }

  /** Sets a user's password. */
  async changePassword(name: string, password: string, opts?: CallOptions): Promise<void> {
    await this.#write(opts, (c, signal) => c.userChangePassword({ name, password }, { signal }));
  }

  /** The user's roles. */
  async getUser(name: string, opts?: CallOptions): Promise<string[]> {
    return (await this.#read(opts, (c, signal) => c.userGet({ name }, { signal }))).roles;
  }

  /** Every user's name. */
  async users(opts?: CallOptions): Promise<string[]> {
    return (await this.#read(opts, (c, signal) => c.userList({}, { signal }))).users;
  }

  /** Gives a user a role. */
  async grantRole(user: string, role: string, opts?: CallOptions): Promise<void> {
    await this.#write(opts, (c, signal) => c.userGrantRole({ user, role }, { signal }));
  }

  /** Takes a role from a user. */
  async revokeRole(user: string, role: string, opts?: CallOptions): Promise<void> {
    await this.#write(opts, (c, signal) => c.userRevokeRole({ name: user, role }, { signal }));
  }

  /** Adds a role with no permissions. */
  async addRole(name: string, opts?: CallOptions): Promise<void> {
    await this.#write(opts, (c, signal) => c.roleAdd({ name }, { signal }));
  }

  /** Deletes a role. */
  async deleteRole(name: string, opts?: CallOptions): Promise<void> {
    await this.#write(opts, (c, signal) => c.roleDelete({ role: name }, { signal }));
  }

  /** The role's permissions, sorted by key. */
  async getRole(name: string, opts?: CallOptions): Promise<Permission[]> {
    const r = await this.#read(opts, (c, signal) => c.roleGet({ role: name }, { signal }));
    return r.perm.map((p) => ({ type: FROM_WIRE[p.permType] ?? 'read', key: p.key, end: p.rangeEnd }));
  }

  /** Every role's name. */
  async roles(opts?: CallOptions): Promise<string[]> {
    return (await this.#read(opts, (c, signal) => c.roleList({}, { signal }))).roles;
  }

  /** Grants `type` on a key or range (`'k'`, `{ prefix }`, `{ fromKey }`, `{ key, end }`). */
  async grantPermission(
    role: string,
    type: PermissionType,
    range: KeyRange,
    opts?: CallOptions,
  ): Promise<void> {
    const { key, rangeEnd } = ROOT.range(range);
    await this.#write(opts, (c, signal) =>
      c.roleGrantPermission({ name: role, perm: { permType: TO_WIRE[type], key, rangeEnd } }, { signal }),
    );
  }

  /** Revokes the permission granted on exactly this key or range. */
  async revokePermission(role: string, range: KeyRange, opts?: CallOptions): Promise<void> {
    const { key, rangeEnd } = ROOT.range(range);
    await this.#write(opts, (c, signal) => c.roleRevokePermission({ role, key, rangeEnd }, { signal }));
  }
}
