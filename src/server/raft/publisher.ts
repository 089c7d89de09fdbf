/**
 * etcd's publish: a member records its name and client URLs in the replicated member list once
 * it knows a leader, and serves clients only after (a member list read right after start must
 * list it with its URLs). A publish forwarded while peer links are still coming up can be lost
 * on the way: it is tried again after two election timeouts rather than a whole request timeout,
 * and publishing the same attributes twice is harmless.
 */
import type { Membership } from './membership.js';

export interface PublishHost {
  readonly membership: Membership;
  readonly memberId: bigint;
  readonly name: string;
  readonly clientUrls: string[];
  readonly electionMs: number;
  /** Proposes the publication; resolves once it is applied here. */
  propose(timeoutMs: number): Promise<unknown>;
  closed(): boolean;
}

export class Publisher {
  readonly #host: PublishHost;
  #done = false;
  #inFlight = false;
  #onPublished!: () => void;
  /** Resolves once this member's name and client URLs are in the replicated membership. */
  readonly published = new Promise<void>((r) => {
    this.#onPublished = r;
  });

  constructor(host: PublishHost) {
    this.#host = host;
  }

  /** Publishes unless done or under way (called whenever a leader is known). */
  publish(): void {
    const h = this.#host;
    if (this.#done || this.#inFlight || h.closed()) return;
    const me = h.membership.members.get(h.memberId);
    if (me && me.name === h.name && sameList(me.clientUrls, h.clientUrls)) {
      this.#finish();
      return;
    }
    this.#inFlight = true;
    h.propose(2 * h.electionMs)
      .then(
        () => this.#finish(),
        () => {},
      )
      .finally(() => {
        this.#inFlight = false;
        if (!this.#done && !h.closed()) setTimeout(() => this.publish(), 500).unref();
      });
  }

  #finish(): void {
    this.#done = true;
    this.#onPublished();
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
