/**
 * The error a gateway body is refused with. Every part of the body reader throws this one class,
 * so that the gateway can tell etcd's refusals (answered with etcd's status and Go's message)
 * from its own bugs (answered as gRPC's Internal).
 */

/**
 * Why a body is refused:
 * - `invalid`: etcd's gateway refuses it with `message` (its decoder's error);
 * - `unhandled`: etcd's gateway fails on it without answering (a null element of a repeated
 *   message makes its marshaling panic, and the connection is closed with no response);
 * - `too-deep`: messages nest deeper than MESSAGE_DEPTH_LIMIT (only a txn can).
 */
export type GatewayJsonErrorKind = 'invalid' | 'unhandled' | 'too-deep';

export class GatewayJsonError extends Error {
  readonly code = 'gateway-json';
  constructor(
    readonly kind: GatewayJsonErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayJsonError';
  }
}

/** A refusal with Go's error text, which etcd's gateway answers with 400 and that text. */
export const invalid = (message: string) => new GatewayJsonError('invalid', message);
