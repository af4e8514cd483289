// A leader streams an entry to its followers before its own engine has applied it. When that apply
// fails (a full disk), the followers may hold the write, and one may be elected with it: the client
// must hear "outcome unknown", not "refused" (docs/api.md, UNKNOWN_OUTCOME). Without followers nothing
// left the node, and the engine's own error stands.

import { describe, expect, it } from 'vitest';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { EngineLike } from '../../cluster/node/engine-api.js';
import { EpochHistory } from '../../cluster/node/epoch-history.js';
import { LeaderPartition } from '../../cluster/node/leader-partition.js';
import type { PartitionWriter } from '../../cluster/node/partition-writer.js';

const enc = (s: string) => new TextEncoder().encode(s);

function leader(followers: string[]): LeaderPartition {
  const engine = { health: () => ({ state: 'ok' }) } as unknown as EngineLike;
  const writer = {
    apply: () =>
      Promise.reject(new Eau2Error(ErrorCode.UNAVAILABLE, 'write 000002.log: ENOSPC: no space left on device')),
  } as unknown as PartitionWriter;
  return new LeaderPartition(
    3,
    engine,
    writer,
    7,
    followers,
    { entries: 100, bytes: 1 << 20 },
    {},
    {
      self: 'n1',
      epoch: 1,
      history: new EpochHistory([[1, 1]]),
      isr: ['n1', ...followers],
      minInSync: 1,
    },
  );
}

describe('a leader whose engine cannot apply a write', () => {
  it('answers UNKNOWN_OUTCOME once the entry was streamed to followers, and stops leading', async () => {
    const lp = leader(['n2']);
    const err = await lp.write([[enc('k'), enc('v')]], 1, 1000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Eau2Error);
    expect((err as Eau2Error).code).toBe(ErrorCode.UNKNOWN_OUTCOME);
    expect((err as Eau2Error).message).toMatch(/ENOSPC/);
    expect(lp.stopped).toBe(true);
    await expect(lp.write([[enc('k2'), enc('v')]], 0, 1000)).rejects.toMatchObject({ code: ErrorCode.UNAVAILABLE });
  });

  it("keeps the engine's error when it has no followers (nothing left the node)", async () => {
    const lp = leader([]);
    await expect(lp.write([[enc('k'), enc('v')]], 0, 1000)).rejects.toMatchObject({
      code: ErrorCode.UNAVAILABLE,
      message: expect.stringMatching(/ENOSPC/),
    });
    expect(lp.stopped).toBe(true);
  });
});
