/**
 * The auth rules in front of the rest (etcd's authApplierV3): a client's request is checked
 * against the permissions of the user who proposed it, at apply, so every member decides alike.
 * The server's own requests carry no credentials and are not checked (etcd runs them as root).
 */
import { checkDeleteAuth, checkLeasePuts, checkPutAuth, checkTxnAuth } from '../auth/auth-check.js';
import type { AuthInfo } from '../auth/auth-store.js';
import {
  type Applier,
  type ApplyContext,
  type AuthKind,
  KINDS,
  type Kind,
  type Requests,
  type StateParts,
} from './applier.js';
import { forward, PassThroughApplier } from './pass-through-applier.js';

type Parts = Pick<StateParts, 'auth' | 'lessor'>;

/** etcd's needAdminPermission: every auth request but Authenticate needs the root role. */
const ADMIN_KINDS = KINDS.filter((k): k is AuthKind => k.startsWith('auth') && k !== 'authenticate');

export class AuthApplier extends PassThroughApplier {
  static {
    /** `kind` needs `permit` to pass for the user who proposed it, when auth is on. */
    const rule = <K extends Kind>(kind: K, permit: (s: Parts, who: AuthInfo, r: Requests[K]) => void) =>
      forward(AuthApplier, kind, (self, r, ctx) => {
        const who = self.#who(ctx);
        if (who) permit(self.#s, who, r);
      });
    // Writes need write permission on their keys (and read permission where they return the
    // previous values); revoking a lease deletes its keys.
    rule('put', (s, who, r) => checkPutAuth(s.auth, s.lessor, who, r));
    rule('deleteRange', (s, who, r) => checkDeleteAuth(s.auth, who, r));
    rule('txn', (s, who, r) => checkTxnAuth(s.auth, s.lessor, who, r));
    rule('leaseRevoke', (s, who, r) => checkLeasePuts(s.auth, s.lessor, who, r.ID));
    for (const kind of ADMIN_KINDS) rule(kind, (s, who) => s.auth.isAdminPermitted(who));
  }

  readonly #s: Parts;

  constructor(next: Applier, parts: Parts) {
    super(next);
    this.#s = parts;
  }

  /** The credentials to check, or undefined when nothing is to be checked. */
  #who(ctx: ApplyContext): AuthInfo | undefined {
    return ctx.auth !== undefined && this.#s.auth.enabled ? ctx.auth : undefined;
  }
}
