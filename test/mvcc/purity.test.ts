/** src/mvcc is pure: no Node I/O module, no clock, no randomness (DESIGN.md "State machine"). */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const DIR = path.join(__dirname, '../../src/mvcc');
const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));

test.each(files)('%s imports no Node I/O module and reads no clock or randomness', (f) => {
  const src = readFileSync(path.join(DIR, f), 'utf8');
  const imports = [...src.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
  for (const spec of imports) {
    expect(
      spec.startsWith('node:') ||
        ['fs', 'net', 'http', 'http2', 'child_process', 'os', 'dgram'].includes(spec),
    ).toBe(false);
  }
  expect(src).not.toMatch(/Date\.now|performance\.now|Math\.random|setTimeout|setInterval|process\./);
});
