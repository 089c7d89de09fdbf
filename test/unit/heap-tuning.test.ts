import { spawnSync } from 'node:child_process';
import { tuneHeap } from '../../src/server/bootstrap/heap-tuning.js';

describe('tuneHeap', () => {
  test("leaves an operator's own growing factor alone", () => {
    expect(tuneHeap(['--heap-growing-percent=80'], '')).toBe(false);
    expect(tuneHeap([], '--max-old-space-size=4096 --heap_growing_percent=10')).toBe(false);
  });

  test('sets the factor otherwise', () => {
    expect(tuneHeap(['--enable-source-maps'], '--max-old-space-size=4096')).toBe(true);
  });

  test('V8 takes the flag at run time', () => {
    // A flag V8 does not know makes setFlagsFromString print a warning; a known one is silent.
    const r = spawnSync(
      process.execPath,
      ['-e', "require('node:v8').setFlagsFromString('--heap-growing-percent=30'); console.log('ok')"],
      { encoding: 'utf8' },
    );
    expect(r.stdout.trim()).toBe('ok');
    expect(r.stderr).toBe('');
  });
});
