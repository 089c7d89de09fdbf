/**
 * Semantic versions for the flag rules' `semver…` operators: SemVer 2.0 precedence (prerelease
 * below its release, identifiers compared numerically or by ASCII, build metadata ignored), from
 * npm's `semver` rather than a parser of our own. Pure: runs in browsers.
 */
import type { SemVer } from 'semver';
import compare from 'semver/functions/compare.js';
import parse from 'semver/functions/parse.js';

/** The rule operators that compare an attribute with a version, in precedence order. */
export const SEMVER_OPS = [
  'semverEq',
  'semverNeq',
  'semverLt',
  'semverLte',
  'semverGt',
  'semverGte',
] as const;
export type SemverOp = (typeof SEMVER_OPS)[number];

export const isSemverOp = (op: string): op is SemverOp => (SEMVER_OPS as readonly string[]).includes(op);

/** A strict SemVer 2.0 version, with an optional leading `v`/`V` (as tags are often written), or undefined. */
export function parseVersion(v: unknown): SemVer | undefined {
  // semver would trim spaces; a version in a definition or a context is taken as written.
  if (typeof v !== 'string' || v.length > 256 || v.trim() !== v) return undefined;
  return parse(v.startsWith('V') ? v.slice(1) : v) ?? undefined;
}

/** Whether `a op b` holds, both already parsed. */
export function semverHolds(op: SemverOp, a: SemVer, b: SemVer): boolean {
  const c = compare(a, b);
  switch (op) {
    case 'semverEq':
      return c === 0;
    case 'semverNeq':
      return c !== 0;
    case 'semverLt':
      return c < 0;
    case 'semverLte':
      return c <= 0;
    case 'semverGt':
      return c > 0;
    case 'semverGte':
      return c >= 0;
  }
}
