import { EtcdError } from '../../src/core.js';

/**
 * The base of a recipe's error class: an `EtcdError` whose every instance has `code`, and whose
 * `instanceof` holds across package copies (EtcdError brands instances by each class's `CODE`).
 */
export function codedError<C extends string>(code: C) {
  // A class per kind, so that `err.name` and stack traces name the subclass that extends it.
  const cls = class extends EtcdError {
    /** The `code` of this error, stable across releases and package copies. */
    static CODE: C = code;
  };
  return cls;
}
