/**
 * The simulated disk keeps what production's WAL keeps: a crash loses the write in flight and
 * nothing synced; a later entry at an earlier index replaces the suffix; a snapshot's marker
 * drops the entries behind it (and after it, when the log holds another term at its index); a restart finds the hard state raised to cover the snapshot, as
 * recover.ts raises it.
 */
import { bootstrapSnapshot, type Entry, None } from '../../src/raft/index.js';
import { SimDisk } from './disk.js';

const cs = { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [] };
const e = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array(0) });
const indexes = (d: SimDisk) => d.recover().entries.map((x) => `${x.index}@${x.term}`);

test('a crash loses the write in flight, not what was synced', () => {
  const d = new SimDisk(bootstrapSnapshot(cs), { term: 1, vote: None, commit: 1 });
  d.write({ term: 1, vote: None, commit: 2 }, [e(2, 1), e(3, 1)]);
  d.sync();
  d.write({ term: 2, vote: 1n, commit: 3 }, [e(4, 2)]);
  d.lose();
  expect(indexes(d)).toEqual(['2@1', '3@1']);
  expect(d.recover().hardState).toEqual({ term: 1, vote: None, commit: 2 });
});

test('an entry at an earlier index replaces the suffix', () => {
  const d = new SimDisk(bootstrapSnapshot(cs), { term: 1, vote: None, commit: 1 });
  d.write(undefined, [e(2, 1), e(3, 1), e(4, 1)]);
  d.sync();
  d.write(undefined, [e(3, 2)]);
  d.sync();
  expect(indexes(d)).toEqual(['2@1', '3@2']);
});

test('a snapshot drops the entries behind it and raises the recovered commit', () => {
  const d = new SimDisk(bootstrapSnapshot(cs), { term: 1, vote: None, commit: 1 });
  d.write({ term: 2, vote: None, commit: 2 }, [e(2, 1), e(3, 2), e(4, 2)]);
  d.sync();
  d.saveSnapshot({ data: new Uint8Array([7]), metadata: { index: 3, term: 2, confState: cs } });
  const r = d.recover();
  expect(r.snapshotIndex).toBe(3);
  expect(r.snapshotData).toEqual(new Uint8Array([7]));
  expect(r.entries.map((x) => x.index)).toEqual([4]);
  expect(r.hardState.commit).toBe(3);
});

test("a leader's snapshot over a log of another term drops the entries after it too", () => {
  const d = new SimDisk(bootstrapSnapshot(cs), { term: 1, vote: None, commit: 1 });
  d.write({ term: 1, vote: None, commit: 2 }, [e(2, 1), e(3, 1), e(4, 1), e(5, 1)]);
  d.sync();
  d.saveSnapshot({ data: new Uint8Array([7]), metadata: { index: 3, term: 2, confState: cs } });
  expect(indexes(d)).toEqual([]);
  d.write({ term: 2, vote: None, commit: 3 }, [e(4, 2)]);
  d.sync();
  expect(indexes(d)).toEqual(['4@2']);
});
