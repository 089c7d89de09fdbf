/**
 * Scripted interactions replayed from text files (test/raft/testdata/*.txt), in the manner of
 * etcd raft's datadriven tests. Each `> command` is followed by the expected state of every node
 * after it. When behaviour changes on purpose, rewrite the expectations with
 * `REWRITE=1 npx jest test/raft/interactions` and review the diff.
 *
 * Commands: elect N | propose N DATA | tick N COUNT | tickall COUNT | isolate N... | cut A B |
 * heal | transfer FROM TO | readindex N CTX | restart N | compact N (snapshot at applied, drop log)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { enc, TestNet } from './harness.js';

const DIR = join(__dirname, 'testdata');

function state(net: TestNet): string[] {
  return [...net.nodes.values()].map((n) => {
    const r = n.rn.raft;
    const data = net.appliedData(n.id);
    const reads = n.readStates.map((rs) => `${new TextDecoder().decode(rs.requestCtx)}@${rs.index}`);
    return (
      `${n.id}: ${r.state} term=${r.term} lead=${r.lead} commit=${r.raftLog.committed} applied=[${data.join(',')}]` +
      (reads.length > 0 ? ` reads=[${reads.join(',')}]` : '')
    );
  });
}

function exec(net: TestNet, line: string): void {
  const [cmd, ...args] = line.split(/\s+/);
  const n = (i: number) => Number(args[i]);
  switch (cmd) {
    case 'elect':
      net.elect(n(0));
      break;
    case 'propose':
      net.propose(n(0), args[1]!);
      break;
    case 'tick':
      for (let i = 0; i < n(1); i++) {
        net.tick(n(0));
        net.settle();
      }
      break;
    case 'tickall':
      net.tickAll(n(0));
      break;
    case 'isolate':
      net.isolate(...args.map(Number));
      net.settle();
      break;
    case 'cut':
      net.cut(n(0), n(1));
      break;
    case 'heal':
      net.heal();
      net.settle();
      break;
    case 'transfer':
      net.node(n(0)).rn.transferLeader(BigInt(n(1)));
      net.settle();
      break;
    case 'readindex':
      net.node(n(0)).rn.readIndex(enc(args[1]!));
      net.settle();
      break;
    case 'restart':
      net.restart(n(0));
      net.settle();
      break;
    case 'compact': {
      const node = net.node(n(0));
      const applied = node.rn.raft.raftLog.applied;
      node.storage.createSnapshot(applied, node.rn.raft.trk.confState(), enc('snap'));
      node.storage.compact(applied);
      break;
    }
    default:
      throw new Error(`unknown command: ${line}`);
  }
}

interface Block {
  command: string;
  expected: string[];
}

function parse(text: string): { header: string[]; blocks: Block[] } {
  const header: string[] = [];
  const blocks: Block[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('> ')) blocks.push({ command: line.slice(2).trim(), expected: [] });
    else if (blocks.length === 0) header.push(line);
    else if (line.trim() !== '') blocks[blocks.length - 1]!.expected.push(line);
  }
  return { header, blocks };
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.txt'));

describe('scripted interactions', () => {
  test.each(files)('%s', (file) => {
    const path = join(DIR, file);
    const { header, blocks } = parse(readFileSync(path, 'utf8'));
    // The first header line names the cluster: "nodes V [learners L] [prevote] [checkquorum]".
    const spec = header.find((l) => l.startsWith('nodes '))!.split(/\s+/);
    const voters = Number(spec[1]);
    const learners = spec.includes('learners') ? Number(spec[spec.indexOf('learners') + 1]) : 0;
    const net = new TestNet(
      voters,
      { preVote: spec.includes('prevote'), checkQuorum: spec.includes('checkquorum') },
      learners,
    );
    const actual: Block[] = blocks.map((b) => {
      exec(net, b.command);
      return { command: b.command, expected: state(net) };
    });
    if (process.env.REWRITE) {
      const out = [...header.filter((l, i) => l !== '' || i < header.length - 1), ''];
      for (const b of actual) out.push(`> ${b.command}`, ...b.expected, '');
      writeFileSync(path, out.join('\n'));
      return;
    }
    for (let i = 0; i < blocks.length; i++) {
      expect(`> ${actual[i]!.command}\n${actual[i]!.expected.join('\n')}`).toBe(
        `> ${blocks[i]!.command}\n${blocks[i]!.expected.join('\n')}`,
      );
    }
  });
});
