// Builds the web console (console/src, plain TypeScript + uPlot) into dist/console: one script, one
// stylesheet and the page, all served by every node at GET /ui (cluster/http/console-routes.ts).
// Run by `npm run build` (and so by `npm install`'s prepare). `--out DIR` builds into DIR instead (the
// browser tests build the current sources into a folder of their own and point the nodes at it with
// EAU2_CONSOLE_DIR); `--if-missing` builds only when the output has no index.html yet.

import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outAt = process.argv.indexOf('--out');
const out = outAt > 0 ? process.argv[outAt + 1] : join(here, '..', 'dist', 'console');
if (!out) throw new Error('--out needs a folder');

if (!(process.argv.includes('--if-missing') && existsSync(join(out, 'index.html')))) {
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: { app: join(here, 'src', 'main.ts'), style: join(here, 'style.css') },
    outdir: out,
    bundle: true,
    minify: true,
    sourcemap: false,
    format: 'iife',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    legalComments: 'none',
    logLevel: 'warning',
  });
  copyFileSync(join(here, 'index.html'), join(out, 'index.html'));
  copyFileSync(join(here, 'favicon.svg'), join(out, 'favicon.svg'));
}
