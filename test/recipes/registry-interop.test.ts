/**
 * The registry in the layout of Go's `go.etcd.io/etcd/client/v3/naming/endpoints`: instances
 * written by `etcdctl put` exactly as Go's endpoints.Manager writes them are resolved by
 * discover(); instances register() writes read back byte for byte as Go's encoding/json
 * marshals `internal.Update{Op, Addr, Metadata}`; and discovery filtered by metadata.
 */
import { discover, type InstanceChange, register } from '../../recipes/index.js';
import { waitFor, withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';

const etcd = etcdSuite({ members: 1, name: 'registry-interop' });
let seq = 0;
const fresh = (name: string) => `interop-${name}-${++seq}`;

async function etcdctlGet(key: string): Promise<string> {
  const r = await etcd.cluster.etcdctl(['get', key, '--print-value-only'], { check: true });
  return r.stdout.replace(/\n$/, '');
}

test('instances Go wrote (etcdctl put, Go layout) are resolved, as Go reads them', async () => {
  const svc = fresh('go-written');
  const put = (key: string, value: string) => etcd.cluster.etcdctl(['put', key, value], { check: true });
  // What endpoints.Manager.AddEndpoint writes: without metadata, and with.
  await put(`${svc}/10.0.0.1:50051`, '{"Op":0,"Addr":"10.0.0.1:50051","Metadata":null}');
  await put(
    `${svc}/10.0.0.2:50051`,
    '{"Op":0,"Addr":"10.0.0.2:50051","Metadata":{"region":"eu","weight":2}}',
  );
  // Go's json.Unmarshal matches field names case-insensitively, and its reader adds every put.
  await put(`${svc}/10.0.0.3:50051`, '{"addr":"10.0.0.3:50051","op":1}');
  // Go skips what does not unmarshal into Update.
  await put(`${svc}/bad-json`, 'not json');
  await put(`${svc}/bad-addr`, '{"Op":0,"Addr":5}');
  // Another target whose name starts the same is not this service.
  await put(`${svc}x/10.0.0.9:1`, '{"Op":0,"Addr":"10.0.0.9:1","Metadata":null}');

  await using view = await discover(etcd.client, svc, { layout: 'go-endpoints' });
  expect(view.instances()).toEqual([
    { id: '10.0.0.1:50051', address: '10.0.0.1:50051', meta: {} },
    { id: '10.0.0.2:50051', address: '10.0.0.2:50051', meta: { region: 'eu', weight: 2 } },
    { id: '10.0.0.3:50051', address: '10.0.0.3:50051', meta: {} },
  ]);

  // endpoints.Manager.DeleteEndpoint deletes the key: the instance leaves the view.
  const removed = new Promise<string>((resolve) => view.once('remove', (i) => resolve(i.id)));
  await etcd.cluster.etcdctl(['del', `${svc}/10.0.0.1:50051`], { check: true });
  expect(await withTimeout(removed, 5000, 'remove')).toBe('10.0.0.1:50051');
});

test('instances the SDK registers in Go layout read back byte for byte as Go writes them', async () => {
  const svc = fresh('sdk-written');
  // Keys out of order and characters Go's encoding/json escapes (<, >, &, U+2028).
  const meta = { weight: 2, region: 'eu', 'a<b': 'x&y>z\u2028', nested: { z: 1, a: [true, null, 'é'] } };
  await using withMeta = await register(
    etcd.client,
    svc,
    { address: '10.0.0.7:8080', meta },
    { layout: 'go-endpoints', ttl: 10 },
  );
  await using bare = await register(
    etcd.client,
    svc,
    { address: '10.0.0.8:8080' },
    { layout: 'go-endpoints' },
  );
  expect(withMeta.key.toString()).toBe(`${svc}/10.0.0.7:8080`);
  expect(withMeta.instance.id).toBe('10.0.0.7:8080');
  expect(await etcdctlGet(`${svc}/10.0.0.7:8080`)).toBe(
    '{"Op":0,"Addr":"10.0.0.7:8080","Metadata":{"a\\u003cb":"x\\u0026y\\u003ez\\u2028","nested":{"a":[true,null,"é"],"z":1},"region":"eu","weight":2}}',
  );
  expect(await etcdctlGet(`${svc}/10.0.0.8:8080`)).toBe('{"Op":0,"Addr":"10.0.0.8:8080","Metadata":null}');
  expect((await etcd.client.get(`${svc}/10.0.0.8:8080`))!.lease).toBe(bare.lease.id);

  // update() keeps the layout (and no metadata stays null until some is given).
  await bare.update({ address: '10.0.0.8:9090' });
  expect(await etcdctlGet(`${svc}/10.0.0.8:8080`)).toBe('{"Op":0,"Addr":"10.0.0.8:9090","Metadata":null}');
  await bare.update({ meta: { region: 'us' } });
  expect(await etcdctlGet(`${svc}/10.0.0.8:8080`)).toBe(
    '{"Op":0,"Addr":"10.0.0.8:9090","Metadata":{"region":"us"}}',
  );

  // The SDK reads its own Go-layout writes; close() deletes the key as DeleteEndpoint would.
  await using view = await discover(etcd.client, svc, { layout: 'go-endpoints' });
  expect(view.instances().map((i) => [i.id, i.address, i.meta])).toEqual([
    ['10.0.0.7:8080', '10.0.0.7:8080', meta],
    ['10.0.0.8:8080', '10.0.0.8:9090', { region: 'us' }],
  ]);
  await bare.close();
  expect((await etcd.cluster.etcdctl(['get', `${svc}/10.0.0.8:8080`], { check: true })).stdout).toBe('');
});

test('discover() filtered by metadata: an object of fields, or a predicate', async () => {
  const svc = fresh('where');
  await using eu1 = await register(etcd.client, svc, {
    id: 'a',
    address: 'a:1',
    meta: { region: 'eu', tier: 1 },
  });
  await using _b = await register(etcd.client, svc, {
    id: 'b',
    address: 'b:1',
    meta: { region: 'us', tier: 1 },
  });
  await using eu = await discover(etcd.client, svc, { where: { region: 'eu' } });
  await using tier2 = await discover<{ region: string; tier: number }>(etcd.client, svc, {
    where: (i) => i.meta.tier >= 2,
  });
  expect(eu.instances().map((i) => i.id)).toEqual(['a']);
  expect(tier2.instances()).toEqual([]);

  const euChanges: InstanceChange[] = [];
  eu.on('change', (c) => euChanges.push(c));
  // Joins the filtered view when it starts matching, leaves it when it stops.
  await using _c = await register(etcd.client, svc, {
    id: 'c',
    address: 'c:1',
    meta: { region: 'eu', tier: 2 },
  });
  await eu1.update({ meta: { region: 'us', tier: 2 } });
  await waitFor(() => euChanges.length === 2 && tier2.size === 2, {
    timeoutMs: 5000,
    what: 'the views to follow',
  });
  expect(euChanges.map((c) => [c.type, c.instance.id])).toEqual([
    ['add', 'c'],
    ['remove', 'a'],
  ]);
  expect(eu.instances().map((i) => i.id)).toEqual(['c']);
  expect(tier2.instances().map((i) => i.id)).toEqual(['a', 'c']);
});
