/**
 * Feature flags decoded: each key under the flags prefix is one JSON definition
 * (recipes/flags-definition.ts). Validity is judged by the recipe's own `flagProblems`, so the
 * dashboard calls invalid exactly what a reader would refuse.
 */
import { type FlagDefinition, flagProblems } from '../../../recipes/index.js';
import type { Entry } from './entry.js';

export interface FlagView {
  name: string;
  /** The definition, when the stored document is valid. */
  definition: FlagDefinition | undefined;
  /** Every problem of an invalid document. */
  problems: string[];
  /** The stored text, as it is. */
  raw: string;
  /** What the flag serves when no rule matches, in words: its value, default variant or split. */
  fallback: string;
  modRevision: string;
}

/** Problems of a document given as text: not JSON, or what `flagProblems` finds. */
export function documentProblems(text: string): { def: unknown; problems: string[] } {
  let def: unknown;
  try {
    def = JSON.parse(text);
  } catch (e) {
    return { def: undefined, problems: [`not JSON: ${(e as Error).message}`] };
  }
  return { def, problems: flagProblems(def) };
}

/** The value served when no rule matches: `value`, a default variant's value, or a split. */
export function fallback(d: FlagDefinition): string {
  if (d.defaultVariant !== undefined)
    return `${d.defaultVariant} = ${JSON.stringify(d.variants?.[d.defaultVariant] ?? null)}`;
  if (d.split !== undefined) return `split ${JSON.stringify(d.split)}`;
  return JSON.stringify(d.value ?? null);
}

/** The value a caller that asks for a flag of this type passes as its own default. */
export const callerDefault = (d: FlagDefinition): unknown =>
  d.value ??
  (d.defaultVariant !== undefined ? d.variants?.[d.defaultVariant] : undefined) ??
  { boolean: false, string: '', number: 0, json: null }[d.type];

export function flagViews(entries: readonly Entry[], prefix: string): FlagView[] {
  return entries
    .filter((e) => e.key.startsWith(prefix) && e.key.length > prefix.length)
    .map((e) => {
      const { def, problems } = documentProblems(e.value);
      return {
        name: e.key.slice(prefix.length),
        definition: problems.length === 0 ? (def as FlagDefinition) : undefined,
        problems,
        fallback: problems.length === 0 ? fallback(def as FlagDefinition) : '',
        raw: e.value,
        modRevision: e.modRevision.toString(),
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}
