// vitest globalSetup: builds the web console into dist/console when it is missing (a checkout where
// only `tsc` ran), so every node a test starts from the sources serves /ui as an installed one does.
// The console's own tests build the current sources into a folder of their own instead.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const build = fileURLToPath(new URL('../../console/build.mjs', import.meta.url));
  execFileSync(process.execPath, [build, '--if-missing'], { stdio: 'inherit' });
}
