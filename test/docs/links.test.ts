/**
 * No broken link in README.md, CONTRIBUTING.md, CHANGELOG.md or docs/: every relative link names a
 * file or folder of the repository and, with `#anchor`, a heading of that page (GitHub's anchors);
 * every absolute link goes to a public site, never to a local or private address.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { markdownFiles, root } from './doc-files.js';

/** Links outside code blocks and code spans: `[text](target)`. */
function links(md: string): { target: string; line: number }[] {
  const prose = md.replace(/^```[\s\S]*?^```/gm, (block) => block.replace(/[^\n]/g, ' '));
  const out: { target: string; line: number }[] = [];
  for (const m of prose.replace(/`[^`\n]*`/g, (s) => ' '.repeat(s.length)).matchAll(/\]\(([^)\s]+)\)/g)) {
    out.push({ target: m[1]!, line: prose.slice(0, m.index).split('\n').length });
  }
  return out;
}

/** GitHub's anchor for each heading of a page (lower case, punctuation dropped, `-n` for repeats). */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const prose = md.replace(/^```[\s\S]*?^```/gm, '');
  for (const m of prose.matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

const PRIVATE_HOST =
  /^https?:\/\/(localhost|127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|\[::1\]|[^/]*\.(local|internal)\b)/;

test('every link of the docs resolves', () => {
  const broken: string[] = [];
  for (const file of markdownFiles()) {
    if (!existsSync(join(root, file))) {
      broken.push(`${file}: missing`);
      continue;
    }
    const md = readFileSync(join(root, file), 'utf8');
    for (const { target, line } of links(md)) {
      const where = `${file}:${line}: ${target}`;
      if (/^[a-z]+:/i.test(target)) {
        if (!/^(https|http|mailto):/.test(target) || PRIVATE_HOST.test(target))
          broken.push(`${where} (not a public site)`);
        continue;
      }
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const file2 = path === '' ? file : normalize(join(dirname(file), path));
      if (file2.startsWith('..') || !existsSync(join(root, file2))) {
        broken.push(`${where} (no such file)`);
        continue;
      }
      if (anchor !== undefined && file2.endsWith('.md') && statSync(join(root, file2)).isFile()) {
        if (!anchors(readFileSync(join(root, file2), 'utf8')).has(anchor))
          broken.push(`${where} (no such heading)`);
      }
    }
  }
  expect(broken).toEqual([]);
});
