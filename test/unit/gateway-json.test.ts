/**
 * The JSON gateway's body reader (src/server/api/gateway/) on its own: Go's json.Decoder and
 * scanner (values one at a time, error texts, nesting limit), Go's base64, jsonpb's rules for
 * each field type, and the descriptors against the generated code (every property name the
 * reader writes is one the generated `fromPartial` reads). test/server/gateway-input.test.ts
 * checks the same behaviours end to end against real etcd 3.4.
 */
import type { DescMessage } from '@bufbuild/protobuf';
import fc from 'fast-check';
import * as authpb from '../../src/gen/authpb/auth.js';
import * as rpc from '../../src/gen/etcdserverpb/rpc.js';
import * as mvccpb from '../../src/gen/mvccpb/kv.js';
import * as v3electionpb from '../../src/gen/v3electionpb/v3election.js';
import * as v3lockpb from '../../src/gen/v3lockpb/v3lock.js';
import { GatewayJsonError } from '../../src/server/api/gateway/gateway-json-error.js';
import { goBase64 } from '../../src/server/api/gateway/go-base64.js';
import { JsonBody } from '../../src/server/api/gateway/go-json.js';
import { gatewayRequest, MESSAGE_DEPTH_LIMIT, requestType } from '../../src/server/api/gateway/jsonpb.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const RANGE = requestType('etcdserverpb.KV', 'Range');
const PUT = requestType('etcdserverpb.KV', 'Put');
const TXN = requestType('etcdserverpb.KV', 'Txn');
const MEMBER_REMOVE = requestType('etcdserverpb.Cluster', 'MemberRemove');

/** The request of a body's first JSON value. */
function read(body: string | Uint8Array, d: DescMessage): Record<string, unknown> {
  const b = new JsonBody(typeof body === 'string' ? Buffer.from(body) : body);
  const v = b.next();
  if (!v) throw new Error('no value');
  return gatewayRequest(b, v, d);
}
/** The error a body gets, as [kind, message]. */
function refusal(body: string | Uint8Array, d: DescMessage = RANGE): [string, string] {
  try {
    read(body, d);
  } catch (err) {
    if (err instanceof GatewayJsonError) return [err.kind, err.message];
    throw err;
  }
  throw new Error(`accepted: ${String(body).slice(0, 80)}`);
}
const invalid = (message: string) => ['invalid', message];
const typeError = (value: string, type: string) =>
  `json: cannot unmarshal ${value} into Go value of type ${type}`;

describe('JsonBody reads values one at a time, as json.Decoder', () => {
  const spans = (text: string) => {
    const b = new JsonBody(Buffer.from(text));
    const out: string[] = [];
    for (let v = b.next(); v; v = b.next()) out.push(text.slice(v.start, v.end));
    return out;
  };

  test('concatenated and space-separated values, then the end', () => {
    expect(spans('{"a":1}{"b":2}\n {"c":[3]} ')).toEqual(['{"a":1}', '{"b":2}', '{"c":[3]}']);
    expect(spans('5 6 "x" true null')).toEqual(['5', '6', '"x"', 'true', 'null']);
    expect(spans('  \n\t')).toEqual([]);
    expect(spans('')).toEqual([]);
  });

  test('what follows a value is read only by the next call, and an error sticks', () => {
    const b = new JsonBody(Buffer.from('{"a":1}garbage'));
    expect(b.next()).toEqual({ start: 0, end: 7 });
    expect(() => b.next()).toThrow("invalid character 'g' looking for beginning of value");
    expect(() => b.next()).toThrow("invalid character 'g' looking for beginning of value");
    const lit = new JsonBody(Buffer.from('5x'));
    expect(lit.next()).toEqual({ start: 0, end: 1 });
  });

  test('a value cut short is unexpected EOF', () => {
    for (const text of ['{"a":', '[1,', '"abc', 'tru', '-', '{"a":1}{']) {
      const b = new JsonBody(Buffer.from(text));
      expect(() => {
        for (let v = b.next(); v; v = b.next());
      }).toThrow('unexpected EOF');
    }
  });

  test("Go's syntax error texts", () => {
    const cases: [string, string][] = [
      ['{"a":1,}', "invalid character '}' looking for beginning of object key string"],
      ['{"a" 1}', "invalid character '1' after object key"],
      ['{"a":1 "b":2}', "invalid character '\"' after object key:value pair"],
      ['[1 2]', "invalid character '2' after array element"],
      ['[1.]', "invalid character ']' after decimal point in numeric literal"],
      ['[1e+]', "invalid character ']' in exponent of numeric literal"],
      ['[-x]', "invalid character 'x' in numeric literal"],
      ['[fals]', "invalid character ']' in literal false (expecting 'e')"],
      ['[nul]', "invalid character ']' in literal null (expecting 'l')"],
      ['["\\u12g4"]', "invalid character 'g' in \\u hexadecimal character escape"],
      ['["\\q"]', "invalid character 'q' in string escape code"],
      ['["\t"]', "invalid character '\\t' in string literal"],
      ["['a']", "invalid character '\\'' looking for beginning of value"],
      ['[\x7f]', "invalid character '\\x7f' looking for beginning of value"],
      ['[+1]', "invalid character '+' looking for beginning of value"],
    ];
    for (const [text, message] of cases) expect([text, refusal(text)]).toEqual([text, invalid(message)]);
    // Bytes above 0x7f are named as the Latin-1 character of the same number, as Go does.
    expect(refusal(Buffer.from([0xc3, 0xa9]))).toEqual(
      invalid("invalid character 'Ã' looking for beginning of value"),
    );
    expect(refusal(Buffer.from([0xa0]))).toEqual(
      invalid("invalid character '\\u00a0' looking for beginning of value"),
    );
    expect(refusal(Buffer.from([0x85]))).toEqual(
      invalid("invalid character '\\u0085' looking for beginning of value"),
    );
  });

  test('nesting: 10,000 levels are accepted, one more is refused', () => {
    const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(read(`{"x":${nest(9_999)}}`, RANGE)).toEqual({});
    expect(refusal(`{"x":${nest(10_000)}}`)).toEqual(invalid("invalid character '[' exceeded max depth"));
    expect(refusal('['.repeat(10_000))).toEqual(invalid('unexpected EOF'));
    expect(refusal('['.repeat(10_001))).toEqual(invalid("invalid character '[' exceeded max depth"));
  });
});

describe("goBase64 is Go's base64.StdEncoding", () => {
  test('padded standard base64, \\r and \\n skipped anywhere', () => {
    expect(goBase64(Buffer.from('aGVsbG8=')).toString()).toBe('hello');
    expect(goBase64(Buffer.from('aGVs\r\nbG8=\n')).toString()).toBe('hello');
    expect(goBase64(Buffer.from('\nY\nQ\n=\n=\n')).toString()).toBe('a');
    expect(goBase64(Buffer.from('YR==')).toString()).toBe('a');
    expect(goBase64(Buffer.from('YQ=\n=')).toString()).toBe('a');
    expect(goBase64(Buffer.from('')).length).toBe(0);
    expect(goBase64(Buffer.from('\n\r')).length).toBe(0);
  });

  test('the offset of the first bad byte, counting skipped newlines (as etcd 3.4 answers)', () => {
    const cases: [string, number][] = [
      ['***', 0],
      ['aGVsbG8gd29ybGQ!!!!', 15],
      ['aGVsbG8', 4],
      ['aGVsbG8==', 8],
      ['a-_b', 1],
      ['aGV sbG8=', 3],
      ['aGVs\tbG8=', 4],
      ['Y', 0],
      ['YQ', 0],
      ['YQ=', 3],
      ['YQ=x', 2],
      ['YQ=\n', 4],
      ['YQ=\nx', 3],
      ['Y===', 1],
      ['YQ==YQ==', 4],
      ['YQ==\nx', 5],
      ['\n\nY', 2],
      ['YWJj\n=', 5],
    ];
    for (const [text, at] of cases) {
      let message = 'accepted';
      try {
        goBase64(Buffer.from(text));
      } catch (err) {
        message = (err as Error).message;
      }
      expect([text, message]).toEqual([text, `illegal base64 data at input byte ${at}`]);
    }
  });

  test('any bytes, encoded and broken by newlines anywhere, decode to themselves', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
        let text = Buffer.from(bytes).toString('base64');
        for (const c of cuts) {
          const at = c % (text.length + 1);
          text = `${text.slice(0, at)}${c % 2 ? '\n' : '\r\n'}${text.slice(at)}`;
        }
        expect(goBase64(Buffer.from(text))).toEqual(Buffer.from(bytes));
      }),
    );
  });
});

describe('fields as jsonpb reads them', () => {
  test('int64: a number, or a quoted number read again as JSON', () => {
    const limit = (v: string) => read(`{"limit":${v}}`, RANGE).limit;
    expect(limit('5')).toBe(5n);
    expect(limit('"5"')).toBe(5n);
    expect(limit('" 5 "')).toBe(5n);
    expect(limit('-0')).toBe(0n);
    expect(limit('"-9223372036854775808"')).toBe(-(2n ** 63n));
    expect(limit('9223372036854775807')).toBe(2n ** 63n - 1n);
    expect(limit('"null"')).toBeUndefined();
    expect(limit('null')).toBeUndefined();
    const refused: [string, string][] = [
      ['9223372036854775808', typeError('number 9223372036854775808', 'int64')],
      ['1e30', typeError('number 1e30', 'int64')],
      ['"5.0"', typeError('number 5.0', 'int64')],
      ['""', 'unexpected end of JSON input'],
      ['"0x10"', "invalid character 'x' after top-level value"],
      ['"\\u0031"', "invalid character '\\\\' looking for beginning of value"],
      ['"[1]"', typeError('array', 'int64')],
      ['"x"', "invalid character 'x' looking for beginning of value"],
      ['{}', typeError('object', 'int64')],
    ];
    for (const [v, message] of refused) expect([v, refusal(`{"limit":${v}}`)]).toEqual([v, invalid(message)]);
  });

  test('uint64: no sign, up to 2^64-1', () => {
    expect(read('{"ID":"18446744073709551615"}', MEMBER_REMOVE).ID).toBe(2n ** 64n - 1n);
    expect(refusal('{"ID":-0}', MEMBER_REMOVE)).toEqual(invalid(typeError('number -0', 'uint64')));
    expect(refusal('{"ID":"18446744073709551616"}', MEMBER_REMOVE)).toEqual(
      invalid(typeError('number 18446744073709551616', 'uint64')),
    );
  });

  test('enums: a name (not unescaped) or any int32, unknown numbers kept', () => {
    expect(read('{"sort_order":"DESCEND"}', RANGE).sortOrder).toBe(rpc.RangeRequest_SortOrder.DESCEND);
    expect(read('{"sortOrder":2}', RANGE).sortOrder).toBe(2);
    expect(read('{"sort_order":7}', RANGE).sortOrder).toBe(7);
    expect(read('{"sort_order":-2147483648}', RANGE).sortOrder).toBe(-(2 ** 31));
    expect(rpc.RangeRequest.fromPartial(read('{"sort_order":7}', RANGE)).sortOrder).toBe(7);
    const type = 'etcdserverpb.RangeRequest_SortOrder';
    expect(refusal('{"sort_order":"DESC\\u0045ND"}')).toEqual(
      invalid(`unknown value "DESC\\\\u0045ND" for enum ${type}`),
    );
    expect(refusal('{"sort_order":"é\\u0000"}')).toEqual(
      invalid(`unknown value "é\\\\u0000" for enum ${type}`),
    );
    expect(refusal(Buffer.from([...Buffer.from('{"sort_order":"'), 0xff, ...Buffer.from('"}')]))).toEqual(
      invalid(`unknown value "\\xff" for enum ${type}`),
    );
    expect(refusal('{"sort_order":2147483648}')).toEqual(invalid(typeError('number 2147483648', type)));
    expect(refusal('{"sort_order":[]}')).toEqual(invalid(typeError('array', type)));
    const filters = requestType('etcdserverpb.Watch', 'Watch');
    expect(read('{"create_request":{"filters":["NODELETE",0,null]}}', filters)).toEqual({
      createRequest: { filters: [1, 0, 0] },
    });
  });

  test('bytes: base64 or an array of byte values; strings and bools take only their own type', () => {
    expect(read('{"value":"aGVs\\nbG8="}', PUT).value).toEqual(Buffer.from('hello'));
    expect(read('{"value":[104,105,null]}', PUT).value).toEqual(Buffer.from('hi\0'));
    expect(read('{"value":null}', PUT).value).toBeUndefined();
    expect(refusal('{"value":[1,"a",300]}', PUT)).toEqual(invalid(typeError('string', 'uint8')));
    expect(refusal('{"value":[1.5]}', PUT)).toEqual(invalid(typeError('number 1.5', 'uint8')));
    expect(refusal('{"value":5}', PUT)).toEqual(invalid(typeError('number', '[]uint8')));
    expect(refusal('{"prev_kv":"true"}', PUT)).toEqual(invalid(typeError('string', 'bool')));
    const userGet = requestType('etcdserverpb.Auth', 'UserGet');
    expect(read('{"name":"a\\u00e9\\ud83d\\ude00\\ud800x"}', userGet).name).toBe('aé😀\ufffdx');
    expect(
      read(Buffer.from([...Buffer.from('{"name":"'), 0xff, 0x61, ...Buffer.from('"}')]), userGet).name,
    ).toBe('\ufffda');
    expect(refusal('{"name":true}', userGet)).toEqual(invalid(typeError('bool', 'string')));
  });

  test('names: .proto or JSON name (JSON wins), escaped keys, last repeat, unknown keys ignored', () => {
    expect(read('{"range_end":"YQ==","rangeEnd":"Yg=="}', RANGE).rangeEnd).toEqual(Buffer.from('b'));
    expect(read('{"rangeEnd":"Yg==","range_end":"YQ=="}', RANGE).rangeEnd).toEqual(Buffer.from('b'));
    expect(read('{"key":"YQ==","key":"Yg=="}', RANGE).key).toEqual(Buffer.from('b'));
    expect(read('{"k\\u0065y":"YQ=="}', RANGE).key).toEqual(Buffer.from('a'));
    expect(read('{"KEY":"YQ==","x":{"y":[1e999]}}', RANGE)).toEqual({});
    // A repeated key's earlier value is never read.
    expect(read('{"key":"!!","key":"YQ=="}', RANGE).key).toEqual(Buffer.from('a'));
  });

  test('messages and lists: objects and arrays only, null leaves them unset', () => {
    expect(read('null', RANGE)).toEqual({});
    expect(refusal('[]')).toEqual(invalid(typeError('array', 'map[string]json.RawMessage')));
    expect(refusal('{"compare":{}}', TXN)).toEqual(invalid(typeError('object', '[]json.RawMessage')));
    expect(refusal('{"compare":["x"]}', TXN)).toEqual(
      invalid(typeError('string', 'map[string]json.RawMessage')),
    );
    expect(read('{"compare":null,"success":[]}', TXN)).toEqual({ success: [] });
    const grant = requestType('etcdserverpb.Auth', 'RoleGrantPermission');
    expect(read('{"name":"r","perm":null}', grant)).toEqual({ name: 'r' });
    expect(read('{"perm":{"permType":"WRITE","key":"YQ=="}}', grant)).toEqual({
      perm: { permType: authpb.Permission_Type.WRITE, key: Buffer.from('a') },
    });
  });

  test('oneofs: members read after the other fields, the last declared one given wins', () => {
    expect(read('{"compare":[{"mod_revision":"5","target":"MOD"}]}', TXN)).toEqual({
      compare: [{ modRevision: 5n, target: 2 }],
    });
    expect(read('{"compare":[{"value":"YQ==","version":1}]}', TXN)).toEqual({
      compare: [{ value: Buffer.from('a') }],
    });
    // A null member is still set: a scalar to its zero value, a message to nothing.
    expect(read('{"compare":[{"version":1,"lease":null}]}', TXN)).toEqual({ compare: [{ lease: 0n }] });
    expect(read('{"success":[{"request_range":{},"request_put":null}]}', TXN)).toEqual({ success: [{}] });
    // The oneof's own name is its Go interface: only null goes in.
    expect(read('{"compare":[{"target_union":null}]}', TXN)).toEqual({ compare: [{}] });
    expect(refusal('{"compare":[{"target_union":{}}]}', TXN)).toEqual(
      invalid(typeError('object', 'etcdserverpb.isCompare_TargetUnion')),
    );
    // A type error in a member is found after the other fields'.
    expect(refusal('{"compare":[{"mod_revision":"x","key":5}]}', TXN)).toEqual(
      invalid(typeError('number', '[]uint8')),
    );
  });

  test("a null element of a repeated message is what etcd's gateway panics on", () => {
    expect(refusal('{"compare":[null]}', TXN)[0]).toBe('unhandled');
    expect(refusal('{"success":[{"request_txn":{"failure":[null]}}]}', TXN)[0]).toBe('unhandled');
  });

  test('messages nest up to MESSAGE_DEPTH_LIMIT', () => {
    const txn = (levels: number) => {
      let t = '{}';
      for (let i = 1; i < levels; i++) t = `{"success":[{"request_txn":${t}}]}`;
      return t;
    };
    // A txn level is two messages (TxnRequest, RequestOp).
    const deepest = Math.floor((MESSAGE_DEPTH_LIMIT + 1) / 2);
    expect(() => read(txn(deepest), TXN)).not.toThrow();
    expect(refusal(txn(deepest + 1), TXN)[0]).toBe('too-deep');
    expect(() => rpc.TxnRequest.encode(rpc.TxnRequest.fromPartial(read(txn(deepest), TXN)))).not.toThrow();
  });
});

describe('the descriptors match the generated code', () => {
  /** The generated code's message objects by full name, e.g. etcdserverpb.RangeRequest. */
  const generated = new Map<string, { fromPartial(o: unknown): object }>();
  for (const [pkg, mod] of Object.entries({ authpb, rpc, mvccpb, v3electionpb, v3lockpb })) {
    const name = pkg === 'rpc' ? 'etcdserverpb' : pkg;
    for (const [k, v] of Object.entries(mod)) {
      if (v && typeof v === 'object' && 'fromPartial' in v) {
        generated.set(`${name}.${k}`, v as { fromPartial(o: unknown): object });
      }
    }
  }
  const services = [
    ['etcdserverpb.KV', rpc.KVDefinition],
    ['etcdserverpb.Watch', rpc.WatchDefinition],
    ['etcdserverpb.Lease', rpc.LeaseDefinition],
    ['etcdserverpb.Cluster', rpc.ClusterDefinition],
    ['etcdserverpb.Maintenance', rpc.MaintenanceDefinition],
    ['etcdserverpb.Auth', rpc.AuthDefinition],
    ['v3lockpb.Lock', v3lockpb.LockDefinition],
    ['v3electionpb.Election', v3electionpb.ElectionDefinition],
  ] as const;

  test("every request message's fields are the generated code's properties", () => {
    const seen = new Set<string>();
    const check = (d: DescMessage) => {
      if (seen.has(d.typeName)) return;
      seen.add(d.typeName);
      const fns = generated.get(
        d.typeName.replace(/^(\w+)\.(.*)$/, (_m, p, n) => `${p}.${n.replaceAll('.', '_')}`),
      );
      expect([d.typeName, fns !== undefined]).toEqual([d.typeName, true]);
      const names = d.fields.map((f) => f.localName).sort();
      expect([d.typeName, Object.keys(fns!.fromPartial({})).sort()]).toEqual([d.typeName, names]);
      for (const f of d.fields) if (f.message) check(f.message);
    };
    for (const [name, def] of services) {
      expect(def.fullName).toBe(name);
      for (const m of Object.values(def.methods)) {
        const d = requestType(name, m.name);
        expect(generated.get(d.typeName)).toBe(m.requestType);
        check(d);
      }
    }
    expect(seen.size).toBeGreaterThan(40);
  });

  test('a request read from JSON round-trips through the generated code', () => {
    const body = {
      compare: [{ key: b64('k'), target: 'MOD', result: 'LESS', mod_revision: '7', range_end: b64('l') }],
      success: [
        { request_put: { key: b64('k'), value: b64('v'), lease: '-3', prev_kv: true, ignore_lease: true } },
        { request_range: { key: b64('a'), limit: '2', sort_order: 'DESCEND', min_mod_revision: '1' } },
        { request_txn: { failure: [{ request_delete_range: { key: b64('d'), prev_kv: true } }] } },
      ],
    };
    const q = rpc.TxnRequest.fromPartial(read(JSON.stringify(body), TXN));
    expect(rpc.TxnRequest.decode(rpc.TxnRequest.encode(q).finish())).toEqual(q);
    expect(q).toEqual(rpc.TxnRequest.fromJSON(body));
  });
});
