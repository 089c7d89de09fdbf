/**
 * The base of every applier that sits in front of another (etcd embeds the next applierV3 in
 * quotaApplierV3 and authApplierV3 for the same reason): each kind goes to the next applier
 * unchanged, so a subclass states only its rules, with `forward`, kind by kind.
 */
import { type Applier, type ApplyContext, KINDS, type Kind, type Requests } from './applier.js';

type Method = (r: unknown, ctx: ApplyContext) => unknown;

/** Every method of Applier, set on the prototype below. */
export interface PassThroughApplier extends Applier {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the methods are set on the prototype below
export class PassThroughApplier {
  constructor(readonly next: Applier) {}
}

/**
 * Sets `kind` of an applier class to run `rule` (which throws to refuse the request) and then
 * hand the request to the next applier.
 */
export function forward<T extends PassThroughApplier, K extends Kind>(
  cls: { prototype: T },
  kind: K,
  rule?: (self: T, r: Requests[K], ctx: ApplyContext) => void,
): void {
  const proto = cls.prototype as unknown as Record<Kind, Method>;
  proto[kind] = function (this: T, r, ctx) {
    rule?.(this, r as Requests[K], ctx);
    return (this.next as unknown as Record<Kind, Method>)[kind](r, ctx);
  };
}

for (const kind of KINDS) forward(PassThroughApplier, kind);
