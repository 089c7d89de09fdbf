/**
 * HPACK (RFC 7541) through hpack.js, the codec the spdy server stack uses: a header block's
 * decoding needs the connection's dynamic table and Huffman tables, which are not ours to
 * rewrite. Header names and values are byte strings (one char a byte), as on the wire.
 */
import hpack from 'hpack.js';

export interface HeaderField {
  name: string;
  value: string;
  neverIndex?: boolean;
}

/** Node's and nghttp2's SETTINGS_HEADER_TABLE_SIZE: the table size each side's encoder may use. */
const TABLE_SIZE = 4096;

/** One direction's header blocks, decoded in order against that direction's dynamic table. */
export class HeaderDecoder {
  readonly #d = hpack.decompressor.create({ table: { maxSize: TABLE_SIZE } });

  /** The fields of one complete header block; throws on a malformed one (a COMPRESSION_ERROR). */
  decode(block: Buffer): HeaderField[] {
    let error: unknown;
    const onError = (err: unknown) => {
      error = err;
    };
    this.#d.once('error', onError);
    this.#d.write(block);
    this.#d.execute();
    this.#d.off('error', onError);
    if (error !== undefined) throw error;
    const fields: HeaderField[] = [];
    for (let f = this.#d.read(); f !== null; f = this.#d.read()) fields.push(f);
    return fields;
  }
}

/** One direction's header blocks, encoded in order against this encoder's own dynamic table. */
export class HeaderEncoder {
  readonly #c = hpack.compressor.create({ table: { maxSize: TABLE_SIZE } });

  encode(fields: HeaderField[]): Buffer {
    this.#c.write(fields);
    return (this.#c.read() as Buffer | null) ?? Buffer.alloc(0);
  }
}
