/** The part of hpack.js (which ships no types) that hpack.ts uses. */
declare module 'hpack.js' {
  interface Field {
    name: string;
    value: string;
    neverIndex?: boolean;
  }
  interface Options {
    table: { maxSize: number };
  }
  interface Decompressor {
    write(block: Buffer): void;
    execute(): void;
    read(): Field | null;
    once(event: 'error', listener: (err: unknown) => void): void;
    off(event: 'error', listener: (err: unknown) => void): void;
  }
  interface Compressor {
    write(fields: Field[]): void;
    read(): Buffer | null;
  }
  const hpack: {
    decompressor: { create(options: Options): Decompressor };
    compressor: { create(options: Options): Compressor };
  };
  export default hpack;
}
