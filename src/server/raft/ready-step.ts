/**
 * The host's handling of one Ready, in the order production uses (see the host contract in
 * src/raft/raw-node.ts for why it is safe): a leader sends first (its appends without entries
 * once the clients are answered); the accepted snapshot is installed and the committed entries
 * applied while this Ready's own entries are still to be written; the entries and hard state
 * are written and synced; the in-memory log takes them; a non-leader sends only then; a
 * snapshot is taken when due; `advance()` closes the cycle.
 *
 * Every effect goes through an injected port, so `concord serve` (WAL, PeerTransport,
 * EntryApplier over the mvcc StateMachine, the system clock) and the simulator (a simulated
 * disk, network and clock) run this same code. Waiting is the host's business: a port that
 * must wait returns a token `W`, which the step yields. Production awaits it (W is a Promise);
 * the simulator resumes the step when its simulated disk says the write is synced, so the
 * order stays a function of the seed.
 */
import type {
  Entry,
  HardState,
  Message,
  RawNode,
  ReadState,
  Ready,
  Snapshot,
  SoftState,
} from '../../raft/index.js';

/** The member's log: durable (the WAL) and in memory (the core's Storage). */
export interface LogPort<W> {
  /** Writes the entries and the hard state in one write and syncs it; a token to wait on, if any. */
  save(hardState: HardState | undefined, entries: Entry[]): W | undefined;
  /** The in-memory log takes entries once they are durable (replacing a conflicting suffix). */
  append(entries: Entry[]): void;
  setHardState(hardState: HardState): void;
}

export interface TransportPort {
  send(messages: Message[]): void;
  /**
   * A leader's appends without entries (commit updates, probes): no client's answer waits on
   * them, so they may leave after the answers this Ready produced. Production sends them a
   * macrotask later, once node:http2 has written those answers; the simulator sends them at once.
   */
  sendAfterAnswers(messages: Message[]): void;
}

export interface ApplyPort {
  /** Applies committed entries in order; `now` is the clock's time (leases). */
  apply(entries: Entry[], now: number): void;
  /** ReadIndex answers, then whatever reads the applied index now allows. */
  onReadStates(readStates: ReadState[]): void;
  serveReads(): void;
}

export interface SnapshotPort<W> {
  /** Installs a snapshot the core accepted (durably, before the state machine adopts it). */
  install(snapshot: Snapshot): W | undefined;
  /** Takes a snapshot of the applied state if one is due (only entries in the log count). */
  maybeSnapshot(): void;
}

export interface ClockPort {
  now(): number;
}

export interface ReadyPorts<W> {
  readonly log: LogPort<W>;
  readonly transport: TransportPort;
  readonly applier: ApplyPort;
  readonly snapshots: SnapshotPort<W>;
  readonly clock: ClockPort;
  /** Lead or role changed (logging, leases, waiters); called before anything else of the Ready. */
  onSoftState(softState: SoftState): void;
}

export interface ReadyStepOptions {
  /**
   * Test builds only (mutation `follower-ack-before-persist`): a non-leader sends its votes and
   * acknowledgements before its write is synced. Production reads it from CONCORD_MUTATION;
   * the simulator sets it per cluster.
   */
  ackBeforePersist?: boolean;
}

export class ReadyStep<W> {
  readonly #ports: ReadyPorts<W>;
  readonly #ackBeforePersist: boolean;
  #leader = false;
  /** Hard state not yet written: a commit-only change needs no sync of its own. */
  #hardPending: HardState | undefined;

  constructor(ports: ReadyPorts<W>, opts: ReadyStepOptions = {}) {
    this.#ports = ports;
    this.#ackBeforePersist = opts.ackBeforePersist === true;
  }

  /** The hard state a clean shutdown still has to write. */
  get hardPending(): HardState | undefined {
    return this.#hardPending;
  }

  /** Takes the core's Ready, handles it and advances; yields whatever the host must wait for. */
  *cycle(raw: RawNode): Generator<W, void, void> {
    const rd = raw.ready();
    yield* this.handle(rd);
    raw.advance(rd);
  }

  *handle(rd: Ready): Generator<W, void, void> {
    const p = this.#ports;
    if (rd.softState) {
      this.#leader = rd.softState.role === 'leader';
      p.onSoftState(rd.softState);
    }
    // A leader's messages do not depend on its own disk: its self-acknowledgement is given by
    // advance(), after the write below. The mutation lets a non-leader promise too early.
    const sendFirst = this.#leader || this.#ackBeforePersist;
    // Two socket writes (the commit to each follower) stood between a quorum's acknowledgement
    // and the client's answer: a leader's empty appends wait for the apply below.
    const [now, afterAnswers] = this.#leader ? splitEmptyAppends(rd.messages) : [rd.messages, undefined];
    if (sendFirst) p.transport.send(now);
    if (rd.snapshot) {
      const w = p.snapshots.install(rd.snapshot);
      if (w !== undefined) yield w;
    }
    // Committed entries are on disk on a quorum already, so they are applied (and their clients
    // answered) while this Ready's own entries are being written, not after (etcd's apply runs
    // beside the raft loop the same way). Waiting would add a whole fsync to every write.
    if (rd.committedEntries.length > 0) p.applier.apply(rd.committedEntries, p.clock.now());
    if (rd.readStates.length > 0) p.applier.onReadStates(rd.readStates);
    p.applier.serveReads();
    // Before the wait below: a commit must not wait for the leader's own write.
    if (afterAnswers) p.transport.sendAfterAnswers(afterAnswers);
    if (rd.hardState) this.#hardPending = rd.hardState;
    if (rd.entries.length > 0 || rd.mustSync) {
      const w = p.log.save(this.#hardPending, rd.entries);
      if (w !== undefined) yield w;
      this.#hardPending = undefined;
    }
    if (rd.entries.length > 0) p.log.append(rd.entries);
    if (rd.hardState) p.log.setHardState(rd.hardState);
    // Votes and acknowledgements promise what was just made durable: only now.
    if (!sendFirst) p.transport.send(rd.messages);
    // After the append: a snapshot's term is looked up in the log.
    p.snapshots.maybeSnapshot();
  }
}

/** The messages other than appends without entries, then those (undefined, and no copy, if none). */
function splitEmptyAppends(ms: Message[]): [Message[], Message[] | undefined] {
  let now: Message[] | undefined;
  let later: Message[] | undefined;
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i]!;
    if (m.type === 'MsgApp' && m.entries.length === 0) {
      if (!later) {
        later = [];
        now = ms.slice(0, i);
      }
      later.push(m);
    } else now?.push(m);
  }
  return [now ?? ms, later];
}
