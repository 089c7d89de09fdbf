/**
 * The order the Ready step keeps, port by port: the one raw-node.ts's host contract states for
 * production (a leader sends first, apply before the write, a follower sends after it), and
 * the one the mutation follower-ack-before-persist breaks. The simulator's seeds check that this
 * order is safe (test/sim/host-order.test.ts); this pins the order itself.
 */
import {
  type Entry,
  type HardState,
  message,
  type Ready,
  type Snapshot,
  type SoftState,
} from '../../../src/raft/index.js';
import { type ReadyPorts, ReadyStep } from '../../../src/server/raft/ready-step.js';

const entry = (index: number): Entry => ({ term: 2, index, type: 'normal', data: new Uint8Array([index]) });
const hs = (commit: number): HardState => ({ term: 2, vote: 1n, commit });

function ready(over: Partial<Ready>): Ready {
  return {
    readStates: [],
    entries: [],
    committedEntries: [],
    messages: [],
    mustSync: false,
    ...over,
  };
}

/** Ports that log each call; `save` and `install` return a token to wait on. */
function recorder(): { ports: ReadyPorts<string>; calls: string[] } {
  const calls: string[] = [];
  const ports: ReadyPorts<string> = {
    log: {
      save: (h, es) => {
        calls.push(`save ${h ? `commit=${h.commit}` : 'no-hard-state'} entries=${es.length}`);
        return 'fsync';
      },
      append: (es) => calls.push(`append ${es.length}`),
      setHardState: (h) => calls.push(`setHardState commit=${h.commit}`),
    },
    transport: {
      send: (ms) => calls.push(`send ${ms.map((m) => m.type).join(',')}`),
      sendAfterAnswers: (ms) => calls.push(`sendAfterAnswers ${ms.map((m) => m.type).join(',')}`),
    },
    applier: {
      apply: (es, now) => calls.push(`apply ${es.map((e) => e.index).join(',')} at ${now}`),
      onReadStates: (rs) => calls.push(`readStates ${rs.length}`),
      serveReads: () => calls.push('serveReads'),
    },
    snapshots: {
      install: (s: Snapshot) => {
        calls.push(`install ${s.metadata.index}`);
        return 'snapshot saved';
      },
      maybeSnapshot: () => calls.push('maybeSnapshot'),
    },
    clock: { now: () => 42 },
    onSoftState: (ss: SoftState) => calls.push(`softState ${ss.role}`),
  };
  return { ports, calls };
}

/** Runs the step to its end, noting each wait. */
function run(step: ReadyStep<string>, rd: Ready, calls: string[]): void {
  const it = step.handle(rd);
  for (let r = it.next(); !r.done; r = it.next()) calls.push(`wait ${r.value}`);
}

const msgs = [message({ type: 'MsgApp', to: 2n, from: 1n, entries: [entry(7)] })];
const snap: Snapshot = {
  data: new Uint8Array(0),
  metadata: {
    index: 5,
    term: 2,
    confState: { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [] },
  },
};

test('a leader sends first (appends without entries once it applied), writes, then snapshots', () => {
  const { ports, calls } = recorder();
  const commit = (to: bigint) => message({ type: 'MsgApp', to, from: 1n, commit: 6 });
  run(
    new ReadyStep(ports),
    ready({
      softState: { lead: 1n, role: 'leader' },
      hardState: hs(6),
      entries: [entry(7)],
      committedEntries: [entry(6)],
      messages: [commit(2n), ...msgs, message({ type: 'MsgHeartbeat', to: 3n, from: 1n }), commit(3n)],
      mustSync: true,
    }),
    calls,
  );
  expect(calls).toEqual([
    'softState leader',
    'send MsgApp,MsgHeartbeat',
    'apply 6 at 42',
    'serveReads',
    // A commit update must not wait for the leader's own write.
    'sendAfterAnswers MsgApp,MsgApp',
    'save commit=6 entries=1',
    'wait fsync',
    'append 1',
    'setHardState commit=6',
    'maybeSnapshot',
  ]);
});

test('a follower installs and applies before its write, and sends only after it', () => {
  const { ports, calls } = recorder();
  run(
    new ReadyStep(ports),
    ready({ snapshot: snap, hardState: hs(5), entries: [entry(6)], messages: msgs, mustSync: true }),
    calls,
  );
  expect(calls).toEqual([
    'install 5',
    'wait snapshot saved',
    'serveReads',
    'save commit=5 entries=1',
    'wait fsync',
    'append 1',
    'setHardState commit=5',
    'send MsgApp',
    'maybeSnapshot',
  ]);
});

test('follower-ack-before-persist: a follower sends before its write', () => {
  const { ports, calls } = recorder();
  run(
    new ReadyStep(ports, { ackBeforePersist: true }),
    ready({ entries: [entry(6)], messages: msgs, mustSync: true }),
    calls,
  );
  expect(calls.indexOf('send MsgApp')).toBeLessThan(calls.indexOf('save no-hard-state entries=1'));
});

test('a commit-only hard state waits for the next write, and is what shutdown still owes', () => {
  const { ports, calls } = recorder();
  const step = new ReadyStep(ports);
  run(step, ready({ hardState: hs(8), committedEntries: [entry(8)] }), calls);
  expect(calls).not.toContain('save commit=8 entries=0');
  expect(step.hardPending?.commit).toBe(8);
  run(step, ready({ entries: [entry(9)], mustSync: true }), calls);
  expect(calls).toContain('save commit=8 entries=1');
  expect(step.hardPending).toBeUndefined();
});
