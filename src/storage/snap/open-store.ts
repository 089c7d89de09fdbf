/**
 * Opens a snapshot store from one string, as the CLI and `--snapshot-store` take it: a
 * `postgres://` or `postgresql://` URL (an optional `schema` query parameter picks the schema,
 * default `concord`) or a directory for the file store.
 */
import { FileSnapshotStore } from './file-store.js';
import { PostgresSnapshotStore, type PostgresSnapshotStoreOptions } from './pg-store.js';
import type { SnapshotStore } from './types.js';

export function openSnapshotStore(
  spec: string,
  pgOptions: Omit<PostgresSnapshotStoreOptions, 'connectionString'> = {},
): SnapshotStore {
  if (/^postgres(ql)?:\/\//i.test(spec)) {
    const url = new URL(spec);
    const schema = url.searchParams.get('schema') ?? undefined;
    url.searchParams.delete('schema');
    return new PostgresSnapshotStore({
      ...pgOptions,
      schema: schema ?? pgOptions.schema,
      connectionString: url.toString(),
    });
  }
  return new FileSnapshotStore(spec);
}
