// Builds the web console (console/src, plain TypeScript + uPlot) into dist/console: one script, one
// stylesheet and the page, all served by every node at GET /ui (cluster/http/console-routes.ts).
// Run by `npm run build` (and so by `npm install`'s prepare); `node console/build.mjs --if-missing`
// builds only when dist/console is absent (the browser tests call it that way).

import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'console');

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
