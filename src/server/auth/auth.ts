/**
 * A member's side of auth (etcd's auth store minus its replicated part, which lives in
 * src/mvcc/auth/auth-store.ts): password hashing before a user is proposed, password checks
 * before a token is, the simple-token provider with its TTL, and the credentials of each call.
 *
 * Passwords are hashed with bcrypt (the `bcryptjs` package: pure JavaScript, no native build,
 * the same algorithm etcd uses via golang.org/x/crypto/bcrypt) at --bcrypt-cost. Hashing happens
 * on the member receiving the request, so the applied entry carries the hash and apply stays
 * deterministic — as etcd 3.5 does with hashedPassword.
 *
 * Simple tokens (etcd's tokenSimple): 16 random letters, a dot and a per-member counter, drawn
 * by the member that checked the password and applied on every member through the log, so any
 * member accepts them. Each use pushes the expiry --auth-token-ttl further; deleting the user,
 * changing their password or disabling auth drops their tokens. Other changes to users, roles or
 * permissions leave tokens alone: as etcd's tokenSimple, a token names its user and each request
 * is checked against that user's roles at the store's current auth revision, so a revoked
 * permission is refused at once and a granted one works at once. (JWTs carry the revision they
 * were signed at, and are refused as old once the store moves on: auth-jwt.ts.) Clients refresh
 * on "invalid auth token" (clientv3, the etcd3 npm client, our SDK). Tokens are never logged.
 */
import { randomInt } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { Metadata } from 'nice-grpc-common';
import {
  AuthFailedError,
  type AuthInfo,
  InvalidAuthTokenError,
  type StateMachine,
  type TokenEvent,
} from '../../mvcc/index.js';
import type { JwtTokens } from './auth-jwt.js';
import { CERT_USER_KEY } from './cert-users.js';

/** etcd's TokenFieldNameGRPC and TokenFieldNameSwagger (the gateway's Authorization header). */
export const TOKEN_METADATA_KEYS = ['token', 'authorization'] as const;
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** Expired tokens are swept when this many have been assigned since the last sweep. */
const SWEEP_EVERY = 1024;

/** The simple-token table of one member. */
export class SimpleTokens {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #tokens = new Map<string, { username: string; expiresAt: number }>();
  #sinceSweep = 0;

  constructor(ttlMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  get size(): number {
    return this.#tokens.size;
  }

  /** The store's token events, as it applies them. */
  handle = (ev: TokenEvent): void => {
    switch (ev.type) {
      case 'enable':
        return;
      case 'disable':
        this.#tokens.clear();
        return;
      case 'invalidateUser':
        for (const [t, v] of this.#tokens) if (v.username === ev.username) this.#tokens.delete(t);
        return;
      case 'assign':
        // A JWT authentication logs no token.
        if (ev.token === '') return;
        if (++this.#sinceSweep >= SWEEP_EVERY) this.#sweep();
        this.#tokens.set(ev.token, { username: ev.username, expiresAt: this.#now() + this.#ttlMs });
        return;
    }
  };

  /**
   * The user a live token belongs to (its expiry pushed back), or undefined. Whether auth is on
   * is the store's to say (it may have come with a snapshot, with no event).
   */
  user(token: string): string | undefined {
    const t = this.#tokens.get(token);
    if (!t) return undefined;
    const now = this.#now();
    if (t.expiresAt <= now) {
      this.#tokens.delete(token);
      return undefined;
    }
    t.expiresAt = now + this.#ttlMs;
    return t.username;
  }

  #sweep(): void {
    this.#sinceSweep = 0;
    const now = this.#now();
    for (const [t, v] of this.#tokens) if (v.expiresAt <= now) this.#tokens.delete(t);
  }
}

export interface ServerAuthOptions {
  bcryptCost: number;
  tokenTtlSec: number;
  /** --auth-token jwt: the loaded keys (simple tokens otherwise). */
  jwt?: JwtTokens;
}

export class ServerAuth {
  readonly tokens: SimpleTokens;
  readonly #sm: StateMachine;
  readonly #cost: number;
  readonly #jwt: JwtTokens | undefined;
  #counter = 0;

  constructor(sm: StateMachine, opts: ServerAuthOptions) {
    this.#sm = sm;
    this.#cost = opts.bcryptCost;
    this.#jwt = opts.jwt;
    this.tokens = new SimpleTokens(opts.tokenTtlSec * 1000);
    sm.auth.onToken = this.tokens.handle;
  }

  get enabled(): boolean {
    return this.#sm.auth.enabled;
  }

  /** bcrypt hash of a password (off the event loop's critical path: bcryptjs yields). */
  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.#cost);
  }

  /** Checks a user's password; AuthNotEnabled / AuthFailed as etcd answers. */
  async checkPassword(name: string, password: string): Promise<void> {
    const hash = this.#sm.auth.passwordHash(name);
    if (!(await bcrypt.compare(password, hash))) throw new AuthFailedError();
  }

  /** What an Authenticate entry carries: a fresh simple token, or nothing with JWT (signed after). */
  newToken(): string {
    if (this.#jwt) return '';
    let s = '';
    for (let i = 0; i < 16; i++) s += LETTERS[randomInt(LETTERS.length)];
    return `${s}.${++this.#counter}`;
  }

  /** The token an applied Authenticate answers: the one in the entry, or a JWT signed now (etcd). */
  async tokenFor(name: string, logged: string): Promise<string> {
    return this.#jwt ? this.#jwt.sign(name, this.#sm.auth.revision) : logged;
  }

  /**
   * The credentials a call carries: undefined when auth is off or no token was sent (checks
   * then answer "user name is empty"); InvalidAuthToken for a token this member does not know.
   * A simple token is checked at the store's auth revision now (etcd's tokenSimple.info); a JWT
   * at the revision it was signed at.
   */
  async infoOf(metadata: Metadata | undefined): Promise<AuthInfo | undefined> {
    if (!this.#sm.auth.enabled || !metadata) return undefined;
    let token: string | undefined;
    for (const k of TOKEN_METADATA_KEYS) {
      const v = metadata.get(k);
      if (typeof v === 'string') {
        token = v;
        break;
      }
    }
    if (token === undefined) {
      // etcd's AuthInfoFromTLS: no token, a verified client certificate names the user.
      const cn = metadata.get(CERT_USER_KEY);
      return typeof cn === 'string' ? { username: cn, revision: this.#sm.auth.revision } : undefined;
    }
    if (this.#jwt) {
      const info = await this.#jwt.info(token);
      // A token of a user deleted since: etcd's JWT provider trusts the signature, the checks
      // then find no such user and deny.
      if (info === undefined) throw new InvalidAuthTokenError();
      return info;
    }
    const username = this.tokens.user(token);
    if (username === undefined) throw new InvalidAuthTokenError();
    return { username, revision: this.#sm.auth.revision };
  }

  /**
   * What a client's write carries into the log: its credentials when auth is on (empty ones
   * when it sent no token, refused at apply as etcd does), nothing when auth is off.
   */
  async proposal(metadata: Metadata | undefined): Promise<AuthInfo | undefined> {
    if (!this.#sm.auth.enabled) return undefined;
    return (await this.infoOf(metadata)) ?? { username: '', revision: 0 };
  }
}
