/**
 * Per-call cancellation: the caller's AbortSignal and a deadline merged into one signal that
 * is handed to the gRPC call. Listeners and timers are released in `dispose()`; timers are
 * unref'd so a pending deadline never keeps the process alive on its own (the call's socket
 * does, while it is in flight).
 */
import { AbortError } from 'abort-controller-x';
import { ClientClosedError, DeadlineExceededError } from './errors.js';

/**
 * What every call that waits takes: a signal to abort it and a deadline.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * const kv = await client.get('config', { signal: ac.signal, timeoutMs: 2_000 });
 * ```
 */
export interface CallOptions {
  /** Aborting rejects the call with an AbortError and cancels it on the wire. */
  signal?: AbortSignal;
  /** Deadline for this call in milliseconds; overrides the client's `timeoutMs`. 0 = none. */
  timeoutMs?: number;
}

export class CallScope {
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  readonly #parent: AbortSignal | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #onParentAbort = () => this.#controller.abort(this.#parent?.reason);
  readonly #closeSignal: AbortSignal | undefined;
  readonly #onClose = () => {
    if (this.signal.aborted) return;
    this.#closed = true;
    this.#controller.abort(this.#closeSignal?.reason);
  };
  #timedOut = false;
  #closed = false;
  readonly timeoutMs: number;

  /**
   * `closeSignal` is the client's: closing the client ends the call with a ClientClosedError.
   * (Closing grpc-js channels does not end calls already in flight on them: without this, a
   * call pending at close() hung until its deadline, or forever with none, holding the process.)
   */
  constructor(opts: CallOptions | undefined, defaultTimeoutMs: number, closeSignal?: AbortSignal) {
    this.signal = this.#controller.signal;
    this.#parent = opts?.signal;
    this.#closeSignal = closeSignal;
    this.timeoutMs = opts?.timeoutMs ?? defaultTimeoutMs;
    if (this.#parent) {
      if (this.#parent.aborted) this.#controller.abort(this.#parent.reason);
      else this.#parent.addEventListener('abort', this.#onParentAbort, { once: true });
    }
    if (closeSignal && !this.signal.aborted) {
      if (closeSignal.aborted) this.#onClose();
      else closeSignal.addEventListener('abort', this.#onClose, { once: true });
    }
    if (this.timeoutMs > 0 && !this.signal.aborted) {
      this.#timer = setTimeout(() => {
        if (this.signal.aborted) return;
        this.#timedOut = true;
        this.#controller.abort(new DeadlineExceededError(`deadline of ${this.timeoutMs} ms exceeded`));
      }, this.timeoutMs);
      this.#timer.unref?.();
    }
  }

  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** Throws the right error if the scope is already over (between retries). */
  throwIfAborted(): void {
    if (this.signal.aborted) throw this.abortError();
  }

  /** The error a call cut short by this scope should reject with. */
  abortError(): Error {
    if (this.#timedOut) return this.signal.reason as Error;
    if (this.#closed) return new ClientClosedError('client is closed');
    return abortErrorOf(this.#parent);
  }

  dispose(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#parent?.removeEventListener('abort', this.#onParentAbort);
    this.#closeSignal?.removeEventListener('abort', this.#onClose);
  }
}

/** The AbortError for a call the user's `signal` ended; the signal's reason becomes its cause. */
export function abortErrorOf(signal: AbortSignal | undefined): Error {
  const reason = signal?.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  const err = new AbortError();
  if (reason !== undefined) (err as { cause?: unknown }).cause = reason;
  return err;
}

/**
 * Sleeps `ms`, rejecting early when `signal` aborts. The timer holds the process (a retry is
 * work someone is waiting for) unless `unref` is set.
 */
export function delay(ms: number, signal?: AbortSignal, unref = false): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (unref) t.unref?.();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
