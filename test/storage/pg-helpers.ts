/**
 * Each test file gets its own schema in the test database (`DATABASE_URL`, default
 * postgres://postgres@127.0.0.1:5432/test), dropped at the end, so runs never collide.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export function testSchemaName(): string {
  return `concord_test_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export async function sql(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await c.query(text, values);
  } finally {
    await c.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await sql(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
}
