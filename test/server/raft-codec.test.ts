/**
 * The raft stream's codec: every field the core reads survives the trip through the peer wire
 * format, so a field added to the core's Message cannot be dropped on the way to a follower.
 */
import { MessageBatch } from '../../src/gen/concord/raftpb.js';
import { type Message, message } from '../../src/raft/index.js';
import { fromPbMessage, toPbMessage } from '../../src/transport/codec.js';

function roundTrip(m: Message): Message {
  const bytes = MessageBatch.encode({ clusterId: 1n, from: m.from, messages: [toPbMessage(m)] }).finish();
  return fromPbMessage(MessageBatch.decode(bytes).messages[0]!);
}

test.each([true, false])('a MsgApp keeps every field (commitOnly %s)', (commitOnly) => {
  const m = message({
    type: 'MsgApp',
    to: 2n,
    from: 1n,
    term: 7,
    logTerm: 6,
    index: 41,
    entries: [{ term: 7, index: 42, type: 'normal', data: new Uint8Array([1, 2, 3]) }],
    commit: 40,
    commitOnly,
  });
  const back = roundTrip(m);
  expect({ ...back, entries: back.entries.map((e) => ({ ...e, data: [...e.data] })) }).toEqual({
    ...m,
    entries: [{ term: 7, index: 42, type: 'normal', data: [1, 2, 3] }],
  });
});

test('a rejection keeps its hint', () => {
  const m = message({
    type: 'MsgAppResp',
    to: 1n,
    from: 2n,
    term: 7,
    index: 44,
    reject: true,
    rejectHint: 40,
    logTerm: 5,
  });
  expect(roundTrip(m)).toEqual(m);
});
