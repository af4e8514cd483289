// Every engine option is documented where it is declared (engine/db/options.ts) with its default,
// and README.md's option list names it with the same default.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../../engine/db/options.js';

const root = new URL('../../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8').replace(/\s+/g, ' ');
const source = readFileSync(new URL('engine/db/options.ts', root), 'utf8');

function shown(v: unknown): string {
  if (typeof v !== 'number') return String(v);
  if (v >= 1 << 20 && v % (1 << 20) === 0) return `${v / (1 << 20)} MiB`;
  if (v >= 1 << 10 && v % (1 << 10) === 0) return `${v / (1 << 10)} KiB`;
  return String(v);
}

describe('engine options documentation', () => {
  const defaults = resolveOptions({});
  for (const [name, value] of Object.entries(defaults)) {
    it(`${name}: its declaration states its default, and README lists the same`, () => {
      const decl = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*${name}\\?:`).exec(source);
      expect(decl, `${name} has a doc comment`).not.toBeNull();
      const doc = decl![1]!.replace(/\s*\*\s*/g, ' ');
      if (name === 'vfs') {
        expect(doc).toMatch(/Default node's filesystem/);
        expect(readme).toContain("`vfs` (node's filesystem)");
        return;
      }
      expect(doc).toMatch(new RegExp(`Default ${shown(value)}[.;]`));
      expect(readme).toMatch(new RegExp(`\`${name}\` \\(${shown(value)}[,;)]`));
    });
  }
});
