import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WalEntry } from '../../src/storage/index.js';

const dirs: string[] = [];

/** A fresh temporary directory, removed by `removeTempDirs()`. */
export function tempDir(prefix = 'concord-wal-'): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function entry(index: number, term = 1, text = `entry-${index}`): WalEntry {
  return { index, term, type: 0, data: Buffer.from(text) };
}

export function entries(from: number, to: number, term = 1): WalEntry[] {
  const out: WalEntry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

export function summary(es: readonly WalEntry[]): string[] {
  return es.map((e) => `${e.index}/${e.term}:${Buffer.from(e.data).toString()}`);
}
