// The engines the benchmark knows, by command-line name. Adding one = one adapter file + one line.

import type { EngineAdapter } from './adapter.js';
import { classicLevelAdapter } from './classic-level.js';
import { eau2Adapter } from './eau2.js';
import { lmdbAdapter } from './lmdb.js';

const ADAPTERS: readonly EngineAdapter[] = [eau2Adapter, classicLevelAdapter, lmdbAdapter];

export const ENGINE_NAMES = ADAPTERS.map((a) => a.name);

export function adapterByName(name: string): EngineAdapter {
  const a = ADAPTERS.find((x) => x.name === name);
  if (!a) throw new TypeError(`unknown engine "${name}" (known: ${ENGINE_NAMES.join(', ')})`);
  return a;
}
