/**
 * The NOSPACE rules in front of the backend (etcd's quotaApplierV3 and applierV3Capped): a
 * request that costs space is refused while the NOSPACE alarm is active, and a request that
 * would take the keyspace past the quota is refused and raises the alarm (as member 0: raised
 * by the state machine itself, the same on every member). etcd applies such a write and then
 * reports the error; refusing it instead keeps the quota a hard bound.
 */
import { AlarmType } from '../../gen/etcdserverpb/rpc.js';
import { NoSpaceError } from '../errors.js';
import { LEASE_OVERHEAD_BYTES, putCost, txnCost } from '../quota.js';
import type { Applier, StateParts } from './applier.js';
import { forward, PassThroughApplier } from './pass-through-applier.js';

type Parts = Pick<StateParts, 'alarms' | 'kv' | 'quota'>;

export class QuotaApplier extends PassThroughApplier {
  static {
    forward(QuotaApplier, 'put', (self, r) => self.#check(putCost(r)));
    forward(QuotaApplier, 'txn', (self, r) => self.#check(txnCost(r)));
    forward(QuotaApplier, 'leaseGrant', (self) => self.#check(LEASE_OVERHEAD_BYTES));
  }

  readonly #s: Parts;

  constructor(next: Applier, parts: Parts) {
    super(next);
    this.#s = parts;
  }

  #check(cost: number): void {
    const { alarms, kv, quota } = this.#s;
    const refused = quota.refusal(cost, kv.sizeBytes, alarms);
    if (refused === 'quota') alarms.activate(0n, AlarmType.NOSPACE);
    if (refused) throw new NoSpaceError();
  }
}
