/**
 * A recipe's name is the key (or the prefix) it keeps its state under: it must be a non-empty
 * string, checked before any request is made.
 */
export function checkRecipeName(what: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`${what} name must be a non-empty string, got ${JSON.stringify(name)}`);
  }
}
