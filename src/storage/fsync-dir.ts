/** Makes a directory's entries (a create, rename or unlink inside it) durable. */
import { open } from 'node:fs/promises';

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
