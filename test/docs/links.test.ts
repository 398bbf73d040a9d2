/**
 * The repository stands alone: every relative link of its documents names a file or directory
 * inside it (a link to ../shared, or to a file since moved, fails here), and no document sends
 * a reader outside the repository for the design.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCUMENTS = ['README.md', 'docs/DESIGN.md'];

/** Markdown link targets `[text](target)`, without a #fragment; web and mail links left out. */
function relativeLinks(text: string): string[] {
  const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!.split('#')[0]!);
  return targets.filter((t) => t !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

describe('links of the documents', () => {
  it.each(DOCUMENTS)('%s: every relative link resolves inside the repository', (document) => {
    const text = readFileSync(join(ROOT, document), 'utf8');
    const links = relativeLinks(text);
    expect(links.length).toBeGreaterThan(0);
    const broken = links.filter((link) => {
      const target = resolve(ROOT, dirname(document), link);
      return relative(ROOT, target).startsWith('..') || !existsSync(target);
    });
    expect(broken).toEqual([]);
  });

  it.each(DOCUMENTS)('%s: names nothing beside the repository (../shared)', (document) => {
    expect(readFileSync(join(ROOT, document), 'utf8')).not.toMatch(/\.\.\/shared/);
  });
});
