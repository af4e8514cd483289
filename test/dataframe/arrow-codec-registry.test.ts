// apache-arrow's compressionRegistry is process-wide: eau2's Arrow module registers its LZ4_FRAME and
// ZSTD decoders only where no codec is registered, so an embedding application's own codec, set
// before eau2 first reads Arrow, stays in place. (A file of its own: the Arrow module is loaded once
// per test file, and this test must set the codec before it loads.)

import * as A from 'apache-arrow';
import { expect, it } from 'vitest';

it("keeps an application's codec registered before eau2's Arrow module loads, and fills in the other", async () => {
  expect(A.compressionRegistry.get(A.CompressionType.ZSTD)).toBeNull();
  const mine: A.Codec = { decode: (b) => b };
  A.compressionRegistry.set(A.CompressionType.ZSTD, mine);
  await import('../../dataframe/io/arrow.js');
  expect(A.compressionRegistry.get(A.CompressionType.ZSTD)).toBe(mine);
  const lz4 = A.compressionRegistry.get(A.CompressionType.LZ4_FRAME);
  expect(typeof lz4?.decode).toBe('function');
  expect(lz4).not.toBe(mine);
});
