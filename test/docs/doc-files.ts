/**
 * The Markdown the docs tests read, and the ```ts blocks in it.
 *
 * A block is ```ts (type-checked and run against a Concord member) or ```ts no-run (type-checked
 * only, for code that needs what a test cannot give it: a Workers runtime, TLS files, another test
 * runner); a no-run block's first line says why, as `// no-run: <reason>`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = process.cwd();

/** Pages generated elsewhere or kept as they are: not checked here. */
const NOT_CHECKED = ['docs/api'];

/** README.md, CONTRIBUTING.md, CHANGELOG.md and every page under docs/, repository-relative. */
export function markdownFiles(): string[] {
  const out = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md'];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (NOT_CHECKED.includes(path)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) out.push(path);
    }
  };
  walk('docs');
  return out;
}

export interface Snippet {
  /** Repository-relative path of the page. */
  file: string;
  /** Line of the opening fence. */
  line: number;
  code: string;
  /** False for ```ts no-run blocks. */
  run: boolean;
}

/** A name for the block's module: the page and the line, e.g. `docs-recipes-lock-md-12`. */
export const moduleName = (s: Snippet): string =>
  `${s.file.replace(/[^A-Za-z0-9]+/g, '-')}-${s.line}`.toLowerCase();

/** Fences that open TypeScript in any spelling, so none is missed by a narrower pattern. */
const TS_FENCE = /^```(ts|typescript|tsx)\b(.*)$/gm;

export function snippets(file: string): Snippet[] {
  const md = readFileSync(join(root, file), 'utf8');
  const out: Snippet[] = [];
  for (const m of md.matchAll(TS_FENCE)) {
    const line = md.slice(0, m.index).split('\n').length;
    const info = `${m[1]}${m[2]}`.trim();
    if (info !== 'ts' && info !== 'ts no-run') {
      throw new Error(
        `${file}:${line}: a TypeScript block is \`\`\`ts or \`\`\`ts no-run, not \`\`\`${info}`,
      );
    }
    const start = m.index + m[0].length + 1;
    const end = md.indexOf('\n```', start - 1);
    if (end < 0) throw new Error(`${file}:${line}: unclosed block`);
    out.push({ file, line, code: md.slice(start, end + 1), run: info === 'ts' });
  }
  return out;
}

export const allSnippets = (): Snippet[] => markdownFiles().flatMap(snippets);
