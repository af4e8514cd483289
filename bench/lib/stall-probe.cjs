// Preloaded into a benchmark's node processes (`node --require bench/lib/stall-probe.cjs`, e.g. through
// NODE_OPTIONS): samples the event loop every millisecond and writes, every 100 ms in which the loop
// was held back for more than 2 ms, `EAU2_STALL <monotonic us> <longest stall in ms>` to stderr.
// A metrics scrape cannot show this: prom-client samples the loop every 100 ms.
'use strict';
const { monitorEventLoopDelay } = require('node:perf_hooks');

const RESOLUTION_MS = 1;
const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
h.enable();
setInterval(() => {
  // The histogram records each whole interval between the sampling timer's turns.
  const stall = h.max / 1e6 - RESOLUTION_MS;
  if (stall > 2) process.stderr.write(`EAU2_STALL ${process.hrtime.bigint() / 1000n} ${stall.toFixed(1)}\n`);
  h.reset();
}, 100).unref();
