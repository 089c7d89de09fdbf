/**
 * The PostgreSQL store's schema, created on first use and versioned: `concord_schema` holds the
 * version, and each later version adds a migration step here. Creation runs under an advisory
 * lock so members starting together do not race. A schema newer than this build is refused.
 *
 * Cluster and member IDs are unsigned 64-bit; they are stored in `bigint` as the same 64 bits
 * (two's complement), so every ID round-trips. A snapshot is one `snapshots` row and its data
 * in `snapshot_chunks` rows (`bytea`, fixed size, numbered from 0); a single `bytea` would be
 * read whole and caps at 1 GB.
 */
import type { PoolClient } from 'pg';
import { SnapshotFormatError } from '../errors.js';

export const PG_SCHEMA_VERSION = 1;

export function migrations(s: string): string[][] {
  return [
    // version 1
    [
      `CREATE TABLE ${s}.snapshots (
        id bigserial PRIMARY KEY,
        cluster_id bigint NOT NULL,
        member_id bigint NOT NULL,
        term bigint NOT NULL,
        index bigint NOT NULL,
        membership bytea NOT NULL,
        size bigint NOT NULL,
        sha256 bytea NOT NULL,
        chunks integer NOT NULL,
        complete boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (cluster_id, member_id, index, term)
      )`,
      `CREATE INDEX ON ${s}.snapshots (cluster_id, member_id, index DESC)`,
      `CREATE TABLE ${s}.snapshot_chunks (
        snapshot_id bigint NOT NULL REFERENCES ${s}.snapshots (id) ON DELETE CASCADE,
        seq integer NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (snapshot_id, seq)
      )`,
      // Snapshot bytes are written once and read whole: skip TOAST compression, it costs CPU
      // on every save for data the state machine may already compress.
      `ALTER TABLE ${s}.snapshot_chunks ALTER COLUMN data SET STORAGE EXTERNAL`,
    ],
  ];
}

/** Creates or migrates the schema `s` (an escaped identifier) inside the caller's connection. */
export async function ensureSchema(client: PoolClient, s: string, rawName: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`concord-snapshot-schema:${rawName}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.concord_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)`,
    );
    const r = await client.query<{ version: number }>(`SELECT version FROM ${s}.concord_schema`);
    const version = r.rows[0]?.version ?? 0;
    if (version > PG_SCHEMA_VERSION)
      throw new SnapshotFormatError(
        `postgres snapshot store: schema ${rawName} is at version ${version}, this build knows up to ${PG_SCHEMA_VERSION}`,
      );
    const steps = migrations(s);
    for (let v = version; v < PG_SCHEMA_VERSION; v++) for (const sql of steps[v]!) await client.query(sql);
    if (version === 0)
      await client.query(`INSERT INTO ${s}.concord_schema VALUES (1, $1)`, [PG_SCHEMA_VERSION]);
    else if (version < PG_SCHEMA_VERSION)
      await client.query(`UPDATE ${s}.concord_schema SET version = $1`, [PG_SCHEMA_VERSION]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
