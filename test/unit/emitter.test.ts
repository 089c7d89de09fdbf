import { EventEmitter } from 'node:events';
import { Emitter } from '../../src/client/emitter.js';

interface Events {
  change: [value: number];
  close: [];
  error: [error: Error];
}

/** The surface both emitters share, so each scenario runs on Node's and on ours. */
type Subject = Pick<
  Emitter<Events>,
  'on' | 'off' | 'once' | 'emit' | 'removeListener' | 'listenerCount' | 'removeAllListeners'
>;

const makers: [string, () => Subject][] = [
  ['node:events', () => new EventEmitter<Events>() as unknown as Subject],
  ['Emitter', () => new Emitter<Events>()],
];

/** Each scenario returns a log; Node's EventEmitter and Emitter must produce the same one. */
const scenarios: Record<string, (e: Subject) => unknown[]> = {
  'listeners run in order, with the arguments, each registration once': (e) => {
    const log: unknown[] = [];
    const a = (v: number) => log.push(`a${v}`);
    e.on('change', a);
    e.on('change', (v) => log.push(`b${v}`));
    e.on('change', a);
    log.push(e.emit('change', 1), e.emit('close'), e.listenerCount('change'));
    return log;
  },
  'once runs one time, and counts until then': (e) => {
    const log: unknown[] = [];
    e.once('change', (v) => log.push(`once${v}`));
    log.push(e.listenerCount('change'));
    e.emit('change', 1);
    e.emit('change', 2);
    log.push(e.listenerCount('change'));
    return log;
  },
  'off removes the latest registration of a function, once() ones too': (e) => {
    const log: unknown[] = [];
    const a = (v: number) => log.push(`a${v}`);
    const b = (v: number) => log.push(`b${v}`);
    e.on('change', a).on('change', b).on('change', a);
    e.off('change', a);
    e.emit('change', 1);
    e.once('close', () => log.push('closed'));
    const c = () => log.push('never');
    e.once('close', c);
    e.removeListener('close', c);
    e.emit('close');
    log.push(e.listenerCount('change'), e.listenerCount('close'));
    return log;
  },
  'a listener added or removed during emit takes effect from the next emit': (e) => {
    const log: unknown[] = [];
    const late = (v: number) => log.push(`late${v}`);
    const victim = (v: number) => log.push(`victim${v}`);
    e.on('change', (v) => {
      log.push(`first${v}`);
      e.on('change', late);
      e.off('change', victim);
    });
    e.on('change', victim);
    e.emit('change', 1);
    e.emit('change', 2);
    return log;
  },
  'removeAllListeners clears one event or all': (e) => {
    const log: unknown[] = [];
    e.on('change', () => log.push('c'));
    e.on('close', () => log.push('x'));
    e.removeAllListeners('change');
    log.push(e.emit('change', 1), e.emit('close'));
    e.removeAllListeners();
    log.push(e.listenerCount('close'));
    return log;
  },
  "'error' with no listener throws; with one it does not": (e) => {
    const log: unknown[] = [];
    const boom = new Error('boom');
    try {
      e.emit('error', boom);
    } catch {
      // Node wraps it when the Error comes from another realm (jest's sandbox): compare the throw only.
      log.push('threw');
    }
    e.on('error', (err) => log.push(err.message));
    log.push(e.emit('error', boom));
    return log;
  },
};

describe('Emitter behaves as node:events EventEmitter', () => {
  for (const [name, run] of Object.entries(scenarios)) {
    test(name, () => {
      const [nodeLog, ours] = makers.map(([, make]) => run(make()));
      expect(ours).toEqual(nodeLog);
      expect((ours as unknown[]).length).toBeGreaterThan(0);
    });
  }

  test('a class extending it keeps a typed on()', () => {
    class Reader extends Emitter<Events> {
      set(v: number) {
        this.emit('change', v);
      }
    }
    const r = new Reader();
    const seen: number[] = [];
    r.on('change', (v) => seen.push(v));
    r.set(7);
    expect(seen).toEqual([7]);
  });
});

test("Emitter's unheard 'error' throws the very error", () => {
  const boom = new Error('boom');
  expect(() => new Emitter<Events>().emit('error', boom)).toThrow(boom);
});
