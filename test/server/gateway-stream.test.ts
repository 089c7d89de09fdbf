/**
 * The JSON gateway's streaming calls and its request checks, run against real etcd 3.4 and
 * against Concord with the same assertions: /v3/watch and /v3/election/observe stream
 * newline-delimited `{"result": …}` objects, /v3/lease/keepalive answers each request of its
 * body, bad JSON and oversized bodies get etcd's error body, /v3beta/ is /v3/.
 */
import { withTimeout } from '../harness/etcd.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { BOTH_TARGETS } from '../harness/targets.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A streamed answer line, as the assertions read it. */
interface Answer {
  result: {
    header: Record<string, string>;
    created?: boolean;
    canceled?: boolean;
    watch_id?: string;
    compact_revision?: string;
    events?: unknown[];
    kv?: { value: string; lease?: string };
    ID?: string;
    TTL?: string;
  };
}

/** The lines of a streamed response, parsed, as they arrive. */
async function* lines(res: Response): AsyncGenerator<Record<string, unknown>> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line !== '') yield JSON.parse(line) as Record<string, unknown>;
    }
  }
  if (buf.trim() !== '') yield JSON.parse(buf) as Record<string, unknown>;
}

describe.each(BOTH_TARGETS)('gateway streams on %s', (_name, bin) => {
  const etcd = etcdSuite({ members: 1, bin, name: `gw-${_name}` });
  let base: string;
  beforeAll(() => {
    const e = etcd.cluster.endpoints[0]!;
    base = e.startsWith('http') ? e : `http://${e}`;
  });

  const post = (p: string, body: string, signal?: AbortSignal) =>
    fetch(`${base}${p}`, { method: 'POST', body, signal });
  const postJSON = async (p: string, body: unknown) => (await post(p, JSON.stringify(body))).json();

  test('a watch streams created answers, then events, and goes on after the body ends', async () => {
    const put = (await postJSON('/v3/kv/put', { key: b64('w/a'), value: b64('1') })) as {
      header: { revision: string };
    };
    const rev = put.header.revision;
    const abort = new AbortController();
    const res = await post(
      '/v3/watch',
      JSON.stringify({ create_request: { key: b64('w/a'), start_revision: rev } }) +
        JSON.stringify({ create_request: { key: b64('w/b') } }),
      abort.signal,
    );
    expect(res.status).toBe(200);
    const it = lines(res);
    const next = async () => (await withTimeout(it.next(), 15_000, 'a watch answer')).value as Answer;
    try {
      const first = await next();
      expect(first.result.created).toBe(true);
      expect(first.result.watch_id).toBeUndefined();
      expect(Object.keys(first.result.header).sort()).toEqual([
        'cluster_id',
        'member_id',
        'raft_term',
        'revision',
      ]);
      // Answers come in the order of the creates; the first event may come before the second
      // created answer.
      const rest = [await next(), await next()];
      const created = rest.find((l) => l.result.created);
      const events = rest.find((l) => l.result.events);
      expect(created?.result.watch_id).toBe('1');
      expect(events?.result.events).toEqual([
        { kv: { key: b64('w/a'), value: b64('1'), create_revision: rev, mod_revision: rev, version: '1' } },
      ]);
      const del = (await postJSON('/v3/kv/deleterange', { key: b64('w/b') })) as {
        header: { revision: string };
      };
      await postJSON('/v3/kv/put', { key: b64('w/b'), value: b64('2') });
      const later = await next();
      expect(later.result.watch_id).toBe('1');
      expect(later.result.events).toEqual([
        {
          kv: {
            key: b64('w/b'),
            value: b64('2'),
            create_revision: String(BigInt(del.header.revision) + 1n),
            mod_revision: String(BigInt(del.header.revision) + 1n),
            version: '1',
          },
        },
      ]);
    } finally {
      abort.abort();
    }
  });

  test('a watch with a delete event names its type, and a compacted start cancels it', async () => {
    const p = (await postJSON('/v3/kv/put', { key: b64('w/c'), value: b64('x') })) as {
      header: { revision: string };
    };
    await postJSON('/v3/kv/deleterange', { key: b64('w/c') });

    const abort = new AbortController();
    try {
      const res = await post(
        '/v3/watch',
        JSON.stringify({
          create_request: { key: b64('w/c'), start_revision: String(BigInt(p.header.revision) + 1n) },
        }),
        abort.signal,
      );
      const it = lines(res);
      const next = async () => (await withTimeout(it.next(), 15_000, 'a watch answer')).value as Answer;
      const created = await next();
      expect(created.result.created).toBe(true);
      const events = await next();
      expect(events.result.events).toEqual([
        {
          type: 'DELETE',
          kv: { key: b64('w/c'), mod_revision: String(BigInt(p.header.revision) + 1n) },
        },
      ]);
      // Starting at a compacted revision: canceled with the compact revision.
      await postJSON('/v3/kv/compaction', { revision: p.header.revision });
      const res2 = await post(
        '/v3/watch',
        JSON.stringify({ create_request: { key: b64('w/c'), start_revision: '1' } }),
        abort.signal,
      );
      const it2 = lines(res2);
      const answers = [];
      for (let i = 0; i < 2; i++) answers.push((await withTimeout(it2.next(), 15_000, 'an answer')).value);
      const canceled = (answers as Answer[]).find((a) => a.result.canceled)!;
      expect(canceled.result.compact_revision).toBe(p.header.revision);
    } finally {
      abort.abort();
    }
  });

  test('a keepalive body is answered request by request, then the response ends', async () => {
    const grant = (await postJSON('/v3/lease/grant', { TTL: 30 })) as { ID: string };
    const res = await post(
      '/v3/lease/keepalive',
      JSON.stringify({ ID: grant.ID }) + JSON.stringify({ ID: '1' }),
    );
    expect(res.status).toBe(200);
    const all: Answer[] = [];
    for await (const l of lines(res)) all.push(l as unknown as Answer);
    expect(all).toHaveLength(2);
    expect(all[0].result.ID).toBe(grant.ID);
    expect(all[0].result.TTL).toBe('30');
    expect(Object.keys(all[0].result.header).sort()).toEqual([
      'cluster_id',
      'member_id',
      'raft_term',
      'revision',
    ]);
    // An unknown lease: TTL 0, left out.
    expect(all[1].result).toEqual({ header: all[1].result.header, ID: '1' });
  });

  test('observe streams the leader, then what it proclaims', async () => {
    const grant = (await postJSON('/v3/lease/grant', { TTL: 30 })) as { ID: string };
    const camp = (await postJSON('/v3/election/campaign', {
      name: b64('e1'),
      lease: grant.ID,
      value: b64('v1'),
    })) as { leader: Record<string, string> };
    const abort = new AbortController();
    try {
      const res = await post('/v3/election/observe', JSON.stringify({ name: b64('e1') }), abort.signal);
      const it = lines(res);
      const next = async () => (await withTimeout(it.next(), 15_000, 'an observe answer')).value as Answer;
      expect((await next()).result.kv?.value).toBe(b64('v1'));
      await postJSON('/v3/election/proclaim', { leader: camp.leader, value: b64('v2') });
      const second = await next();
      expect(second.result.kv?.value).toBe(b64('v2'));
      expect(second.result.kv?.lease).toBe(grant.ID);
    } finally {
      abort.abort();
    }
  });

  test('bad JSON and oversized bodies get etcd gateway error bodies', async () => {
    const bad = await post('/v3/kv/range', '{"key":');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'unexpected EOF', message: 'unexpected EOF', code: 3 });
    const value = Buffer.alloc(2 * 1024 * 1024, 'x').toString('base64');
    const big = await post('/v3/kv/put', JSON.stringify({ key: b64('big'), value }));
    expect(big.status).toBe(429);
    const body = (await big.json()) as { error: string; message: string; code: number };
    expect(body.code).toBe(8);
    expect(body.message).toMatch(/^grpc: received message larger than max \(\d+ vs\. \d+\)$/);
    expect(body.error).toBe(body.message);
  });

  test('a watch body that is not JSON fails the call as etcd does (500, Unknown)', async () => {
    // The gateway decodes a bidirectional stream's first request after opening the call, so
    // its decoding error comes back as the call's error, not as an InvalidArgument.
    const res = await post('/v3/watch', '{"create_request":');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'unexpected EOF', code: 2, message: 'unexpected EOF' });
  });

  test('/v3beta/ serves the same calls as /v3/', async () => {
    await postJSON('/v3beta/kv/put', { key: b64('beta'), value: b64('b') });
    const r = (await postJSON('/v3/kv/range', { key: b64('beta') })) as { kvs: { value: string }[] };
    expect(r.kvs[0]!.value).toBe(b64('b'));
  });
});
