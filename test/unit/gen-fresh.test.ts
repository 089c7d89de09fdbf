/**
 * Fails when src/gen/ is stale: regenerates from proto/ into a temp dir with the project's own
 * script (same buf, plugin and options as `npm run proto`) and compares byte for byte.
 * Fix a failure by running `npm run proto` and committing src/gen/.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = process.cwd();
const committed = join(root, 'src', 'gen');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    return entry.isDirectory() ? walk(full) : [full];
  });
}

/** Files under dir as sorted, '/'-separated relative paths. */
function listFiles(dir: string): string[] {
  return walk(dir)
    .map((file) => relative(dir, file).split('\\').join('/'))
    .sort();
}

describe('generated protobuf code', () => {
  let tmp: string;
  let fresh: string;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'concord-gen-fresh-'));
    fresh = join(tmp, 'gen');
    const run = spawnSync(process.execPath, [join(root, 'scripts', 'gen-proto.mjs'), '--out', fresh], {
      cwd: root,
      encoding: 'utf8',
    });
    if (run.status !== 0) {
      throw new Error(`gen-proto failed (status ${run.status}):\n${run.stdout}\n${run.stderr}`);
    }
  });

  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('covers every proto package', () => {
    expect(listFiles(fresh)).toEqual([
      'authpb/auth.ts',
      'concord/raftpb.ts',
      'descriptors.ts',
      'etcdserverpb/rpc.ts',
      'json/authpb/auth.ts',
      'json/etcdserverpb/rpc.ts',
      'json/mvccpb/kv.ts',
      'json/v3electionpb/v3election.ts',
      'json/v3lockpb/v3lock.ts',
      'mvccpb/kv.ts',
      'services.ts',
      'v3electionpb/v3election.ts',
      'v3lockpb/v3lock.ts',
      'wire.ts',
    ]);
  });

  it('has the same file set as the committed src/gen (run `npm run proto`)', () => {
    expect(listFiles(committed)).toEqual(listFiles(fresh));
  });

  it('matches the committed src/gen byte for byte (run `npm run proto`)', () => {
    const stale = listFiles(fresh).filter((file) => {
      let current: string;
      try {
        current = readFileSync(join(committed, file), 'utf8');
      } catch {
        return true;
      }
      return current !== readFileSync(join(fresh, file), 'utf8');
    });
    expect(stale).toEqual([]);
  });
});
