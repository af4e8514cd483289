// DBSIZE / INFO keyspace counts (RespContext.countKeys): exact when taken, taken again only once the
// last count is COUNT_EVERY times its own duration old, shared by concurrent callers, answered from
// the last count (new one behind) once counts are slow, and fresh for a connection that wrote since.
// A fake host with a scripted scan and a fake clock: no timing in the assertions.

import { describe, expect, it } from 'vitest';
import { wrapValue } from '../../../cluster/protocol/stored-value.js';
import {
  COUNT_EVERY,
  type KeyCount,
  RESP_LIMIT_DEFAULTS,
  type RespClient,
  RespContext,
  type RespHost,
} from '../../../cluster/resp/resp-context.js';

/** A key space the test edits, a clock it moves, and scans that take `scanMs` of that clock. */
function setup() {
  const keys = new Map<string, Uint8Array>();
  const state = { now: 1000, scanMs: 5, scans: 0, gate: undefined as Promise<void> | undefined };
  const host = {
    router: {
      scan: () => {
        state.scans++;
        const entries = [...keys].map(([k, v]): [Uint8Array, Uint8Array] => [Buffer.from(k), v]);
        let i = 0;
        return {
          async next() {
            if (i === 0) {
              if (state.gate) await state.gate;
              state.now += state.scanMs;
            }
            return entries[i++];
          },
          async close() {},
        };
      },
    },
  } as unknown as RespHost;
  const ctx = new RespContext(host, RESP_LIMIT_DEFAULTS, 0);
  ctx.clock = () => state.now;
  const client = { wroteAt: Number.NEGATIVE_INFINITY } as RespClient;
  return { keys, state, ctx, client };
}

const count = async (x: Promise<KeyCount> | KeyCount) => {
  const c = await x;
  return [c.keys, c.expires];
};

describe('DBSIZE / INFO keyspace key counts', () => {
  it('counts exactly, keys and expiring keys', async () => {
    const { keys, ctx } = setup();
    for (let i = 0; i < 7; i++) keys.set(`k${i}`, wrapValue(Buffer.from('v')));
    keys.set('e1', wrapValue(Buffer.from('v'), undefined, Date.now() + 60_000));
    expect(await count(ctx.countKeys())).toEqual([8, 1]);
  });

  it('counts again only once the last count is COUNT_EVERY times its duration old', async () => {
    const { keys, state, ctx } = setup();
    keys.set('a', wrapValue(Buffer.from('1')));
    const began = state.now;
    expect(await count(ctx.countKeys())).toEqual([1, 0]);
    expect(state.scans).toBe(1);
    keys.set('b', wrapValue(Buffer.from('2')));
    // The count took 5 ms: until 50 ms after it began, every caller gets it without a scan.
    for (let i = 0; i < 100; i++) expect(await count(ctx.countKeys())).toEqual([1, 0]);
    state.now = began + COUNT_EVERY * state.scanMs - 1;
    expect(await count(ctx.countKeys())).toEqual([1, 0]);
    expect(state.scans).toBe(1);
    state.now += 1;
    expect(await count(ctx.countKeys())).toEqual([2, 0]);
    expect(state.scans).toBe(2);
  });

  it('shows a connection its own writes: one that wrote since the count began gets a new count', async () => {
    const { keys, state, ctx, client } = setup();
    expect(await count(ctx.countKeys(client))).toEqual([0, 0]);
    keys.set('mine', wrapValue(Buffer.from('1')));
    client.wroteAt = state.now++;
    expect(await count(ctx.countKeys(client))).toEqual([1, 0]);
    expect(state.scans).toBe(2);
    // ...and not again until it writes again (or the count ages).
    expect(await count(ctx.countKeys(client))).toEqual([1, 0]);
    expect(state.scans).toBe(2);
  });

  it('makes a writer wait for a count that began after its write, not one already running', async () => {
    const { keys, state, ctx, client } = setup();
    let open!: () => void;
    state.gate = new Promise((r) => {
      open = r;
    });
    const before = ctx.countKeys(); // begins now, with no keys
    state.now++;
    keys.set('w', wrapValue(Buffer.from('1')));
    client.wroteAt = state.now++;
    const writer = ctx.countKeys(client);
    open();
    expect(await count(before)).toEqual([0, 0]);
    expect(await count(writer)).toEqual([1, 0]);
    expect(state.scans).toBe(2);
  });

  it('shares one count between concurrent callers', async () => {
    const { keys, state, ctx } = setup();
    keys.set('a', wrapValue(Buffer.from('1')));
    let open!: () => void;
    state.gate = new Promise((r) => {
      open = r;
    });
    const waiting = Array.from({ length: 20 }, () => ctx.countKeys());
    open();
    for (const w of waiting) expect(await count(w)).toEqual([1, 0]);
    expect(state.scans).toBe(1);
  });

  it('once counts are slow, answers the last count at once and counts again behind it', async () => {
    const { keys, state, ctx, client } = setup();
    state.scanMs = RESP_LIMIT_DEFAULTS.keyCountWaitMs;
    for (let i = 0; i < 3; i++) keys.set(`k${i}`, wrapValue(Buffer.from('v')));
    expect(await count(ctx.countKeys())).toEqual([3, 0]);
    keys.set('k3', wrapValue(Buffer.from('v')));
    client.wroteAt = state.now;
    state.now += COUNT_EVERY * state.scanMs;
    let open!: () => void;
    state.gate = new Promise((r) => {
      open = r;
    });
    // Old and slow: the caller (even one that wrote) gets the last count, not a wait.
    const now = ctx.countKeys(client);
    expect(now).not.toBeInstanceOf(Promise);
    expect(await count(now)).toEqual([3, 0]);
    expect(state.scans).toBe(2);
    expect(await count(ctx.countKeys())).toEqual([3, 0]);
    expect(state.scans).toBe(2); // the count behind is shared, not started again
    open();
    await new Promise((r) => setImmediate(r));
    expect(await count(ctx.countKeys())).toEqual([4, 0]);
  });
});
