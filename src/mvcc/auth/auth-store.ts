/**
 * The auth store (etcd's auth/store.go): users, roles, key-range permissions, the enabled flag
 * and the auth revision. Replicated: it changes only through applied auth requests, and it is
 * part of the snapshot (not of HashKV, as in etcd). Pure and deterministic: passwords arrive
 * already hashed (the member receiving the request hashes before proposing, as etcd 3.5 does),
 * and simple tokens arrive already drawn; the store only records and checks.
 *
 * Tokens live outside (their TTL is a member's clock): the host registers `onToken` and hears
 * which token was assigned to whom, whose tokens die (user deleted, password changed), and when
 * auth is switched on or off.
 */
import { type Permission, Permission_Type } from '../../gen/authpb/auth.js';
import type {
  AuthRoleGetResponse,
  AuthRoleGrantPermissionRequest,
  AuthRoleRevokePermissionRequest,
  AuthUserAddRequest,
  AuthUserChangePasswordRequest,
  AuthUserGrantRoleRequest,
  AuthUserRevokeRoleRequest,
} from '../../gen/etcdserverpb/rpc.js';
import { buf, str } from '../convert.js';
import {
  AuthFailedError,
  AuthNotEnabledError,
  AuthOldRevisionError,
  InvalidAuthMgmtError,
  PermissionDeniedError,
  PermissionNotGivenError,
  PermissionNotGrantedError,
  RoleAlreadyExistError,
  RoleEmptyError,
  RoleNotFoundError,
  RoleNotGrantedError,
  RootRoleNotExistError,
  RootUserNotExistError,
  UserAlreadyExistError,
  UserEmptyError,
  UserNotFoundError,
} from '../errors.js';

export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';

/** Who sent a request, and the auth revision their credentials were checked at. */
export interface AuthInfo {
  username: string;
  revision: number;
}

export interface AuthUser {
  name: string;
  /** The bcrypt hash ('' for a user added with no password). */
  password: string;
  /** Sorted. */
  roles: string[];
  noPassword: boolean;
}

export interface AuthPermission {
  type: Permission_Type;
  /** latin1 strings (bytewise order), as the keyspace holds keys. */
  key: string;
  rangeEnd: string;
}

export interface AuthRole {
  name: string;
  /** Sorted by key. */
  perms: AuthPermission[];
}

export type TokenEvent =
  /**
   * `revision`: the store's at issue. A simple token does not keep it: as etcd's, it is good
   * until its TTL, its user's deletion or password change, or auth disabled, and each request
   * is checked at the store's revision then.
   */
  | { type: 'assign'; token: string; username: string; revision: number }
  | { type: 'invalidateUser'; username: string }
  | { type: 'enable' }
  | { type: 'disable' };

/** A half-open key interval; `end` null reaches past every key. */
interface Interval {
  begin: string;
  end: string | null;
}

interface MergedPerms {
  read: Interval[];
  write: Interval[];
}

/** etcd's rootPerm: what RoleGet answers for the root role. */
const ROOT_PERM: Permission = {
  permType: Permission_Type.READWRITE,
  key: buf(''),
  rangeEnd: Buffer.from([0]),
};

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class AuthStore {
  enabled = false;
  /** Starts at 1, as etcd commits a revision when it creates the store; 0 means "no user". */
  revision = 1;
  readonly users = new Map<string, AuthUser>();
  readonly roles = new Map<string, AuthRole>();
  /** The host's token provider; called during apply, on every member. */
  onToken: ((ev: TokenEvent) => void) | undefined;
  /** Per-user merged permission intervals (etcd's rangePermCache); dropped on any change. */
  #cache = new Map<string, MergedPerms>();

  #commit(): void {
    this.revision++;
    this.#cache.clear();
  }

  // --- applied requests ---------------------------------------------------------------------

  enable(): void {
    if (this.enabled) return;
    const root = this.users.get(ROOT_USER);
    if (!root) throw new RootUserNotExistError();
    if (!root.roles.includes(ROOT_ROLE)) throw new RootRoleNotExistError();
    this.enabled = true;
    this.#cache.clear();
    this.onToken?.({ type: 'enable' });
  }

  disable(): void {
    if (!this.enabled) return;
    this.enabled = false;
    this.#commit();
    this.onToken?.({ type: 'disable' });
  }

  /** Records a token the proposing member drew for `name` after checking the password. */
  authenticate(name: string, token: string): string {
    if (!this.enabled) throw new AuthNotEnabledError();
    const u = this.users.get(name);
    if (!u || u.noPassword) throw new AuthFailedError();
    this.onToken?.({ type: 'assign', token, username: name, revision: this.revision });
    return token;
  }

  userAdd(r: AuthUserAddRequest): void {
    if (r.name.length === 0) throw new UserEmptyError();
    if (this.users.has(r.name)) throw new UserAlreadyExistError();
    const noPassword = r.options?.noPassword ?? false;
    this.users.set(r.name, {
      name: r.name,
      password: noPassword ? '' : r.hashedPassword,
      roles: [],
      noPassword,
    });
    this.#commit();
  }

  userDelete(name: string): void {
    if (this.enabled && name === ROOT_USER) throw new InvalidAuthMgmtError();
    if (!this.users.delete(name)) throw new UserNotFoundError();
    this.#commit();
    this.onToken?.({ type: 'invalidateUser', username: name });
  }

  userChangePassword(r: AuthUserChangePasswordRequest): void {
    const u = this.users.get(r.name);
    if (!u) throw new UserNotFoundError();
    if (!u.noPassword) u.password = r.hashedPassword;
    this.#commit();
    this.onToken?.({ type: 'invalidateUser', username: r.name });
  }

  userGrantRole(r: AuthUserGrantRoleRequest): void {
    const u = this.users.get(r.user);
    if (!u) throw new UserNotFoundError();
    if (r.role !== ROOT_ROLE && !this.roles.has(r.role)) throw new RoleNotFoundError();
    if (u.roles.includes(r.role)) return;
    u.roles = [...u.roles, r.role].sort(byName);
    this.#commit();
  }

  userRevokeRole(r: AuthUserRevokeRoleRequest): void {
    if (this.enabled && r.name === ROOT_USER && r.role === ROOT_ROLE) throw new InvalidAuthMgmtError();
    const u = this.users.get(r.name);
    if (!u) throw new UserNotFoundError();
    const roles = u.roles.filter((x) => x !== r.role);
    if (roles.length === u.roles.length) throw new RoleNotGrantedError();
    u.roles = roles;
    this.#commit();
  }

  roleAdd(name: string): void {
    if (name.length === 0) throw new RoleEmptyError();
    if (this.roles.has(name)) throw new RoleAlreadyExistError();
    this.roles.set(name, { name, perms: [] });
    this.#commit();
  }

  roleDelete(name: string): void {
    if (this.enabled && name === ROOT_ROLE) throw new InvalidAuthMgmtError();
    if (!this.roles.delete(name)) throw new RoleNotFoundError();
    for (const u of this.users.values()) u.roles = u.roles.filter((x) => x !== name);
    this.#commit();
  }

  roleGrantPermission(r: AuthRoleGrantPermissionRequest): void {
    if (!r.perm) throw new PermissionNotGivenError();
    const role = this.roles.get(r.name);
    if (!role) throw new RoleNotFoundError();
    const key = str(r.perm.key);
    const rangeEnd = str(r.perm.rangeEnd);
    const same = role.perms.find((p) => p.key === key && p.rangeEnd === rangeEnd);
    if (same) same.type = r.perm.permType;
    else {
      role.perms.push({ type: r.perm.permType, key, rangeEnd });
      // Stable sort by key, as etcd's sort.Sort over keys (ties keep insertion order here).
      role.perms.sort((a, b) => byName(a.key, b.key));
    }
    this.#commit();
  }

  roleRevokePermission(r: AuthRoleRevokePermissionRequest): void {
    const role = this.roles.get(r.role);
    if (!role) throw new RoleNotFoundError();
    const key = str(r.key);
    const rangeEnd = str(r.rangeEnd);
    const perms = role.perms.filter((p) => p.key !== key || p.rangeEnd !== rangeEnd);
    if (perms.length === role.perms.length) throw new PermissionNotGrantedError();
    role.perms = perms;
    this.#commit();
  }

  // --- reads ----------------------------------------------------------------------------------

  userGet(name: string): string[] {
    const u = this.users.get(name);
    if (!u) throw new UserNotFoundError();
    return [...u.roles];
  }

  userList(): string[] {
    return [...this.users.keys()].sort(byName);
  }

  roleGet(name: string): Pick<AuthRoleGetResponse, 'perm'> {
    const role = this.roles.get(name);
    if (!role) throw new RoleNotFoundError();
    if (name === ROOT_ROLE) return { perm: [ROOT_PERM] };
    return {
      perm: role.perms.map((p) => ({ permType: p.type, key: buf(p.key), rangeEnd: buf(p.rangeEnd) })),
    };
  }

  roleList(): string[] {
    return [...this.roles.keys()].sort(byName);
  }

  hasRole(user: string, role: string): boolean {
    return this.users.get(user)?.roles.includes(role) ?? false;
  }

  /** The password hash to check against (the caller runs bcrypt); AuthFailed as etcd says it. */
  passwordHash(name: string): string {
    if (!this.enabled) throw new AuthNotEnabledError();
    const u = this.users.get(name);
    if (!u || u.noPassword) throw new AuthFailedError();
    return u.password;
  }

  // --- permission checks (etcd's IsRangePermitted / IsPutPermitted / IsAdminPermitted) --------

  isAdminPermitted(info: AuthInfo | undefined): void {
    if (!this.enabled) return;
    if (!info || info.username === '') throw new UserEmptyError();
    const u = this.users.get(info.username);
    if (!u) throw new UserNotFoundError();
    if (!u.roles.includes(ROOT_ROLE)) throw new PermissionDeniedError();
  }

  /** READ on [key, rangeEnd) — or on key alone when rangeEnd is empty. Bytes as latin1. */
  isRangePermitted(info: AuthInfo | undefined, key: string, rangeEnd: string): void {
    this.#check(info, key, rangeEnd, 'read');
  }

  isPutPermitted(info: AuthInfo | undefined, key: string): void {
    this.#check(info, key, '', 'write');
  }

  isDeleteRangePermitted(info: AuthInfo | undefined, key: string, rangeEnd: string): void {
    this.#check(info, key, rangeEnd, 'write');
  }

  #check(info: AuthInfo | undefined, key: string, rangeEnd: string, kind: 'read' | 'write'): void {
    if (!this.enabled) return;
    if (!info || info.revision === 0) throw new UserEmptyError();
    if (info.revision < this.revision) throw new AuthOldRevisionError();
    const u = this.users.get(info.username);
    if (!u) throw new PermissionDeniedError();
    if (u.roles.includes(ROOT_ROLE)) return;
    const ivls = this.#merged(u)[kind];
    const ok =
      rangeEnd === ''
        ? ivls.some((i) => i.begin <= key && (i.end === null || key < i.end))
        : covers(ivls, key, rangeEnd === '\0' ? null : rangeEnd);
    if (!ok) throw new PermissionDeniedError();
  }

  #merged(u: AuthUser): MergedPerms {
    let m = this.#cache.get(u.name);
    if (m) return m;
    const read: Interval[] = [];
    const write: Interval[] = [];
    for (const name of u.roles) {
      for (const p of this.roles.get(name)?.perms ?? []) {
        const ivl: Interval =
          p.rangeEnd === ''
            ? { begin: p.key, end: `${p.key}\0` }
            : { begin: p.key, end: p.rangeEnd === '\0' ? null : p.rangeEnd };
        if (p.type !== Permission_Type.WRITE) read.push(ivl);
        if (p.type !== Permission_Type.READ) write.push(ivl);
      }
    }
    m = { read: merge(read), write: merge(write) };
    this.#cache.set(u.name, m);
    return m;
  }

  // --- snapshot -------------------------------------------------------------------------------

  /** The replicated state as JSON (snapshot record). */
  toJSON(): unknown {
    return {
      enabled: this.enabled,
      revision: this.revision,
      users: [...this.users.values()],
      roles: [...this.roles.values()],
    };
  }

  /** Becomes the state `toJSON` wrote (tokens of the old state are the host's to drop). */
  load(state: unknown): void {
    const s = state as { enabled: boolean; revision: number; users: AuthUser[]; roles: AuthRole[] };
    this.enabled = s.enabled;
    this.revision = s.revision;
    this.users.clear();
    this.roles.clear();
    for (const u of s.users) this.users.set(u.name, { ...u, roles: [...u.roles] });
    for (const r of s.roles) this.roles.set(r.name, { name: r.name, perms: r.perms.map((p) => ({ ...p })) });
    this.#cache.clear();
  }
}

/** Sorted, with overlapping or touching intervals joined. */
function merge(ivls: Interval[]): Interval[] {
  const valid = ivls
    .filter((i) => i.end === null || i.begin < i.end)
    .sort((a, b) => byName(a.begin, b.begin));
  const out: Interval[] = [];
  for (const i of valid) {
    const last = out[out.length - 1];
    if (last && (last.end === null || i.begin <= last.end)) {
      if (last.end !== null && (i.end === null || i.end > last.end)) last.end = i.end;
    } else out.push({ ...i });
  }
  return out;
}

/** Whether one merged interval holds all of [begin, end). */
function covers(ivls: Interval[], begin: string, end: string | null): boolean {
  return ivls.some((i) => i.begin <= begin && (i.end === null || (end !== null && end <= i.end)));
}
