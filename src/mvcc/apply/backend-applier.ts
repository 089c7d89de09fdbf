/**
 * The last applier of the chain (etcd's applierV3backend): every kind of request applied to the
 * keyspace, the lessor, the alarms and the auth store, with etcd's semantics. It checks the
 * request and the state it needs; who may send it is the AuthApplier's rule, space the
 * QuotaApplier's.
 */
import type { ResponseHeader } from '../../gen/etcdserverpb/rpc.js';
import { header, num } from '../convert.js';
import { CompactedError, FutureRevisionError } from '../errors.js';
import { applyRange, checkRangeRequest } from '../kv/range.js';
import { applyTxnOps, checkTxnPath, compareToPath, isReadOnlyTxn, validateTxn } from '../kv/txn.js';
import {
  applyDeleteRange,
  applyPut,
  checkDeleteRequest,
  checkPutRequest,
  checkPutState,
} from '../kv/write-ops.js';
import type { Applier, ApplyContext, Requests as Req, Responses as Res, StateParts } from './applier.js';

/** The answer to a request whose response is its header alone. */
type Done = { header: ResponseHeader };

export class BackendApplier implements Applier {
  readonly #s: StateParts;

  constructor(parts: StateParts) {
    this.#s = parts;
  }

  #done(): Done {
    return { header: header(this.#s.kv.currentRev) };
  }

  range(r: Req['range']): Res['range'] {
    checkRangeRequest(r);
    return applyRange(this.#s.kv, r);
  }

  put(r: Req['put']): Res['put'] {
    const { kv, lessor, watches } = this.#s;
    checkPutRequest(r);
    checkPutState(kv, lessor, r, false);
    const w = kv.beginWrite();
    const resp = applyPut(w, kv, r);
    w.end();
    watches.notify(w.changes);
    return resp;
  }

  deleteRange(r: Req['deleteRange']): Res['deleteRange'] {
    const { kv, watches } = this.#s;
    checkDeleteRequest(r);
    const w = kv.beginWrite();
    const resp = applyDeleteRange(w, r);
    w.end();
    watches.notify(w.changes);
    return resp;
  }

  txn(r: Req['txn']): Res['txn'] {
    const { kv, lessor, watches } = this.#s;
    validateTxn(r, this.#s.maxTxnOps);
    const write = !isReadOnlyTxn(r);
    const path = compareToPath(kv, r);
    checkTxnPath(kv, lessor, r, path, write);
    if (!write) return applyTxnOps(undefined, kv, r, path);
    const w = kv.beginWrite();
    const resp = applyTxnOps(w, kv, r, path);
    watches.notify(w.changes);
    return resp;
  }

  compaction(r: Req['compaction']): Res['compaction'] {
    const kv = this.#s.kv;
    const rev = num(r.revision);
    if (rev <= kv.compactRev) throw new CompactedError();
    if (rev > kv.currentRev) throw new FutureRevisionError();
    kv.compact(rev);
    return this.#done();
  }

  leaseGrant(r: Req['leaseGrant'], ctx: ApplyContext): Res['leaseGrant'] {
    const l = this.#s.lessor.grant(r.ID, num(r.TTL), ctx.nowMs);
    return { ...this.#done(), ID: l.id, TTL: BigInt(l.ttl), error: '' };
  }

  leaseRevoke(r: Req['leaseRevoke']): Res['leaseRevoke'] {
    const { kv, lessor, watches } = this.#s;
    const keys = lessor.revoke(r.ID);
    // All attached keys go in one revision, in key order (the same on every member).
    const w = kv.beginWrite();
    for (const key of keys) w.deleteRange(key, undefined);
    w.end();
    watches.notify(w.changes);
    return this.#done();
  }

  leaseCheckpoint(r: Req['leaseCheckpoint']): Res['leaseCheckpoint'] {
    for (const cp of r.checkpoints) this.#s.lessor.checkpoint(cp.ID, num(cp.remainingTTL));
    return this.#done();
  }

  alarm(r: Req['alarm']): Res['alarm'] {
    return this.#s.alarms.apply(r, this.#s.kv.currentRev);
  }

  // The auth requests: each changes the auth store (which raises etcd's errors).
  readonly authEnable = this.#authChange(() => this.#s.auth.enable());
  readonly authDisable = this.#authChange(() => this.#s.auth.disable());
  readonly authUserAdd = this.#authChange((r: Req['authUserAdd']) => this.#s.auth.userAdd(r));
  readonly authUserDelete = this.#authChange((r: Req['authUserDelete']) => this.#s.auth.userDelete(r.name));
  readonly authUserChangePassword = this.#authChange((r: Req['authUserChangePassword']) =>
    this.#s.auth.userChangePassword(r),
  );
  readonly authUserGrantRole = this.#authChange((r: Req['authUserGrantRole']) =>
    this.#s.auth.userGrantRole(r),
  );
  readonly authUserRevokeRole = this.#authChange((r: Req['authUserRevokeRole']) =>
    this.#s.auth.userRevokeRole(r),
  );
  readonly authRoleAdd = this.#authChange((r: Req['authRoleAdd']) => this.#s.auth.roleAdd(r.name));
  readonly authRoleDelete = this.#authChange((r: Req['authRoleDelete']) => this.#s.auth.roleDelete(r.role));
  readonly authRoleGrantPermission = this.#authChange((r: Req['authRoleGrantPermission']) =>
    this.#s.auth.roleGrantPermission(r),
  );
  readonly authRoleRevokePermission = this.#authChange((r: Req['authRoleRevokePermission']) =>
    this.#s.auth.roleRevokePermission(r),
  );

  authenticate(r: Req['authenticate']): Res['authenticate'] {
    return { ...this.#done(), token: this.#s.auth.authenticate(r.name, r.simpleToken) };
  }

  /** An auth request's method: the change, then the header as the answer. */
  #authChange<R>(change: (r: R) => void): (r: R) => Done {
    return (r) => {
      change(r);
      return this.#done();
    };
  }
}
