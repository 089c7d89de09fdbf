/** Which permissions give a logged-in viewer a prefix to mirror. */

import { readablePrefix } from '../../src/dashboard/readable.js';
import type { Permission } from '../../src/index.js';

const perm = (type: Permission['type'], key: string | Buffer, end: string | Buffer): Permission => ({
  type,
  key: Buffer.from(key),
  end: Buffer.from(end),
});

test('a prefix permission that allows reading is that prefix', () => {
  expect(readablePrefix(perm('read', 'app/', 'app0'))).toBe('app/');
  expect(readablePrefix(perm('readwrite', 'app/', 'app0'))).toBe('app/');
  expect(readablePrefix(perm('read', Buffer.from([0x61, 0xff]), 'b'))).toBe(
    Buffer.from([0x61, 0xff]).toString('utf8'),
  );
});

test('every key is the empty prefix', () => {
  expect(readablePrefix(perm('read', '', '\0'))).toBe('');
});

test('write-only, single-key and other ranges give no prefix', () => {
  expect(readablePrefix(perm('write', 'app/', 'app0'))).toBeUndefined();
  expect(readablePrefix(perm('read', 'app/config', ''))).toBeUndefined();
  expect(readablePrefix(perm('read', 'a', 'c'))).toBeUndefined();
  expect(readablePrefix(perm('read', 'app/', '\0'))).toBeUndefined();
});
