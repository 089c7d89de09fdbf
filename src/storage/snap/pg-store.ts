/**
 * The PostgreSQL snapshot store (`pg`). A save writes the header row and the chunk rows in one
 * transaction, one chunk at a time, so memory stays at about one chunk whatever the snapshot's
 * size; a read fetches a few chunks per query, verifying size and SHA-256 as it streams.
 *
 * Several clusters and members share one database: rows are keyed by (cluster, member, index,
 * term), and each deployment can also pick its own `schema`.
 *
 * A database that is down or slow never holds a caller past its deadline: connecting has
 * `connectTimeoutMs`, each statement has the server-side `statementTimeoutMs`, and each call has
 * a deadline (`timeoutMs`, or the caller's AbortSignal) that rejects at once with
 * StoreDeadlineError and drops the connection so the server rolls the transaction back.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import pg from 'pg';
import { SnapshotNotFoundError, StorageError, StoreDeadlineError, StoreUnavailableError } from '../errors.js';
import { type Deadline, deadline, race } from './deadline.js';
import { ensureSchema } from './pg-schema.js';
import type {
  SnapshotFilter,
  SnapshotInfo,
  SnapshotMeta,
  SnapshotSource,
  SnapshotStore,
  StoreCallOptions,
} from './types.js';
import { beyondRetention } from './types.js';
import { rechunk, verifiedStream } from './verify.js';

/** Bytes per `bytea` chunk row. */
export const PG_CHUNK_BYTES = 1024 * 1024;
/** Chunk inserts kept in flight on the connection while saving. */
export const PG_WRITE_PIPELINE = 2;
/** Chunks fetched per query when reading (one batch is prefetched while the last is consumed). */
export const PG_READ_BATCH_CHUNKS = 2;
export const PG_CONNECT_TIMEOUT_MS = 5_000;
export const PG_STATEMENT_TIMEOUT_MS = 30_000;
/** Deadline of a call that moves no snapshot data (list, stat, delete …). */
export const PG_CALL_TIMEOUT_MS = 30_000;
/** Deadline of a save; streaming reads have no overall deadline unless the caller sets one. */
export const PG_SAVE_TIMEOUT_MS = 10 * 60_000;
export const PG_POOL_SIZE = 4;

export interface PostgresSnapshotStoreOptions {
  /** `postgres://user@host:port/db`. */
  connectionString: string;
  /** Schema holding the tables, created on first use. Default `concord`. */
  schema?: string;
  /** Default PG_CHUNK_BYTES. */
  chunkBytes?: number;
  /** Default PG_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  /** Server-side `statement_timeout`. Default PG_STATEMENT_TIMEOUT_MS. */
  statementTimeoutMs?: number;
  /** Default deadline of calls that move no data. Default PG_CALL_TIMEOUT_MS. */
  callTimeoutMs?: number;
  /** Default deadline of a save. Default PG_SAVE_TIMEOUT_MS. */
  saveTimeoutMs?: number;
  /** Default PG_POOL_SIZE. */
  poolSize?: number;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

interface Row {
  id: string;
  cluster_id: string;
  member_id: string;
  term: string;
  index: string;
  membership: Buffer;
  size: string;
  sha256: Buffer;
  chunks: number;
  created_at: Date;
}

const COLUMNS = 'id, cluster_id, member_id, term, index, membership, size, sha256, chunks, created_at';

function toMeta(r: Row): SnapshotMeta {
  return {
    id: String(r.id),
    clusterId: BigInt.asUintN(64, BigInt(r.cluster_id)),
    memberId: BigInt.asUintN(64, BigInt(r.member_id)),
    term: Number(r.term),
    index: Number(r.index),
    membership: new Uint8Array(r.membership),
    size: Number(r.size),
    sha256: r.sha256.toString('hex'),
    createdAt: r.created_at,
  };
}

/** IDs go to PostgreSQL as signed 64-bit decimal strings (same bits). */
function sqlId(id: bigint): string {
  return BigInt.asIntN(64, id).toString();
}

export class PostgresSnapshotStore implements SnapshotStore {
  readonly kind = 'postgres';
  readonly schema: string;
  readonly #s: string;
  readonly #pool: pg.Pool;
  readonly #chunkBytes: number;
  readonly #callTimeoutMs: number;
  readonly #saveTimeoutMs: number;
  #ready: Promise<void> | undefined;

  constructor(opts: PostgresSnapshotStoreOptions) {
    const schema = opts.schema ?? 'concord';
    if (!SCHEMA_NAME.test(schema))
      throw new TypeError(
        `postgres snapshot store: schema must be a plain identifier, got ${JSON.stringify(schema)}`,
      );
    const chunkBytes = opts.chunkBytes ?? PG_CHUNK_BYTES;
    if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > 256 * 1024 * 1024)
      throw new RangeError(`postgres snapshot store: chunkBytes must be 1..256 MiB, got ${opts.chunkBytes}`);
    this.schema = schema;
    this.#s = pg.escapeIdentifier(schema);
    this.#chunkBytes = chunkBytes;
    this.#callTimeoutMs = opts.callTimeoutMs ?? PG_CALL_TIMEOUT_MS;
    this.#saveTimeoutMs = opts.saveTimeoutMs ?? PG_SAVE_TIMEOUT_MS;
    this.#pool = new pg.Pool({
      connectionString: opts.connectionString,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? PG_CONNECT_TIMEOUT_MS,
      statement_timeout: opts.statementTimeoutMs ?? PG_STATEMENT_TIMEOUT_MS,
      max: opts.poolSize ?? PG_POOL_SIZE,
      idleTimeoutMillis: 10_000,
      // Idle connections must not keep a process alive.
      allowExitOnIdle: true,
    });
    // A pooled idle connection that dies emits here; without a listener the process would crash.
    this.#pool.on('error', () => {});
  }

  async save(info: SnapshotInfo, data: SnapshotSource, opts?: StoreCallOptions): Promise<SnapshotMeta> {
    return this.#call('save', opts, this.#saveTimeoutMs, async (c, signal) => {
      await c.query('BEGIN');
      const ins = await c.query<{ id: string }>(
        `INSERT INTO ${this.#s}.snapshots (cluster_id, member_id, term, index, membership, size, sha256, chunks)
         VALUES ($1, $2, $3, $4, $5, 0, '\\x', 0)
         ON CONFLICT (cluster_id, member_id, index, term) DO NOTHING RETURNING id`,
        [sqlId(info.clusterId), sqlId(info.memberId), info.term, info.index, Buffer.from(info.membership)],
      );
      if (ins.rows.length === 0) {
        // Already stored (a retried upload whose first commit succeeded): same log position, same state.
        await c.query('ROLLBACK');
        const r = await c.query<Row>(
          `SELECT ${COLUMNS} FROM ${this.#s}.snapshots
           WHERE cluster_id = $1 AND member_id = $2 AND index = $3 AND term = $4 AND complete`,
          [sqlId(info.clusterId), sqlId(info.memberId), info.index, info.term],
        );
        if (r.rows[0]) return toMeta(r.rows[0]);
        throw new StoreUnavailableError(
          'postgres snapshot store: a concurrent save of the same snapshot is running',
        );
      }
      const id = ins.rows[0]!.id;
      const hash = createHash('sha256');
      let size = 0;
      let seq = 0;
      // Up to PG_WRITE_PIPELINE inserts in flight: the next chunk is sent while the server
      // stores the previous one, and memory stays at a few chunks.
      const inflight: Promise<unknown>[] = [];
      try {
        for await (const chunk of rechunk(data, this.#chunkBytes)) {
          if (signal.aborted) throw signal.reason;
          hash.update(chunk);
          size += chunk.length;
          const insert = c.query(
            `INSERT INTO ${this.#s}.snapshot_chunks (snapshot_id, seq, data) VALUES ($1, $2, $3)`,
            [id, seq++, chunk],
          );
          insert.catch(() => {}); // observed below; never an unhandled rejection
          inflight.push(insert);
          if (inflight.length >= PG_WRITE_PIPELINE) await inflight.shift();
        }
        await Promise.all(inflight);
      } finally {
        // On failure the connection is destroyed by #call; settle what is pending first.
        await Promise.allSettled(inflight);
      }
      const sha = hash.digest();
      const done = await c.query<Row>(
        `UPDATE ${this.#s}.snapshots SET size = $2, sha256 = $3, chunks = $4, complete = true, created_at = now()
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, size, sha, seq],
      );
      await c.query('COMMIT');
      return toMeta(done.rows[0]!);
    });
  }

  async list(filter?: SnapshotFilter, opts?: StoreCallOptions): Promise<SnapshotMeta[]> {
    return this.#call('list', opts, this.#callTimeoutMs, async (c) => {
      const r = await c.query<Row>(
        `SELECT ${COLUMNS} FROM ${this.#s}.snapshots
         WHERE complete AND ($1::bigint IS NULL OR cluster_id = $1) AND ($2::bigint IS NULL OR member_id = $2)
         ORDER BY index DESC, term DESC, created_at DESC, id DESC`,
        [
          filter?.clusterId === undefined ? null : sqlId(filter.clusterId),
          filter?.memberId === undefined ? null : sqlId(filter.memberId),
        ],
      );
      return r.rows.map(toMeta);
    });
  }

  async latest(filter?: SnapshotFilter, opts?: StoreCallOptions): Promise<SnapshotMeta | undefined> {
    return (await this.list(filter, opts))[0];
  }

  async stat(id: string, opts?: StoreCallOptions): Promise<SnapshotMeta> {
    return this.#call('stat', opts, this.#callTimeoutMs, (c) => this.#stat(c, id));
  }

  async #stat(c: pg.PoolClient, id: string): Promise<SnapshotMeta> {
    if (!/^[0-9]{1,19}$/.test(id)) throw new SnapshotNotFoundError(id);
    const r = await c.query<Row>(`SELECT ${COLUMNS} FROM ${this.#s}.snapshots WHERE id = $1 AND complete`, [
      id,
    ]);
    if (!r.rows[0]) throw new SnapshotNotFoundError(id);
    return toMeta(r.rows[0]);
  }

  /**
   * Streams the data. `opts.timeoutMs`, when given, bounds the whole read; `opts.signal` aborts
   * it at any time; otherwise each query is bounded by the statement timeout.
   */
  async open(id: string, opts?: StoreCallOptions): Promise<Readable> {
    const meta = await this.stat(id, opts);
    const dl = deadline(opts, undefined, `postgres snapshot store: read ${id}`);
    const store = this;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      let client: pg.PoolClient | undefined;
      let broken = false;
      let next: Promise<pg.QueryResult<{ data: Buffer }>> | undefined;
      try {
        const c = await race(store.#connect(), dl.signal, (late) => late.release());
        client = c;
        // Text results (hex bytea): this driver decodes binary-mode bytea through a UTF-8 string,
        // which corrupts it. The hex is decoded natively into a fresh Buffer per row.
        const fetch = (seq: number) => {
          const q = c.query<{ data: Buffer }>(
            `SELECT data FROM ${store.#s}.snapshot_chunks WHERE snapshot_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq`,
            [id, seq, seq + PG_READ_BATCH_CHUNKS],
          );
          q.catch(() => {}); // observed when awaited; never an unhandled rejection
          return q;
        };
        next = fetch(0);
        for (let seq = PG_READ_BATCH_CHUNKS; next; seq += PG_READ_BATCH_CHUNKS) {
          const r: pg.QueryResult<{ data: Buffer }> = await race(next, dl.signal);
          // Fetch the next batch while the consumer takes this one.
          next = r.rows.length === PG_READ_BATCH_CHUNKS ? fetch(seq) : undefined;
          for (const row of r.rows) yield row.data;
        }
      } catch (err) {
        broken = true;
        throw mapError(err, dl.signal, `read ${id}`);
      } finally {
        // A connection with a query still running (reader stopped early) is not reusable.
        client?.release(broken || next !== undefined);
        dl.done();
      }
    }
    return verifiedStream(id, meta, chunks());
  }

  async delete(id: string, opts?: StoreCallOptions): Promise<void> {
    await this.#call('delete', opts, this.#callTimeoutMs, async (c) => {
      if (!/^[0-9]{1,19}$/.test(id)) throw new SnapshotNotFoundError(id);
      const r = await c.query(`DELETE FROM ${this.#s}.snapshots WHERE id = $1`, [id]);
      if (r.rowCount === 0) throw new SnapshotNotFoundError(id);
    });
  }

  async retain(keep: number, filter?: SnapshotFilter, opts?: StoreCallOptions): Promise<SnapshotMeta[]> {
    const gone = beyondRetention(await this.list(filter, opts), keep);
    if (gone.length === 0) return gone;
    await this.#call('retain', opts, this.#callTimeoutMs, (c) =>
      c.query(`DELETE FROM ${this.#s}.snapshots WHERE id = ANY($1::bigint[])`, [gone.map((m) => m.id)]),
    );
    return gone;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  /** A pooled connection, with the schema ensured once per store. */
  async #connect(): Promise<pg.PoolClient> {
    const c = await this.#pool.connect();
    if (!this.#ready) {
      this.#ready = ensureSchema(c, this.#s, this.schema);
      this.#ready.catch(() => {
        this.#ready = undefined;
      });
    }
    try {
      await this.#ready;
    } catch (err) {
      c.release();
      throw err;
    }
    return c;
  }

  /**
   * Runs `fn` on a connection under a deadline. If the deadline fires first the caller gets
   * StoreDeadlineError at once and the connection is destroyed (rolling back any transaction).
   */
  async #call<T>(
    what: string,
    opts: StoreCallOptions | undefined,
    defaultMs: number,
    fn: (c: pg.PoolClient, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const dl: Deadline = deadline(opts, defaultMs, `postgres snapshot store: ${what}`);
    let client: pg.PoolClient | undefined;
    let broken = false;
    try {
      client = await race(this.#connect(), dl.signal, (late) => late.release());
      return await race(fn(client, dl.signal), dl.signal);
    } catch (err) {
      broken = true;
      throw mapError(err, dl.signal, what);
    } finally {
      // Destroy rather than reuse a connection whose call failed: it may be mid-transaction.
      client?.release(broken);
      dl.done();
    }
  }
}

function mapError(err: unknown, signal: AbortSignal, what: string): unknown {
  if (signal.aborted && signal.reason instanceof StoreDeadlineError) return signal.reason;
  if (err instanceof StorageError) return err;
  const e = err as { code?: string; message?: string };
  if (e?.code === '57014')
    return new StoreDeadlineError(`postgres snapshot store: ${what}: ${e.message}`, err);
  return new StoreUnavailableError(`postgres snapshot store: ${what}: ${e?.message ?? String(err)}`, err);
}
