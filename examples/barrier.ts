/**
 * Hold workers at a gate, then make a group start and finish a stage together.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 node dist/examples/barrier.js
 *
 * A barrier keeps three workers waiting until it is released. A double barrier for three
 * participants lets none start its stage before all have arrived, and none finish before
 * all are done.
 */
import { barrier, doubleBarrier } from '../recipes/index.js';
import { Client } from '../src/index.js';

const client = new Client({ endpoints: (process.env.ETCD_ENDPOINTS ?? '127.0.0.1:2379').split(',') });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A gate: up until someone releases it.
const gate = barrier(client, 'examples/deploy-gate');
console.log(`gate raised: ${await gate.hold()}`);
let through = 0;
const workers = [1, 2, 3].map(async () => {
  await gate.wait();
  through++;
});
await sleep(300);
console.log(`workers through while the gate is up: ${through}`);
await gate.release();
await Promise.all(workers);
console.log(`workers through after release: ${through}`);

// A double barrier: participants arrive at different times and work for different times.
let arrived = 0;
let leaving = 0;
const enteredWith: number[] = [];
const leftWith: number[] = [];
await Promise.all(
  [0, 1, 2].map(async (i) => {
    const stage = doubleBarrier(client, 'examples/stage', 3, { ttl: 10 });
    await sleep(i * 150);
    arrived++;
    await stage.enter();
    enteredWith.push(arrived);
    await sleep((2 - i) * 150);
    leaving++;
    await stage.leave();
    leftWith.push(leaving);
  }),
);
console.log(`stage started only once all 3 had arrived: ${enteredWith.every((n) => n === 3)}`);
console.log(`stage ended only once all 3 were done: ${leftWith.every((n) => n === 3)}`);
client.close();
