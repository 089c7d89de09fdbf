import { spawnSync } from 'node:child_process';
import v8 from 'node:v8';
import vm from 'node:vm';
import { heapGrowingPercent, tuneHeap, v8HeapHooks } from '../../src/server/bootstrap/heap-tuning.js';
import { withTimeout } from '../harness/wait.js';

describe('tuneHeap', () => {
  test("leaves an operator's own growing factor alone", () => {
    const hooks = { set: () => {}, live: () => 1, afterFullGc: () => {} };
    expect(tuneHeap(['--heap-growing-percent=80'], '', hooks)).toBe(false);
    expect(tuneHeap([], '--max-old-space-size=4096 --heap_growing_percent=10', hooks)).toBe(false);
  });

  test('sets the factor otherwise', () => {
    const hooks = { set: () => {}, live: () => 1, afterFullGc: () => {} };
    expect(tuneHeap(['--enable-source-maps'], '--max-old-space-size=4096', hooks)).toBe(true);
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

describe('the growing factor follows the live heap', () => {
  const MB = 1024 * 1024;
  test.each([
    [1 * MB, 100],
    [30 * MB, 100],
    [64 * MB, 100],
    [100 * MB, 64],
    [200 * MB, 32],
    [213.4 * MB, 30],
    [600 * MB, 30],
    [0, 100],
  ])('%d live bytes: %d%%', (live, percent) => {
    expect(heapGrowingPercent(live)).toBe(percent);
  });

  test('set at start and after each full collection, only when it changes', () => {
    let live = 20 * MB;
    const set: number[] = [];
    let afterGc = () => {};
    const hooks = {
      set: (p: number) => set.push(p),
      live: () => live,
      afterFullGc: (f: () => void) => (afterGc = f),
    };
    expect(tuneHeap([], '', hooks)).toBe(true);
    expect(set).toEqual([100]);
    live = 25 * MB;
    afterGc();
    expect(set).toEqual([100]);
    live = 400 * MB;
    afterGc();
    live = 128 * MB;
    afterGc();
    expect(set).toEqual([100, 30, 50]);
  });

  test('an operator who set the factor keeps it', () => {
    const set: number[] = [];
    const hooks = { set: (p: number) => set.push(p), live: () => 1, afterFullGc: () => {} };
    expect(tuneHeap(['--heap-growing-percent=80'], '', hooks)).toBe(false);
    expect(set).toEqual([]);
  });

  test("V8's full collections reach the default hook", async () => {
    // --expose-gc at run time gives gc() to new contexts only.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const fired = new Promise<void>((resolve) => v8HeapHooks.afterFullGc(resolve));
    gc();
    await withTimeout(fired, 5000, 'the observer to see a full collection');
    expect(v8HeapHooks.live()).toBeGreaterThan(0);
  });
});
