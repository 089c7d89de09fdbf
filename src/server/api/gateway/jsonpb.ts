/**
 * Reads a JSON gateway request body as etcd 3.4's gateway does, so that it accepts what etcd
 * accepts, with the values etcd uses, and refuses the rest with etcd's message. etcd's gateway
 * is grpc-gateway v1: Go's encoding/json Decoder reads one JSON value from the body (a stream
 * reads one after another; whatever follows the value of a unary call is never read), then
 * golang/protobuf's jsonpb (v1.3) fills the request from it:
 *
 * - a message is a JSON object (or null); each field is found by its .proto name or its JSON
 *   name (the JSON name wins when both are given; of a repeated key the last wins); other keys
 *   are ignored; oneof members are read after the other fields;
 * - a 64-bit integer is a JSON number or a JSON string whose contents, quotes dropped without
 *   unescaping, are read as JSON again: `"5"`, `" 5 "` and `"null"` are accepted, `"5.0"`,
 *   `"1e3"`, `"+1"` and anything out of range are refused, and so is `-0` for a uint64;
 * - an enum is its value's name as a JSON string, not unescaped, or any int32 as a number;
 * - bytes are standard, padded base64 (`\r` and `\n` ignored), or a JSON array of byte values;
 * - bool and string take only their own JSON types; null leaves any field unset.
 *
 * Errors are Go's texts (`json: cannot unmarshal number 1e30 into Go value of type int64`,
 * `illegal base64 data at input byte 3`, `invalid character '}' after array element`, …),
 * with Go's type names for etcd's types. JSON nested more than 10,000 deep is refused
 * (`invalid character '[' exceeded max depth`), as Go does.
 *
 * Each field's type comes from the etcd API's descriptors (src/gen/descriptors.ts, built from
 * proto/). The result is a plain object in the generated code's shape (its property names,
 * bigint for 64-bit integers, Buffer for bytes, numbers for enums, unknown values kept), for
 * the generated `fromPartial`.
 *
 * This module is jsonpb's part, the rules of each field type; Go's parts are ports of their own
 * beside it: the scanner and Decoder (go-json.ts), json.Unmarshal into a scalar
 * (go-unmarshal.ts), base64 (go-base64.ts) and Go's string handling (go-strings.ts).
 */
import {
  createFileRegistry,
  type DescEnum,
  type DescField,
  type DescMessage,
  type DescOneof,
  type FileRegistry,
  fromBinary,
  ScalarType,
} from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { fileDescriptorSet } from '../../../gen/descriptors.js';
import { GatewayJsonError, invalid } from './gateway-json-error.js';
import { checkValid, type JsonBody, type Span } from './go-json.js';
import { goQuote, latin1 } from './go-strings.js';
import {
  arrayElements,
  Doc,
  GO_BOOL,
  GO_BYTES,
  GO_INT32,
  GO_INT64,
  GO_MAP,
  GO_SLICE,
  GO_STRING,
  GO_UINT32,
  GO_UINT64,
  type GoType,
  jsonKind,
  type NameSet,
  objectMembers,
  skipSpace,
  typeError,
  unmarshalScalar,
  valueEnd,
} from './go-unmarshal.js';

/**
 * How deep messages may nest in a request: as deep as the generated decoders go (see
 * DECODE_DEPTH_LIMIT in scripts/gen-proto.mjs). Only TxnRequest nests (two messages a level),
 * and a txn this deep is refused by the server's txn checks anyway (MAX_TXN_DEPTH).
 */
export const MESSAGE_DEPTH_LIMIT = 1000;

/** Go's name of a message or enum of etcd's API: package, then the nested names joined by _. */
function goName(d: DescMessage | DescEnum, qualified = true): string {
  const pkg = d.file.proto.package;
  const name = d.typeName.slice(pkg.length + 1).replaceAll('.', '_');
  return qualified ? `${pkg}.${name}` : name;
}

/** Go's name of a oneof's interface type, e.g. etcdserverpb.isCompare_TargetUnion. */
function goOneofName(o: DescOneof): string {
  const camel = o.name
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
  return `${o.parent.file.proto.package}.is${goName(o.parent, false)}_${camel}`;
}

/** The Go type of each scalar type etcd's API uses (no request of it has a float or double). */
const GO_SCALARS = new Map<ScalarType, GoType>(
  (
    [
      [GO_INT64, [ScalarType.INT64, ScalarType.SINT64, ScalarType.SFIXED64]],
      [GO_UINT64, [ScalarType.UINT64, ScalarType.FIXED64]],
      [GO_INT32, [ScalarType.INT32, ScalarType.SINT32, ScalarType.SFIXED32]],
      [GO_UINT32, [ScalarType.UINT32, ScalarType.FIXED32]],
      [GO_BOOL, [ScalarType.BOOL]],
      [GO_STRING, [ScalarType.STRING]],
      [GO_BYTES, [ScalarType.BYTES]],
    ] as const
  ).flatMap(([go, types]) => types.map((t) => [t, go] as const)),
);

function scalarType(t: ScalarType): GoType {
  const go = GO_SCALARS.get(t);
  if (!go) throw new Error(`gateway-json: unsupported scalar type ${ScalarType[t]}`);
  return go;
}

/** The generated code's value for a scalar Go left at its zero value. */
function zero(t: GoType): bigint | number | boolean | string | Buffer {
  if (t.kind === 'bool') return false;
  if (t.kind === 'string') return '';
  if (t.kind === 'bytes') return Buffer.alloc(0);
  return t.bits === 64 ? 0n : 0;
}

/** A scalar field's value (as the generated code holds it), or undefined for null. */
function scalar(doc: Doc, v: Span, t: ScalarType): unknown {
  const b = doc.b;
  const go = scalarType(t);
  let span = v;
  // jsonpb: a quoted number has its quotes dropped (nothing unescaped) and is read again.
  if ((go.kind === 'int' || go.kind === 'uint') && b[v.start] === 0x22) {
    checkValid(b, v.start + 1, v.end - 1);
    const start = skipSpace(b, v.start + 1);
    span = { start, end: valueEnd(b, start, v.end - 1) };
  }
  return unmarshalScalar(doc, span, go);
}

/** An enum field's number, or undefined for null: a value's name as a string, or any int32. */
function enumValue(doc: Doc, v: Span, e: DescEnum): number | undefined {
  const b = doc.b;
  if (b[v.start] === 0x22) {
    // jsonpb does not unescape the name.
    const name = b.subarray(v.start + 1, v.end - 1);
    const found = e.values.find((x) => x.name === latin1(b, { start: v.start + 1, end: v.end - 1 }));
    if (!found) throw invalid(`unknown value ${goQuote(name)} for enum ${goName(e)}`);
    return found.number;
  }
  const n = unmarshalScalar(doc, v, { kind: 'int', bits: 32, name: goName(e) });
  return n === undefined ? undefined : Number(n);
}

/** A field's value, or undefined to leave it unset. */
function fieldValue(doc: Doc, v: Span, f: DescField, depth: number): unknown {
  const b = doc.b;
  switch (f.fieldKind) {
    case 'scalar':
      return scalar(doc, v, f.scalar);
    case 'enum':
      return enumValue(doc, v, f.enum);
    case 'message':
      return b[v.start] === 0x6e ? undefined : message(doc, v, f.message, depth + 1);
    case 'list': {
      const c = b[v.start];
      if (c === 0x6e) return undefined;
      if (c !== 0x5b) throw typeError(jsonKind(b, v), GO_SLICE);
      return arrayElements(doc, v).map((e) => {
        if (f.listKind === 'message') {
          if (b[e.start] === 0x6e) {
            throw new GatewayJsonError('unhandled', `a null element of repeated ${f.message.typeName}`);
          }
          return message(doc, e, f.message, depth + 1);
        }
        // A null element is left at its zero value.
        if (f.listKind === 'enum') return enumValue(doc, e, f.enum) ?? 0;
        return scalar(doc, e, f.scalar) ?? zero(scalarType(f.scalar));
      });
    }
    default:
      // No request of etcd's API has a map.
      throw new Error(`gateway-json: unsupported field ${f.parent.typeName}.${f.name}`);
  }
}

const NAMES = new WeakMap<DescMessage, NameSet>();

/** The keys jsonpb reads a message by: each field's .proto and JSON names, each oneof's name. */
function namesOf(d: DescMessage): NameSet {
  let names = NAMES.get(d);
  if (!names) {
    const all = [...d.fields.flatMap((f) => [f.name, f.jsonName]), ...d.oneofs.map((o) => o.name)];
    names = Object.assign(new Set(all), { longest: Math.max(0, ...all.map((n) => n.length)) });
    NAMES.set(d, names);
  }
  return names;
}

/**
 * A message from a valid JSON value (jsonpb's unmarshalValue for a message): a plain object
 * with the generated code's property names.
 */
function message(doc: Doc, v: Span, d: DescMessage, depth: number): Record<string, unknown> {
  const b = doc.b;
  if (depth > MESSAGE_DEPTH_LIMIT) throw new GatewayJsonError('too-deep', `${d.typeName} nested too deep`);
  const c = b[v.start];
  const out: Record<string, unknown> = {};
  if (c === 0x6e) return out;
  if (c !== 0x7b) throw typeError(jsonKind(b, v), GO_MAP);
  const fields = new Map(objectMembers(doc, v, namesOf(d)));
  /** jsonpb's consumeField: the value by .proto name or JSON name (which wins), both taken. */
  const take = (orig: string, camel: string): Span | undefined => {
    const value = fields.get(camel) ?? fields.get(orig);
    fields.delete(orig);
    fields.delete(camel);
    return value;
  };
  // The fields in the order of the Go struct; a oneof there is its interface, by the oneof's name.
  for (const m of d.members) {
    if (m.kind === 'oneof') {
      const value = take(m.name, m.name);
      if (value !== undefined && b[value.start] !== 0x6e) throw typeError(jsonKind(b, value), goOneofName(m));
      continue;
    }
    const value = take(m.name, m.jsonName);
    if (value === undefined) continue;
    const x = fieldValue(doc, value, m, depth);
    if (x !== undefined) out[m.localName] = x;
  }
  // Then each oneof member given. Go takes them in map order, so when two members of one oneof
  // are given, which one etcd keeps varies from call to call; here the last declared wins.
  for (const o of d.oneofs) {
    for (const f of o.fields) {
      const value = take(f.name, f.jsonName);
      if (value === undefined) continue;
      for (const g of o.fields) delete out[g.localName];
      // Go sets the member even to null: a scalar is then its zero value, a message nothing.
      const x = fieldValue(doc, value, f, depth);
      if (x !== undefined) out[f.localName] = x;
      else if (f.fieldKind === 'scalar') out[f.localName] = zero(scalarType(f.scalar));
      else if (f.fieldKind === 'enum') out[f.localName] = 0;
    }
  }
  return out;
}

/**
 * The request in a JSON value of a gateway body, for the generated `fromPartial` of type d.
 * Throws a GatewayJsonError where etcd's gateway refuses the value.
 */
export function gatewayRequest(body: JsonBody, value: Span, d: DescMessage): Record<string, unknown> {
  return message(new Doc(body.bytes, value), value, d, 1);
}

let registry: FileRegistry | undefined;

/** The request message of a gRPC method of etcd's API, e.g. ('etcdserverpb.KV', 'Range'). */
export function requestType(service: string, method: string): DescMessage {
  registry ??= createFileRegistry(fromBinary(FileDescriptorSetSchema, fileDescriptorSet));
  const m = registry.getService(service)?.methods.find((x) => x.name === method);
  if (!m) throw new Error(`gateway-json: no method ${service}/${method} in the descriptors`);
  return m.input;
}
