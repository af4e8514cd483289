// npm's "prepare" script: builds dist/ on `npm install` in a clone, so `npm start` and
// bin/eau2.js work at once. npm also runs "prepare" before `npm pack`/`npm publish`, right after
// "prepack", which has just made a clean build: building twice would only cost time.

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

if (!['pack', 'publish'].includes(process.env.npm_command ?? '')) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  // The web console's static files (dist/console), served by every node at /ui.
  const c = r.status === 0 ? spawnSync(process.execPath, [join(root, 'console', 'build.mjs')], { cwd: root, stdio: 'inherit' }) : r;
  process.exitCode = c.status ?? 1;
}
