// The node's health check is what brings partitions that stopped leading after an engine failure (a
// full disk) back once the engine is ok. It runs every 2 s, and the engine can fail and recover by
// itself between two checks; the partitions must come back all the same.

import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { EngineLike } from '../../cluster/node/engine-api.js';
import { NodeHealth } from '../../cluster/node/node-health.js';
import type { Logger } from '../../cluster/log.js';

const quiet = { info() {}, warn() {}, error() {}, debug() {} } as unknown as Logger;

describe('NodeHealth', () => {
  it('reopens stopped partitions at a check that finds the engine ok, even if no check saw it fail', async () => {
    let state: 'ok' | 'degraded' = 'ok';
    const engine = { health: () => ({ state }) } as unknown as EngineLike;
    let stopped = false;
    let reopened = 0;
    const h = new NodeHealth(engine, tmpdir(), 0, quiet, () => {
      if (stopped) {
        stopped = false;
        reopened++;
      }
    });
    await h.check();
    // The disk fills, a partition stops leading, the engine recovers: all before the next check.
    state = 'degraded';
    stopped = true;
    state = 'ok';
    await h.check();
    expect(stopped).toBe(false);
    expect(reopened).toBe(1);
  });

  it('does not reopen while the engine is degraded, and does once it is ok', async () => {
    let state: 'ok' | 'degraded' = 'degraded';
    const engine = { health: () => ({ state, cause: 'no-space' }) } as unknown as EngineLike;
    let calls = 0;
    const h = new NodeHealth(engine, tmpdir(), 0, quiet, () => calls++);
    await h.check();
    expect(calls).toBe(0);
    expect(h.report()).toMatchObject({ status: 'degraded', cause: 'no-space', diskLow: false });
    state = 'ok';
    await h.check();
    expect(calls).toBe(1);
  });

  it('reports the free space as of the report, not of the last periodic check', async () => {
    const engine = { health: () => ({ state: 'ok' }) } as unknown as EngineLike;
    // Any free space is under a warning threshold of 2^50 bytes.
    const h = new NodeHealth(engine, tmpdir(), 2 ** 50, quiet, () => {});
    const r = h.report();
    expect(r.diskFreeBytes).toBeGreaterThan(0);
    expect(r.diskLow).toBe(true);
  });
});
