/**
 * The applier chain and the way into it. A request passes the AuthApplier (who may send it),
 * then the QuotaApplier (whether it fits), then the BackendApplier (what it does), the order of
 * etcd's authApplierV3 → quotaApplierV3 → applierV3backend: a refused request changes nothing.
 */
import {
  type Applier,
  type ApplyContext,
  KINDS,
  type MvccRequest,
  type ResponseOf,
  type StateParts,
} from './applier.js';
import { AuthApplier } from './auth-applier.js';
import { BackendApplier } from './backend-applier.js';
import { QuotaApplier } from './quota-applier.js';

export function applierChain(parts: StateParts): Applier {
  return new AuthApplier(new QuotaApplier(new BackendApplier(parts), parts), parts);
}

const IS_KIND = new Set<string>(KINDS);

/** Hands a request to the applier's method for its kind. */
export function dispatch<R extends MvccRequest>(applier: Applier, req: R, ctx: ApplyContext): ResponseOf<R> {
  const fields = req as Record<string, unknown>;
  for (const kind in fields) {
    const r = fields[kind];
    if (r !== undefined && r !== null && IS_KIND.has(kind)) {
      const method = applier[kind as keyof Applier] as (r: unknown, ctx: ApplyContext) => unknown;
      return method.call(applier, r, ctx) as ResponseOf<R>;
    }
  }
  throw new TypeError('mvcc: empty request');
}
