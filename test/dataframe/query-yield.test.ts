// A query's partial evaluation lets the node's event loop run (dataframe/query/partial.ts): chunks
// served from a node's cache never wait for I/O, so without the yield one query held its node's loop
// for its whole share and every other request to that node waited. The evaluator yields when 8 ms
// have passed since the last turn; these tests drive performance.now() by hand, so they count loop
// turns against a clock they control, not against the machine's speed.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { DataFrame, gt, col } from '../../dataframe/index.js';
import { checkPlan } from '../../dataframe/query/plan.js';
import { runPartial } from '../../dataframe/query/partial.js';

const CHUNKS = 20;
const ROWS = 100;

/** Runs a sum over CHUNKS in-memory chunks (loads resolve in microtasks, like cached chunks) and
 * counts the event-loop turns (setImmediate callbacks) that ran while it did. */
async function turnsDuring(clockStepMs: number, rawPlan?: unknown): Promise<{ turns: number; sum: number }> {
  let t = 0;
  vi.spyOn(performance, 'now').mockImplementation(() => (t += clockStepMs));
  const df = DataFrame.fromColumns({ x: Float64Array.from({ length: ROWS }, (_, i) => i) });
  const fields = df.fields;
  const checked = checkPlan(
    rawPlan ?? { filter: gt(col('x'), -1), aggs: [{ col: 'x', fn: 'sum', as: 'x_sum' }] },
    fields,
  );
  const cols = [df.column('x')];
  let turns = 0;
  let running = true;
  const tick = (): void => {
    if (!running) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const result = await runPartial(
    checked,
    fields,
    async () => cols,
    () => ROWS,
    Array.from({ length: CHUNKS }, (_, i) => i),
  );
  running = false;
  vi.restoreAllMocks();
  if (!result.groups) return { turns, sum: result.rows!.length };
  const acc = result.groups[0]![1][0] as [number, number];
  return { turns, sum: acc[0] };
}

afterEach(() => vi.restoreAllMocks());

describe('query evaluation yields to the event loop', () => {
  it('lets the loop turn while it computes longer than the interval', async () => {
    // Every clock reading 10 ms later than the last: each chunk takes "longer" than 8 ms.
    const { turns, sum } = await turnsDuring(10);
    expect(sum).toBe(CHUNKS * ((ROWS * (ROWS - 1)) / 2));
    expect(turns).toBeGreaterThanOrEqual(CHUNKS / 2);
  });

  it('yields in a row query whose filter rejects every chunk', async () => {
    // sum = rows returned: none match, so every chunk takes the path that skips to the next one.
    const { turns, sum } = await turnsDuring(10, { filter: gt(col('x'), 1e9) });
    expect(sum).toBe(0);
    expect(turns).toBeGreaterThanOrEqual(CHUNKS / 2);
  });

  it('does not yield while the interval has not passed (the turns above come from the yield)', async () => {
    const { turns, sum } = await turnsDuring(0);
    expect(sum).toBe(CHUNKS * ((ROWS * (ROWS - 1)) / 2));
    expect(turns).toBe(0);
  });
});
