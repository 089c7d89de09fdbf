/**
 * The peer proxy with a connection whose opener it cannot tell (here: this test process, which
 * is no member). It passes while every link into the target is up, and is refused while any is
 * down, so a lookup that fails under load cannot heal a partition.
 */
import net from 'node:net';
import { freePort } from '../harness/etcd.js';
import { PeerProxies } from './proxy.js';

const upstream = net.createServer((s) => s.pipe(s));
// A pid that cannot be running: no member is found, and pids() is not empty.
const proxies = new PeerProxies(() => [0x3fffffff, 0x3ffffffe]);
let url = '';

beforeAll(async () => {
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  const up = (upstream.address() as net.AddressInfo).port;
  url = await proxies.add(1, await freePort(), up);
});
afterAll(async () => {
  await proxies.close();
  await new Promise<void>((r) => upstream.close(() => r()));
});

/** Sends a line through the proxy: the echo, or null when the proxy cut the connection. */
function echo(): Promise<string | null> {
  const port = Number(new URL(url).port);
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write('ping'));
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve(null);
    }, 5000);
    s.on('data', (d) => {
      got += d;
      if (got === 'ping') {
        clearTimeout(timer);
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got === 'ping' ? got : null);
    });
  });
}

test('an unknown opener passes while the links are up and is refused during a cut', async () => {
  expect(await echo()).toBe('ping');
  // A link into another member does not concern this proxy.
  proxies.cut(1, 0);
  expect(await echo()).toBe('ping');
  proxies.cut(0, 1);
  expect(await echo()).toBeNull();
  proxies.heal();
  expect(await echo()).toBe('ping');
  expect(proxies.unknownSources).toBe(4);
});
