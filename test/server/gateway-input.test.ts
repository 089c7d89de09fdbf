/**
 * Hostile input on the JSON gateway, run against real etcd 3.4 and against Concord with the same
 * assertions (issue 23): 64-bit integers out of range or in forms jsonpb refuses, bad base64,
 * JSON that is not JSON or not the shape of the request, wrong types for bools, enums and
 * strings, unknown paths and methods. Each refusal is etcd's status, gRPC code and message;
 * after each one the member still answers, and a refused put or txn stored nothing. What etcd
 * accepts in odd forms (quoted numbers, base64 with newlines, both field names, trailing data
 * after the body) is accepted with the value etcd uses.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { textLogger } from '../../src/log.js';
import { jsonGateway } from '../../src/server/api/gateway/json-gateway.js';
import type { Node } from '../../src/server/bootstrap/node.js';
import { etcdSuite } from '../harness/etcd-suite.js';
import { BOTH_TARGETS } from '../harness/targets.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** An error answer of the gateway: its HTTP status, gRPC code and message. */
interface Refusal {
  status: number;
  code: number;
  message: string;
}
/** Refused while decoding a unary call's request: 400, InvalidArgument. */
const bad = (message: string): Refusal => ({ status: 400, code: 3, message });
/** Refused while decoding a bidirectional stream's first request: 500, Unknown. */
const badStream = (message: string): Refusal => ({ status: 500, code: 2, message });
const typeError = (value: string, type: string) =>
  `json: cannot unmarshal ${value} into Go value of type ${type}`;

interface Case {
  /** What the body is, for the test's name. */
  name: string;
  path: string;
  body: string | Uint8Array;
  want: Refusal;
  /** A key (plain text) the request would have written: it must not exist afterwards. */
  absent?: string;
}

const put = (key: string, rest: string) => `{"key":"${b64(key)}","value":"${b64('v')}",${rest}}`;
const MAX_DEPTH = "invalid character '[' exceeded max depth";

const CASES: Case[] = [
  // 64-bit integers out of range: a crash of the whole member before (item 1).
  ...['1e30', '"99999999999999999999"', '9223372036854775808', '-1e30', '-9223372036854775809'].map(
    (n): Case => ({
      name: `range revision ${n}`,
      path: '/v3/kv/range',
      body: `{"key":"${b64('a')}","revision":${n}}`,
      want: bad(typeError(`number ${n.replaceAll('"', '')}`, 'int64')),
    }),
  ),
  {
    name: 'range limit 1e30',
    path: '/v3/kv/range',
    body: `{"key":"${b64('a')}","limit":1e30}`,
    want: bad(typeError('number 1e30', 'int64')),
  },
  {
    name: 'put lease 1e30',
    path: '/v3/kv/put',
    body: put('int/lease', '"lease":1e30'),
    want: bad(typeError('number 1e30', 'int64')),
    absent: 'int/lease',
  },
  {
    name: 'lease grant TTL "1e30"',
    path: '/v3/lease/grant',
    body: '{"TTL":"1e30"}',
    want: bad(typeError('number 1e30', 'int64')),
  },
  {
    name: 'compaction revision 1e30',
    path: '/v3/kv/compaction',
    body: '{"revision":1e30}',
    want: bad(typeError('number 1e30', 'int64')),
  },
  {
    name: 'txn compare modRevision "1e30"',
    path: '/v3/kv/txn',
    body: `{"compare":[{"key":"${b64('a')}","target":"MOD","modRevision":"1e30"}],"success":[{"request_put":{"key":"${b64('int/txn')}"}}]}`,
    want: bad(typeError('number 1e30', 'int64')),
    absent: 'int/txn',
  },
  {
    name: 'watch start_revision 1e30',
    path: '/v3/watch',
    body: `{"create_request":{"key":"${b64('a')}","start_revision":1e30}}`,
    want: badStream(typeError('number 1e30', 'int64')),
  },
  {
    name: 'keepalive ID 1e30',
    path: '/v3/lease/keepalive',
    body: '{"ID":1e30}',
    want: badStream(typeError('number 1e30', 'int64')),
  },
  {
    name: 'member remove ID -1 (uint64)',
    path: '/v3/cluster/member/remove',
    body: '{"ID":-1}',
    want: bad(typeError('number -1', 'uint64')),
  },
  {
    name: 'member remove ID "-0" (uint64)',
    path: '/v3/cluster/member/remove',
    body: '{"ID":"-0"}',
    want: bad(typeError('number -0', 'uint64')),
  },
  {
    name: 'member remove ID "18446744073709551616"',
    path: '/v3/cluster/member/remove',
    body: '{"ID":"18446744073709551616"}',
    want: bad(typeError('number 18446744073709551616', 'uint64')),
  },
  // int64 forms jsonpb refuses: a quoted number is read again as JSON, quotes dropped.
  ...(
    [
      ['5.0', typeError('number 5.0', 'int64')],
      ['"5.0"', typeError('number 5.0', 'int64')],
      ['1e3', typeError('number 1e3', 'int64')],
      ['"1e3"', typeError('number 1e3', 'int64')],
      ['""', 'unexpected end of JSON input'],
      ['"0x10"', "invalid character 'x' after top-level value"],
      ['"+1"', "invalid character '+' looking for beginning of value"],
      ['"1 2"', "invalid character '2' after top-level value"],
      ['"\\u0031"', "invalid character '\\\\' looking for beginning of value"],
      ['true', typeError('bool', 'int64')],
      ['[1]', typeError('array', 'int64')],
      ['{}', typeError('object', 'int64')],
      ['"true"', typeError('bool', 'int64')],
    ] as const
  ).map(
    ([n, message]): Case => ({
      name: `put lease ${n}`,
      path: '/v3/kv/put',
      body: put('int/form', `"lease":${n}`),
      want: bad(message),
      absent: 'int/form',
    }),
  ),

  // Bad base64 (item 2): etcd takes standard padded base64 only.
  ...(
    [
      ['"***"', 0],
      ['"aGVsbG8gd29ybGQ!!!!"', 15],
      ['"aGVsbG8"', 4],
      ['"aGVsbG8=="', 8],
      ['"a-_b"', 1],
      ['"aGV sbG8="', 3],
      ['"aGVs\\tbG8="', 4],
      ['"Y"', 0],
      ['"YQ==YQ=="', 4],
      ['"é"', 0],
      ['"\\u0000"', 0],
    ] as const
  ).map(
    ([v, at]): Case => ({
      name: `put value ${v}`,
      path: '/v3/kv/put',
      body: `{"key":"${b64('b64/bad')}","value":${v}}`,
      want: bad(`illegal base64 data at input byte ${at}`),
      absent: 'b64/bad',
    }),
  ),
  ...(
    [
      ['5', typeError('number', '[]uint8')],
      ['true', typeError('bool', '[]uint8')],
      ['{}', typeError('object', '[]uint8')],
      ['["YQ=="]', typeError('string', 'uint8')],
      ['[256]', typeError('number 256', 'uint8')],
      ['[-0]', typeError('number -0', 'uint8')],
    ] as const
  ).map(
    ([v, message]): Case => ({
      name: `put value ${v}`,
      path: '/v3/kv/put',
      body: `{"key":"${b64('b64/type')}","value":${v}}`,
      want: bad(message),
      absent: 'b64/type',
    }),
  ),
  {
    name: 'range key "YQ=!"',
    path: '/v3/kv/range',
    body: '{"key":"YQ=!"}',
    want: bad('illegal base64 data at input byte 2'),
  },
  {
    name: 'watch key "YQ=!"',
    path: '/v3/watch',
    body: '{"create_request":{"key":"YQ=!"}}',
    want: badStream('illegal base64 data at input byte 2'),
  },
  {
    name: 'observe name "YQ=!"',
    path: '/v3/election/observe',
    body: '{"name":"YQ=!"}',
    want: bad('illegal base64 data at input byte 2'),
  },
  {
    name: 'a txn whose second put has bad base64',
    path: '/v3/kv/txn',
    body: `{"success":[{"request_put":{"key":"${b64('txn/1')}","value":"MQ=="}},{"request_put":{"key":"${b64('txn/2')}","value":"!!"}}]}`,
    want: bad('illegal base64 data at input byte 0'),
    absent: 'txn/1',
  },

  // JSON that is not JSON, or not the request's shape (item 6).
  ...(
    [
      ['[]', typeError('array', 'map[string]json.RawMessage')],
      ['"x"', typeError('string', 'map[string]json.RawMessage')],
      ['5', typeError('number', 'map[string]json.RawMessage')],
      ['true', typeError('bool', 'map[string]json.RawMessage')],
      [`[{"key":"${b64('a')}"}]`, typeError('array', 'map[string]json.RawMessage')],
      ['{"key":5}', typeError('number', '[]uint8')],
      ['{"key":"YQ==",}', "invalid character '}' looking for beginning of object key string"],
      ["{'key':'YQ=='}", "invalid character '\\'' looking for beginning of object key string"],
      ['{"key":"YQ==" "x":1}', "invalid character '\"' after object key:value pair"],
      ['{"key":', 'unexpected EOF'],
      ['{"key":"YQ==","x":tru}', "invalid character '}' in literal true (expecting 'e')"],
      ['{"key":"YQ==","x":-}', "invalid character '}' in numeric literal"],
      ['{"key":"YQ==","x":01}', "invalid character '1' after object key:value pair"],
      ['{"key":"YQ==","x":"\\x"}', "invalid character 'x' in string escape code"],
      ['{"key":"YQ==","x":NaN}', "invalid character 'N' looking for beginning of value"],
      ['garbage', "invalid character 'g' looking for beginning of value"],
      ['\ufeff{"key":"YQ=="}', "invalid character 'ï' looking for beginning of value"],
      ['{"key":"YQ==\u0001"}', "invalid character '\\x01' in string literal"],
      ['{"key":é}', "invalid character 'Ã' looking for beginning of value"],
      [`{"key":"YQ==","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, MAX_DEPTH],
      ['['.repeat(10_001), MAX_DEPTH],
      ['['.repeat(10_000), 'unexpected EOF'],
      ['{"key":"YQ==","keys_only":"true"}', typeError('string', 'bool')],
      ['{"key":"YQ==","keys_only":1}', typeError('number', 'bool')],
      [
        '{"key":"YQ==","sort_order":"descend"}',
        'unknown value "descend" for enum etcdserverpb.RangeRequest_SortOrder',
      ],
      ['{"key":"YQ==","sort_order":"2"}', 'unknown value "2" for enum etcdserverpb.RangeRequest_SortOrder'],
      [
        '{"key":"YQ==","sort_order":"DESC\\u0045ND"}',
        'unknown value "DESC\\\\u0045ND" for enum etcdserverpb.RangeRequest_SortOrder',
      ],
      ['{"key":"YQ==","sort_order":2.0}', typeError('number 2.0', 'etcdserverpb.RangeRequest_SortOrder')],
      [
        '{"key":"YQ==","sort_order":2147483648}',
        typeError('number 2147483648', 'etcdserverpb.RangeRequest_SortOrder'),
      ],
      ['{"key":"YQ==","sort_target":true}', typeError('bool', 'etcdserverpb.RangeRequest_SortTarget')],
    ] as const
  ).map(
    ([body, message]): Case => ({
      name: `range ${body.slice(0, 60)}`,
      path: '/v3/kv/range',
      body,
      want: bad(message),
    }),
  ),
  ...(
    [
      ['{"compare":{}}', typeError('object', '[]json.RawMessage')],
      ['{"compare":[[]]}', typeError('array', 'map[string]json.RawMessage')],
      ['{"compare":[5]}', typeError('number', 'map[string]json.RawMessage')],
      ['{"success":[{"request_put":[]}]}', typeError('array', 'map[string]json.RawMessage')],
      [
        '{"compare":[{"key":"YQ==","target":"mod"}]}',
        'unknown value "mod" for enum etcdserverpb.Compare_CompareTarget',
      ],
      [
        '{"compare":[{"key":"YQ==","target_union":5}]}',
        typeError('number', 'etcdserverpb.isCompare_TargetUnion'),
      ],
      ['{"success":[{"request":"x"}]}', typeError('string', 'etcdserverpb.isRequestOp_Request')],
    ] as const
  ).map(([body, message]): Case => ({ name: `txn ${body}`, path: '/v3/kv/txn', body, want: bad(message) })),
  {
    name: 'member add peerURLs "x"',
    path: '/v3/cluster/member/add',
    body: '{"peerURLs":"x"}',
    want: bad(typeError('string', '[]json.RawMessage')),
  },
  {
    name: 'member add peerURLs [5]',
    path: '/v3/cluster/member/add',
    body: '{"peerURLs":[5]}',
    want: bad(typeError('number', 'string')),
  },
  {
    name: 'user get name 5',
    path: '/v3/auth/user/get',
    body: '{"name":5}',
    want: bad(typeError('number', 'string')),
  },
  {
    name: 'snapshot []',
    path: '/v3/maintenance/snapshot',
    body: '[]',
    want: bad(typeError('array', 'map[string]json.RawMessage')),
  },
  {
    name: 'watch garbage',
    path: '/v3/watch',
    body: 'garbage',
    want: badStream("invalid character 'g' looking for beginning of value"),
  },
  {
    name: 'watch request_union [1]',
    path: '/v3/watch',
    body: '{"request_union":[1]}',
    want: badStream(typeError('array', 'etcdserverpb.isWatchRequest_RequestUnion')),
  },
  {
    name: 'keepalive ID "x"',
    path: '/v3/lease/keepalive',
    body: '{"ID":"x"}',
    want: badStream("invalid character 'x' looking for beginning of value"),
  },
];

describe.each(BOTH_TARGETS)('gateway input on %s', (name, bin) => {
  const etcd = etcdSuite({ members: 1, bin, name: `gwin-${name}` });
  let base: string;
  beforeAll(() => {
    const e = etcd.cluster.endpoints[0]!;
    base = e.startsWith('http') ? e : `http://${e}`;
  });

  const post = async (p: string, body: string | Uint8Array, method = 'POST') => {
    const res = await fetch(`${base}${p}`, { method, body: method === 'GET' ? undefined : body });
    const text = await res.text();
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    return { status: res.status, type: res.headers.get('content-type'), text, json };
  };
  const ok = async (p: string, body: unknown) => {
    const r = await post(p, typeof body === 'string' ? body : JSON.stringify(body));
    expect({ status: r.status, body: r.json }).toEqual({ status: 200, body: expect.anything() });
    return r.json as Record<string, unknown>;
  };
  /** The values under a key prefix, in key order (plain text). */
  const values = async (prefix: string) => {
    const r = await ok('/v3/kv/range', { key: b64(prefix), range_end: b64(`${prefix}\xff`) });
    return ((r.kvs ?? []) as { key: string; value?: string }[]).map((kv) => [
      Buffer.from(kv.key, 'base64').toString(),
      Buffer.from(kv.value ?? '', 'base64').toString(),
    ]);
  };
  const absent = async (key: string) => {
    const r = await ok('/v3/kv/range', { key: b64(key) });
    expect(r.kvs).toBeUndefined();
  };
  /** The member still serves a write and a read. */
  const alive = async () => {
    await ok('/v3/kv/put', { key: b64('alive'), value: b64('yes') });
    expect(await values('alive')).toEqual([['alive', 'yes']]);
  };

  test.each(CASES.map((c) => [c.name, c] as const))('refuses %s as etcd does', async (_n, c) => {
    const r = await post(c.path, c.body);
    expect({ status: r.status, body: r.json }).toEqual({
      status: c.want.status,
      body: { error: c.want.message, code: c.want.code, message: c.want.message },
    });
    if (c.absent) await absent(c.absent);
    await alive();
  });

  test('a null element of a repeated message closes the connection without an answer', async () => {
    for (const body of [
      '{"compare":[null]}',
      `{"success":[null,{"request_put":{"key":"${b64('null/1')}"}}]}`,
    ]) {
      await expect(post('/v3/kv/txn', body)).rejects.toThrow();
      await alive();
    }
    await absent('null/1');
  });

  test('int64 and uint64 as etcd reads them: numbers, quoted numbers, spaces, -0, "null"', async () => {
    for (const k of ['n/1', 'n/2', 'n/3']) await ok('/v3/kv/put', { key: b64(k), value: b64('x') });
    const count = async (limit: string) => {
      const r = await ok(
        '/v3/kv/range',
        `{"key":"${b64('n/')}","range_end":"${b64('n0')}","limit":${limit}}`,
      );
      return (r.kvs as unknown[]).length;
    };
    expect(await count('1')).toBe(1);
    expect(await count('"2"')).toBe(2);
    expect(await count('" 2 "')).toBe(2);
    expect(await count('-0')).toBe(3);
    expect(await count('"-0"')).toBe(3);
    expect(await count('"null"')).toBe(3);
    expect(await count('null')).toBe(3);
    // The largest int64: read as the revision, it is a future one.
    const future = await post('/v3/kv/range', `{"key":"${b64('n/1')}","revision":"9223372036854775807"}`);
    expect(future.status).toBe(400);
    expect(future.json).toMatchObject({
      code: 11,
      message: 'etcdserver: mvcc: required revision is a future revision',
    });
    // The largest uint64 is a member ID, just not one of this cluster's.
    const member = await post('/v3/cluster/member/remove', '{"ID":"18446744073709551615"}');
    expect({ status: member.status, code: member.json?.code }).toEqual({ status: 404, code: 5 });
    await alive();
  });

  test('bytes as etcd reads them: padded base64 with \\r and \\n anywhere, escapes, byte arrays', async () => {
    const cases: [string, string][] = [
      ['"aGVs\\nbG8="', 'hello'],
      ['"aGVs\\r\\nbG8="', 'hello'],
      ['"\\naGVsbG8=\\n"', 'hello'],
      ['"Y\\nQ\\n=\\n="', 'a'],
      ['"YR=="', 'a'],
      ['"YQ\\u003d\\u003d"', 'a'],
      ['[104,105]', 'hi'],
      ['[104,null]', 'h\0'],
      ['""', ''],
      ['null', ''],
    ];
    for (const [i, [v]] of cases.entries()) {
      await ok('/v3/kv/put', `{"key":"${b64(`bytes/${i}`)}","value":${v}}`);
    }
    expect(await values('bytes/')).toEqual(cases.map(([, want], i) => [`bytes/${i}`, want]));
  });

  test('what follows the JSON value of a unary call is never read', async () => {
    await ok('/v3/kv/put', `{"key":"${b64('trail/1')}","value":"${b64('1')}"}garbage`);
    await ok('/v3/kv/put', `  \n{"key":"${b64('trail/2')}","value":"${b64('2')}"}  \n`);
    await ok('/v3/kv/put', `{"key":"${b64('trail/3')}","value":"${b64('3')}"}}`);
    await ok('/v3/kv/put', `{"key":"${b64('trail/4')}","value":"${b64('4')}"}{"key":"${b64('trail/5')}"}`);
    expect(await values('trail/')).toEqual([
      ['trail/1', '1'],
      ['trail/2', '2'],
      ['trail/3', '3'],
      ['trail/4', '4'],
    ]);
    // An empty body, white space or null is an empty request.
    for (const body of ['', ' \n ', 'null']) {
      const r = await post('/v3/kv/range', body);
      expect({ status: r.status, body: r.json }).toEqual({
        status: 400,
        body: {
          error: 'etcdserver: key is not provided',
          code: 3,
          message: 'etcdserver: key is not provided',
        },
      });
    }
  });

  test('field names: .proto or JSON name (which wins), escapes in keys, unknown keys ignored, last repeat wins', async () => {
    await ok('/v3/kv/put', { key: b64('names/a'), value: b64('1') });
    await ok('/v3/kv/put', { key: b64('names/b'), value: b64('2') });
    const range = async (rest: string) =>
      (await ok('/v3/kv/range', `{"key":"${b64('names/')}",${rest}}`)) as {
        kvs?: { key: string; value?: string }[];
        count?: string;
      };
    const end = b64('names0');
    expect((await range(`"range_end":"${end}"`)).count).toBe('2');
    expect((await range(`"rangeEnd":"${end}"`)).count).toBe('2');
    expect((await range(`"RANGE_END":"${end}"`)).count).toBeUndefined();
    expect((await range(`"range\\u005fend":"${end}","bogus":{"x":[1,{"y":null}]},"more":7`)).count).toBe('2');
    // Both names given: the JSON name's value.
    const keysOnly = await range(`"range_end":"${end}","keysOnly":true,"keys_only":false`);
    expect(keysOnly.kvs?.every((kv) => kv.value === undefined)).toBe(true);
    // A key given twice: the last value.
    const twice = await range(`"range_end":"${end}","keys_only":true,"keys_only":false`);
    expect(twice.kvs?.map((kv) => kv.value)).toEqual([b64('1'), b64('2')]);
    // null leaves a field unset.
    expect((await range(`"range_end":"${end}","limit":null,"sort_order":null,"keys_only":null`)).count).toBe(
      '2',
    );
  });

  test('enums by name or by number (any int32), in range and in txn compares', async () => {
    await ok('/v3/kv/put', { key: b64('enum/a'), value: b64('1') });
    await ok('/v3/kv/put', { key: b64('enum/b'), value: b64('2') });
    const order = async (sort: string) => {
      const r = await ok(
        '/v3/kv/range',
        `{"key":"${b64('enum/')}","range_end":"${b64('enum0')}","keys_only":true,"sort_order":${sort}}`,
      );
      return (r.kvs as { key: string }[]).map((kv) => Buffer.from(kv.key, 'base64').toString());
    };
    expect(await order('"DESCEND"')).toEqual(['enum/b', 'enum/a']);
    expect(await order('2')).toEqual(['enum/b', 'enum/a']);
    expect(await order('"ASCEND"')).toEqual(['enum/a', 'enum/b']);
    const txn = async (compare: string) =>
      ((await ok('/v3/kv/txn', `{"compare":[${compare}]}`)) as { succeeded?: boolean }).succeeded === true;
    const mod = ((await ok('/v3/kv/range', { key: b64('enum/a') })) as { kvs: { mod_revision: string }[] })
      .kvs[0]!.mod_revision;
    expect(
      await txn(`{"key":"${b64('enum/a')}","target":"MOD","result":"EQUAL","mod_revision":"${mod}"}`),
    ).toBe(true);
    expect(await txn(`{"key":"${b64('enum/a')}","target":2,"result":0,"modRevision":${mod}}`)).toBe(true);
    expect(
      await txn(`{"key":"${b64('enum/a')}","target":"MOD","result":"GREATER","mod_revision":"${mod}"}`),
    ).toBe(false);
    // A null oneof member is set, to its zero value.
    expect(await txn(`{"key":"${b64('enum/a')}","target":"MOD","mod_revision":null}`)).toBe(false);
  });

  test('unknown paths are a plain 404, other methods on a known path a plain 405', async () => {
    for (const p of [
      '/v3/kv/rangex',
      '/v3/nope',
      '/v3/kv/range/',
      '/v3/kv/range:x',
      '/v3/KV/range',
      '/v3beta/nope',
    ]) {
      const r = await post(p, '{}');
      expect({ path: p, status: r.status, type: r.type, text: r.text }).toEqual({
        path: p,
        status: 404,
        type: 'text/plain; charset=utf-8',
        text: 'Not Found\n',
      });
    }
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const r = await post('/v3/kv/range', '{}', method);
      expect({ method, status: r.status, type: r.type, text: r.text }).toEqual({
        method,
        status: 405,
        type: 'text/plain; charset=utf-8',
        text: 'Method Not Allowed\n',
      });
    }
    expect((await post('/v3/nope', '', 'GET')).status).toBe(404);
    // The path is percent-decoded, and an empty :verb matches.
    await ok('/v3/kv/%72ange', { key: b64('a') });
    await ok('/v3/kv/range:', { key: b64('a') });
    await ok('/v3beta/kv/range:', { key: b64('a') });
    const badEscape = await post('/v3/kv/%zz', '{}');
    expect({ status: badEscape.status, text: badEscape.text }).toEqual({
      status: 400,
      text: '400 Bad Request',
    });
    await alive();
  });

  test('a FailedPrecondition is a 412, as grpc-gateway v1 maps it', async () => {
    const r = await post(
      '/v3/auth/role/grant',
      `{"name":"nobody","perm":{"permType":"WRITE","key":"${b64('a')}"}}`,
    );
    expect({ status: r.status, body: r.json }).toEqual({
      status: 412,
      body: { error: 'etcdserver: role name not found', code: 9, message: 'etcdserver: role name not found' },
    });
  });

  test('a stream reads request after request, and stops at the first bad one after the first', async () => {
    const id = String((await ok('/v3/lease/grant', { TTL: 30 })).ID);
    const res = await post('/v3/lease/keepalive', `{"ID":"${id}"}{"ID":1e30}{"ID":"${id}"}`);
    expect(res.status).toBe(200);
    const lines = res.text.split('\n').filter((l) => l.trim() !== '');
    expect(lines.map((l) => (JSON.parse(l) as { result: { ID: string } }).result.ID)).toEqual([id]);
    const garbage = await post('/v3/lease/keepalive', `{"ID":"${id}"} garbage`);
    expect(garbage.text.split('\n').filter((l) => l.trim() !== '')).toHaveLength(1);
    await alive();
  });
});

describe('a bug behind the gateway never escapes its handlers', () => {
  // A member whose every service call fails unexpectedly, and whose call metrics throw.
  let ended: () => void;
  let gatewayCall = () => ended;
  const logged: string[] = [];
  const node = {
    config: { maxRequestBytes: 1024 * 1024 },
    sm: {},
    proposer: {},
    auth: {},
    metrics: { gatewayCall: () => gatewayCall() },
    log: textLogger((line) => logged.push(line)),
  } as unknown as Node;
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    const gateway = jsonGateway(node);
    server = http.createServer((req, res) => {
      if (!gateway(req, res)) res.writeHead(418).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    logged.length = 0;
  });
  const post = (p: string, body: string) => fetch(`${base}${p}`, { method: 'POST', body });

  test('a unary call answers 500 with a gRPC Internal body', async () => {
    ended = () => {
      throw new Error('boom');
    };
    for (let i = 0; i < 2; i++) {
      const res = await post('/v3/kv/range', `{"key":"${b64('a')}"}`);
      expect({ status: res.status, body: await res.json() }).toEqual({
        status: 500,
        body: { error: 'boom', code: 13, message: 'boom' },
      });
    }
    // Thrown in the request's end handler itself.
    gatewayCall = () => {
      throw new Error('sync boom');
    };
    const res = await post('/v3/kv/range', `{"key":"${b64('a')}"}`);
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 500,
      body: { error: 'sync boom', code: 13, message: 'sync boom' },
    });
    // Each one logged through the member's logger, with its stack.
    expect(logged).toHaveLength(3);
    expect(logged[2]).toMatch(/^unexpected error in the JSON gateway: Error: sync boom\n\s+at /);
    gatewayCall = () => ended;
  });

  test('a stream that has answered its headers is cut, and the server goes on', async () => {
    ended = () => {
      throw new Error('boom');
    };
    const res = await post('/v3/lease/keepalive', '{"ID":1}');
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    ended = () => {};
    const next = await post('/v3/kv/range', `{"key":"${b64('a')}"}`);
    expect(next.status).toBe(500);
    expect(((await next.json()) as { code: number }).code).toBe(2);
  });
});
