#!/usr/bin/env node
// The eau2 command (package.json "bin"): runs the compiled CLI. Build first with `npm run build`
// (npm install does it through "prepare").
import { main } from '../dist/app/cli/main.js';

main().then((code) => {
  process.exitCode = code;
});
